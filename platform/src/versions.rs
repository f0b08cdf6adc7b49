//! Version consistency between a release and the files in it (issue 12, item 6): an IPA that
//! declares 1.2.3 (5) inside release 2.1.0 (10) is worth a word. One rule, used by `dist ci
//! publish` before any upload and by `distd` when it publishes, so both say the same thing.

use serde::{Deserialize, Serialize};

use crate::{Build, Finding, Inspection, Registry, Severity, Version};

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
/// does not declare is not a mismatch. The version also agrees when it is one of the others
/// the file's target says it fits ([`crate::Target::release_versions`]: `1.2.3` for a
/// package of `1:1.2.3-4`); a platform `registry` does not link compares exactly.
pub fn version_mismatch(
    registry: &Registry,
    inspection: &Inspection,
    version: &Version,
    build: &Build,
    policy: MismatchPolicy,
) -> Option<Finding> {
    let also = registry
        .get(inspection.platform.as_str())
        .map(|t| t.release_versions(inspection))
        .unwrap_or_default();
    let version_differs = inspection
        .version
        .as_deref()
        .is_some_and(|d| d != version.as_str() && !also.iter().any(|a| a == version.as_str()));
    let build_differs = inspection
        .build
        .as_deref()
        .is_some_and(|d| d != build.as_str());
    if !version_differs && !build_differs {
        return None;
    }
    let fits = if also.is_empty() {
        String::new()
    } else {
        format!("; the file also fits a release named {}", also.join(" or "))
    };
    let message = format!(
        "{}: the file declares version {} ({}), the release is {} ({}){fits}; set \"version\" and \"build\" in dist.json to what the build wrote",
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
    use crate::registry::{Detection, InspectContext, InspectError, KindInfo, Target};
    use crate::{ArtifactView, Client, Inspected, InstallAction, Kind, Links, PlatformId, Probe};

    /// A target whose `pkg` files of version `E:U-R` also fit a release named `U-R` or `U`.
    struct Pkg;

    impl Target for Pkg {
        fn id(&self) -> &'static str {
            "pkg"
        }
        fn display_name(&self) -> &'static str {
            "Pkg"
        }
        fn kinds(&self) -> &'static [KindInfo] {
            &[]
        }
        fn detect(&self, _: &Probe) -> Option<Detection> {
            None
        }
        fn inspect(
            &self,
            _: &mut dyn crate::ReadSeek,
            kind: &Kind,
            _: &InspectContext,
        ) -> Result<Inspected, InspectError> {
            Err(InspectError::UnsupportedKind {
                file: String::new(),
                platform: "pkg".into(),
                kind: kind.to_string(),
            })
        }
        fn install_actions(
            &self,
            _: &ArtifactView<'_>,
            _: &Links,
            _: &Client,
        ) -> Vec<InstallAction> {
            Vec::new()
        }
        fn release_versions(&self, i: &Inspection) -> Vec<String> {
            let v = i.version.as_deref().unwrap_or_default();
            let no_epoch = v.split_once(':').map_or(v, |(_, r)| r);
            let upstream = no_epoch.split_once('-').map_or(no_epoch, |(u, _)| u);
            vec![no_epoch.to_owned(), upstream.to_owned()]
        }
    }

    fn registry() -> Registry {
        Registry::new([&Pkg as &'static dyn Target])
    }

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
            &registry(),
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
            &registry(),
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
        let r = registry();
        let p = MismatchPolicy::Error;
        assert!(
            version_mismatch(
                &r,
                &insp(Some("2.1.0"), Some("10")),
                &v("2.1.0"),
                &b("10"),
                p
            )
            .is_none()
        );
        assert!(version_mismatch(&r, &insp(None, None), &v("2.1.0"), &b("10"), p).is_none());
        assert!(
            version_mismatch(&r, &insp(Some("2.1.0"), None), &v("2.1.0"), &b("10"), p).is_none()
        );
    }

    #[test]
    fn a_version_the_target_says_the_file_fits_is_no_mismatch() {
        let r = registry();
        let mut pkg = insp(Some("1:1.2.3-4"), None);
        pkg.platform = "pkg".parse().unwrap();
        let p = MismatchPolicy::Error;
        for named in ["1.2.3", "1.2.3-4"] {
            assert!(
                version_mismatch(&r, &pkg, &v(named), &b("7"), p).is_none(),
                "{named}"
            );
        }
        let f = version_mismatch(&r, &pkg, &v("1.2.4"), &b("7"), p).unwrap();
        assert!(
            f.message.starts_with(
                "app.ipa: the file declares version 1:1.2.3-4 (?), the release is 1.2.4 (7); the file also fits a release named 1.2.3-4 or 1.2.3;"
            ),
            "{}",
            f.message
        );
        // The same version on a platform without the rule is compared exactly.
        assert!(
            version_mismatch(&r, &insp(Some("1.2.3-4"), None), &v("1.2.3"), &b("7"), p).is_some()
        );
    }

    #[test]
    fn the_policy_reads_and_writes_its_two_words() {
        for p in [MismatchPolicy::Warning, MismatchPolicy::Error] {
            assert_eq!(p.as_str().parse::<MismatchPolicy>().unwrap(), p);
        }
        assert!("fatal".parse::<MismatchPolicy>().is_err());
    }
}
