//! Issue 16: an app in a `.tar.zst` or `.tar.bz2` whose first entry is large (incompressible
//! data first, so its first compressed block, and the next header, lie past the probe's
//! 64 KiB head) is still recognised by content: detection reads the stream's first entries
//! through the probe's bounded decompression, not the head alone. The same bytes with the
//! head only are not recognised, which is what this guards against.

mod common;

use std::io::{Cursor, Write};

use platform::{Detection, Limits, Probe};
use target_macos::detect_probe;

/// Bytes no compressor shrinks (xorshift).
fn noise(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn entry(out: &mut Vec<u8>, path: &str, data: &[u8], mode: u32, typeflag: u8) {
    out.extend_from_slice(&format_tar::ustar_header(
        path,
        data.len() as u64,
        mode,
        typeflag,
    ));
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// A tar whose first entry (`first`) holds `big` bytes of noise, then the app bundle of the
/// project's Developer ID fixture.
fn tar(first: &str, big: usize) -> Vec<u8> {
    let zip = std::fs::read(common::fixtures().join("devid.zip")).unwrap();
    let mut t = Vec::new();
    entry(&mut t, first, &noise(big), 0o644, b'0');
    let mut z = zip::read_entries(&zip);
    z.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, data) in z {
        if name.ends_with('/') {
            entry(&mut t, &name, b"", 0o755, b'5');
        } else {
            entry(&mut t, &name, &data, 0o755, b'0');
        }
    }
    t.extend_from_slice(&[0u8; 1024]);
    t
}

fn zst(t: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(t, 19).unwrap()
}

fn bz2(t: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    e.write_all(t).unwrap();
    e.finish().unwrap()
}

fn probe(name: &str, data: &[u8]) -> Probe {
    Probe::read(name, &mut Cursor::new(data), &Limits::default()).unwrap()
}

#[test]
fn a_large_first_entry_does_not_hide_the_app() {
    for (first, big) in [
        // A file outside the bundle first: the app's headers start past 64 KiB.
        ("notes/big.bin", 300 << 10),
        // The bundle's own large resource first.
        ("Tiny.app/Contents/Resources/big.bin", 300 << 10),
    ] {
        let t = tar(first, big);
        for (name, data) in [("renamed.bin", zst(&t)), ("renamed.dat", bz2(&t))] {
            assert!(data.len() > 2 * platform::probe::PROBE_BYTES, "{name}");
            let p = probe(name, &data);
            let entries = p.tar_entries.clone().unwrap_or_default();
            assert_eq!(entries.first().map(String::as_str), Some(first), "{name}");
            assert_eq!(
                detect_probe(&p),
                Some(Detection::new("app-tar", 80)),
                "{first} in {name}: {entries:?}"
            );
            // The head alone does not reach the app: the case the listing is for.
            let head_only = Probe {
                tar_entries: None,
                ..p.clone()
            };
            if first.starts_with("notes/") {
                assert_eq!(detect_probe(&head_only), None, "{name}");
            }
            // Detected and read through the target as a whole.
            let i = common::inspect_bytes(name, &data).unwrap().inspection;
            assert_eq!(i.kind.as_str(), "app-tar", "{name}");
            assert_eq!(i.identity.as_deref(), Some("com.dist.tiny"), "{name}");
        }
    }
}

#[test]
fn the_listing_is_bounded_and_names_no_tar_for_other_streams() {
    // A compressed stream that is no tar: no entries, no claim.
    let p = probe(
        "x.zst",
        &zstd::stream::encode_all(&noise(200_000)[..], 3).unwrap(),
    );
    assert_eq!(p.tar_entries, None);
    assert_eq!(detect_probe(&p), None);
    // More entries than the listing keeps: it stops at its bound.
    let mut t = Vec::new();
    for n in 0..200 {
        entry(&mut t, &format!("d{n}/"), b"", 0o755, b'5');
    }
    t.extend_from_slice(&[0u8; 1024]);
    let p = probe("many.tar.zst", &zst(&t));
    assert_eq!(
        p.tar_entries.map(|e| e.len()),
        Some(platform::probe::TAR_PROBE_ENTRIES)
    );
}

/// The members of a zip (stored or deflated), through `formats/zip`.
mod zip {
    pub fn read_entries(data: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut c = std::io::Cursor::new(data);
        let limits = platform::Limits::default();
        let index = format_zip::read_index(&mut c, data.len() as u64, &limits).unwrap();
        let budget = format_zip::InflateBudget::new(1 << 30);
        index
            .entries
            .iter()
            .map(|e| {
                let d = if e.name.ends_with('/') {
                    Vec::new()
                } else {
                    format_zip::read_entry(&mut c, e, index.eocd.cd_offset, 1 << 20, &budget)
                        .unwrap()
                };
                (e.name.clone(), d)
            })
            .collect()
    }
}
