//! Signature checks: the key of a SubjectPublicKeyInfo, the algorithm an OID names, and the
//! check itself through `ring` (and `p256` for ECDSA P-256 with SHA-512).

use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};

use crate::der::{BIT_STRING, Der, OID, SEQUENCE, oid_string};
use crate::{Error, bad};

/// The key algorithm of a SubjectPublicKeyInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    EcP256,
    EcP384,
    Dsa,
    Other,
}

/// The key algorithm of `spki` and the key bytes `ring` wants.
pub fn spki_key(spki: &[u8]) -> Result<(KeyKind, &[u8]), Error> {
    let mut top = Der::new(spki);
    let seq = top.expect(SEQUENCE)?;
    let mut s = seq.inner();
    let alg = s.expect(SEQUENCE)?;
    let key = s.expect(BIT_STRING)?;
    let mut a = alg.inner();
    let oid = oid_string(a.expect(OID)?.content);
    let kind = match oid.as_str() {
        "1.2.840.113549.1.1.1" => KeyKind::Rsa,
        "1.2.840.10040.4.1" => KeyKind::Dsa,
        "1.2.840.10045.2.1" => {
            let curve = a.expect(OID).map(|t| oid_string(t.content))?;
            match curve.as_str() {
                "1.2.840.10045.3.1.7" => KeyKind::EcP256,
                "1.3.132.0.34" => KeyKind::EcP384,
                _ => KeyKind::Other,
            }
        }
        _ => KeyKind::Other,
    };
    let bits = key
        .content
        .split_first()
        .filter(|(unused, _)| **unused == 0)
        .map(|(_, b)| b)
        .ok_or_else(|| bad("public key bit string has unused bits"))?;
    Ok((kind, bits))
}

/// The digest a signature is computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub fn ring(self) -> &'static ring::digest::Algorithm {
        match self {
            Hash::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            Hash::Sha256 => &ring::digest::SHA256,
            Hash::Sha384 => &ring::digest::SHA384,
            Hash::Sha512 => &ring::digest::SHA512,
        }
    }

    pub fn from_oid(oid: &str) -> Option<Self> {
        Some(match oid {
            "1.3.14.3.2.26" => Hash::Sha1,
            "2.16.840.1.101.3.4.2.1" => Hash::Sha256,
            "2.16.840.1.101.3.4.2.2" => Hash::Sha384,
            "2.16.840.1.101.3.4.2.3" => Hash::Sha512,
            _ => return None,
        })
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        ring::digest::digest(self.ring(), data).as_ref().to_vec()
    }
}

/// Signature padding/encoding families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigKind {
    RsaPkcs1,
    RsaPss,
    Ecdsa,
    Dsa,
}

/// The signature scheme a signature-algorithm OID names. A bare key OID (`rsaEncryption`,
/// `id-ecPublicKey`, as PKCS#7 signer infos write) takes its hash from `digest`.
pub fn scheme(sig_oid: &str, digest: Option<Hash>) -> Option<(SigKind, Hash)> {
    Some(match sig_oid {
        "1.2.840.113549.1.1.1" => (SigKind::RsaPkcs1, digest?),
        "1.2.840.113549.1.1.5" => (SigKind::RsaPkcs1, Hash::Sha1),
        "1.2.840.113549.1.1.11" => (SigKind::RsaPkcs1, Hash::Sha256),
        "1.2.840.113549.1.1.12" => (SigKind::RsaPkcs1, Hash::Sha384),
        "1.2.840.113549.1.1.13" => (SigKind::RsaPkcs1, Hash::Sha512),
        "1.2.840.10045.2.1" => (SigKind::Ecdsa, digest?),
        "1.2.840.10045.4.1" => (SigKind::Ecdsa, Hash::Sha1),
        "1.2.840.10045.4.3.2" => (SigKind::Ecdsa, Hash::Sha256),
        "1.2.840.10045.4.3.3" => (SigKind::Ecdsa, Hash::Sha384),
        "1.2.840.10045.4.3.4" => (SigKind::Ecdsa, Hash::Sha512),
        "1.2.840.10040.4.1" | "1.2.840.10040.4.3" => (SigKind::Dsa, digest.unwrap_or(Hash::Sha1)),
        "2.16.840.1.101.3.4.3.2" => (SigKind::Dsa, Hash::Sha256),
        _ => return None,
    })
}

/// Outcome of checking one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Invalid,
    /// The algorithm is one this build cannot check (DSA, an unknown OID).
    Unsupported(String),
}

/// Checks `sig` over `msg` with the key in `spki`.
pub fn verify(spki: &[u8], kind: SigKind, hash: Hash, msg: &[u8], sig: &[u8]) -> Verdict {
    let Ok((key_kind, key)) = spki_key(spki) else {
        return Verdict::Invalid;
    };
    let alg: &'static dyn VerificationAlgorithm = match (kind, key_kind, hash) {
        (SigKind::RsaPkcs1, KeyKind::Rsa, Hash::Sha1) => {
            &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        (SigKind::RsaPkcs1, KeyKind::Rsa, Hash::Sha256) => {
            &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
        }
        (SigKind::RsaPkcs1, KeyKind::Rsa, Hash::Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (SigKind::RsaPkcs1, KeyKind::Rsa, Hash::Sha512) => {
            &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
        }
        (SigKind::RsaPss, KeyKind::Rsa, Hash::Sha256) => &signature::RSA_PSS_2048_8192_SHA256,
        (SigKind::RsaPss, KeyKind::Rsa, Hash::Sha384) => &signature::RSA_PSS_2048_8192_SHA384,
        (SigKind::RsaPss, KeyKind::Rsa, Hash::Sha512) => &signature::RSA_PSS_2048_8192_SHA512,
        (SigKind::Ecdsa, KeyKind::EcP256, Hash::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (SigKind::Ecdsa, KeyKind::EcP256, Hash::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
        (SigKind::Ecdsa, KeyKind::EcP384, Hash::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
        (SigKind::Ecdsa, KeyKind::EcP384, Hash::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
        (SigKind::Ecdsa, KeyKind::EcP256, Hash::Sha512) => return p256_sha512(key, msg, sig),
        (SigKind::Ecdsa, KeyKind::EcP256, Hash::Sha1) => return ecdsa_sha1_p256(key, msg, sig),
        (SigKind::Ecdsa, KeyKind::EcP384, Hash::Sha1) => return ecdsa_sha1_p384(key, msg, sig),
        (k, key, h) => {
            return Verdict::Unsupported(format!("{k:?} with {h:?} on a {key:?} key"));
        }
    };
    match UnparsedPublicKey::new(alg, key).verify(msg, sig) {
        Ok(()) => Verdict::Valid,
        Err(_) => Verdict::Invalid,
    }
}

/// ECDSA over P-256 with SHA-512 (the digest truncated to the curve's 256 bits, as FIPS 186
/// says), which `ring` does not offer and APK signature algorithm 0x0202 uses.
fn p256_sha512(point: &[u8], msg: &[u8], sig: &[u8]) -> Verdict {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let (Ok(key), Ok(sig)) = (
        p256::ecdsa::VerifyingKey::from_sec1_bytes(point),
        p256::ecdsa::Signature::from_der(sig),
    ) else {
        return Verdict::Invalid;
    };
    let digest = ring::digest::digest(&ring::digest::SHA512, msg);
    match key.verify_prehash(digest.as_ref(), &sig) {
        Ok(()) => Verdict::Valid,
        Err(_) => Verdict::Invalid,
    }
}

/// A SHA-1 digest as a curve's field element: the 160 bits, left-padded (ECDSA takes the
/// leftmost bits of a digest only when it is longer than the order).
fn sha1_field<const N: usize>(msg: &[u8]) -> [u8; N] {
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, msg);
    let mut z = [0u8; N];
    z[N - 20..].copy_from_slice(d.as_ref());
    z
}

/// ECDSA over P-256 with SHA-1 (old Authenticode signatures), which `ring` does not offer.
fn ecdsa_sha1_p256(point: &[u8], msg: &[u8], sig: &[u8]) -> Verdict {
    use ecdsa::hazmat::VerifyPrimitive;
    let (Ok(key), Ok(sig)) = (
        p256::ecdsa::VerifyingKey::from_sec1_bytes(point),
        p256::ecdsa::Signature::from_der(sig),
    ) else {
        return Verdict::Invalid;
    };
    let z = sha1_field::<32>(msg);
    match key.as_affine().verify_prehashed(&z.into(), &sig) {
        Ok(()) => Verdict::Valid,
        Err(_) => Verdict::Invalid,
    }
}

/// ECDSA over P-384 with SHA-1. `verify_prehash` refuses a digest shorter than half the
/// field, so the field element is built here and the primitive checked directly.
fn ecdsa_sha1_p384(point: &[u8], msg: &[u8], sig: &[u8]) -> Verdict {
    use ecdsa::hazmat::VerifyPrimitive;
    let (Ok(key), Ok(sig)) = (
        p384::ecdsa::VerifyingKey::from_sec1_bytes(point),
        p384::ecdsa::Signature::from_der(sig),
    ) else {
        return Verdict::Invalid;
    };
    let z = sha1_field::<48>(msg);
    match key.as_affine().verify_prehashed(&z.into(), &sig) {
        Ok(()) => Verdict::Valid,
        Err(_) => Verdict::Invalid,
    }
}
