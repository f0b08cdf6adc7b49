//! The compound-file reader: open, walk every storage, read every stream (capped).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = std::io::Cursor::new(data);
    let Ok(cf) = format_cfb::CompoundFile::open(&mut r, data.len() as u64) else {
        return;
    };
    let entries: Vec<usize> = cf.entries().map(|(i, _)| i).collect();
    for i in entries {
        let _ = cf.children(i);
        let _ = cf.read_stream(&mut r, i, 1 << 20);
    }
    if let Ok(pool) = target_windows::msi::string_pool(data, data) {
        let _ = pool.len();
    }
    let _ = target_windows::msi::summary_information(data);
});
