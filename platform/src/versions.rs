//! Version consistency between a release and the files in it (issue 12, item 6): an IPA that
//! declares 1.2.3 (5) inside release 2.1.0 (10) is worth a word. One rule, used by `dist ci
//! publish` before any upload and by `distd` when it publishes, so both say the same thing.

use serde::{Deserialize, Serialize};

use crate::{Build, Finding, Inspection, Severity, Version};

/// The finding's code.
pub const VERSION_MISMATCH: &str = "release.version_mismatch";

/// How an app treats a file whose declared version or build differs from its release's: a
/// warning (the default) or an error that blocks the publish.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MismatchPolicy {
    #[default]
    Warning,
    Error,
}

impl MismatchPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }

    fn severity(self) -> Severity {
        match self {
            Self::Warning => Severity::Warning,
            Self::Error => Severity::Error,
        }
    }
}

impl std::fmt::Display for MismatchPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MismatchPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "warning" => Ok(Self::Warning),
            "error" => Ok(Self::Error),
            other => Err(format!(
                "unknown version-mismatch policy {other:?}: use \"warning\" or \"error\""
            )),
        }
    }
}

/// The finding for `inspection` when what the file declares differs from the release's
/// version or build; `None` when they agree or the file declares neither. A value the file
/// does not declare is not a mismatch.
pub fn version_mismatch(
    inspection: &Inspection,
    version: &Version,
    build: &Build,
    policy: MismatchPolicy,
) -> Option<Finding> {
    let differs = |declared: Option<&str>, ours: &str| declared.is_some_and(|d| d != ours);
    if !differs(inspection.version.as_deref(), version.as_str())
        && !differs(inspection.build.as_deref(), build.as_str())
    {
        return None;
    }
    let message = format!(
        "{}: the file declares version {} ({}), the release is {} ({}); set \"version\" and \"build\" in dist.json to what the build wrote",
        inspection.file,
        inspection.version.as_deref().unwrap_or("?"),
        inspection.build.as_deref().unwrap_or("?"),
        version,
        build
    );
    Some(Finding::new(VERSION_MISMATCH, policy.severity(), message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, PlatformId};

    fn insp(version: Option<&str>, build: Option<&str>) -> Inspection {
        let mut i = Inspection::new(
            "app.ipa",
            1,
            "ios".parse::<PlatformId>().unwrap(),
            "ipa".parse::<Kind>().unwrap(),
        );
        i.version = version.map(str::to_owned);
        i.build = build.map(str::to_owned);
        i
    }

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }
    fn b(s: &str) -> Build {
        s.parse().unwrap()
    }

    #[test]
    fn a_different_version_or_build_is_a_finding_with_the_policy_severity() {
        let f = version_mismatch(
            &insp(Some("1.2.3"), Some("5")),
            &v("2.1.0"),
            &b("10"),
            MismatchPolicy::Warning,
        )
        .unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.message.starts_with(
                "app.ipa: the file declares version 1.2.3 (5), the release is 2.1.0 (10)"
            ),
            "{}",
            f.message
        );
        let f = version_mismatch(
            &insp(Some("2.1.0"), Some("5")),
            &v("2.1.0"),
            &b("10"),
            MismatchPolicy::Error,
        )
        .unwrap();
        assert_eq!(f.severity, Severity::Error);
    }

    #[test]
    fn agreement_or_silence_is_not_a_mismatch() {
        let p = MismatchPolicy::Error;
        assert!(
            version_mismatch(&insp(Some("2.1.0"), Some("10")), &v("2.1.0"), &b("10"), p).is_none()
        );
        assert!(version_mismatch(&insp(None, None), &v("2.1.0"), &b("10"), p).is_none());
        assert!(version_mismatch(&insp(Some("2.1.0"), None), &v("2.1.0"), &b("10"), p).is_none());
    }

    #[test]
    fn the_policy_reads_and_writes_its_two_words() {
        for p in [MismatchPolicy::Warning, MismatchPolicy::Error] {
            assert_eq!(p.as_str().parse::<MismatchPolicy>().unwrap(), p);
        }
        assert!("fatal".parse::<MismatchPolicy>().is_err());
    }
}
