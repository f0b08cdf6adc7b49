//! PE headers, the version resource parser and the certificate table splitter.
#![no_main]
use libfuzzer_sys::fuzz_target;
use target_windows::pe;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = pe::Headers::parse_head(data) {
        let _ = h.kind();
        let _ = h.overlay_offset();
        let _ = h.offset_of(0x1000);
    }
    let _ = pe::parse_version(data);
    let _ = pe::win_certificates(data);
});
