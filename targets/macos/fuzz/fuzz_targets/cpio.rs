//! The cpio reader alone (odc, newc), then the same bytes as a pbzx stream of a cpio: every
//! entry's header and data, bounded.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Read;

fn walk(r: impl Read) {
    let mut c = format_cpio::Reader::new(r);
    let mut visit = |_: &format_cpio::Entry, d: &mut dyn Read| {
        std::io::copy(&mut d.take(1 << 20), &mut std::io::sink()).map(|_| ())
    };
    for _ in 0..10_000 {
        match c.next_entry_with(&mut visit) {
            Ok(Some(_)) => {}
            _ => break,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    walk(data);
    let budget = format_compress::InflateBudget::new(1 << 22);
    walk(format_compress::pbzx(data, &budget));
});
