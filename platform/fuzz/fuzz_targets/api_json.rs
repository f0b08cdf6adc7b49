//! Request bodies distd accepts (it refuses unknown fields): any bytes either fail to
//! deserialise or give a value that serialises and deserialises to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use platform::api::{ReleaseCreate, TokenCreate};

fn check<T>(data: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    if let Ok(v) = serde_json::from_slice::<T>(data) {
        let first = serde_json::to_value(&v).unwrap();
        let back: T = serde_json::from_value(first.clone()).expect("own output deserialises");
        assert_eq!(first, serde_json::to_value(&back).unwrap());
    }
}

fuzz_target!(|data: &[u8]| {
    check::<ReleaseCreate>(data);
    check::<TokenCreate>(data);
});
