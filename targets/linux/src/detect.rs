//! Detection from the first and last bytes (never the extension alone): an ar archive whose
//! first member is `debian-binary`, an rpm lead, an ELF with the AppImage magic, and a
//! compressed stream whose first decompressed block is a valid tar header.

use format_compress::{Codec, InflateBudget};
use platform::{Detection, Probe};
use std::io::Read;

/// The rpm lead's magic.
pub const RPM_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];

/// Whether `block` is a tar header: a valid checksum over a 512-byte header (ustar or old).
pub fn is_tar_header(block: &[u8]) -> bool {
    if block.len() < 512 || block[..512].iter().all(|b| *b == 0) {
        return false;
    }
    let field = &block[148..156];
    let Ok(s) = std::str::from_utf8(field) else {
        return false;
    };
    let Ok(want) = u64::from_str_radix(s.trim_matches(|c: char| c == '\0' || c == ' '), 8) else {
        return false;
    };
    let sum: u64 = block[..512]
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    sum == want
}

/// The first 512 decompressed bytes of `head` (a prefix of a file), if it decompresses.
fn first_block(codec: Codec, head: &[u8]) -> Option<Vec<u8>> {
    // Detection decompresses 512 bytes at most, charged to a budget of its own.
    let budget = InflateBudget::new(4096);
    let r = format_compress::decoder(codec, head, &budget).ok()?;
    let mut out = Vec::with_capacity(512);
    r.take(512).read_to_end(&mut out).ok()?;
    (out.len() == 512).then_some(out)
}

/// An AppImage's magic in the ELF identification padding: `AI` and the type.
pub fn appimage_type(head: &[u8]) -> Option<u8> {
    (format_elf::is_elf(head)
        && head.len() > 10
        && &head[8..10] == b"AI"
        && matches!(head[10], 1 | 2))
    .then(|| head[10])
}

/// The Linux claim on a probed file.
pub fn detect_probe(probe: &Probe) -> Option<Detection> {
    let head = &probe.head;
    if head.starts_with(b"!<arch>\ndebian-binary") {
        return Some(Detection::new("deb", 100));
    }
    if head.starts_with(&RPM_MAGIC) {
        return Some(Detection::new("rpm", 100));
    }
    if appimage_type(head).is_some() {
        return Some(Detection::new("appimage", 100));
    }
    let ext = probe.extension();
    if head.starts_with(format_ar::MAGIC) && ext.as_deref() == Some("deb") {
        // An ar archive named like a deb whose first member is not `debian-binary`: claimed
        // so that inspection names what is wrong instead of "unrecognised".
        return Some(Detection::new("deb", 40));
    }
    if format_elf::is_elf(head) && ext.as_deref() == Some("appimage") {
        // An ELF named like an AppImage but without the magic: claimed so inspection can
        // say what is missing.
        return Some(Detection::new("appimage", 40));
    }
    if probe.looks_like_zip() {
        return None;
    }
    let codec = Codec::sniff(head);
    let block = if codec == Codec::None {
        head.get(..512).map(<[u8]>::to_vec)
    } else {
        first_block(codec, head)
    };
    if block.is_some_and(|b| is_tar_header(&b)) {
        // A generic container: a platform that knows a tar better (a macOS app in a tar)
        // claims it with more confidence.
        return Some(Detection::new("tarball", 50));
    }
    None
}
