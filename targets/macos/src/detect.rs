//! Detection by content, never by the extension alone: a UDIF trailer, a zip whose index holds
//! `X.app/Contents/Info.plist`, a tar stream (compressed or not) whose first entries (the
//! probe's bounded listing, `Probe::tar_entries`) are an app bundle's, a xar archive, a Mach-O
//! file built for macOS, a provisioning profile for
//! macOS (`Platform` names `OSX`).

use std::io::Read;

use format_apple::{macho, profile};
use format_compress::{Codec, InflateBudget};
use platform::{Detection, Probe};

use crate::app::is_app_info_plist;

/// Whether a tar entry path is inside an app bundle (`X.app/...` at the top or one folder
/// down).
fn in_app_bundle(path: &str) -> bool {
    let p = path.trim_start_matches("./");
    let mut parts = p.split('/');
    let first = parts.next().unwrap_or("");
    let second = parts.next().unwrap_or("");
    (first.len() > 4 && first.ends_with(".app"))
        || (first != "__MACOSX" && second.len() > 4 && second.ends_with(".app"))
}

/// The entry paths of the tar stream that starts `head`, as far as the probe's bytes reach.
fn tar_paths(head: &[u8]) -> Vec<String> {
    let codec = Codec::sniff(head);
    // Detection decompresses what the probe holds at most, charged to a budget of its own.
    let budget = InflateBudget::new(1 << 20);
    let Ok(r) = format_compress::decoder(codec, head, &budget) else {
        return Vec::new();
    };
    let mut t = format_tar::Reader::new(r.take(1 << 20), 0);
    let mut out = Vec::new();
    while out.len() < 64 {
        match t.next_entry() {
            Ok(Some(e)) => out.push(e.path),
            _ => break,
        }
    }
    out
}

/// Confidence that `head` starts a macOS Mach-O: 100 when the first slice's load commands
/// name macOS (or Mac Catalyst), none when they name another platform, 30 when unseen.
fn macho_confidence(head: &[u8]) -> Option<u8> {
    let slice_start = macho::first_slice_offset(head)?;
    let Some(h) = head.get(slice_start as usize..) else {
        return Some(30);
    };
    let (be, _, _, _, ncmds, sizeofcmds, hlen) = macho::thin_header(h)?;
    let Some(cmds) = h.get(hlen..hlen + sizeofcmds as usize) else {
        return Some(30);
    };
    match macho::parse_load_commands(cmds, ncmds, be) {
        Ok(f) => match f.platform {
            Some(macho::PLATFORM_MACOS | macho::PLATFORM_MACCATALYST) => Some(100),
            Some(_) => None,
            None => Some(30),
        },
        Err(_) => Some(30),
    }
}

/// The macOS claim on a probed file.
pub fn detect_probe(probe: &Probe) -> Option<Detection> {
    // A UDIF trailer in the last 512 bytes (or an encrypted image's header): a disk image,
    // whatever the name; inspection refuses an encrypted one with a clear message.
    if crate::dmg::looks_like_dmg(&probe.head, &probe.tail) {
        return Some(Detection::new("dmg", 100));
    }
    if probe.zip_entries.is_some() {
        return probe
            .any_entry(is_app_info_plist)
            .then(|| Detection::new("app-zip", 100));
    }
    let head = &probe.head;
    if format_xar::is_xar(head) {
        return Some(Detection::new("pkg", 100));
    }
    if profile::looks_like_profile(head) && profile::is_macos_profile(head) {
        return Some(Detection::new("mobileprovision", 100));
    }
    if let Some(c) = macho_confidence(head) {
        return Some(Detection::new("macho", c));
    }
    if probe.looks_like_zip() {
        // A zip whose index does not open (cut short, say) but whose first member is inside
        // an app bundle: claimed weakly, so inspection names what is wrong.
        let first = head
            .get(26..28)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
            .and_then(|n| head.get(30..30 + n))
            .map(|n| String::from_utf8_lossy(n).into_owned());
        return (probe.zip_error.is_some()
            && head.starts_with(b"PK\x03\x04")
            && first.is_some_and(|n| in_app_bundle(&n)))
        .then(|| Detection::new("app-zip", 40));
    }
    // The probe's bounded listing of the stream's first entries reaches headers past its
    // head (a large first entry, a bzip2 or zstd block of incompressible data); a probe
    // built without a reader has only the head to decompress.
    let paths = match &probe.tar_entries {
        Some(p) => p.clone(),
        None => tar_paths(head),
    };
    if paths.iter().any(|p| in_app_bundle(p)) {
        // More confident than a generic tarball (Linux claims those at 50).
        return Some(Detection::new("app-tar", 80));
    }
    // Named .dmg but without a trailer (cut short, or not UDIF at all): claimed weakly, so
    // that inspection says what is wrong instead of "unknown file"; any target that
    // recognises the content claims it with more confidence.
    if probe.file_name.to_ascii_lowercase().ends_with(".dmg") {
        return Some(Detection::new("dmg", 10));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(name: &str, head: &[u8]) -> Probe {
        Probe {
            file_name: name.into(),
            size: head.len() as u64,
            head: head.to_vec(),
            tail: head.to_vec(),
            zip_entries: None,
            zip_error: None,
            tar_entries: None,
        }
    }

    #[test]
    fn by_content_not_name() {
        let mut p = probe("x.ipa", b"PK\x03\x04");
        p.zip_entries = Some(vec!["A.app/Contents/Info.plist".into()]);
        assert_eq!(detect_probe(&p), Some(Detection::new("app-zip", 100)));
        p.zip_entries = Some(vec!["Payload/A.app/Info.plist".into()]);
        assert_eq!(detect_probe(&p), None);
        p.zip_entries = Some(vec!["__MACOSX/A.app/Contents/Info.plist".into()]);
        assert_eq!(detect_probe(&p), None);
        assert_eq!(
            detect_probe(&probe("renamed.zip", b"xar!\0\x1c\0\x01")),
            Some(Detection::new("pkg", 100))
        );
    }

    #[test]
    fn tar_of_an_app_and_of_something_else() {
        let mut t = Vec::new();
        t.extend_from_slice(&format_tar::ustar_header("A.app/", 0, 0o755, b'5'));
        t.extend_from_slice(&[0u8; 1024]);
        assert_eq!(
            detect_probe(&probe("a.bin", &t)),
            Some(Detection::new("app-tar", 80))
        );
        let mut o = Vec::new();
        o.extend_from_slice(&format_tar::ustar_header("usr/", 0, 0o755, b'5'));
        o.extend_from_slice(&[0u8; 1024]);
        assert_eq!(detect_probe(&probe("a.tar", &o)), None);
    }

    #[test]
    fn disk_images_by_trailer_and_by_name_only_weakly() {
        let mut img = vec![0u8; 4096];
        img.extend_from_slice(b"koly");
        img.extend_from_slice(&[0u8; 508]);
        assert_eq!(
            detect_probe(&probe("renamed.bin", &img)),
            Some(Detection::new("dmg", 100))
        );
        assert_eq!(
            detect_probe(&probe("x.img", b"encrcdsa\0\0\0\x02")),
            Some(Detection::new("dmg", 100))
        );
        assert_eq!(
            detect_probe(&probe("cut.dmg", &img[..4096])),
            Some(Detection::new("dmg", 10))
        );
        assert_eq!(detect_probe(&probe("cut.bin", &img[..4096])), None);
    }

    #[test]
    fn macho_for_macos_only() {
        let mut h = vec![
            0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 24, 0, 0, 0,
        ];
        h.extend_from_slice(&[0u8; 8]);
        h.extend_from_slice(&[
            0x32, 0, 0, 0, 24, 0, 0, 0, 1, 0, 0, 0, 0, 0, 14, 0, 0, 0, 14, 0, 0, 0, 0, 0,
        ]);
        assert_eq!(
            detect_probe(&probe("tool", &h)),
            Some(Detection::new("macho", 100))
        );
        let mut ios = h.clone();
        ios[32 + 8] = 2;
        assert_eq!(detect_probe(&probe("tool", &ios)), None);
    }
}
