//! resources.arsc: parse, then resolve a few ids taken from the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = target_android::arsc::Table::parse(data) {
        for id in [0x7f01_0000u32, 0x7f02_0000, 0x7f03_0001, 0x7f0b_0000] {
            let _ = t.resolve_string(id);
            let _ = t.resolve_files(id);
        }
    }
});
