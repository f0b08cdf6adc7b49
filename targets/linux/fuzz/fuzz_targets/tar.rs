//! A tar stream, walked to its end.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut t = format_tar::Reader::new(data, 64);
    for _ in 0..10_000 {
        match t.next_entry() {
            Ok(Some(_)) => {}
            _ => break,
        }
    }
});
