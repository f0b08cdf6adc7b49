//! RPM packages: the 96-byte lead, the signature header (padded to 8 bytes), the main header
//! and the compressed cpio payload. The fields come from the main header; the header's
//! SHA-256 (signature tag 273) and the payload's digest (header tag 5092) are recomputed, and
//! OpenPGP signatures (rpm 6's header-only tag 278, one or more in base64, of which the first
//! by a trusted key is checked; header-only V4, tag 268 or 267; header+payload V3, tag 1002)
//! are verified against the trusted keys in the inspection context.
//!
//! `details` schema: `name`, `epoch`, `version`, `release`, `arch`, `summary`, `license`,
//! `url`, `source` (bool), `source_rpm`, `payload_format`, `payload_compressor`,
//! `payload_bytes` (decompressed size, when no payload digest vouches for it), `requires`
//! (up to 256 `name [op version]` strings), `digests` (`header_sha256`, `header_sha1`,
//! `payload`: each `ok`, `bad` or `absent`), `signature` (`scheme` `rpm-v6`, `rpm-v4` or
//! `rpm-v3`, `key_id`, `fingerprint`, `hash`, `created`, `verified`, and `other_key_ids` when
//! an rpm 6 header lists more signatures), `depends` (requires joined, for the page).

use std::io::{Read, SeekFrom};

use base64::Engine;
use format_compress::Codec;
use platform::{Finding, InspectContext, Inspection, ReadSeek, SignatureState};
use serde_json::json;
use sha2::Digest;

use crate::Error;

const HEADER_MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
/// Index entries one header may have: real packages have a few hundred.
const MAX_INDEX: u32 = 65_536;
/// V3 signatures cover header and payload, which must then be read into memory: only up
/// to this size.
const MAX_V3_SIGNED: u64 = 16 << 20;
/// Signatures one rpm 6 signature header may list (tag 278): a package has one or two.
const MAX_OPENPGP_SIGS: usize = 16;

// Tags (rpm's rpmtag.h).
const SIG_SIZE: u32 = 1000;
const SIG_PGP: u32 = 1002;
const SIG_MD5: u32 = 1004;
const SIG_GPG: u32 = 1005;
const SIG_DSA: u32 = 267;
const SIG_RSA: u32 = 268;
const SIG_SHA1: u32 = 269;
const SIG_SHA256: u32 = 273;
/// rpm 6: OpenPGP signatures of the header, base64, one string each.
const SIG_OPENPGP: u32 = 278;
const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const SUMMARY: u32 = 1004;
const LICENSE: u32 = 1014;
const URL: u32 = 1020;
const ARCH: u32 = 1022;
const SOURCERPM: u32 = 1044;
const REQUIRENAME: u32 = 1049;
const REQUIREVERSION: u32 = 1050;
const REQUIREFLAGS: u32 = 1048;
const PAYLOADFORMAT: u32 = 1124;
const PAYLOADCOMPRESSOR: u32 = 1125;
const PAYLOADDIGEST: u32 = 5092;
const PAYLOADDIGESTALGO: u32 = 5093;

/// One header: index entries and the data store, with the bytes as stored (what the
/// header digests and signatures cover).
pub struct Header {
    entries: Vec<(u32, u32, u32, u32)>,
    store_at: usize,
    pub blob: Vec<u8>,
}

impl Header {
    /// Reads a header at the reader's position, where `left` bytes of the file remain;
    /// `max` bounds its size.
    pub fn read(r: &mut dyn ReadSeek, left: u64, max: u64, what: &str) -> Result<Header, Error> {
        let mut pre = [0u8; 16];
        r.read_exact(&mut pre)?;
        if pre[..8] != HEADER_MAGIC {
            return Err(Error::Malformed(format!(
                "the {what} does not start with the header magic"
            )));
        }
        let n = u32::from_be_bytes([pre[8], pre[9], pre[10], pre[11]]);
        let size = u32::from_be_bytes([pre[12], pre[13], pre[14], pre[15]]);
        if n > MAX_INDEX {
            return Err(Error::Limit(format!(
                "the {what} has {n} index entries, more than {MAX_INDEX}"
            )));
        }
        let total = 16 + 16 * u64::from(n) + u64::from(size);
        if total > max {
            return Err(Error::Limit(format!(
                "the {what} is {total} bytes, more than {max}"
            )));
        }
        if total > left {
            return Err(Error::Malformed(format!(
                "the {what} claims {total} bytes, but only {left} are left in the file: it is truncated"
            )));
        }
        let mut blob = pre.to_vec();
        blob.resize(total as usize, 0);
        r.read_exact(&mut blob[16..])?;
        let mut entries = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            let e = &blob[16 + 16 * i..32 + 16 * i];
            let w = |k: usize| u32::from_be_bytes([e[k], e[k + 1], e[k + 2], e[k + 3]]);
            let (tag, ty, off, count) = (w(0), w(4), w(8), w(12));
            if off > size {
                return Err(Error::Malformed(format!(
                    "{what} entry {i} (tag {tag}) points past the data store"
                )));
            }
            entries.push((tag, ty, off, count));
        }
        Ok(Header {
            entries,
            store_at: 16 + 16 * n as usize,
            blob,
        })
    }

    fn entry(&self, tag: u32) -> Option<(u32, &[u8], u32)> {
        let (_, ty, off, count) = *self.entries.iter().find(|e| e.0 == tag)?;
        Some((ty, &self.blob[self.store_at + off as usize..], count))
    }

    /// A STRING or the first of an I18NSTRING / STRING_ARRAY.
    pub fn string(&self, tag: u32) -> Option<String> {
        let (ty, d, _) = self.entry(tag)?;
        if !matches!(ty, 6 | 8 | 9) {
            return None;
        }
        let end = d.iter().position(|b| *b == 0)?;
        Some(String::from_utf8_lossy(&d[..end]).into_owned())
    }

    /// A STRING_ARRAY, at most `max` items.
    pub fn strings(&self, tag: u32, max: usize) -> Vec<String> {
        let Some((8 | 6 | 9, mut d, count)) = self.entry(tag) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for _ in 0..count.min(max as u32) {
            let Some(end) = d.iter().position(|b| *b == 0) else {
                break;
            };
            out.push(String::from_utf8_lossy(&d[..end]).into_owned());
            d = &d[end + 1..];
        }
        out
    }

    /// INT32 values, at most `max`.
    pub fn ints(&self, tag: u32, max: usize) -> Vec<u32> {
        let Some((4, d, count)) = self.entry(tag) else {
            return Vec::new();
        };
        d.chunks_exact(4)
            .take(count.min(max as u32) as usize)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    /// BIN data.
    pub fn bin(&self, tag: u32) -> Option<&[u8]> {
        let (ty, d, count) = self.entry(tag)?;
        (ty == 7).then(|| d.get(..count as usize)).flatten()
    }

    pub fn has(&self, tag: u32) -> bool {
        self.entries.iter().any(|e| e.0 == tag)
    }
}

fn sha256_hex(d: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(d))
}

/// Reads the file into `ins` (a fresh, unsigned Inspection; see `crate::inspect_with`).
pub(crate) fn read(
    r: &mut dyn ReadSeek,
    ctx: &InspectContext,
    ins: &mut Inspection,
) -> Result<(), Error> {
    let mut lead = [0u8; 96];
    r.seek(SeekFrom::Start(0))?;
    r.read_exact(&mut lead)?;
    if lead[..4] != crate::detect::RPM_MAGIC {
        return Err(Error::Malformed("no rpm lead magic".into()));
    }
    if !matches!(lead[4], 3 | 4) {
        return Err(Error::Malformed(format!(
            "rpm format {}.{} is not one rpm reads (3 or 4)",
            lead[4], lead[5]
        )));
    }
    let lead_source = u16::from_be_bytes([lead[6], lead[7]]) == 1;
    let max = ctx.limits.max_structure_bytes;
    let sig = Header::read(r, ctx.size.saturating_sub(96), max, "signature header")?;
    let pad = (8 - sig.blob.len() % 8) % 8;
    let main_at = 96 + sig.blob.len() as u64 + pad as u64;
    r.seek(SeekFrom::Start(main_at))?;
    let h = Header::read(r, ctx.size.saturating_sub(main_at), max, "header")?;
    let payload_at = main_at + h.blob.len() as u64;

    let name = h.string(NAME);
    let version = h.string(VERSION);
    let release = h.string(RELEASE);
    let arch = h.string(ARCH);
    let (Some(name), Some(version), Some(release)) = (name, version, release) else {
        return Err(Error::Malformed(
            "the header has no NAME, VERSION or RELEASE".into(),
        ));
    };
    let source_rpm = h.string(SOURCERPM);
    let is_source = lead_source || source_rpm.is_none();
    let epoch = h.ints(EPOCH, 1).first().copied();
    let compressor = h.string(PAYLOADCOMPRESSOR).unwrap_or_else(|| "gzip".into());
    let names = h.strings(REQUIRENAME, 256);
    let vers = h.strings(REQUIREVERSION, 256);
    let flags = h.ints(REQUIREFLAGS, 256);
    let requires: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let v = vers.get(i).map(String::as_str).unwrap_or("");
            let f = flags.get(i).copied().unwrap_or(0);
            let op = match f & 0x0e {
                2 => "<",
                4 => ">",
                8 => "=",
                10 => "<=",
                12 => ">=",
                _ => "",
            };
            if v.is_empty() || op.is_empty() {
                n.clone()
            } else {
                format!("{n} {op} {v}")
            }
        })
        .collect();
    ins.identity = Some(name.clone());
    ins.version = Some(format!("{version}-{release}"));
    ins.archs = Some(vec![if is_source {
        "src".into()
    } else {
        arch.clone().unwrap_or_default()
    }]);
    for (k, v) in [
        ("name", json!(name)),
        ("epoch", json!(epoch)),
        ("version", json!(version)),
        ("release", json!(release)),
        ("arch", json!(arch)),
        ("summary", json!(h.string(SUMMARY))),
        ("license", json!(h.string(LICENSE))),
        ("url", json!(h.string(URL))),
        ("source", json!(is_source)),
        ("source_rpm", json!(source_rpm)),
        (
            "payload_format",
            json!(h.string(PAYLOADFORMAT).unwrap_or_else(|| "cpio".into())),
        ),
        ("payload_compressor", json!(compressor)),
        ("requires", json!(requires)),
    ] {
        ins.details.insert(k.into(), v);
    }
    let deps: Vec<&String> = requires
        .iter()
        .filter(|r| !r.starts_with("rpmlib(") && !r.starts_with('/'))
        .collect();
    if !deps.is_empty() {
        ins.details.insert(
            "depends".into(),
            json!(
                deps.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }

    // Digests.
    let header_sha256 = match sig.string(SIG_SHA256) {
        Some(want) if want.eq_ignore_ascii_case(&sha256_hex(&h.blob)) => "ok",
        Some(_) => "bad",
        None => "absent",
    };
    let header_sha1 = match sig.string(SIG_SHA1) {
        Some(want) => {
            let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &h.blob);
            if want.eq_ignore_ascii_case(&hex::encode(d.as_ref())) {
                "ok"
            } else {
                "bad"
            }
        }
        None => "absent",
    };
    let payload_len = ctx.size.saturating_sub(payload_at);
    let payload = match h.strings(PAYLOADDIGEST, 1).first() {
        Some(want) => {
            let algo = h.ints(PAYLOADDIGESTALGO, 1).first().copied().unwrap_or(8);
            let got = match algo {
                8 => {
                    r.seek(SeekFrom::Start(payload_at))?;
                    let mut hasher = sha2::Sha256::new();
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut left = payload_len;
                    while left > 0 {
                        let n = (buf.len() as u64).min(left) as usize;
                        r.read_exact(&mut buf[..n])?;
                        hasher.update(&buf[..n]);
                        left -= n as u64;
                    }
                    Some(hex::encode(hasher.finalize()))
                }
                _ => None,
            };
            match got {
                Some(g) if g.eq_ignore_ascii_case(want) => "ok",
                Some(_) => "bad",
                None => "unsupported",
            }
        }
        None => "absent",
    };
    ins.details.insert(
        "digests".into(),
        json!({"header_sha256": header_sha256, "header_sha1": header_sha1, "payload": payload,
               "md5": if sig.has(SIG_MD5) { "not checked" } else { "absent" }}),
    );
    if let Some(size) = sig.ints(SIG_SIZE, 1).first()
        && u64::from(*size) != h.blob.len() as u64 + payload_len
    {
        ins.findings.push(Finding::error(
            "linux.rpm.size",
            format!(
                "{}: the signature header says header and payload take {size} bytes, but the file holds {}; it is truncated or padded",
                ins.file,
                h.blob.len() as u64 + payload_len
            ),
        ));
    }
    let digest_bad = [header_sha256, header_sha1, payload].contains(&"bad");
    let any_digest = [header_sha256, header_sha1, payload].contains(&"ok");
    ins.signature.digest_ok = if digest_bad {
        Some(false)
    } else if any_digest {
        Some(true)
    } else {
        None
    };
    if header_sha256 == "bad" || header_sha1 == "bad" {
        ins.reject(
            "linux.rpm.header_digest",
            "the header's digest does not match the signature header: the package's metadata was changed after it was built; rebuild it",
        );
    }
    if payload == "bad" {
        ins.reject(
            "linux.rpm.payload_digest",
            "the payload's SHA-256 does not match the digest in the header: the package's files are corrupt or truncated; download or build it again",
        );
    }

    // Without a verified payload digest (an old package), decompressing the payload is the
    // only check of it; with one, the bytes are the builder's and need no second pass.
    if payload != "bad" && payload != "ok" {
        let codec = Codec::from_name(&compressor).ok_or_else(|| {
            Error::Malformed(format!(
                "payload compressor {compressor:?} is not one dist reads"
            ))
        })?;
        r.seek(SeekFrom::Start(payload_at))?;
        let window = (&mut *r).take(payload_len);
        let mut dec = format_compress::decoder(codec, window, &ctx.budget)
            .map_err(|e| Error::Malformed(e.to_string()))?;
        let n = std::io::copy(&mut dec, &mut std::io::sink()).map_err(|e| {
            if format_compress::over_limit(&e).is_some() {
                Error::Io(e)
            } else {
                Error::Malformed(format!("the {compressor} payload does not decompress: {e}"))
            }
        })?;
        ins.details.insert("payload_bytes".into(), json!(n));
    }

    signatures(r, ctx, ins, &sig, &h, payload_at, payload_len)?;
    Ok(())
}

fn signatures(
    r: &mut dyn ReadSeek,
    ctx: &InspectContext,
    ins: &mut Inspection,
    sig: &Header,
    h: &Header,
    payload_at: u64,
    payload_len: u64,
) -> Result<(), Error> {
    // The header-only signatures are what rpm checks first: rpm 6's OpenPGP tag (one or
    // more, base64), then v4's RSA/DSA tag; a V3 one over header and payload is read when
    // it is the only one.
    let v6 = sig.strings(SIG_OPENPGP, MAX_OPENPGP_SIGS);
    let (scheme, packets, covers_payload) = if !v6.is_empty() {
        let mut decoded = Vec::new();
        for (i, b64) in v6.iter().enumerate() {
            match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
                Ok(d) => decoded.push(d),
                Err(e) => {
                    ins.signature.schemes = vec!["rpm-v6".into()];
                    ins.signature.state = SignatureState::Invalid;
                    ins.findings.push(Finding::error(
                        "linux.rpm.signature_malformed",
                        format!(
                            "{}: OpenPGP signature {} of the signature header (tag 278) is not base64 ({e}); sign the package again",
                            ins.file,
                            i + 1
                        ),
                    ));
                    return Ok(());
                }
            }
        }
        ("rpm-v6", decoded, false)
    } else if let Some(p) = sig.bin(SIG_RSA).or(sig.bin(SIG_DSA)) {
        ("rpm-v4", vec![p.to_vec()], false)
    } else if let Some(p) = sig.bin(SIG_PGP).or(sig.bin(SIG_GPG)) {
        ("rpm-v3", vec![p.to_vec()], true)
    } else {
        ins.signature.state = SignatureState::Unsigned;
        ins.findings.push(Finding::info(
            "linux.rpm.unsigned",
            format!(
                "{}: the package is not signed; dnf refuses it unless gpgcheck is off (--nogpgcheck). Sign it with rpmsign --addsign",
                ins.file
            ),
        ));
        return Ok(());
    };
    ins.signature.schemes = vec![scheme.into()];
    let mut all = Vec::new();
    for packet in &packets {
        match format_openpgp::parse_signature(packet) {
            Ok(s) => all.push(s),
            Err(e) => {
                ins.signature.state = SignatureState::Invalid;
                ins.findings.push(Finding::error(
                    "linux.rpm.signature_malformed",
                    format!(
                        "{}: the {scheme} signature does not parse ({e}); sign the package again",
                        ins.file
                    ),
                ));
                return Ok(());
            }
        }
    }
    // Of several (rpm 6 lets a package carry one per key), the first by a trusted key is
    // the one checked, as rpm accepts a package when one of them verifies.
    let issuer = |s: &format_openpgp::Signature| s.issuer.clone().unwrap_or_default();
    let chosen = all
        .iter()
        .position(|s| crate::trust::key_for(ctx, &issuer(s)).is_some())
        .unwrap_or(0);
    let parsed = all.swap_remove(chosen);
    let key_id = issuer(&parsed);
    let others: Vec<String> = all.iter().map(issuer).filter(|k| !k.is_empty()).collect();
    let mut info = json!({
        "scheme": scheme,
        "key_id": key_id,
        "fingerprint": parsed.issuer_fingerprint,
        "hash": format_openpgp::hash_name(parsed.hash_algo),
        "created": parsed.created,
        "verified": false,
    });
    if !others.is_empty() {
        info["other_key_ids"] = json!(others);
    }
    let Some(key) = crate::trust::key_for(ctx, &key_id) else {
        ins.signature.state = SignatureState::Unknown;
        ins.findings.push(Finding::warning(
            "linux.rpm.signature_unknown_key",
            format!(
                "{}: signed ({scheme}) by OpenPGP key {}, which is not among the app's trusted keys, so the signature cannot be checked; add the team's public key to the app",
                ins.file,
                std::iter::once(key_id.clone())
                    .chain(others.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
        ins.details.insert("signature".into(), info);
        return Ok(());
    };
    let data = if covers_payload {
        let total = h.blob.len() as u64 + payload_len;
        if total > MAX_V3_SIGNED {
            ins.signature.state = SignatureState::Unknown;
            ins.findings.push(Finding::warning(
                "linux.rpm.signature_not_verified",
                format!(
                    "{}: the V3 signature covers {total} bytes of header and payload, more than the {MAX_V3_SIGNED} dist verifies; re-sign with a current rpmsign (V4 header signatures)",
                    ins.file
                ),
            ));
            ins.details.insert("signature".into(), info);
            return Ok(());
        }
        let mut d = h.blob.clone();
        r.seek(SeekFrom::Start(payload_at))?;
        (&mut *r).take(payload_len).read_to_end(&mut d)?;
        d
    } else {
        h.blob.clone()
    };
    match format_openpgp::verify(&parsed, &key, &data) {
        Ok(()) => {
            info["verified"] = json!(true);
            info["fingerprint"] = json!(key.fingerprint);
            ins.signature.signers = vec![crate::trust::signer(&key)];
            ins.signature.state = if ins.signature.digest_ok == Some(false) {
                SignatureState::Invalid
            } else {
                SignatureState::Signed
            };
        }
        Err(format_openpgp::Error::Unsupported(what)) => {
            ins.signature.state = SignatureState::Unknown;
            ins.findings.push(Finding::warning(
                "linux.rpm.signature_not_verified",
                format!(
                    "{}: the signature uses {what}, which dist does not verify",
                    ins.file
                ),
            ));
        }
        Err(e) => {
            ins.signature.state = SignatureState::Invalid;
            ins.findings.push(Finding::error(
                "linux.signature.invalid",
                format!(
                    "{}: {e}: the package was changed after it was signed, or signed with another key; do not install it",
                    ins.file
                ),
            ));
        }
    }
    ins.details.insert("signature".into(), info);
    Ok(())
}
