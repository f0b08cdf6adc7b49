//! The whole path: detection probe, then inspect as each Windows kind.
#![no_main]
use libfuzzer_sys::fuzz_target;
use platform::{InspectContext, Limits, Probe, Target};
use target_windows::WindowsTarget;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_member_bytes: 1 << 20,
        max_streamed_bytes: 1 << 22,
        max_structure_bytes: 1 << 20,
        ..Limits::default()
    };
    let mut r = std::io::Cursor::new(data);
    if let Ok(p) = Probe::read("fuzz.bin", &mut r, &limits) {
        let _ = WindowsTarget.detect(&p);
    }
    for kind in ["exe", "msi", "msix", "msixbundle", "zip"] {
        let ctx = InspectContext::new("fuzz.bin", data.len() as u64, limits, 0);
        let kind = kind.parse().expect("literal kind");
        let _ = WindowsTarget.inspect(&mut std::io::Cursor::new(data), &kind, &ctx);
    }
});
