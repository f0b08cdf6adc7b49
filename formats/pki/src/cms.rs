//! CMS (PKCS#7) SignedData: JAR signature blocks, Apple code signatures, provisioning
//! profiles (BER), Authenticode, RFC 3161 time-stamp tokens.

use crate::cert::Certificate;
use crate::der::{
    self, CONTEXT_0, CONTEXT_1, Der, INTEGER, OCTET_STRING, OID, SEQUENCE, SET, Tlv, algorithm_oid,
    integer_value, oid_string,
};
use crate::signature::{self, Hash, Verdict};
use crate::{Error, bad};

pub const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
pub const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
pub const TIME_STAMP_TOKEN: &str = "1.2.840.113549.1.9.16.2.14";

/// Most certificates and signers read from one SignedData.
const MAX_CERTIFICATES: usize = 64;
const MAX_SIGNERS: usize = 16;

/// How a signer info names its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerId {
    /// Issuer Name (raw DER with its SEQUENCE header) and serial number.
    IssuerSerial { issuer: Vec<u8>, serial: Vec<u8> },
    /// A subject key identifier.
    KeyId(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct SignerInfo {
    pub sid: SignerId,
    pub digest_algorithm: String,
    /// The signed attributes as encoded (`[0]` tag included), when present.
    pub signed_attributes: Option<Vec<u8>>,
    /// The message-digest attribute's value.
    pub message_digest: Option<Vec<u8>>,
    pub signature_algorithm: String,
    pub signature: Vec<u8>,
    /// The RFC 3161 time-stamp token (a ContentInfo) among the unsigned attributes.
    pub timestamp_token: Option<Vec<u8>>,
    /// Every signed attribute: its OID and each value's whole encoding (Authenticode's
    /// signing time and opus info live here).
    pub signed_attribute_values: Vec<(String, Vec<Vec<u8>>)>,
    /// Every unsigned attribute, likewise (Authenticode nests further signatures and
    /// countersignatures here).
    pub unsigned_attribute_values: Vec<(String, Vec<Vec<u8>>)>,
}

#[derive(Debug, Clone)]
pub struct SignedData {
    /// The encapsulated content's type (`1.2.840.113549.1.7.1` for data).
    pub content_type: String,
    /// The encapsulated content, `None` when detached: an OCTET STRING's bytes, or for any
    /// other type (Authenticode's SpcIndirectDataContent) the content octets of its
    /// encoding, without tag and length, which is what PKCS #7 digests.
    pub content: Option<Vec<u8>>,
    /// The encapsulated content's whole encoding (tag and length included).
    pub content_encoded: Option<Vec<u8>>,
    pub certificates: Vec<Certificate>,
    pub signers: Vec<SignerInfo>,
}

impl SignedData {
    /// Parses a ContentInfo holding a SignedData. BER is accepted: Apple encodes
    /// provisioning profiles with indefinite lengths.
    pub fn parse(data: &[u8]) -> Result<Self, Error> {
        let mut top = Der::ber(data);
        let ci = top.expect(SEQUENCE)?;
        let mut c = ci.inner();
        let ct = c.expect(OID)?;
        if oid_string(ct.content) != SIGNED_DATA {
            return Err(bad("not a CMS SignedData"));
        }
        let explicit = c.expect(CONTEXT_0)?;
        let sd = explicit.inner().expect(SEQUENCE)?;
        let mut s = sd.inner();
        s.expect(INTEGER)?;
        s.expect(SET)?; // digest algorithms: each signer names its own
        let encap = s.expect(SEQUENCE)?;
        let mut e = encap.inner();
        let content_type = oid_string(e.expect(OID)?.content);
        let (content, content_encoded) = match e.optional(CONTEXT_0)? {
            Some(wrapped) => {
                let inner = wrapped.inner().read()?;
                let bytes = match inner.octets() {
                    Ok(b) => b.into_owned(),
                    Err(_) => inner.content.to_vec(),
                };
                (Some(bytes), Some(inner.raw.to_vec()))
            }
            None => (None, None),
        };
        let mut certificates = Vec::new();
        if let Some(set) = s.optional(CONTEXT_0)? {
            let mut cs = set.inner();
            while !cs.is_empty() {
                let t = cs.read()?;
                // Other certificate formats ([0] extended, [1] v1 attribute, ...) are skipped.
                if t.tag == SEQUENCE {
                    if certificates.len() >= MAX_CERTIFICATES {
                        return Err(bad("more certificates than the limit"));
                    }
                    certificates.push(Certificate::parse(t.raw)?);
                }
            }
        }
        s.optional(CONTEXT_1)?; // CRLs
        let infos = s.expect(SET)?;
        let mut i = infos.inner();
        let mut signers = Vec::new();
        while !i.is_empty() {
            if signers.len() >= MAX_SIGNERS {
                return Err(bad("more signers than the limit"));
            }
            signers.push(parse_signer(&i.expect(SEQUENCE)?)?);
        }
        Ok(SignedData {
            content_type,
            content,
            content_encoded,
            certificates,
            signers,
        })
    }

    /// The certificate a signer info names, among those the SignedData carries. Serials
    /// compare by value. A signer named by key identifier takes the first certificate (JAR
    /// signature blocks carry one).
    pub fn signer_certificate(&self, s: &SignerInfo) -> Option<&Certificate> {
        match &s.sid {
            SignerId::IssuerSerial { issuer, serial } => self.certificates.iter().find(|c| {
                c.issuer_raw == *issuer && integer_value(&c.serial) == integer_value(serial)
            }),
            SignerId::KeyId(_) => self.certificates.first(),
        }
    }
}

fn parse_signer(info: &Tlv<'_>) -> Result<SignerInfo, Error> {
    let mut si = info.inner();
    si.expect(INTEGER)?;
    let sid = si.read()?;
    let sid = match sid.tag {
        SEQUENCE => {
            let mut ias = sid.inner();
            let issuer = ias.expect(SEQUENCE)?;
            let serial = ias.expect(INTEGER)?;
            SignerId::IssuerSerial {
                issuer: issuer.raw.to_vec(),
                serial: serial.content.to_vec(),
            }
        }
        _ => SignerId::KeyId(sid.content.to_vec()),
    };
    let digest_algorithm = algorithm_oid(&si.expect(SEQUENCE)?)?;
    let signed_attrs = si.optional(CONTEXT_0)?;
    let signature_algorithm = algorithm_oid(&si.expect(SEQUENCE)?)?;
    let signature = si.read()?.octets()?.into_owned();
    let unsigned = si.optional(CONTEXT_1)?;
    let mut message_digest = None;
    let mut signed_attribute_values = Vec::new();
    let mut unsigned_attribute_values = Vec::new();
    if let Some(attrs) = &signed_attrs {
        for (oid, values) in attributes(attrs)? {
            signed_attribute_values.push((oid.clone(), value_list(&values)?));
            if oid == MESSAGE_DIGEST {
                let v = values.inner().read()?;
                if v.tag != OCTET_STRING {
                    return Err(bad("message-digest attribute is not an OCTET STRING"));
                }
                message_digest = Some(v.content.to_vec());
            }
        }
    }
    let mut timestamp_token = None;
    if let Some(attrs) = &unsigned {
        for (oid, values) in attributes(attrs)? {
            unsigned_attribute_values.push((oid.clone(), value_list(&values)?));
            if oid == TIME_STAMP_TOKEN {
                timestamp_token = Some(values.inner().read()?.raw.to_vec());
            }
        }
    }
    Ok(SignerInfo {
        sid,
        digest_algorithm,
        signed_attributes: signed_attrs.map(|a| a.raw.to_vec()),
        message_digest,
        signature_algorithm,
        signature,
        timestamp_token,
        signed_attribute_values,
        unsigned_attribute_values,
    })
}

/// Most values kept of one attribute.
const MAX_ATTRIBUTE_VALUES: usize = 16;

fn value_list(set: &Tlv<'_>) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    let mut v = set.inner();
    while !v.is_empty() {
        if out.len() >= MAX_ATTRIBUTE_VALUES {
            return Err(bad("an attribute with more values than the limit"));
        }
        out.push(v.read()?.raw.to_vec());
    }
    Ok(out)
}

/// Parses one SignerInfo on its own (a PKCS #9 countersignature is one).
pub fn parse_signer_info(raw: &[u8]) -> Result<SignerInfo, Error> {
    let mut top = Der::new(raw);
    parse_signer(&top.expect(SEQUENCE)?)
}

/// (OID, SET of values) of each attribute in a `[0]`/`[1]` attribute list.
fn attributes<'a>(list: &Tlv<'a>) -> Result<Vec<(String, Tlv<'a>)>, Error> {
    let mut out = Vec::new();
    let mut a = list.inner();
    while !a.is_empty() {
        let attr = a.expect(SEQUENCE)?;
        let mut at = attr.inner();
        let oid = oid_string(at.expect(OID)?.content);
        out.push((oid, at.expect(SET)?));
    }
    Ok(out)
}

impl SignerInfo {
    /// The digest algorithm, if this build knows it.
    pub fn hash(&self) -> Result<Hash, Error> {
        Hash::from_oid(&self.digest_algorithm).ok_or_else(|| {
            Error::Unsupported(format!(
                "digest algorithm {} is not supported",
                self.digest_algorithm
            ))
        })
    }

    /// Whether the message-digest attribute matches `content`: `None` without signed
    /// attributes (the signature then covers the content itself).
    pub fn digest_matches(&self, content: &[u8]) -> Result<Option<bool>, Error> {
        if self.signed_attributes.is_none() {
            return Ok(None);
        }
        let hash = self.hash()?;
        Ok(Some(
            self.message_digest
                .as_deref()
                .is_some_and(|d| d == hash.digest(content).as_slice()),
        ))
    }

    /// The bytes the signature covers: the signed attributes re-tagged as a SET (RFC 5652
    /// 5.4), or the content when there are none.
    pub fn signed_bytes(&self, content: &[u8]) -> Vec<u8> {
        match &self.signed_attributes {
            Some(attrs) => {
                let mut msg = attrs.clone();
                msg[0] = der::SET;
                msg
            }
            None => content.to_vec(),
        }
    }

    /// Checks the signature alone with `cert`'s key.
    pub fn verify_signature(&self, cert: &Certificate, content: &[u8]) -> Verdict {
        let hash = match self.hash() {
            Ok(h) => h,
            Err(e) => return Verdict::Unsupported(e.to_string()),
        };
        match signature::scheme(&self.signature_algorithm, Some(hash)) {
            Some((kind, sig_hash)) => signature::verify(
                &cert.spki,
                kind,
                sig_hash,
                &self.signed_bytes(content),
                &self.signature,
            ),
            None => {
                Verdict::Unsupported(format!("signature algorithm {}", self.signature_algorithm))
            }
        }
    }

    /// The message digest (when signed attributes carry one) and the signature together.
    pub fn verify(&self, cert: &Certificate, content: &[u8]) -> Verdict {
        match self.digest_matches(content) {
            Err(e) => Verdict::Unsupported(e.to_string()),
            Ok(Some(false)) => Verdict::Invalid,
            Ok(_) => self.verify_signature(cert, content),
        }
    }
}
