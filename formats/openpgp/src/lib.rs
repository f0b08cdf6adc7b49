//! OpenPGP as Linux packages use it: transferable public keys (armored or binary) and
//! detached signature packets, as rpm headers and AppImage `.sha256_sig` sections carry
//! them. It parses v4 public keys (RSA, EdDSA legacy and RFC 9580 Ed25519, ECDSA on P-256 and
//! P-384) with their user
//! ids and subkeys, computes v4 fingerprints and key ids, parses v3 and v4 signature
//! packets, and verifies a signature over data with `ring`.
//!
//! It owns the packet format and the cryptographic check only: which keys are trusted is the
//! caller's decision (it hands keys in), and it never reads a keyring, a file or the
//! network. Every length is bounded by the input it is given; malformed packets are errors,
//! never panics.

use base64::Engine;
use ring::signature::{self, UnparsedPublicKey};
use sha2::Digest;

/// Longest input accepted for one key block or signature (a key with many user ids is a
/// few kilobytes).
pub const MAX_INPUT: usize = 1 << 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    #[error("malformed OpenPGP data: {0}")]
    Malformed(String),
    #[error("unsupported OpenPGP {0}")]
    Unsupported(String),
    #[error("the signature does not verify with key {0}")]
    BadSignature(String),
}

fn bad(m: impl Into<String>) -> Error {
    Error::Malformed(m.into())
}

/// One packet: its tag and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub tag: u8,
    pub body: &'a [u8],
}

/// Splits binary OpenPGP data into packets (old and new headers; partial lengths refused,
/// they appear only in literal data).
pub fn packets(mut data: &[u8]) -> Result<Vec<Packet<'_>>, Error> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let ctb = data[0];
        if ctb & 0x80 == 0 {
            return Err(bad(format!("byte {ctb:#04x} does not start a packet")));
        }
        let (tag, len, hdr) = if ctb & 0x40 != 0 {
            let tag = ctb & 0x3f;
            let b = *data.get(1).ok_or_else(|| bad("truncated packet header"))? as usize;
            match b {
                0..=191 => (tag, b, 2),
                192..=223 => {
                    let b2 = *data.get(2).ok_or_else(|| bad("truncated packet header"))? as usize;
                    (tag, ((b - 192) << 8) + b2 + 192, 3)
                }
                255 => {
                    let l = data
                        .get(2..6)
                        .ok_or_else(|| bad("truncated packet header"))?;
                    (
                        tag,
                        u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize,
                        6,
                    )
                }
                _ => return Err(Error::Unsupported("partial body lengths".into())),
            }
        } else {
            let tag = (ctb >> 2) & 0x0f;
            match ctb & 3 {
                0 => (
                    tag,
                    *data.get(1).ok_or_else(|| bad("truncated packet header"))? as usize,
                    2,
                ),
                1 => {
                    let l = data
                        .get(1..3)
                        .ok_or_else(|| bad("truncated packet header"))?;
                    (tag, u16::from_be_bytes([l[0], l[1]]) as usize, 3)
                }
                2 => {
                    let l = data
                        .get(1..5)
                        .ok_or_else(|| bad("truncated packet header"))?;
                    (
                        tag,
                        u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize,
                        5,
                    )
                }
                _ => (tag, data.len() - 1, 1),
            }
        };
        let body = data.get(hdr..).and_then(|d| d.get(..len)).ok_or_else(|| {
            bad(format!(
                "packet of tag {tag} claims {len} bytes, more than are left"
            ))
        })?;
        out.push(Packet { tag, body });
        data = &data[hdr + len..];
    }
    Ok(out)
}

/// The binary form of `data`: de-armored when it is ASCII armor, as is otherwise.
pub fn dearmor(data: &[u8]) -> Result<Vec<u8>, Error> {
    if data.len() > MAX_INPUT {
        return Err(bad(format!("{} bytes, more than {MAX_INPUT}", data.len())));
    }
    let text = match std::str::from_utf8(data) {
        Ok(t) if t.trim_start().starts_with("-----BEGIN PGP") => t,
        _ => return Ok(data.to_vec()),
    };
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN PGP"))
        .skip(1);
    // Armor headers end at the first empty line.
    let mut body = String::new();
    let mut in_headers = true;
    for l in lines.by_ref() {
        let l = l.trim();
        if in_headers {
            if l.is_empty() {
                in_headers = false;
            } else if !l.contains(": ") {
                in_headers = false;
                body.push_str(l);
            }
            continue;
        }
        if l.starts_with("-----END PGP") || l.starts_with('=') {
            break;
        }
        body.push_str(l);
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| bad(format!("armor does not decode: {e}")))
}

/// A public key's algorithm and material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ed25519([u8; 32]),
    /// ECDSA on NIST P-256 or P-384: the uncompressed point (`04 || x || y`).
    Ecdsa {
        curve: Curve,
        point: Vec<u8>,
    },
    /// An algorithm this crate does not verify (DSA, ECDSA on other curves, ...), by its
    /// number.
    Other(u8),
}

/// The ECDSA curves this crate verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

impl Curve {
    /// By the OID a key packet names it with (RFC 6637).
    fn from_oid(oid: &[u8]) -> Option<Curve> {
        match oid {
            [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07] => Some(Curve::P256),
            [0x2b, 0x81, 0x04, 0x00, 0x22] => Some(Curve::P384),
            _ => None,
        }
    }

    /// Bytes of one coordinate, of `r` and of `s`.
    fn size(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

/// One public key or subkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub version: u8,
    /// The v4 fingerprint (SHA-1), uppercase hex as gpg prints it.
    pub fingerprint: String,
    /// The last 8 bytes of the fingerprint, lowercase hex as rpm prints it.
    pub key_id: String,
    /// SHA-256 over the key packet as hashed for its fingerprint (`0x99`, length, body):
    /// the value an app pins.
    pub sha256: String,
    pub material: KeyMaterial,
    /// The primary key's user ids (subkeys carry their primary's).
    pub user_ids: Vec<String>,
    pub is_subkey: bool,
}

fn mpi(d: &[u8]) -> Result<(Vec<u8>, &[u8]), Error> {
    let bits = u16::from_be_bytes([
        *d.first().ok_or_else(|| bad("truncated MPI"))?,
        *d.get(1).ok_or_else(|| bad("truncated MPI"))?,
    ]) as usize;
    let len = bits.div_ceil(8);
    let v = d.get(2..2 + len).ok_or_else(|| bad("truncated MPI"))?;
    Ok((v.to_vec(), &d[2 + len..]))
}

/// The Ed25519 curve OID as EdDSA-legacy keys name it.
const ED25519_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01];

fn parse_key(body: &[u8], user_ids: &[String], is_subkey: bool) -> Result<PublicKey, Error> {
    let version = *body.first().ok_or_else(|| bad("empty key packet"))?;
    if version != 4 {
        return Err(Error::Unsupported(format!("version {version} public key")));
    }
    let algo = *body.get(5).ok_or_else(|| bad("truncated key packet"))?;
    let rest = &body[6..];
    let material = match algo {
        1..=3 => {
            let (n, rest) = mpi(rest)?;
            let (e, _) = mpi(rest)?;
            KeyMaterial::Rsa { n, e }
        }
        22 => {
            let l = *rest.first().ok_or_else(|| bad("truncated curve OID"))? as usize;
            let oid = rest
                .get(1..1 + l)
                .ok_or_else(|| bad("truncated curve OID"))?;
            if oid != ED25519_OID {
                return Ok(other(version, body, algo, user_ids, is_subkey));
            }
            let (q, _) = mpi(&rest[1 + l..])?;
            let q = q.strip_prefix(&[0x40]).unwrap_or(&q);
            KeyMaterial::Ed25519(
                q.try_into()
                    .map_err(|_| bad("Ed25519 point is not 32 bytes"))?,
            )
        }
        19 => {
            let l = *rest.first().ok_or_else(|| bad("truncated curve OID"))? as usize;
            let oid = rest
                .get(1..1 + l)
                .ok_or_else(|| bad("truncated curve OID"))?;
            let Some(curve) = Curve::from_oid(oid) else {
                return Ok(other(version, body, algo, user_ids, is_subkey));
            };
            let (point, _) = mpi(&rest[1 + l..])?;
            if point.len() != 1 + 2 * curve.size() || point[0] != 0x04 {
                return Err(bad("ECDSA point is not an uncompressed point of its curve"));
            }
            KeyMaterial::Ecdsa { curve, point }
        }
        27 => KeyMaterial::Ed25519(
            rest.get(..32)
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| bad("truncated Ed25519 key"))?,
        ),
        a => return Ok(other(version, body, a, user_ids, is_subkey)),
    };
    let (fingerprint, key_id, sha256) = ids(body);
    Ok(PublicKey {
        version,
        fingerprint,
        key_id,
        sha256,
        material,
        user_ids: user_ids.to_vec(),
        is_subkey,
    })
}

fn other(version: u8, body: &[u8], algo: u8, user_ids: &[String], is_subkey: bool) -> PublicKey {
    let (fingerprint, key_id, sha256) = ids(body);
    PublicKey {
        version,
        fingerprint,
        key_id,
        sha256,
        material: KeyMaterial::Other(algo),
        user_ids: user_ids.to_vec(),
        is_subkey,
    }
}

fn ids(body: &[u8]) -> (String, String, String) {
    let mut pre = vec![0x99];
    pre.extend_from_slice(&(body.len() as u16).to_be_bytes());
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&pre);
    ctx.update(body);
    let fpr = ctx.finish();
    let mut s = sha2::Sha256::new();
    s.update(&pre);
    s.update(body);
    (
        hex::encode_upper(fpr.as_ref()),
        hex::encode(&fpr.as_ref()[12..]),
        hex::encode(s.finalize()),
    )
}

/// Every primary key and subkey of a key block (armored or binary), each with the
/// primary's user ids. Self-signatures are not checked: a key is trusted because an admin
/// added it, not because it vouches for itself.
pub fn parse_keys(data: &[u8]) -> Result<Vec<PublicKey>, Error> {
    let bin = dearmor(data)?;
    let pk = packets(&bin)?;
    // User ids follow their primary key; collect them first per primary.
    let mut out: Vec<PublicKey> = Vec::new();
    let mut primary_start = 0;
    for p in &pk {
        match p.tag {
            6 => {
                primary_start = out.len();
                out.push(parse_key(p.body, &[], false)?);
            }
            14 => {
                let uids = out
                    .get(primary_start)
                    .map(|k| k.user_ids.clone())
                    .unwrap_or_default();
                out.push(parse_key(p.body, &uids, true)?);
            }
            13 => {
                let uid = String::from_utf8_lossy(p.body).into_owned();
                for k in &mut out[primary_start..] {
                    k.user_ids.push(uid.clone());
                }
            }
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(bad("no public key packet"));
    }
    Ok(out)
}

/// A signature packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub version: u8,
    pub sig_type: u8,
    pub pub_algo: u8,
    pub hash_algo: u8,
    /// The bytes hashed after the data (v4: the packet's hashed part and its trailer; v3:
    /// type and creation time).
    pub trailer: Vec<u8>,
    /// The issuer's key id (lowercase hex), from the v3 field or a v4 subpacket.
    pub issuer: Option<String>,
    /// The issuer's fingerprint (uppercase hex), when a v4 subpacket names it.
    pub issuer_fingerprint: Option<String>,
    /// Seconds since the epoch, when given.
    pub created: Option<u32>,
    pub left16: [u8; 2],
    /// RSA: one value; EdDSA: r and s.
    pub values: Vec<Vec<u8>>,
}

fn subpackets(mut d: &[u8], sig: &mut Signature) -> Result<(), Error> {
    while !d.is_empty() {
        let b = d[0] as usize;
        let (len, hdr) = match b {
            0..=191 => (b, 1),
            192..=254 => (
                ((b - 192) << 8)
                    + *d.get(1).ok_or_else(|| bad("truncated subpacket"))? as usize
                    + 192,
                2,
            ),
            _ => {
                let l = d.get(1..5).ok_or_else(|| bad("truncated subpacket"))?;
                (u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize, 5)
            }
        };
        let body = d
            .get(hdr..hdr + len)
            .ok_or_else(|| bad("subpacket past its area"))?;
        if let Some((&t, v)) = body.split_first() {
            match t & 0x7f {
                2 if v.len() == 4 => {
                    sig.created = Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
                }
                16 if v.len() == 8 => sig.issuer = Some(hex::encode(v)),
                33 if v.len() == 21 => {
                    sig.issuer_fingerprint = Some(hex::encode_upper(&v[1..]));
                    sig.issuer.get_or_insert_with(|| hex::encode(&v[13..]));
                }
                _ => {}
            }
        }
        d = &d[hdr + len..];
    }
    Ok(())
}

/// Parses the one signature packet in `data` (binary or armored).
pub fn parse_signature(data: &[u8]) -> Result<Signature, Error> {
    let bin = dearmor(data)?;
    let pk = packets(&bin)?;
    let p = pk
        .iter()
        .find(|p| p.tag == 2)
        .ok_or_else(|| bad("no signature packet"))?;
    let b = p.body;
    let version = *b.first().ok_or_else(|| bad("empty signature packet"))?;
    let mut sig = Signature {
        version,
        sig_type: 0,
        pub_algo: 0,
        hash_algo: 0,
        trailer: Vec::new(),
        issuer: None,
        issuer_fingerprint: None,
        created: None,
        left16: [0; 2],
        values: Vec::new(),
    };
    let rest = match version {
        3 | 2 => {
            let f = b.get(..19).ok_or_else(|| bad("truncated v3 signature"))?;
            if f[1] != 5 {
                return Err(bad("v3 signature hashed length is not 5"));
            }
            sig.sig_type = f[2];
            sig.created = Some(u32::from_be_bytes([f[3], f[4], f[5], f[6]]));
            sig.issuer = Some(hex::encode(&f[7..15]));
            sig.pub_algo = f[15];
            sig.hash_algo = f[16];
            sig.left16 = [f[17], f[18]];
            sig.trailer = f[2..7].to_vec();
            &b[19..]
        }
        4 => {
            let f = b.get(..6).ok_or_else(|| bad("truncated v4 signature"))?;
            sig.sig_type = f[1];
            sig.pub_algo = f[2];
            sig.hash_algo = f[3];
            let hl = u16::from_be_bytes([f[4], f[5]]) as usize;
            let hashed = b
                .get(6..6 + hl)
                .ok_or_else(|| bad("hashed subpackets past the packet"))?;
            subpackets(hashed, &mut sig)?;
            let mut trailer = b[..6 + hl].to_vec();
            trailer.extend_from_slice(&[4, 0xff]);
            trailer.extend_from_slice(&((6 + hl) as u32).to_be_bytes());
            sig.trailer = trailer;
            let at = 6 + hl;
            let ul = b
                .get(at..at + 2)
                .ok_or_else(|| bad("truncated unhashed length"))?;
            let ul = u16::from_be_bytes([ul[0], ul[1]]) as usize;
            let unhashed = b
                .get(at + 2..at + 2 + ul)
                .ok_or_else(|| bad("unhashed subpackets past the packet"))?;
            // The issuer is conventionally unhashed; it only picks the key to try.
            subpackets(unhashed, &mut sig)?;
            let at = at + 2 + ul;
            let l = b
                .get(at..at + 2)
                .ok_or_else(|| bad("truncated signature"))?;
            sig.left16 = [l[0], l[1]];
            &b[at + 2..]
        }
        v => return Err(Error::Unsupported(format!("version {v} signature"))),
    };
    let mut rest = rest;
    let n = match sig.pub_algo {
        1..=3 => 1,
        17 | 19 | 22 => 2,
        _ => 0,
    };
    for _ in 0..n {
        let (v, r) = mpi(rest)?;
        sig.values.push(v);
        rest = r;
    }
    Ok(sig)
}

/// The name of a hash algorithm by its OpenPGP number.
pub fn hash_name(algo: u8) -> &'static str {
    match algo {
        1 => "MD5",
        2 => "SHA1",
        8 => "SHA256",
        9 => "SHA384",
        10 => "SHA512",
        11 => "SHA224",
        _ => "unknown",
    }
}

/// The digest of `data` and the signature's trailer, as the signature hashes it.
pub fn digest(sig: &Signature, data: &[u8]) -> Result<Vec<u8>, Error> {
    let alg = match sig.hash_algo {
        2 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        8 => &ring::digest::SHA256,
        9 => &ring::digest::SHA384,
        10 => &ring::digest::SHA512,
        h => {
            return Err(Error::Unsupported(format!(
                "hash algorithm {h} ({})",
                hash_name(h)
            )));
        }
    };
    let mut c = ring::digest::Context::new(alg);
    c.update(data);
    c.update(&sig.trailer);
    Ok(c.finish().as_ref().to_vec())
}

/// Verifies `sig` over `data` with `key`: the hash's first two bytes must match the
/// signature's and the RSA or EdDSA signature must verify.
pub fn verify(sig: &Signature, key: &PublicKey, data: &[u8]) -> Result<(), Error> {
    let d = digest(sig, data)?;
    if d[..2] != sig.left16 {
        return Err(Error::BadSignature(key.key_id.clone()));
    }
    let ok = match (&key.material, sig.pub_algo) {
        (KeyMaterial::Rsa { n, e }, 1..=3) => {
            // ring hashes the message itself: hand it data and trailer in one piece.
            let mut msg = Vec::with_capacity(data.len() + sig.trailer.len());
            msg.extend_from_slice(data);
            msg.extend_from_slice(&sig.trailer);
            // The signature value is left-padded to the modulus size.
            let mut s = sig.values.first().cloned().unwrap_or_default();
            if s.len() < n.len() {
                let mut p = vec![0u8; n.len() - s.len()];
                p.extend_from_slice(&s);
                s = p;
            }
            let pk = signature::RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            };
            match sig.hash_algo {
                2 => pk.verify(
                    &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                    &msg,
                    &s,
                ),
                8 => pk.verify(&signature::RSA_PKCS1_2048_8192_SHA256, &msg, &s),
                9 => pk.verify(&signature::RSA_PKCS1_2048_8192_SHA384, &msg, &s),
                10 => pk.verify(&signature::RSA_PKCS1_2048_8192_SHA512, &msg, &s),
                h => return Err(Error::Unsupported(format!("RSA with hash {h}"))),
            }
            .is_ok()
        }
        (KeyMaterial::Ed25519(k), 22 | 27) => {
            let mut rs = [0u8; 64];
            let (r, s) = match sig.values.as_slice() {
                [r, s] if r.len() <= 32 && s.len() <= 32 => (r, s),
                _ => return Err(bad("EdDSA signature values are not two 32-byte numbers")),
            };
            rs[32 - r.len()..32].copy_from_slice(r);
            rs[64 - s.len()..].copy_from_slice(s);
            // EdDSA signs the digest, not the data.
            UnparsedPublicKey::new(&signature::ED25519, k)
                .verify(&d, &rs)
                .is_ok()
        }
        (KeyMaterial::Ecdsa { curve, point }, 19) => {
            // ring hashes the message itself, as for RSA; r and s, each left-padded to the
            // curve's size, are the fixed form when the hash matches the curve, DER else.
            let mut msg = Vec::with_capacity(data.len() + sig.trailer.len());
            msg.extend_from_slice(data);
            msg.extend_from_slice(&sig.trailer);
            let size = curve.size();
            let (r, s) = match sig.values.as_slice() {
                [r, s] if r.len() <= size && s.len() <= size => (r, s),
                _ => return Err(bad("ECDSA signature values do not fit the curve")),
            };
            let (alg, encoded): (&dyn signature::VerificationAlgorithm, Vec<u8>) =
                match (curve, sig.hash_algo) {
                    (Curve::P256, 8) => (&signature::ECDSA_P256_SHA256_FIXED, fixed(r, s, size)),
                    (Curve::P384, 9) => (&signature::ECDSA_P384_SHA384_FIXED, fixed(r, s, size)),
                    (Curve::P256, 9) => (&signature::ECDSA_P256_SHA384_ASN1, der(r, s)),
                    (Curve::P384, 8) => (&signature::ECDSA_P384_SHA256_ASN1, der(r, s)),
                    (c, h) => {
                        return Err(Error::Unsupported(format!(
                            "ECDSA on {c:?} with hash {h} ({})",
                            hash_name(h)
                        )));
                    }
                };
            UnparsedPublicKey::new(alg, point)
                .verify(&msg, &encoded)
                .is_ok()
        }
        (KeyMaterial::Other(a), _) => {
            return Err(Error::Unsupported(format!("public key algorithm {a}")));
        }
        _ => return Err(Error::BadSignature(key.key_id.clone())),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::BadSignature(key.key_id.clone()))
    }
}

/// `r || s`, each left-padded to `size` bytes.
fn fixed(r: &[u8], s: &[u8], size: usize) -> Vec<u8> {
    let mut out = vec![0u8; 2 * size];
    out[size - r.len()..size].copy_from_slice(r);
    out[2 * size - s.len()..].copy_from_slice(s);
    out
}

/// `SEQUENCE { INTEGER r, INTEGER s }` in DER; r and s are at most 48 bytes, so every
/// length fits one byte.
fn der(r: &[u8], s: &[u8]) -> Vec<u8> {
    let int = |v: &[u8]| {
        let v = &v[v.iter().position(|b| *b != 0).unwrap_or(v.len())..];
        let mut out = vec![0x02];
        if v.first().is_none_or(|b| *b & 0x80 != 0) {
            out.push(v.len() as u8 + 1);
            out.push(0);
        } else {
            out.push(v.len() as u8);
        }
        out.extend_from_slice(v);
        out
    };
    let (r, s) = (int(r), int(s));
    let mut out = vec![0x30, (r.len() + s.len()) as u8];
    out.extend(r);
    out.extend(s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_values_encode_as_ring_reads_them() {
        assert_eq!(fixed(&[1], &[2, 3], 4), [0, 0, 0, 1, 0, 0, 2, 3]);
        // A high bit gets a zero byte in front; leading zeros go.
        assert_eq!(
            der(&[0x80, 1], &[0, 0x7f]),
            [0x30, 0x08, 0x02, 0x03, 0, 0x80, 1, 0x02, 0x01, 0x7f]
        );
        assert_eq!(der(&[], &[0]), [0x30, 0x06, 0x02, 0x01, 0, 0x02, 0x01, 0]);
    }

    #[test]
    fn packet_headers_are_bounded() {
        assert!(packets(&[0x99, 0x01]).is_err());
        assert!(packets(&[0x99, 0xff, 0xff, 1, 2]).is_err());
        assert!(packets(&[0x01]).is_err());
        let p = packets(&[0xc2, 0x01, 0x04]).unwrap();
        assert_eq!((p[0].tag, p[0].body), (2, &[4u8][..]));
        assert!(parse_signature(&[0xc2, 0x01, 0x04]).is_err());
        assert!(parse_keys(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n").is_err());
    }
}

/// Keys made by gpg (`fixtures/linux/make.sh`), with gpg's own fingerprints beside them.
#[cfg(test)]
mod gpg_keys {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/linux/keys")
            .join(name);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn fingerprints_match_gpg() {
        for (key, uid) in [("rsa", "RSA"), ("ed25519", "EdDSA")] {
            let keys = parse_keys(&fixture(&format!("{key}.pub"))).unwrap();
            let want: Vec<String> = String::from_utf8(fixture(&format!("{key}.fpr")))
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
            let got: Vec<String> = keys.iter().map(|k| k.fingerprint.clone()).collect();
            assert_eq!(got, want, "{key}");
            assert!(keys[0].user_ids[0].contains(uid));
            assert_eq!(keys[0].key_id, want[0][24..].to_lowercase());
            match (&keys[0].material, key) {
                (KeyMaterial::Rsa { n, .. }, "rsa") => assert_eq!(n.len(), 256),
                (KeyMaterial::Ed25519(_), "ed25519") => {}
                (m, k) => panic!("{k}: {m:?}"),
            }
        }
    }
}
