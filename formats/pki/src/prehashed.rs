//! RSA PKCS#1 v1.5 signatures over a digest computed elsewhere. A xar archive (a macOS
//! installer package) signs its table of contents' checksum, a digest it stores, rather
//! than a message; `ring` verifies only messages it hashes itself, so the public-key
//! operation is done here with `crypto-bigint` (already in the lock file through `p256`).

use crypto_bigint::U4096;
use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};

use crate::der::{Der, SEQUENCE};
use crate::signature::{KeyKind, Verdict, spki_key};

const INTEGER: u8 = 0x02;
/// Largest modulus handled, in bytes (4096-bit keys).
const MAX_MODULUS: usize = 512;

/// DigestInfo prefixes (RFC 8017, 9.2 note 1) by digest length.
fn digest_info_prefix(len: usize) -> Option<&'static [u8]> {
    Some(match len {
        20 => &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
            0x14,
        ],
        32 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        48 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        64 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
        _ => return None,
    })
}

fn unsigned(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|x| **x == 0).count();
    &b[n..]
}

fn to_uint(b: &[u8]) -> U4096 {
    let mut padded = [0u8; MAX_MODULUS];
    padded[MAX_MODULUS - b.len()..].copy_from_slice(b);
    U4096::from_be_slice(&padded)
}

/// Whether `sig` is an RSA PKCS#1 v1.5 signature by the key of `spki` over `digest` (SHA-1,
/// SHA-256, SHA-384 or SHA-512, told by its length).
pub fn verify_rsa_digest(spki: &[u8], digest: &[u8], sig: &[u8]) -> Verdict {
    let Some(prefix) = digest_info_prefix(digest.len()) else {
        return Verdict::Unsupported(format!("a {}-byte digest", digest.len()));
    };
    let key = match spki_key(spki) {
        Ok((KeyKind::Rsa, k)) => k,
        Ok((other, _)) => return Verdict::Unsupported(format!("a {other:?} key")),
        Err(e) => return Verdict::Unsupported(e.to_string()),
    };
    let parsed = (|| {
        let mut top = Der::new(key);
        let seq = top.expect(SEQUENCE).ok()?;
        let mut s = seq.inner();
        let n = s.expect(INTEGER).ok()?.content;
        let e = s.expect(INTEGER).ok()?.content;
        Some((unsigned(n), unsigned(e)))
    })();
    let Some((n, e)) = parsed else {
        return Verdict::Unsupported("the RSA public key does not parse".into());
    };
    let k = n.len();
    if k == 0 || k > MAX_MODULUS || e.is_empty() || e.len() > MAX_MODULUS {
        return Verdict::Unsupported(format!("a {}-bit RSA modulus", k * 8));
    }
    if sig.len() != k || n.last().is_none_or(|b| b & 1 == 0) {
        return Verdict::Invalid;
    }
    let (nu, su, eu) = (to_uint(n), to_uint(sig), to_uint(e));
    if su >= nu {
        return Verdict::Invalid;
    }
    let params = DynResidueParams::new(&nu);
    // The exponent is public: bound the ladder by its length (17 bits for 65537), not 4096.
    let e_bits = (e.len() * 8) - e[0].leading_zeros() as usize;
    let m = DynResidue::new(&su, params)
        .pow_bounded_exp(&eu, e_bits)
        .retrieve();
    let mut em = Vec::with_capacity(MAX_MODULUS);
    for w in m.as_words().iter().rev() {
        em.extend_from_slice(&w.to_be_bytes());
    }
    let em = &em[MAX_MODULUS - k..];
    // 00 01 FF.. (at least 8) 00 DigestInfo
    let t_len = prefix.len() + digest.len();
    if k < t_len + 11 {
        return Verdict::Invalid;
    }
    let pad = k - t_len - 3;
    let ok = em[0] == 0
        && em[1] == 1
        && em[2..2 + pad].iter().all(|b| *b == 0xff)
        && em[2 + pad] == 0
        && &em[3 + pad..3 + pad + prefix.len()] == prefix
        && &em[k - digest.len()..] == digest;
    if ok { Verdict::Valid } else { Verdict::Invalid }
}
