//! The mutated-signed-file property: change one bit the signature covers and the verdict
//! must change (the file is refused, or its signature reads invalid). Which bytes a
//! signature covers is format knowledge, written here per format from the specifications,
//! independently of the parsers under test, so that a verifier that skips a region fails.

use std::ops::Range;

use crate::mutate::Rng;

/// The bytes one signature format covers in one file.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// `apk-v2`, `macho-code`, `cms-content`.
    pub format: &'static str,
    /// What the ranges are, for failure messages.
    pub what: &'static str,
    pub ranges: Vec<Range<usize>>,
}

impl Coverage {
    pub fn len(&self) -> usize {
        self.ranges.iter().map(|r| r.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th covered byte's offset.
    fn offset(&self, mut i: usize) -> usize {
        for r in &self.ranges {
            if i < r.len() {
                return r.start + i;
            }
            i -= r.len();
        }
        unreachable!("index within len()")
    }
}

fn u32le(d: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?) as usize)
}

fn u32be(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// APK Signature Scheme v2/v3: every byte outside the APK Signing Block (the ZIP entries,
/// the central directory and the end record; the end record's directory offset is hashed as
/// if it pointed at the block, and changing it breaks the archive anyway). `None` without
/// a signing block.
pub fn apk_v2(d: &[u8]) -> Option<Coverage> {
    let e = crate::mutate::eocd(d)?;
    let cd = u32le(d, e + 16)?;
    let magic = d.get(cd.checked_sub(16)?..cd)?;
    if magic != b"APK Sig Block 42" {
        return None;
    }
    let size = u64::from_le_bytes(d.get(cd - 24..cd - 16)?.try_into().ok()?) as usize;
    let start = cd.checked_sub(size.checked_add(8)?)?;
    Some(Coverage {
        format: "apk-v2",
        what: "ZIP entries, central directory and end record",
        ranges: vec![0..start, cd..d.len()],
    })
}

/// The code limit of the CodeDirectory in the SuperBlob at `sig` (slot 0).
fn code_limit(d: &[u8], sig: usize) -> Option<usize> {
    if u32be(d, sig)? != 0xfade_0cc0 {
        return None;
    }
    let count = u32be(d, sig + 8)? as usize;
    for i in 0..count.min(64) {
        let slot = u32be(d, sig + 12 + i * 8)?;
        let off = u32be(d, sig + 16 + i * 8)? as usize;
        if slot == 0 {
            let cd = sig + off;
            if u32be(d, cd)? != 0xfade_0c02 {
                return None;
            }
            return Some(u32be(d, cd + 32)? as usize);
        }
    }
    None
}

/// The code signature's offset (LC_CODE_SIGNATURE dataoff) in the thin Mach-O at `at`.
fn signature_offset(d: &[u8], at: usize) -> Option<usize> {
    let magic = u32le(d, at)? as u32;
    // Little-endian headers only: every Apple platform dist reads is little-endian.
    let is64 = match magic {
        0xfeed_face => false,
        0xfeed_facf => true,
        _ => return None,
    };
    let ncmds = u32le(d, at + 16)?;
    let mut off = at + if is64 { 32 } else { 28 };
    for _ in 0..ncmds.min(1024) {
        let cmd = u32le(d, off)?;
        let size = u32le(d, off + 4)?;
        if cmd == 0x1d {
            return u32le(d, off + 8);
        }
        if size < 8 {
            return None;
        }
        off += size;
    }
    None
}

/// Apple code signatures: the code pages of every slice, up to each CodeDirectory's code
/// limit (the headers and load commands included). The fat header and the signature blob
/// itself are not code; an ad hoc signature pins nothing else.
pub fn macho_code(d: &[u8]) -> Option<Coverage> {
    let slices: Vec<usize> = match u32be(d, 0)? {
        0xcafe_babe => {
            let n = u32be(d, 4)? as usize;
            (0..n.min(20))
                .map(|i| u32be(d, 8 + i * 20 + 8).map(|o| o as usize))
                .collect::<Option<_>>()?
        }
        _ => vec![0],
    };
    let mut ranges = Vec::new();
    for s in slices {
        let sig = s + signature_offset(d, s)?;
        let limit = code_limit(d, sig)?;
        ranges.push(s..(s + limit).min(d.len()));
    }
    Some(Coverage {
        format: "macho-code",
        what: "code pages (headers, load commands, code) up to the code limit",
        ranges,
    })
}

fn find(d: &[u8], needle: &[u8]) -> Option<usize> {
    d.windows(needle.len()).position(|w| w == needle)
}

/// CMS with signed attributes over encapsulated content (a provisioning profile): the
/// content, here the XML plist, whose digest the signed attributes carry.
pub fn cms_content(d: &[u8]) -> Option<Coverage> {
    let start = find(d, b"<?xml").or_else(|| find(d, b"<plist"))?;
    let end = start + find(&d[start..], b"</plist>")? + b"</plist>".len();
    Some(Coverage {
        format: "cms-content",
        what: "the encapsulated content (the plist)",
        ranges: std::iter::once(start..end).collect(),
    })
}

/// Flips `samples` single bits at covered offsets (deterministic in `seed`) and checks that
/// `verdict` (a summary of what the target concluded: parse, signature state, ...) changes
/// every time. Returns how many flips were checked, or every flip the verdict survived.
pub fn flips_change_the_verdict(
    data: &[u8],
    coverage: &Coverage,
    samples: usize,
    seed: u64,
    verdict: impl Fn(&[u8]) -> String,
) -> Result<usize, Vec<String>> {
    assert!(
        !coverage.is_empty(),
        "{}: the signature covers no bytes",
        coverage.format
    );
    let original = verdict(data);
    let mut rng = Rng::new(seed);
    let mut survived = Vec::new();
    for _ in 0..samples {
        let at = coverage.offset(rng.below(coverage.len()));
        let bit = rng.below(8);
        let mut d = data.to_vec();
        d[at] ^= 1 << bit;
        let v = verdict(&d);
        if v == original {
            survived.push(format!(
                "{}: bit {bit} of byte {at} ({}) flipped, the verdict is still {v}",
                coverage.format, coverage.what
            ));
        }
    }
    if survived.is_empty() {
        Ok(samples)
    } else {
        Err(survived)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_walk_the_ranges() {
        let c = Coverage {
            format: "t",
            what: "t",
            ranges: vec![0..2, 10..12],
        };
        assert_eq!(c.len(), 4);
        assert_eq!(
            (0..4).map(|i| c.offset(i)).collect::<Vec<_>>(),
            [0, 1, 10, 11]
        );
    }

    /// The property fails a verifier that ignores a covered byte.
    #[test]
    fn a_blind_verdict_fails_the_property() {
        let data = vec![1u8; 64];
        let c = Coverage {
            format: "t",
            what: "all",
            ranges: std::iter::once(0..64).collect(),
        };
        assert!(flips_change_the_verdict(&data, &c, 8, 1, |_| "signed".into()).is_err());
        assert_eq!(
            flips_change_the_verdict(&data, &c, 8, 1, |d| format!("{d:?}")),
            Ok(8)
        );
    }
}
