//! OpenPGP keys and signatures, parsed and (when both parse) verified against each other.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let keys = format_openpgp::parse_keys(data);
    if let Ok(sig) = format_openpgp::parse_signature(data)
        && let Ok(keys) = keys
    {
        for k in &keys {
            let _ = format_openpgp::verify(&sig, k, b"data");
        }
    }
});
