//! The APK Signing Block (schemes v2, v3 and v3.1): parse the block that sits just before the
//! central directory, compute the chunked content digests, and verify each signer's
//! signature over its signed data with its own public key.

use std::io::SeekFrom;

use platform::ReadSeek;
use ring::digest::{Context, SHA256, SHA512};

use crate::Error;
use crate::zipr::Eocd;
use format_pki::{Certificate, Hash, SigKind, Verdict, verify};

pub const MAGIC: &[u8; 16] = b"APK Sig Block 42";
pub const V2_ID: u32 = 0x7109_871a;
pub const V3_ID: u32 = 0xf053_68c0;
pub const V31_ID: u32 = 0x1b93_ad61;
const PROOF_OF_ROTATION_ATTR: u32 = 0x3ba0_6f8c;
const CHUNK: u64 = 1024 * 1024;

/// The block's location and the scheme values it holds.
#[derive(Debug, Clone)]
pub struct SigningBlock {
    /// File offset of the block's first byte (its leading size field).
    pub offset: u64,
    /// (id, value) pairs, for the schemes this reader knows.
    pub pairs: Vec<(u32, Vec<u8>)>,
    /// Every id present, known or not.
    pub ids: Vec<u32>,
}

/// Finds and reads the signing block before `cd_offset`. `Ok(None)` when there is none.
pub fn find(r: &mut dyn ReadSeek, cd_offset: u64, max: u64) -> Result<Option<SigningBlock>, Error> {
    if cd_offset < 32 {
        return Ok(None);
    }
    r.seek(SeekFrom::Start(cd_offset - 24))?;
    let mut footer = [0u8; 24];
    r.read_exact(&mut footer)?;
    if &footer[8..] != MAGIC {
        return Ok(None);
    }
    let size = u64::from_le_bytes(footer[..8].try_into().unwrap_or_default());
    if size < 24 || size > max {
        return Err(Error::Signature(format!(
            "APK Signing Block declares {size} bytes (limit {max})"
        )));
    }
    let offset = cd_offset
        .checked_sub(size)
        .and_then(|o| o.checked_sub(8))
        .ok_or_else(|| Error::Signature("APK Signing Block starts before the file".into()))?;
    let total = (size + 8) as usize;
    let data = crate::zipr::read_exact_at(r, offset, total)?;
    let head = u64::from_le_bytes(data[..8].try_into().unwrap_or_default());
    if head != size {
        return Err(Error::Signature(format!(
            "APK Signing Block sizes disagree ({head} at the start, {size} at the end)"
        )));
    }
    let mut pairs = Vec::new();
    let mut ids = Vec::new();
    let body = &data[8..total - 24];
    let mut at = 0usize;
    while at < body.len() {
        let len = body
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
            .ok_or_else(|| Error::Signature("APK Signing Block pair is truncated".into()))?;
        let end = (at as u64 + 8)
            .checked_add(len)
            .filter(|e| *e <= body.len() as u64 && len >= 4)
            .ok_or_else(|| {
                Error::Signature(format!(
                    "APK Signing Block pair of {len} bytes runs past the block"
                ))
            })? as usize;
        let id = u32::from_le_bytes(body[at + 8..at + 12].try_into().unwrap_or_default());
        ids.push(id);
        if matches!(id, V2_ID | V3_ID | V31_ID) {
            pairs.push((id, body[at + 12..end].to_vec()));
        }
        at = end;
    }
    Ok(Some(SigningBlock { offset, pairs, ids }))
}

/// Splits a sequence of u32-length-prefixed items.
fn lp_items(mut d: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut out = Vec::new();
    while !d.is_empty() {
        let (item, rest) = lp(d)?;
        out.push(item);
        d = rest;
    }
    Ok(out)
}

/// One u32-length-prefixed item and what follows it.
fn lp(d: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let len = d
        .get(..4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()) as usize)
        .ok_or_else(|| Error::Signature("length prefix is truncated".into()))?;
    let rest = &d[4..];
    if len > rest.len() {
        return Err(Error::Signature(format!(
            "length-prefixed item of {len} bytes, only {} remain",
            rest.len()
        )));
    }
    Ok(rest.split_at(len))
}

fn u32_at(d: &[u8]) -> Result<(u32, &[u8]), Error> {
    let v = d
        .get(..4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
        .ok_or_else(|| Error::Signature("u32 field is truncated".into()))?;
    Ok((v, &d[4..]))
}

/// What a v2/v3 signature algorithm id means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alg {
    pub id: u32,
    pub kind: SigKind,
    pub hash: Hash,
    /// The content digest this algorithm's signed data carries.
    pub content: ContentDigest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContentDigest {
    ChunkedSha256,
    ChunkedSha512,
    /// fs-verity style digest; not checked here (the chunked one always sits beside it).
    Verity,
}

pub fn alg(id: u32) -> Option<Alg> {
    use ContentDigest::*;
    let (kind, hash, content) = match id {
        0x0101 => (SigKind::RsaPss, Hash::Sha256, ChunkedSha256),
        0x0102 => (SigKind::RsaPss, Hash::Sha512, ChunkedSha512),
        0x0103 => (SigKind::RsaPkcs1, Hash::Sha256, ChunkedSha256),
        0x0104 => (SigKind::RsaPkcs1, Hash::Sha512, ChunkedSha512),
        0x0201 => (SigKind::Ecdsa, Hash::Sha256, ChunkedSha256),
        0x0202 => (SigKind::Ecdsa, Hash::Sha512, ChunkedSha512),
        0x0301 => (SigKind::Dsa, Hash::Sha256, ChunkedSha256),
        0x0421 => (SigKind::RsaPkcs1, Hash::Sha256, Verity),
        0x0423 => (SigKind::Ecdsa, Hash::Sha256, Verity),
        0x0425 => (SigKind::Dsa, Hash::Sha256, Verity),
        _ => return None,
    };
    Some(Alg {
        id,
        kind,
        hash,
        content,
    })
}

/// One signer of one scheme, parsed but not yet verified.
#[derive(Debug, Clone)]
pub struct BlockSigner {
    pub signed_data: Vec<u8>,
    pub signatures: Vec<(u32, Vec<u8>)>,
    pub public_key: Vec<u8>,
    pub digests: Vec<(u32, Vec<u8>)>,
    pub certificates: Vec<Certificate>,
    pub min_sdk: Option<u32>,
    pub max_sdk: Option<u32>,
    /// v3 proof-of-rotation: past signers, oldest first.
    pub lineage: Vec<LineageNode>,
    pub lineage_ok: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct LineageNode {
    pub certificate: Certificate,
    pub flags: u32,
}

/// Parses a v2 (`v3 == false`) or v3/v3.1 scheme value into its signers.
pub fn parse_signers(value: &[u8], v3: bool) -> Result<Vec<BlockSigner>, Error> {
    let (seq, _) = lp(value)?;
    let mut out = Vec::new();
    for signer in lp_items(seq)? {
        let (signed_data, rest) = lp(signer)?;
        let (min_sdk, max_sdk, rest) = if v3 {
            let (min, rest) = u32_at(rest)?;
            let (max, rest) = u32_at(rest)?;
            (Some(min), Some(max), rest)
        } else {
            (None, None, rest)
        };
        let (sigs, rest) = lp(rest)?;
        let (public_key, _) = lp(rest)?;
        let mut signatures = Vec::new();
        for s in lp_items(sigs)? {
            let (id, rest) = u32_at(s)?;
            let (sig, _) = lp(rest)?;
            signatures.push((id, sig.to_vec()));
        }
        let (digests_seq, sd_rest) = lp(signed_data)?;
        let mut digests = Vec::new();
        for d in lp_items(digests_seq)? {
            let (id, rest) = u32_at(d)?;
            let (dig, _) = lp(rest)?;
            digests.push((id, dig.to_vec()));
        }
        let (certs_seq, sd_rest) = lp(sd_rest)?;
        let mut certificates = Vec::new();
        for c in lp_items(certs_seq)? {
            certificates.push(Certificate::parse(c)?);
        }
        let attrs = if v3 {
            let (_, r) = u32_at(sd_rest)?;
            let (_, r) = u32_at(r)?;
            r
        } else {
            sd_rest
        };
        let mut lineage = Vec::new();
        let mut lineage_ok = None;
        if !attrs.is_empty() {
            let (attrs_seq, _) = lp(attrs)?;
            for a in lp_items(attrs_seq)? {
                let (id, value) = u32_at(a)?;
                if id == PROOF_OF_ROTATION_ATTR {
                    let (nodes, ok) = parse_lineage(value)?;
                    lineage = nodes;
                    lineage_ok = Some(ok);
                }
            }
        }
        out.push(BlockSigner {
            signed_data: signed_data.to_vec(),
            signatures,
            public_key: public_key.to_vec(),
            digests,
            certificates,
            min_sdk,
            max_sdk,
            lineage,
            lineage_ok,
        });
    }
    Ok(out)
}

/// Parses a proof-of-rotation record and checks that each node is signed by the one before.
fn parse_lineage(value: &[u8]) -> Result<(Vec<LineageNode>, bool), Error> {
    // u32 version, then length-prefixed nodes: lp(signed data: lp(cert), u32 alg the
    // previous node signed it with), u32 flags, u32 alg this node signs the next one with,
    // lp(signature by the previous node).
    let (_version, rest) = u32_at(value)?;
    let mut nodes = Vec::new();
    let mut ok = true;
    let mut prev: Option<(Certificate, u32)> = None;
    for node in lp_items(rest)? {
        let (signed, rest) = lp(node)?;
        let (flags, rest) = u32_at(rest)?;
        let (sig_alg, rest) = u32_at(rest)?;
        let (sig, _) = lp(rest)?;
        let (cert_der, srest) = lp(signed)?;
        let (signed_alg, _) = u32_at(srest)?;
        let cert = Certificate::parse(cert_der)?;
        if let Some((p, prev_alg)) = &prev {
            // Each node is signed by the previous node's key, with the algorithm the
            // previous node declared and this node's signed data repeats.
            let verdict = match alg(signed_alg) {
                Some(a) if signed_alg == *prev_alg => verify(&p.spki, a.kind, a.hash, signed, sig),
                _ => Verdict::Invalid,
            };
            ok &= verdict == Verdict::Valid;
        }
        prev = Some((cert.clone(), sig_alg));
        nodes.push(LineageNode {
            certificate: cert,
            flags,
        });
    }
    Ok((nodes, ok))
}

/// The chunked digests of the three covered sections, computed in one pass.
#[derive(Debug, Clone, Default)]
pub struct ContentDigests {
    pub sha256: Option<Vec<u8>>,
    pub sha512: Option<Vec<u8>>,
}

/// Streams the entries (up to the block), the central directory and the end record with its
/// central-directory offset replaced by the block's offset, in 1 MiB chunks.
pub fn content_digests(
    r: &mut dyn ReadSeek,
    block_offset: u64,
    eocd: &Eocd,
    want256: bool,
    want512: bool,
) -> Result<ContentDigests, Error> {
    let mut patched = eocd.raw.clone();
    patched[16..20].copy_from_slice(&(block_offset as u32).to_le_bytes());
    let mut tops: Vec<(&'static ring::digest::Algorithm, Vec<u8>)> = Vec::new();
    if want256 {
        tops.push((&SHA256, Vec::new()));
    }
    if want512 {
        tops.push((&SHA512, Vec::new()));
    }
    let mut chunks: u64 = 0;
    let mut buf = vec![0u8; CHUNK as usize];
    let sections = [
        (0u64, block_offset),
        (eocd.cd_offset, eocd.cd_offset + eocd.cd_size),
    ];
    let digest_chunk =
        |data: &[u8], tops: &mut Vec<(&'static ring::digest::Algorithm, Vec<u8>)>| {
            for (alg, acc) in tops.iter_mut() {
                let mut c = Context::new(alg);
                c.update(&[0xa5]);
                c.update(&(data.len() as u32).to_le_bytes());
                c.update(data);
                acc.extend_from_slice(c.finish().as_ref());
            }
        };
    for (start, end) in sections {
        r.seek(SeekFrom::Start(start))?;
        let mut pos = start;
        while pos < end {
            let n = (end - pos).min(CHUNK) as usize;
            r.read_exact(&mut buf[..n])?;
            digest_chunk(&buf[..n], &mut tops);
            chunks += 1;
            pos += n as u64;
        }
    }
    digest_chunk(&patched, &mut tops);
    chunks += 1;
    let mut out = ContentDigests::default();
    for (alg, acc) in tops {
        let mut c = Context::new(alg);
        c.update(&[0x5a]);
        c.update(&(chunks as u32).to_le_bytes());
        c.update(&acc);
        let d = c.finish().as_ref().to_vec();
        if alg == &SHA256 {
            out.sha256 = Some(d);
        } else {
            out.sha512 = Some(d);
        }
    }
    Ok(out)
}

/// The outcome of verifying one signer.
#[derive(Debug, Clone)]
pub struct SignerResult {
    /// Signature over signed data verified with the signer's key.
    pub signature: Verdict,
    /// Content digest matches; `None` when the algorithm's digest could not be checked.
    pub digest_ok: Option<bool>,
    pub problems: Vec<String>,
}

/// Which content digests the signers of these schemes need.
pub fn needed_digests(signers: &[&BlockSigner]) -> (bool, bool) {
    let mut w256 = false;
    let mut w512 = false;
    for s in signers {
        if let Some(a) = best_alg(s) {
            match a.content {
                ContentDigest::ChunkedSha256 => w256 = true,
                ContentDigest::ChunkedSha512 => w512 = true,
                ContentDigest::Verity => {}
            }
        }
    }
    (w256, w512)
}

/// The strongest signature algorithm a signer offers that has a chunked digest.
fn best_alg(s: &BlockSigner) -> Option<Alg> {
    s.signatures
        .iter()
        .filter_map(|(id, _)| alg(*id))
        .filter(|a| a.content != ContentDigest::Verity)
        .max_by_key(|a| {
            let strength = if a.content == ContentDigest::ChunkedSha512 {
                2
            } else {
                1
            };
            let supported = !matches!(a.kind, SigKind::Dsa);
            (supported, strength)
        })
}

pub fn verify_signer(s: &BlockSigner, digests: &ContentDigests) -> SignerResult {
    let mut problems = Vec::new();
    let Some(first) = s.certificates.first() else {
        return SignerResult {
            signature: Verdict::Invalid,
            digest_ok: None,
            problems: vec!["signer has no certificate".into()],
        };
    };
    if first.spki != s.public_key {
        problems.push("the public key does not match the first certificate".into());
    }
    let Some(a) = best_alg(s) else {
        return SignerResult {
            signature: Verdict::Unsupported("no known signature algorithm".into()),
            digest_ok: None,
            problems,
        };
    };
    let sig = s
        .signatures
        .iter()
        .find(|(id, _)| *id == a.id)
        .map(|(_, v)| v.as_slice())
        .unwrap_or_default();
    let signature = verify(&s.public_key, a.kind, a.hash, &s.signed_data, sig);
    if signature == Verdict::Invalid {
        problems.push(format!(
            "signature 0x{:04x} over signed-data did not verify",
            a.id
        ));
    }
    // The signature algorithms listed must match the digests listed.
    let mut sig_ids: Vec<u32> = s.signatures.iter().map(|(id, _)| *id).collect();
    let mut dig_ids: Vec<u32> = s.digests.iter().map(|(id, _)| *id).collect();
    sig_ids.sort_unstable();
    dig_ids.sort_unstable();
    if sig_ids != dig_ids {
        problems.push("signature algorithms and digest algorithms differ".into());
    }
    let expected = match a.content {
        ContentDigest::ChunkedSha256 => digests.sha256.as_ref(),
        ContentDigest::ChunkedSha512 => digests.sha512.as_ref(),
        ContentDigest::Verity => None,
    };
    let listed = s.digests.iter().find(|(id, _)| *id == a.id).map(|(_, d)| d);
    let digest_ok = match (expected, listed) {
        (Some(e), Some(l)) => Some(e == l),
        (Some(_), None) => Some(false),
        _ => None,
    };
    if digest_ok == Some(false) {
        problems.push("content digest does not match the file".into());
    }
    if !problems.is_empty() && signature == Verdict::Valid {
        return SignerResult {
            signature: Verdict::Invalid,
            digest_ok,
            problems,
        };
    }
    SignerResult {
        signature,
        digest_ok,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_past_the_end_are_refused() {
        assert!(lp(&[0xff, 0xff, 0xff, 0x7f, 1, 2]).is_err());
        assert!(lp(&[1, 0]).is_err());
        assert_eq!(lp(&[1, 0, 0, 0, 9, 8]).unwrap(), (&[9u8][..], &[8u8][..]));
    }

    #[test]
    fn algorithm_table() {
        assert_eq!(alg(0x0103).unwrap().content, ContentDigest::ChunkedSha256);
        assert_eq!(alg(0x0104).unwrap().hash, Hash::Sha512);
        assert!(alg(0x9999).is_none());
    }
}
