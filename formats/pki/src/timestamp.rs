//! RFC 3161 time-stamp tokens: a SignedData whose content is a TSTInfo naming the time and
//! the digest of what was stamped (for CMS, the signer's signature value).

use crate::cms::SignedData;
use crate::der::{Der, GENERALIZED_TIME, INTEGER, OCTET_STRING, OID, SEQUENCE, algorithm_oid};
use crate::signature::{Hash, Verdict};
use crate::{Error, bad, time};

pub const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";

#[derive(Debug, Clone)]
pub struct TimeStampToken {
    pub signed_data: SignedData,
    /// When the authority says it saw the digest, Unix seconds.
    pub time: i64,
    pub imprint_algorithm: String,
    pub imprint: Vec<u8>,
}

/// What checking a token against the bytes it claims to stamp found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStampCheck {
    /// The imprint is the digest of the stamped bytes.
    pub imprint_ok: bool,
    /// The authority's signature over the TSTInfo.
    pub signature: Verdict,
}

impl TimeStampToken {
    pub fn parse(token: &[u8]) -> Result<Self, Error> {
        let signed_data = SignedData::parse(token)?;
        if signed_data.content_type != TST_INFO {
            return Err(Error::Der(format!(
                "time-stamp token carries {} rather than a TSTInfo",
                signed_data.content_type
            )));
        }
        let info = signed_data
            .content
            .as_deref()
            .ok_or_else(|| bad("time-stamp token has no TSTInfo"))?;
        let mut top = Der::new(info);
        let seq = top.expect(SEQUENCE)?;
        let mut t = seq.inner();
        t.expect(INTEGER)?; // version
        t.expect(OID)?; // policy
        let imprint = t.expect(SEQUENCE)?;
        let mut mi = imprint.inner();
        let imprint_algorithm = algorithm_oid(&mi.expect(SEQUENCE)?)?;
        let digest = mi.expect(OCTET_STRING)?.content.to_vec();
        t.expect(INTEGER)?; // serial
        let gen_time = t.expect(GENERALIZED_TIME)?;
        let time = time::unix(&gen_time).ok_or_else(|| bad("time-stamp genTime does not parse"))?;
        Ok(Self {
            imprint_algorithm,
            imprint: digest,
            time,
            signed_data,
        })
    }

    /// Checks the imprint against `stamped` and the authority's signature (chaining the
    /// authority to a root is the caller's: see [`crate::build_chain`]).
    pub fn verify(&self, stamped: &[u8]) -> TimeStampCheck {
        let imprint_ok = Hash::from_oid(&self.imprint_algorithm)
            .is_some_and(|h| h.digest(stamped) == self.imprint);
        let signature = match self.signed_data.signers.first() {
            None => Verdict::Invalid,
            Some(s) => match (
                self.signed_data.signer_certificate(s),
                self.signed_data.content.as_deref(),
            ) {
                (Some(cert), Some(info)) => s.verify(cert, info),
                _ => Verdict::Invalid,
            },
        };
        TimeStampCheck {
            imprint_ok,
            signature,
        }
    }
}
