//! A minimal DER reader for X.509 certificates and PKCS#7 SignedData, and signature checks
//! through `ring`. Only what Android signatures use; every length is checked against the
//! bytes that remain.

use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};

use crate::Error;

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const OID: u8 = 0x06;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const BIT_STRING: u8 = 0x03;

/// One TLV: its tag, its content, and the whole encoding.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads TLVs one after another out of a slice.
#[derive(Debug, Clone)]
pub struct Der<'a> {
    data: &'a [u8],
}

fn bad(what: &str) -> Error {
    Error::Der(what.to_owned())
}

impl<'a> Der<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    pub fn read(&mut self) -> Result<Tlv<'a>, Error> {
        let d = self.data;
        let tag = *d.first().ok_or_else(|| bad("unexpected end of data"))?;
        if tag & 0x1f == 0x1f {
            return Err(bad("multi-byte tags are not used by these structures"));
        }
        let first = *d.get(1).ok_or_else(|| bad("truncated length"))?;
        let (len, hdr) = if first < 0x80 {
            (first as usize, 2usize)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 {
                return Err(bad("indefinite or oversized length"));
            }
            let bytes = d.get(2..2 + n).ok_or_else(|| bad("truncated length"))?;
            let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, 2 + n)
        };
        let end = hdr
            .checked_add(len)
            .filter(|e| *e <= d.len())
            .ok_or_else(|| bad("length runs past the data"))?;
        self.data = &d[end..];
        Ok(Tlv {
            tag,
            content: &d[hdr..end],
            raw: &d[..end],
        })
    }

    pub fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, Error> {
        let t = self.read()?;
        if t.tag != tag {
            return Err(Error::Der(format!(
                "expected tag 0x{tag:02x}, found 0x{:02x}",
                t.tag
            )));
        }
        Ok(t)
    }

    /// Takes the next TLV only if it has `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, Error> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// An OID's dotted form.
pub fn oid_string(content: &[u8]) -> String {
    let mut parts: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for (i, b) in content.iter().enumerate() {
        acc = (acc << 7) | (*b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if parts.is_empty() && i < content.len() {
                let (a, b2) = if acc < 40 {
                    (0, acc)
                } else if acc < 80 {
                    (1, acc - 40)
                } else {
                    (2, acc - 80)
                };
                parts.push(a);
                parts.push(b2);
            } else {
                parts.push(acc);
            }
            acc = 0;
        }
        if acc > (u64::MAX >> 8) {
            return "invalid".into();
        }
    }
    parts
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// What a signer certificate tells us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub der: Vec<u8>,
    pub sha256: String,
    pub subject: String,
    /// Raw DER of the issuer Name and the serial, to match PKCS#7 signer infos.
    pub issuer_raw: Vec<u8>,
    pub serial: Vec<u8>,
    /// The whole SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
}

pub fn parse_certificate(der: &[u8]) -> Result<Certificate, Error> {
    let mut top = Der::new(der);
    let cert = top.expect(SEQUENCE)?;
    let mut c = Der::new(cert.content);
    let tbs = c.expect(SEQUENCE)?;
    let mut t = Der::new(tbs.content);
    t.optional(0xa0)?; // version
    let serial = t.expect(INTEGER)?;
    t.expect(SEQUENCE)?; // signature algorithm
    let issuer = t.expect(SEQUENCE)?;
    t.expect(SEQUENCE)?; // validity
    let subject = t.expect(SEQUENCE)?;
    let spki = t.expect(SEQUENCE)?;
    let raw = cert.raw;
    Ok(Certificate {
        der: raw.to_vec(),
        sha256: hex::encode(ring::digest::digest(&ring::digest::SHA256, raw).as_ref()),
        subject: format_name(subject.content)?,
        issuer_raw: issuer.raw.to_vec(),
        serial: serial.content.to_vec(),
        spki: spki.raw.to_vec(),
    })
}

fn attr_key(oid: &str) -> String {
    match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.12" => "T",
        "2.5.4.42" => "GIVENNAME",
        "2.5.4.4" => "SURNAME",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "EMAILADDRESS",
        other => return other.to_owned(),
    }
    .to_owned()
}

fn string_value(tlv: &Tlv<'_>) -> String {
    match tlv.tag {
        // BMPString: UTF-16BE.
        0x1e => {
            let units: Vec<u16> = tlv
                .content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        // UniversalString: UTF-32BE.
        0x1c => tlv
            .content
            .chunks_exact(4)
            .filter_map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => String::from_utf8_lossy(tlv.content).into_owned(),
    }
}

fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, ch) in v.chars().enumerate() {
        let special = matches!(ch, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (ch == '#' || ch == ' '))
            || (i + 1 == v.chars().count() && ch == ' ');
        if special {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// An X.501 Name as `CN=..., OU=..., C=...`: RDNs in reverse of their encoded order, as
/// RFC 4514, keytool and apksigner print them.
pub fn format_name(name_content: &[u8]) -> Result<String, Error> {
    let mut rdns = Vec::new();
    let mut n = Der::new(name_content);
    while !n.is_empty() {
        let set = n.expect(SET)?;
        let mut s = Der::new(set.content);
        let mut parts = Vec::new();
        while !s.is_empty() {
            let atv = s.expect(SEQUENCE)?;
            let mut a = Der::new(atv.content);
            let oid = a.expect(OID)?;
            let value = a.read()?;
            parts.push(format!(
                "{}={}",
                attr_key(&oid_string(oid.content)),
                escape(&string_value(&value))
            ));
        }
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(", "))
}

/// The key algorithm of a SubjectPublicKeyInfo and the key bytes `ring` wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    EcP256,
    EcP384,
    Dsa,
    Other,
}

pub fn spki_key(spki: &[u8]) -> Result<(KeyKind, &[u8]), Error> {
    let mut top = Der::new(spki);
    let seq = top.expect(SEQUENCE)?;
    let mut s = Der::new(seq.content);
    let alg = s.expect(SEQUENCE)?;
    let key = s.expect(BIT_STRING)?;
    let mut a = Der::new(alg.content);
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
}

/// Signature padding/encoding families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigKind {
    RsaPkcs1,
    RsaPss,
    Ecdsa,
    Dsa,
}

/// Outcome of checking one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Invalid,
    /// The algorithm is one this build cannot check (DSA, ECDSA with SHA-512 on P-256).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_decodes() {
        assert_eq!(
            oid_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]),
            "1.2.840.113549.1.1.1"
        );
        assert_eq!(oid_string(&[0x55, 0x04, 0x03]), "2.5.4.3");
    }

    #[test]
    fn lengths_are_bounded() {
        // Claims 0x7fffffff bytes of content in a 6-byte buffer.
        let mut d = Der::new(&[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]);
        assert!(d.read().is_err());
        let mut d = Der::new(&[0x30, 0x80]);
        assert!(d.read().is_err());
    }

    #[test]
    fn names_print_in_rfc4514_order_with_escapes() {
        // SEQUENCE { SET { C=US } SET { CN=a,b } }
        let name = [
            0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'U', b'S', 0x31,
            0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x03, b'a', b',', b'b',
        ];
        assert_eq!(format_name(&name).unwrap(), "CN=a\\,b, C=US");
    }
}
