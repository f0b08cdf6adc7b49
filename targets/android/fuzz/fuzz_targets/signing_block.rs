//! APK Signing Block: locate and split the block (input as the bytes before a central
//! directory at its end), then parse the signers of each scheme and verify them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use target_android::sigblock;

fuzz_target!(|data: &[u8]| {
    let mut r = std::io::Cursor::new(data);
    if let Ok(Some(b)) = sigblock::find(&mut r, data.len() as u64, 1 << 20) {
        for (id, value) in &b.pairs {
            if let Ok(signers) = sigblock::parse_signers(value, *id != sigblock::V2_ID) {
                for s in &signers {
                    let _ = sigblock::verify_signer(s, &sigblock::ContentDigests::default());
                }
            }
        }
    }
    // The raw value parser on its own, both layouts.
    let _ = sigblock::parse_signers(data, false);
    let _ = sigblock::parse_signers(data, true);
});
