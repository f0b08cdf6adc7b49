//! Binary XML (AndroidManifest.xml) parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = target_android::axml::parse(data, 10_000);
});
