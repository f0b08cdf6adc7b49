//! X.509 certificates, read leniently: the fields every caller needs (subject, issuer,
//! serial, key) must parse; the validity and the outer signature are kept when they do, so
//! an odd but genuine signer certificate (APK signers are often self-made) still names its
//! signer.

use crate::der::{BIT_STRING, CONTEXT_0, Der, INTEGER, OID, SEQUENCE, algorithm_oid, oid_string};
use crate::name::{self, Style};
use crate::signature::{self, Verdict};
use crate::{Error, sha256_hex, time};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Certificate {
    /// The whole certificate.
    pub der: Vec<u8>,
    /// SHA-256 of `der`, lowercase hex.
    pub sha256: String,
    /// The subject in RFC 4514 form (see [`name`]).
    pub subject: String,
    /// The subject Name's content bytes (inside its SEQUENCE), for other renderings.
    pub subject_raw: Vec<u8>,
    /// Raw DER of the issuer Name (with its SEQUENCE header) and the serial, to match CMS
    /// signer infos and to find issuers.
    pub issuer_raw: Vec<u8>,
    pub serial: Vec<u8>,
    /// The whole SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    /// The signed part (TBSCertificate), its signature algorithm OID and the signature.
    pub tbs: Vec<u8>,
    pub signature_algorithm: Option<String>,
    pub signature: Option<Vec<u8>>,
    /// notBefore and notAfter in Unix seconds, when they parse.
    pub validity: Option<(i64, i64)>,
    /// Raw DER of the subject Name with its SEQUENCE header (issuer matching).
    pub subject_der: Vec<u8>,
}

impl Certificate {
    pub fn parse(der: &[u8]) -> Result<Self, Error> {
        let mut top = Der::new(der);
        let cert = top.expect(SEQUENCE)?;
        let mut c = cert.inner();
        let tbs = c.expect(SEQUENCE)?;
        let mut t = tbs.inner();
        t.optional(CONTEXT_0)?; // version
        let serial = t.expect(INTEGER)?;
        t.expect(SEQUENCE)?; // signature algorithm (repeated outside)
        let issuer = t.expect(SEQUENCE)?;
        let validity = t.expect(SEQUENCE)?;
        let subject = t.expect(SEQUENCE)?;
        let spki = t.expect(SEQUENCE)?;
        let validity = {
            let mut v = validity.inner();
            match (v.read().ok(), v.read().ok()) {
                (Some(nb), Some(na)) => time::unix(&nb).zip(time::unix(&na)),
                _ => None,
            }
        };
        let sig_alg = c.optional(SEQUENCE)?.and_then(|a| algorithm_oid(&a).ok());
        let signature = c
            .optional(BIT_STRING)?
            .and_then(|b| b.content.split_first().map(|(_, s)| s.to_vec()));
        let raw = cert.raw;
        Ok(Certificate {
            der: raw.to_vec(),
            sha256: sha256_hex(raw),
            subject: name::format(subject.content, Style::Rfc4514)?,
            subject_raw: subject.content.to_vec(),
            issuer_raw: issuer.raw.to_vec(),
            serial: serial.content.to_vec(),
            spki: spki.raw.to_vec(),
            tbs: tbs.raw.to_vec(),
            signature_algorithm: sig_alg,
            signature,
            validity,
            subject_der: subject.raw.to_vec(),
        })
    }

    /// The subject in another style.
    pub fn subject_in(&self, style: Style) -> String {
        name::format(&self.subject_raw, style).unwrap_or_else(|_| self.subject.clone())
    }

    /// The first value of a subject attribute (`name::OU`, ...).
    pub fn subject_attribute(&self, oid: &str) -> Option<String> {
        name::first(&self.subject_raw, oid)
    }

    /// Whether this certificate names `issuer`'s subject as its issuer.
    pub fn issued_by_name(&self, issuer: &Certificate) -> bool {
        self.issuer_raw == issuer.subject_der
    }

    /// Whether `issuer`'s key made this certificate's signature.
    pub fn verify_signed_by(&self, issuer: &Certificate) -> Verdict {
        let (Some(alg), Some(sig)) = (&self.signature_algorithm, &self.signature) else {
            return Verdict::Invalid;
        };
        match signature::scheme(alg, None) {
            Some((kind, hash)) => signature::verify(&issuer.spki, kind, hash, &self.tbs, sig),
            None => Verdict::Unsupported(format!("certificate signature algorithm {alg}")),
        }
    }

    /// The extended key usage OIDs, `None` when the certificate has no such extension (it is
    /// then good for any usage) or its extensions do not parse.
    pub fn extended_key_usage(&self) -> Option<Vec<String>> {
        const EKU: &str = "2.5.29.37";
        let mut top = Der::new(&self.tbs);
        let tbs = top.expect(SEQUENCE).ok()?;
        let mut t = tbs.inner();
        // version, serial, signature, issuer, validity, subject, key, then the optional
        // unique ids [1] [2] and the extensions [3].
        t.optional(CONTEXT_0).ok()?;
        for _ in 0..6 {
            t.read().ok()?;
        }
        while !t.is_empty() {
            let item = t.read().ok()?;
            if item.tag != 0xa3 {
                continue;
            }
            let mut exts = item.inner().expect(SEQUENCE).ok()?.inner();
            while !exts.is_empty() {
                let ext = exts.expect(SEQUENCE).ok()?;
                let mut e = ext.inner();
                if oid_string(e.expect(OID).ok()?.content) != EKU {
                    continue;
                }
                let mut value = e.read().ok()?;
                if value.tag == 0x01 {
                    value = e.read().ok()?; // the critical flag
                }
                let mut seq = Der::new(value.content);
                let mut list = seq.expect(SEQUENCE).ok()?.inner();
                let mut out = Vec::new();
                while !list.is_empty() {
                    out.push(oid_string(list.expect(OID).ok()?.content));
                }
                return Some(out);
            }
        }
        None
    }

    /// Whether the certificate is within its validity period at `now` (Unix seconds).
    pub fn valid_at(&self, now: i64) -> bool {
        self.validity.is_some_and(|(nb, na)| nb <= now && now <= na)
    }
}
