//! JAR signing (APK v1, and the signature of an Android App Bundle): the PKCS#7 SignedData
//! in `META-INF/*.RSA|EC|DSA` over the `.SF` file, the `.SF` digests of `MANIFEST.MF`, and the
//! manifest's digest of every entry (streamed, capped by `Limits`).

use std::collections::BTreeMap;
use std::io::Read;

use base64::Engine;
use platform::{InflateBudget, Limits, ReadSeek};

use crate::Error;
use crate::zipr::{self, ZipIndex};
use format_pki::{Certificate, Hash, SignedData, Verdict};

/// A manifest split into its main attributes and named sections, each with its raw bytes.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub main: BTreeMap<String, String>,
    pub main_raw: Vec<u8>,
    /// Name -> (attributes, raw bytes of the section including its blank line).
    pub sections: BTreeMap<String, (BTreeMap<String, String>, Vec<u8>)>,
}

/// Splits manifest bytes into sections at blank lines, joining continuation lines.
pub fn parse_manifest(data: &[u8]) -> Manifest {
    let mut m = Manifest::default();
    let mut pos = 0usize;
    let mut first = true;
    while pos < data.len() {
        let start = pos;
        let mut lines: Vec<Vec<u8>> = Vec::new();
        // Read lines up to and including an empty line.
        loop {
            if pos >= data.len() {
                break;
            }
            let rest = &data[pos..];
            let (line, adv) = match rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
                Some(i) => {
                    let adv = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                        i + 2
                    } else {
                        i + 1
                    };
                    (&rest[..i], adv)
                }
                None => (rest, rest.len()),
            };
            pos += adv;
            if line.is_empty() {
                break;
            }
            if let (Some(b' '), Some(last)) = (line.first(), lines.last_mut()) {
                last.extend_from_slice(&line[1..]);
            } else {
                lines.push(line.to_vec());
            }
        }
        let raw = data[start..pos].to_vec();
        let mut attrs = BTreeMap::new();
        for l in &lines {
            let l = String::from_utf8_lossy(l);
            if let Some((k, v)) = l.split_once(": ") {
                attrs.insert(k.to_owned(), v.to_owned());
            }
        }
        if first {
            m.main = attrs;
            m.main_raw = raw;
            first = false;
        } else if let Some(name) = attrs.get("Name").cloned() {
            m.sections.insert(name, (attrs, raw));
        }
    }
    m
}

/// `SHA-256-Digest` and friends: (hash, expected digest) pairs with the given suffix.
fn digests_in(attrs: &BTreeMap<String, String>, suffix: &str) -> Vec<(Hash, Vec<u8>)> {
    let mut out = Vec::new();
    for (k, v) in attrs {
        let Some(alg) = k.strip_suffix(suffix) else {
            continue;
        };
        let hash = match alg.to_ascii_uppercase().as_str() {
            "SHA1" | "SHA-1" => Hash::Sha1,
            "SHA-256" | "SHA256" => Hash::Sha256,
            "SHA-384" | "SHA384" => Hash::Sha384,
            "SHA-512" | "SHA512" => Hash::Sha512,
            _ => continue,
        };
        if let Ok(d) = base64::engine::general_purpose::STANDARD.decode(v.trim()) {
            out.push((hash, d));
        }
    }
    out
}

fn digest(hash: Hash, data: &[u8]) -> Vec<u8> {
    hash.digest(data)
}

/// Result of JAR verification.
#[derive(Debug, Clone, Default)]
pub struct JarResult {
    /// Signers, one per signature block file that parsed.
    pub signers: Vec<Certificate>,
    /// Every check passed.
    pub ok: bool,
    /// Some check could not be made (an algorithm this build lacks).
    pub unsupported: bool,
    pub problems: Vec<String>,
    /// `X-Android-APK-Signed` values in the `.SF` files (stripping protection).
    pub apk_signed_schemes: Vec<u32>,
    /// Entries outside META-INF the manifest does not cover.
    pub unprotected: Vec<String>,
}

/// True when the index holds a JAR signature (a manifest and at least one `.SF`).
pub fn present(index: &ZipIndex) -> bool {
    index.get("META-INF/MANIFEST.MF").is_some()
        && index
            .names()
            .any(|n| is_meta_file(n) && n.to_ascii_uppercase().ends_with(".SF"))
}

fn is_meta_file(n: &str) -> bool {
    n.strip_prefix("META-INF/")
        .is_some_and(|rest| !rest.contains('/'))
}

/// Verifies every JAR signer and every entry digest the manifest lists.
pub fn verify(
    r: &mut dyn ReadSeek,
    index: &ZipIndex,
    limits: &Limits,
    budget: &InflateBudget,
) -> Result<JarResult, Error> {
    let cd = index.eocd.cd_offset;
    let cap = limits.max_member_bytes.min(limits.max_structure_bytes);
    let mut res = JarResult {
        ok: true,
        ..Default::default()
    };
    let mf_entry = index
        .get("META-INF/MANIFEST.MF")
        .ok_or_else(|| Error::Signature("no META-INF/MANIFEST.MF".into()))?;
    let mf_bytes = zipr::read_entry(r, mf_entry, cd, cap, budget)?;
    let manifest = parse_manifest(&mf_bytes);

    let sf_names: Vec<String> = index
        .names()
        .filter(|n| is_meta_file(n) && n.to_ascii_uppercase().ends_with(".SF"))
        .map(str::to_owned)
        .collect();
    for sf_name in &sf_names {
        let stem = &sf_name[..sf_name.len() - 3];
        let block = ["RSA", "EC", "DSA"].iter().find_map(|ext| {
            index
                .entries
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(&format!("{stem}.{ext}")))
        });
        let Some(block) = block else {
            res.ok = false;
            res.problems
                .push(format!("{sf_name} has no signature block file"));
            continue;
        };
        let sf_entry = index
            .get(sf_name)
            .ok_or_else(|| Error::Signature(format!("{sf_name} vanished")))?;
        let sf = zipr::read_entry(r, sf_entry, cd, cap, budget)?;
        let block_bytes = zipr::read_entry(r, block, cd, cap, budget)?;
        let (cert, verdict) = match verify_pkcs7(&block_bytes, &sf) {
            Ok(v) => v,
            Err(e) => {
                res.ok = false;
                res.problems.push(format!("{}: {e}", block.name));
                continue;
            }
        };
        match verdict {
            Verdict::Valid => {}
            Verdict::Invalid => {
                res.ok = false;
                res.problems.push(format!(
                    "{}: PKCS#7 signature over {sf_name} did not verify",
                    block.name
                ));
            }
            Verdict::Unsupported(why) => {
                res.unsupported = true;
                res.problems
                    .push(format!("{}: cannot check {why}", block.name));
            }
        }
        res.signers.push(cert);
        check_sf(&sf, sf_name, &mf_bytes, &manifest, &mut res);
    }

    // Entry digests, each entry streamed once per distinct hash, every byte charged to the
    // inspection's decompression budget.
    for (name, (attrs, _)) in &manifest.sections {
        let wanted = digests_in(attrs, "-Digest");
        if wanted.is_empty() {
            continue;
        }
        let Some(entry) = index.get(name) else {
            res.ok = false;
            res.problems.push(format!(
                "{name} is listed in MANIFEST.MF but not in the archive"
            ));
            continue;
        };
        let mut ctxs: Vec<(Hash, ring::digest::Context)> = wanted
            .iter()
            .map(|(h, _)| (*h, ring::digest::Context::new(h.ring())))
            .collect();
        let mut reader = zipr::open_entry(r, entry, cd, limits.max_streamed_bytes, budget)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| Error::from(format_zip::read_error(name, e)))?;
            if n == 0 {
                break;
            }
            for (_, c) in ctxs.iter_mut() {
                c.update(&buf[..n]);
            }
        }
        for ((hash, expected), (_, c)) in wanted.iter().zip(ctxs) {
            if c.finish().as_ref() != expected.as_slice() {
                res.ok = false;
                res.problems.push(format!(
                    "{hash:?} digest of {name} does not match MANIFEST.MF"
                ));
            }
        }
    }
    for e in &index.entries {
        if e.is_dir() || e.name.starts_with("META-INF/") {
            continue;
        }
        if !manifest.sections.contains_key(&e.name) {
            res.unprotected.push(e.name.clone());
        }
    }
    if !res.unprotected.is_empty() {
        res.ok = false;
        res.problems.push(format!(
            "{} entries are not covered by the JAR signature (first: {})",
            res.unprotected.len(),
            res.unprotected[0]
        ));
    }
    Ok(res)
}

/// Checks a `.SF` file against the manifest: the whole-manifest digest if it matches, the
/// per-section digests otherwise (the JAR specification's rule).
fn check_sf(sf: &[u8], sf_name: &str, mf: &[u8], manifest: &Manifest, res: &mut JarResult) {
    let parsed = parse_manifest(sf);
    if let Some(v) = parsed.main.get("X-Android-APK-Signed") {
        res.apk_signed_schemes
            .extend(v.split(',').filter_map(|s| s.trim().parse::<u32>().ok()));
    }
    let whole = digests_in(&parsed.main, "-Digest-Manifest");
    if !whole.is_empty() && whole.iter().all(|(h, d)| digest(*h, mf) == *d) {
        return;
    }
    for (h, d) in digests_in(&parsed.main, "-Digest-Manifest-Main-Attributes") {
        if digest(h, &manifest.main_raw) != d {
            res.ok = false;
            res.problems.push(format!(
                "{sf_name}: digest of the manifest's main attributes does not match"
            ));
        }
    }
    for (name, (attrs, _)) in &parsed.sections {
        let Some((_, raw)) = manifest.sections.get(name) else {
            res.ok = false;
            res.problems.push(format!(
                "{sf_name} names {name}, which MANIFEST.MF does not"
            ));
            continue;
        };
        for (h, d) in digests_in(attrs, "-Digest") {
            if digest(h, raw) != d {
                res.ok = false;
                res.problems.push(format!(
                    "{sf_name}: digest of the MANIFEST.MF section for {name} does not match"
                ));
            }
        }
    }
    if parsed.sections.is_empty() && !whole.is_empty() {
        res.ok = false;
        res.problems
            .push(format!("{sf_name}: digest of MANIFEST.MF does not match"));
    }
    // Without a matching whole-manifest digest, the `.SF` sections are all that sign the
    // manifest: an entry whose digest sits in MANIFEST.MF but not in the `.SF` is unsigned
    // (issue 10, item 1; apksigner and jarsigner refuse it too).
    let uncovered: Vec<&String> = manifest
        .sections
        .keys()
        .filter(|n| !parsed.sections.contains_key(*n))
        .collect();
    if let Some(first) = uncovered.first() {
        res.ok = false;
        res.problems.push(format!(
            "{sf_name} does not sign {} MANIFEST.MF entries (first: {first}) and its whole-manifest digest does not match",
            uncovered.len()
        ));
    }
}

/// Parses a PKCS#7 SignedData (detached) and verifies its first signer over `content`.
pub fn verify_pkcs7(block: &[u8], content: &[u8]) -> Result<(Certificate, Verdict), Error> {
    let sd = SignedData::parse(block)?;
    let info = sd
        .signers
        .first()
        .ok_or_else(|| Error::Der("the signature block has no signer info".into()))?;
    let cert = sd.signer_certificate(info).cloned().ok_or_else(|| {
        Error::Der("the signer's certificate is not in the signature block".into())
    })?;
    info.hash()?;
    let verdict = info.verify(&cert, content);
    Ok((cert, verdict))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_sections_and_continuations() {
        let mf = b"Manifest-Version: 1.0\r\nCreated-By: x\r\n\r\nName: res/a_very_long\r\n _name.png\r\nSHA-256-Digest: AAAA\r\n\r\nName: b\r\nSHA1-Digest: AAAA\r\n\r\n";
        let m = parse_manifest(mf);
        assert_eq!(m.main.get("Manifest-Version").unwrap(), "1.0");
        assert!(m.sections.contains_key("res/a_very_long_name.png"));
        let (_, raw) = &m.sections["b"];
        assert_eq!(raw.as_slice(), b"Name: b\r\nSHA1-Digest: AAAA\r\n\r\n");
        assert_eq!(
            m.main_raw.as_slice(),
            b"Manifest-Version: 1.0\r\nCreated-By: x\r\n\r\n"
        );
    }
}
