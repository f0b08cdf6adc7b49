//! `dist.json`: any bytes either parse into a manifest that validated, or give an error that
//! names a field; a manifest that parsed serialises and parses again to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use platform::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    match Manifest::from_json(data) {
        Ok(m) => {
            let again = serde_json::to_vec(&m).expect("a parsed manifest serialises");
            let back = Manifest::from_json(&again).expect("a serialised manifest parses again");
            assert_eq!(
                serde_json::to_value(&m).unwrap(),
                serde_json::to_value(&back).unwrap()
            );
        }
        Err(e) => assert!(!e.field.is_empty(), "an error names a field: {e}"),
    }
});
