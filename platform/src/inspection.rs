//! The Inspection JSON contract: what `dist inspect --json` prints and what the API returns for
//! an artifact. Field names follow `shared/fixtures/real/README.md`; platform extras go under
//! `details`. Changing a field name here is a breaking change for CI scripts.

use serde::{Deserialize, Serialize};

use crate::{Kind, PlatformId, SCHEMA_VERSION};

/// Whether the file is a well-formed artifact of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Parse {
    Ok,
    /// Malformed, truncated, encrypted or not what its name says. A reject always carries an
    /// error finding that says why.
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// One fact a target found worth telling. `code` is stable (`<platform>.<area>.<what>`, such
/// as `<platform>.signature.invalid`); scripts and channel policies match on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    pub code: String,
    pub severity: Severity,
    pub message: String,
}

impl Finding {
    pub fn new(code: impl Into<String>, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            severity,
            message: message.into(),
        }
    }
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }
    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, message)
    }
    pub fn info(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Info, message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SignatureState {
    /// Digests verify (and the chain, where the platform has one to check).
    Signed,
    Unsigned,
    /// A signature is present and does not verify.
    Invalid,
    /// Digests verify; the chain does not reach a trusted root.
    Untrusted,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signer {
    pub subject: String,
    /// SHA-256 of the signer certificate's DER, lowercase hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signature {
    pub state: SignatureState,
    /// `v1`, `v2`, `v3`, `v3.1`, `jar`, `apple-codesign`, `cms`, `authenticode`, ...
    pub schemes: Vec<String>,
    pub signers: Vec<Signer>,
    pub digest_ok: Option<bool>,
    pub chain_ok: Option<bool>,
    pub timestamp: Option<bool>,
}

impl Signature {
    pub fn unsigned() -> Self {
        Self {
            state: SignatureState::Unsigned,
            schemes: Vec::new(),
            signers: Vec::new(),
            digest_ok: None,
            chain_ok: None,
            timestamp: None,
        }
    }
    pub fn unknown() -> Self {
        Self {
            state: SignatureState::Unknown,
            ..Self::unsigned()
        }
    }
}

/// Everything a target learnt about one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Inspection {
    pub schema_version: u32,
    /// The file name as given (no folders).
    pub file: String,
    /// Filled by the caller that streamed the whole file; targets read only what they need.
    pub sha256: Option<String>,
    pub size: u64,
    pub platform: PlatformId,
    pub kind: Kind,
    pub parse: Parse,
    pub identity: Option<String>,
    pub version: Option<String>,
    pub build: Option<String>,
    pub min_os: Option<String>,
    pub target_sdk: Option<String>,
    pub archs: Option<Vec<String>>,
    pub device_family: Option<Vec<String>>,
    pub display_name: Option<String>,
    pub signature: Signature,
    pub findings: Vec<Finding>,
    /// Platform extras (extensions, permissions, lineage, an Apple provisioning profile,
    /// ...), typed by their target, which documents their schema (README, "Platform
    /// details"). Always a JSON object; nothing outside the target reads inside it except
    /// the identity facts the generic rules name (`team_id`, `publisher`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Inspection {
    /// An empty, well-formed inspection that a target fills in.
    pub fn new(file: &str, size: u64, platform: PlatformId, kind: Kind) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            file: file.to_owned(),
            sha256: None,
            size,
            platform,
            kind,
            parse: Parse::Ok,
            identity: None,
            version: None,
            build: None,
            min_os: None,
            target_sdk: None,
            archs: None,
            device_family: None,
            display_name: None,
            signature: Signature::unknown(),
            findings: Vec::new(),
            details: serde_json::Map::new(),
        }
    }

    /// Marks the file as refused, with an error finding naming the file and the problem.
    pub fn reject(&mut self, code: &str, message: impl Into<String>) {
        self.parse = Parse::Reject;
        let message = format!("{}: {}", self.file, message.into());
        self.findings.push(Finding::error(code, message));
    }

    pub fn has_errors(&self) -> bool {
        self.parse == Parse::Reject || self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// Settles a reader's result into what `Target::inspect` returns: a cap or a malformed
    /// structure is a `parse: reject` with a finding (`<platform>.limit`,
    /// `<platform>.<area>.malformed`); an I/O error that is not the file's fault is the
    /// caller's error. One place, so every target words these the same way.
    pub fn settle(
        mut self,
        result: Result<(), ReadFailure>,
        platform: &str,
        area: &str,
    ) -> Result<Inspected, crate::InspectError> {
        let malformed = format!("{platform}.{area}.malformed");
        match result {
            Ok(()) => {}
            Err(ReadFailure::Io(e)) => {
                if let Some(over) = format_zip::over_limit(&e) {
                    let why = format!("{}; the file is refused rather than read further", over.0);
                    self.reject(&format!("{platform}.limit"), why);
                } else if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::InvalidData
                        | std::io::ErrorKind::InvalidInput
                        | std::io::ErrorKind::Other
                ) {
                    self.reject(
                        &malformed,
                        format!(
                            "the {area} is truncated or corrupt ({e}); rebuild or download it again"
                        ),
                    );
                } else {
                    return Err(crate::InspectError::Io {
                        file: self.file.clone(),
                        source: e,
                    });
                }
            }
            Err(ReadFailure::Limit(m)) => self.reject(&format!("{platform}.limit"), m),
            Err(ReadFailure::Malformed(m)) => {
                self.reject(&malformed, format!("{m}; rebuild or download it again"))
            }
        }
        Ok(self.into())
    }
}

/// The three ways a target's reader stops early, as [`Inspection::settle`] takes them.
#[derive(Debug)]
pub enum ReadFailure {
    /// Reading failed; a budget overrun or a truncated file arrive this way too.
    Io(std::io::Error),
    /// A size or count the reader bounds was over its limit.
    Limit(String),
    /// A structure does not read as its format says.
    Malformed(String),
}

/// What `Target::inspect` returns: the inspection plus the app icon as a standard PNG (not part
/// of the JSON; the server stores it beside the artifact).
#[derive(Debug, Clone)]
pub struct Inspected {
    pub inspection: Inspection,
    pub icon_png: Option<Vec<u8>>,
}

impl From<Inspection> for Inspected {
    fn from(inspection: Inspection) -> Self {
        Self {
            inspection,
            icon_png: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_field_names_are_the_contract() {
        let mut i = Inspection::new(
            "a.apk",
            10,
            "android".parse().unwrap(),
            "apk".parse().unwrap(),
        );
        i.reject(
            "android.zip.malformed",
            "central directory overlaps the end record",
        );
        let v = serde_json::to_value(&i).unwrap();
        for key in [
            "schema_version",
            "file",
            "sha256",
            "size",
            "platform",
            "kind",
            "parse",
            "identity",
            "version",
            "build",
            "min_os",
            "target_sdk",
            "archs",
            "device_family",
            "display_name",
            "signature",
            "findings",
            "details",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["parse"], "reject");
        assert_eq!(v["signature"]["state"], "unknown");
        assert_eq!(v["findings"][0]["severity"], "error");
        assert!(
            v["findings"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("a.apk: ")
        );
        let back: Inspection = serde_json::from_value(v).unwrap();
        assert_eq!(back, i);
    }
}
