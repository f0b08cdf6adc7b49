//! An ar archive (a deb's outer layer): every member listed, each bounded by the file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = std::io::Cursor::new(data);
    if let Ok(members) = format_ar::members(&mut r, data.len() as u64, 64) {
        for m in &members {
            // A member the reader accepted lies inside the file: anything else is a bug.
            assert!(m.offset.saturating_add(m.size) <= data.len() as u64, "{m:?}");
        }
    }
});
