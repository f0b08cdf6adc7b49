//! The validated names that reach URLs, paths and headers: whatever parses is printed back
//! unchanged, and a file name never carries a folder, a hidden character (control, bidi or
//! other invisible format character) or a leading dot.
#![no_main]
use libfuzzer_sys::fuzz_target;
use platform::{AppSlug, Arch, Build, ChannelName, FileName, Kind, PlatformId, Sha256, Version};

fn round_trip<T: std::str::FromStr + std::fmt::Display>(s: &str) {
    if let Ok(v) = s.parse::<T>() {
        assert_eq!(v.to_string(), s);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    round_trip::<AppSlug>(s);
    round_trip::<Version>(s);
    round_trip::<Build>(s);
    round_trip::<ChannelName>(s);
    round_trip::<PlatformId>(s);
    round_trip::<Kind>(s);
    round_trip::<Arch>(s);
    if let Ok(f) = s.parse::<FileName>() {
        let f = f.to_string();
        assert!(!f.contains(['/', '\\']) && !f.starts_with('.'));
        assert!(!f.chars().any(platform::text::is_hidden));
        assert!(!f.is_empty() && f.len() <= 255);
    }
    if let Ok(d) = s.parse::<Sha256>() {
        assert_eq!(d.to_string().len(), 64);
    }
});
