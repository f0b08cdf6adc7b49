//! The mutated-signed-file property: change one bit the signature covers and the verdict
//! must change (the file is refused, or its signature reads invalid). Which bytes a
//! signature covers is format knowledge, written here per format from the specifications,
//! independently of the parsers under test, so that a verifier that skips a region fails.

use std::ops::Range;

use crate::mutate::Rng;

/// The bytes one signature format covers in one file.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// `apk-v2`, `macho-code`, `cms-content`, `xar-toc`, `zip-members`.
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

/// A zipped app bundle (macOS `app-zip`): the stored data of the members `sealed` names, whose
/// decompressed bytes the bundle's seal (or a special slot) covers. Local headers, the central
/// directory and the end record are the zip's own structure, not signed content. Executables
/// are left to the caller: their code signature blob holds unsigned parts (certificates that
/// are not in the chain, time-stamp tokens), which compressed bytes cannot be told apart from.
pub fn zip_members(d: &[u8], sealed: impl Fn(&str) -> bool) -> Option<Coverage> {
    let e = crate::mutate::eocd(d)?;
    let count = u16::from_le_bytes(d.get(e + 10..e + 12)?.try_into().ok()?) as usize;
    let mut at = u32le(d, e + 16)?;
    let mut ranges = Vec::new();
    for _ in 0..count {
        if d.get(at..at + 4)? != b"PK\x01\x02" {
            return None;
        }
        let csize = u32le(d, at + 20)?;
        let n = u16::from_le_bytes(d.get(at + 28..at + 30)?.try_into().ok()?) as usize;
        let m = u16::from_le_bytes(d.get(at + 30..at + 32)?.try_into().ok()?) as usize;
        let k = u16::from_le_bytes(d.get(at + 32..at + 34)?.try_into().ok()?) as usize;
        let lho = u32le(d, at + 42)?;
        let name = String::from_utf8_lossy(d.get(at + 46..at + 46 + n)?).into_owned();
        let ln = u16::from_le_bytes(d.get(lho + 26..lho + 28)?.try_into().ok()?) as usize;
        let lm = u16::from_le_bytes(d.get(lho + 28..lho + 30)?.try_into().ok()?) as usize;
        let start = lho + 30 + ln + lm;
        if csize > 0 && start + csize <= d.len() && sealed(&name) {
            ranges.push(start..start + csize);
        }
        at += 46 + n + m + k;
    }
    (!ranges.is_empty()).then_some(Coverage {
        format: "zip-members",
        what: "the stored data of the sealed members",
        ranges,
    })
}

/// A xar archive (a macOS installer package): the compressed table of contents, which the
/// TOC checksum covers, and that checksum, first in the heap, which the RSA signature covers
/// (its length from the header's algorithm: 1 SHA-1, 20 bytes; 2 MD5, 16). The TOC in turn
/// lists every file's archived checksum.
pub fn xar_toc(d: &[u8]) -> Option<Coverage> {
    if d.get(..4)? != b"xar!" {
        return None;
    }
    let hs = u16::from_be_bytes(d.get(4..6)?.try_into().ok()?) as usize;
    let tc = usize::try_from(u64::from_be_bytes(d.get(8..16)?.try_into().ok()?)).ok()?;
    let sum = match u32be(d, 24)? {
        1 => 20,
        2 => 16,
        _ => return None,
    };
    let end = hs.checked_add(tc)?.checked_add(sum)?;
    (end <= d.len()).then(|| Coverage {
        format: "xar-toc",
        what: "the compressed table of contents and its checksum",
        ranges: std::iter::once(hs..end).collect(),
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

/// Authenticode over a PE image (the Windows Authenticode PE specification): every byte
/// before the certificate table except the optional header's CheckSum field and the
/// certificate table's data-directory entry. `None` for an image without a certificate
/// table.
pub fn authenticode_pe(d: &[u8]) -> Option<Coverage> {
    let pe = u32le(d, 0x3c)?;
    if d.get(pe..pe + 4)? != b"PE\0\0" {
        return None;
    }
    let opt = pe + 24;
    let magic = u16::from_le_bytes(d.get(opt..opt + 2)?.try_into().ok()?);
    let dirs = opt + if magic == 0x20b { 112 } else { 96 };
    let checksum = opt + 64;
    let cert_dir = dirs + 8 * 4;
    let table = u32le(d, cert_dir)?;
    if table == 0 || table > d.len() {
        return None;
    }
    Some(Coverage {
        format: "authenticode-pe",
        what: "the image outside the checksum, the certificate directory entry and the table",
        ranges: vec![0..checksum, checksum + 4..cert_dir, cert_dir + 8..table],
    })
}

/// A signed MSIX/APPX package: the local records of every member before
/// `AppxSignature.p7x` (its `AXPC` digest, with the block map's per-file hashes). `None`
/// when the package has no signature member.
pub fn appx_records(d: &[u8]) -> Option<Coverage> {
    const NAME: &[u8] = b"AppxSignature.p7x";
    let at = (0..d.len().saturating_sub(30 + NAME.len())).find(|&i| {
        d[i..].starts_with(b"PK\x03\x04")
            && u16::from_le_bytes([d[i + 26], d[i + 27]]) as usize == NAME.len()
            && &d[i + 30..i + 30 + NAME.len()] == NAME
    })?;
    Some(Coverage {
        format: "appx-records",
        what: "the zip's local records before AppxSignature.p7x",
        ranges: std::iter::once(0..at).collect(),
    })
}

/// Authenticode over an MSI (an OLE compound file, [MS-CFB]): the content of every stream
/// but the two signature streams, and each storage's class id. Walked here from the
/// specification with its own small FAT reader (header DIFAT only), not with `formats/cfb`.
/// `None` when the file is no compound file or has no `\u{5}DigitalSignature` stream.
pub fn msi_streams(d: &[u8]) -> Option<Coverage> {
    const MAGIC: [u8; 8] = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
    const END: u32 = 0xffff_fffe;
    if !d.starts_with(&MAGIC) {
        return None;
    }
    let shift = u16::from_le_bytes(d.get(0x1e..0x20)?.try_into().ok()?) as usize;
    let sector = 1usize << shift;
    let at = |n: u32| (n as usize + 1) << shift;
    let num_fat = u32le(d, 0x2c)?;
    if num_fat > 109 {
        return None;
    }
    let mut fat = Vec::new();
    for i in 0..num_fat {
        let s = u32le(d, 0x4c + 4 * i)? as u32;
        let b = d.get(at(s)..at(s) + sector)?;
        fat.extend(
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap())),
        );
    }
    let chain = |start: u32| -> Option<Vec<u32>> {
        let mut out = Vec::new();
        let mut s = start;
        while s != END {
            if out.len() > fat.len() {
                return None;
            }
            out.push(s);
            s = *fat.get(s as usize)?;
        }
        Some(out)
    };
    let dir: Vec<usize> = chain(u32le(d, 0x30)? as u32)?
        .into_iter()
        .flat_map(|s| (0..sector / 128).map(move |k| at(s) + 128 * k))
        .collect();
    let cutoff = u32le(d, 0x38)?;
    let minifat: Vec<u32> = match chain(u32le(d, 0x3c)? as u32) {
        Some(c) => c
            .into_iter()
            .flat_map(|s| {
                d[at(s)..at(s) + sector]
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                    .collect::<Vec<_>>()
            })
            .collect(),
        None => Vec::new(),
    };
    let root = *dir.first()?;
    let mini_sectors = chain(u32le(d, root + 116)? as u32)?;
    let name = |e: usize| -> Vec<u8> {
        let len = u16::from_le_bytes([d[e + 64], d[e + 65]]) as usize;
        d[e..e + len.saturating_sub(2).min(64)].to_vec()
    };
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect() };
    let (sig, sig_ex) = (
        utf16("\u{5}DigitalSignature"),
        utf16("\u{5}MsiDigitalSignatureEx"),
    );
    let mut ranges = Vec::new();
    let mut signed = false;
    for &e in &dir {
        match d[e + 66] {
            1 | 5 => ranges.push(e + 80..e + 96),
            2 => {
                let n = name(e);
                if n == sig {
                    signed = true;
                }
                if n == sig || n == sig_ex {
                    continue;
                }
                let size = u32le(d, e + 120)?;
                let start = u32le(d, e + 116)? as u32;
                if size >= cutoff {
                    let mut left = size;
                    for s in chain(start)? {
                        let take = left.min(sector);
                        ranges.push(at(s)..at(s) + take);
                        left -= take;
                        if left == 0 {
                            break;
                        }
                    }
                } else {
                    let mut left = size;
                    let mut m = start;
                    while left > 0 && m != END {
                        let pos = m as usize * 64;
                        let host = *mini_sectors.get(pos / sector)?;
                        let off = at(host) + pos % sector;
                        let take = left.min(64);
                        ranges.push(off..off + take);
                        left -= take;
                        m = *minifat.get(m as usize)?;
                    }
                }
            }
            _ => {}
        }
    }
    signed.then_some(Coverage {
        format: "authenticode-msi",
        what: "the MSI's stream contents and class ids",
        ranges,
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
