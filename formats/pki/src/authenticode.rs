//! Authenticode: the PKCS #7 SignedData that signs Windows files (PE images, MSI packages,
//! MSIX/APPX packages, catalogs). Its content is an `SpcIndirectDataContent` naming what was
//! signed and the digest of the file computed the file format's way; further signatures
//! nest in the first signer's unsigned attributes; a timestamp is either an RFC 3161 token
//! (Microsoft's attribute) or a legacy PKCS #9 countersignature.
//!
//! This module parses and checks what the blob itself carries. Computing the file's digest
//! is the caller's (each file format skips different bytes), as is choosing trusted roots.

use crate::cert::Certificate;
use crate::cms::{self, SignedData, SignerInfo};
use crate::der::{Der, OCTET_STRING, OID, SEQUENCE, algorithm_oid, oid_string};
use crate::signature::{Hash, Verdict};
use crate::timestamp::TimeStampToken;
use crate::{Error, bad, time};

pub const SPC_INDIRECT_DATA: &str = "1.3.6.1.4.1.311.2.1.4";
/// What a PE image's indirect data names.
pub const SPC_PE_IMAGE_DATA: &str = "1.3.6.1.4.1.311.2.1.15";
/// What MSI and APPX indirect data name (a subject interface package's info).
pub const SPC_SIPINFO: &str = "1.3.6.1.4.1.311.2.1.30";
pub const SPC_NESTED_SIGNATURE: &str = "1.3.6.1.4.1.311.2.4.1";
/// Microsoft's attribute carrying an RFC 3161 time-stamp token.
pub const MS_RFC3161_TIMESTAMP: &str = "1.3.6.1.4.1.311.3.3.1";
pub const COUNTER_SIGNATURE: &str = "1.2.840.113549.1.9.6";
pub const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";

/// Most signatures read from one blob, nested ones included.
pub const MAX_SIGNATURES: usize = 8;

/// What the signature says was signed: the type of data and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndirectData {
    pub data_type: String,
    pub digest_algorithm: String,
    pub digest: Vec<u8>,
}

/// One Authenticode signature (the outer one, or one nested in it).
#[derive(Debug, Clone)]
pub struct Signature {
    pub signed_data: SignedData,
    pub indirect: IndirectData,
    /// 0 for the outer signature, 1 for one nested in it, ...
    pub depth: usize,
}

/// How a signature was timestamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampKind {
    Rfc3161,
    /// A PKCS #9 countersignature (the older Authenticode timestamp).
    Countersignature,
}

impl TimestampKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimestampKind::Rfc3161 => "rfc3161",
            TimestampKind::Countersignature => "countersignature",
        }
    }
}

/// A timestamp and what checking it found.
#[derive(Debug, Clone)]
pub struct Timestamp {
    pub kind: TimestampKind,
    /// When the authority says it saw the signature, Unix seconds.
    pub time: Option<i64>,
    /// The stamped digest is the signature's and the authority's signature verifies.
    pub verified: bool,
    /// Why it does not verify, when it does not.
    pub problem: Option<String>,
    /// The authority's certificate and the certificates it came with (to build its chain).
    pub authority: Option<Certificate>,
    pub pool: Vec<Certificate>,
}

/// What checking a signer against the blob found (the file's digest aside).
#[derive(Debug, Clone)]
pub struct SignerCheck {
    pub certificate: Option<Certificate>,
    /// The message-digest attribute is the digest of the indirect data.
    pub content_digest_ok: bool,
    /// The signer's signature over its signed attributes.
    pub signature: Verdict,
}

/// Parses an Authenticode PKCS #7 blob with every signature nested in it, the outer one
/// first. A nested signature that does not parse is an error: it cannot be shown as absent.
pub fn parse_all(data: &[u8]) -> Result<Vec<Signature>, Error> {
    let mut out = Vec::new();
    parse_into(data, 0, &mut out)?;
    Ok(out)
}

fn parse_into(data: &[u8], depth: usize, out: &mut Vec<Signature>) -> Result<(), Error> {
    if out.len() >= MAX_SIGNATURES {
        return Err(bad("more nested Authenticode signatures than the limit"));
    }
    let signed_data = SignedData::parse(data)?;
    if signed_data.content_type != SPC_INDIRECT_DATA {
        return Err(Error::Der(format!(
            "Authenticode content is {} rather than SpcIndirectDataContent",
            signed_data.content_type
        )));
    }
    let encoded = signed_data
        .content_encoded
        .as_deref()
        .ok_or_else(|| bad("Authenticode signature has no content"))?;
    let indirect = parse_indirect(encoded)?;
    let nested: Vec<Vec<u8>> = signed_data
        .signers
        .first()
        .map(|s| attribute(&s.unsigned_attribute_values, SPC_NESTED_SIGNATURE))
        .unwrap_or_default();
    out.push(Signature {
        signed_data,
        indirect,
        depth,
    });
    for n in nested {
        parse_into(&n, depth + 1, out)?;
    }
    Ok(())
}

/// Every value of attribute `oid`.
fn attribute(list: &[(String, Vec<Vec<u8>>)], oid: &str) -> Vec<Vec<u8>> {
    list.iter()
        .filter(|(o, _)| o == oid)
        .flat_map(|(_, v)| v.iter().cloned())
        .collect()
}

/// `SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue,
/// messageDigest DigestInfo }`.
pub fn parse_indirect(encoded: &[u8]) -> Result<IndirectData, Error> {
    let mut top = Der::new(encoded);
    let seq = top.expect(SEQUENCE)?;
    let mut s = seq.inner();
    let data = s.expect(SEQUENCE)?;
    let data_type = oid_string(data.inner().expect(OID)?.content);
    let info = s.expect(SEQUENCE)?;
    let mut d = info.inner();
    let digest_algorithm = algorithm_oid(&d.expect(SEQUENCE)?)?;
    let digest = d.expect(OCTET_STRING)?.content.to_vec();
    Ok(IndirectData {
        data_type,
        digest_algorithm,
        digest,
    })
}

impl Signature {
    /// The digest algorithm the file's digest was computed with.
    pub fn hash(&self) -> Option<Hash> {
        Hash::from_oid(&self.indirect.digest_algorithm)
    }

    /// The one signer (Authenticode allows exactly one per SignedData).
    pub fn signer(&self) -> Option<&SignerInfo> {
        match self.signed_data.signers.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    pub fn signer_certificate(&self) -> Option<&Certificate> {
        self.signed_data.signer_certificate(self.signer()?)
    }

    /// Checks the message digest over the indirect data and the signer's signature.
    pub fn verify_signer(&self) -> SignerCheck {
        let certificate = self.signer_certificate().cloned();
        let (Some(signer), Some(content)) = (self.signer(), self.signed_data.content.as_deref())
        else {
            return SignerCheck {
                certificate,
                content_digest_ok: false,
                signature: Verdict::Invalid,
            };
        };
        let content_digest_ok = matches!(signer.digest_matches(content), Ok(Some(true)));
        let signature = match &certificate {
            Some(c) => signer.verify_signature(c, content),
            None => Verdict::Invalid,
        };
        SignerCheck {
            certificate,
            content_digest_ok,
            signature,
        }
    }

    /// The signature's timestamp, if it carries one: an RFC 3161 token (in Microsoft's
    /// attribute or the CMS one) or a countersignature.
    pub fn timestamp(&self) -> Option<Timestamp> {
        let signer = self.signer()?;
        let token = attribute(&signer.unsigned_attribute_values, MS_RFC3161_TIMESTAMP)
            .into_iter()
            .next()
            .or_else(|| signer.timestamp_token.clone());
        if let Some(token) = token {
            return Some(rfc3161(&token, &signer.signature));
        }
        let counter = attribute(&signer.unsigned_attribute_values, COUNTER_SIGNATURE)
            .into_iter()
            .next()?;
        Some(countersignature(
            &counter,
            &signer.signature,
            &self.signed_data.certificates,
        ))
    }
}

fn rfc3161(token: &[u8], stamped: &[u8]) -> Timestamp {
    let t = match TimeStampToken::parse(token) {
        Ok(t) => t,
        Err(e) => {
            return Timestamp {
                kind: TimestampKind::Rfc3161,
                time: None,
                verified: false,
                problem: Some(format!("the time-stamp token does not parse: {e}")),
                authority: None,
                pool: Vec::new(),
            };
        }
    };
    let check = t.verify(stamped);
    let authority = t
        .signed_data
        .signers
        .first()
        .and_then(|s| t.signed_data.signer_certificate(s))
        .cloned();
    let problem = if !check.imprint_ok {
        Some("the time-stamp token stamps another digest than this signature's".to_owned())
    } else if check.signature != Verdict::Valid {
        Some(format!(
            "the time-stamp authority's signature does not verify ({:?})",
            check.signature
        ))
    } else {
        None
    };
    Timestamp {
        kind: TimestampKind::Rfc3161,
        time: Some(t.time),
        verified: problem.is_none(),
        problem,
        authority,
        pool: t.signed_data.certificates.clone(),
    }
}

fn countersignature(raw: &[u8], stamped: &[u8], certificates: &[Certificate]) -> Timestamp {
    let mut ts = Timestamp {
        kind: TimestampKind::Countersignature,
        time: None,
        verified: false,
        problem: None,
        authority: None,
        pool: certificates.to_vec(),
    };
    let cs = match cms::parse_signer_info(raw) {
        Ok(cs) => cs,
        Err(e) => {
            ts.problem = Some(format!("the countersignature does not parse: {e}"));
            return ts;
        }
    };
    ts.time = attribute(&cs.signed_attribute_values, SIGNING_TIME)
        .first()
        .and_then(|v| Der::new(v).read().ok().and_then(|t| time::unix(&t)));
    // The countersigner's certificate travels with the signature's own certificates.
    let holder = SignedData {
        content_type: String::new(),
        content: None,
        content_encoded: None,
        certificates: certificates.to_vec(),
        signers: Vec::new(),
    };
    ts.authority = holder.signer_certificate(&cs).cloned();
    let verdict = match &ts.authority {
        Some(c) => cs.verify(c, stamped),
        None => {
            ts.problem = Some("the countersigner's certificate is not in the signature".into());
            return ts;
        }
    };
    if verdict == Verdict::Valid {
        ts.verified = true;
    } else {
        ts.problem = Some(format!(
            "the countersignature does not verify ({verdict:?})"
        ));
    }
    ts
}
