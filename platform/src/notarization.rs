//! A notarization submission a manifest lists with a file: the id the notary service gave
//! the upload and the status it last reported. The file itself says only what is attached
//! to it (a ticket or none); the submission is the CI job's word, recorded with the artifact
//! and shown beside what was read. Which files take one, and what it means when the two
//! disagree, is the target's word ([`crate::Target::notarization_findings`]).

use serde::{Deserialize, Serialize};

use crate::{Finding, Inspection, Target};

/// The statuses the notary service reports for a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum NotarizationStatus {
    Accepted,
    InProgress,
    Invalid,
    Rejected,
}

impl NotarizationStatus {
    pub const ALL: [Self; 4] = [
        Self::Accepted,
        Self::InProgress,
        Self::Invalid,
        Self::Rejected,
    ];

    /// As written in dist.json, stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::InProgress => "in-progress",
            Self::Invalid => "invalid",
            Self::Rejected => "rejected",
        }
    }
}

impl std::str::FromStr for NotarizationStatus {
    type Err = crate::InvalidValue;
    fn from_str(s: &str) -> Result<Self, crate::InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| crate::InvalidValue {
                what: "notarization status",
                value: s.chars().take(80).collect(),
                expected: "accepted, in-progress, invalid or rejected".into(),
            })
    }
}

impl std::fmt::Display for NotarizationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One submission: `{"submission_id": "<uuid>", "status": "accepted"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Notarization {
    /// The submission's id as the notary service prints it: a UUID
    /// (8-4-4-4-12 hexadecimal digits).
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub submission_id: String,
    pub status: NotarizationStatus,
}

impl Notarization {
    /// Checks the submission id's shape; the message says what one looks like.
    pub fn validate(&self) -> Result<(), String> {
        if is_uuid(&self.submission_id) {
            Ok(())
        } else {
            Err(format!(
                "submission_id {:?} is not a submission id; give the UUID the notary service printed, e.g. \"2efe2717-52ef-43a5-96dc-0797e4ca1041\"",
                self.submission_id.chars().take(80).collect::<String>()
            ))
        }
    }

    /// The id, lower-cased, as stored.
    pub fn normalized(&self) -> Self {
        Self {
            submission_id: self.submission_id.to_ascii_lowercase(),
            status: self.status,
        }
    }
}

/// A UUID in its 36-character text form.
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The finding for a submission listed with a file of a platform that has none.
pub const UNSUPPORTED: &str = "notarization.unsupported";

/// Adds to `inspection` what its target says of the submission listed with it: the
/// target's findings, or [`UNSUPPORTED`] (an error) when the target takes none. Run where
/// the listed architecture is checked (admission, reinspection), so the findings are stored
/// with the inspection.
pub fn check(target: &dyn Target, inspection: &mut Inspection, claim: &Notarization) {
    match target.notarization_findings(inspection, claim) {
        Some(f) => inspection.findings.extend(f),
        None => inspection.findings.push(Finding::error(
            UNSUPPORTED,
            format!(
                "{}: a {} {} file has no notarization; remove \"notarization\" from its entry in dist.json",
                inspection.file,
                target.display_name(),
                inspection.kind
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_ids_are_uuids() {
        let mut n = Notarization {
            submission_id: "2EFE2717-52ef-43a5-96dc-0797e4ca1041".into(),
            status: NotarizationStatus::Accepted,
        };
        assert!(n.validate().is_ok());
        assert_eq!(
            n.normalized().submission_id,
            "2efe2717-52ef-43a5-96dc-0797e4ca1041"
        );
        for bad in [
            "",
            "2efe2717-52ef-43a5-96dc-0797e4ca104",
            "2efe2717x52ef-43a5-96dc-0797e4ca1041",
            "2efe2717-52ef-43a5-96dc-0797e4ca104g",
            "2efe2717-52ef-43a5-96dc-0797e4ca1041 ",
        ] {
            n.submission_id = bad.into();
            assert!(n.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn statuses_read_as_written() {
        for s in NotarizationStatus::ALL {
            assert_eq!(s.as_str().parse::<NotarizationStatus>().unwrap(), s);
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert!("Accepted".parse::<NotarizationStatus>().is_err());
        let e = serde_json::from_str::<Notarization>(
            r#"{"submission_id": "2efe2717-52ef-43a5-96dc-0797e4ca1041", "status": "done"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("in-progress"), "{e}");
    }
}
