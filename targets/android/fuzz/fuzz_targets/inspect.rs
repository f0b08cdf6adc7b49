//! The whole path: detection probe, then inspect as APK, AAB and split set.
#![no_main]
use libfuzzer_sys::fuzz_target;
use platform::{InspectContext, Limits, Probe, Target};
use target_android::AndroidTarget;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_member_bytes: 1 << 20,
        max_streamed_bytes: 1 << 22,
        max_structure_bytes: 1 << 20,
        ..Limits::default()
    };
    let mut r = std::io::Cursor::new(data);
    if let Ok(p) = Probe::read("fuzz.apk", &mut r, &limits) {
        let _ = AndroidTarget.detect(&p);
    }
    let ctx = InspectContext::new("fuzz.apk", data.len() as u64, limits, 0);
    for kind in ["apk", "aab", "apks"] {
        let kind = kind.parse().expect("literal kind");
        let _ = AndroidTarget.inspect(&mut std::io::Cursor::new(data), &kind, &ctx);
    }
});
