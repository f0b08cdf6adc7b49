//! Authenticode blobs: parse with nested signatures, check signers and timestamps.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sigs) = format_pki::authenticode::parse_all(data) {
        for s in &sigs {
            let _ = s.verify_signer();
            for c in &s.signed_data.certificates {
                let _ = c.extended_key_usage();
            }
            let _ = s.timestamp();
        }
    }
});
