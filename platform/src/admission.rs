//! Admission: whether one file may join a release of an app, decided by one function that
//! `dist ci publish` runs before uploading and `distd` runs when a blob is attached. Both
//! sides asking the same function is what keeps them from disagreeing (a file the CLI let
//! through and the server then refused, or the other way round).
//!
//! The steps, in order: detect (which target, which kind), inspect, publishable (a kind only
//! `dist inspect` reads stays out), install mode (the one asked for or the target's default,
//! and its findings), the architecture listed for it against the one read, the notarization
//! submission listed with it against what the file carries, the app's
//! identity rules for the platform. A file is *refused* when it
//! cannot be attached at all: no target takes it, it is another platform than the manifest
//! says, its kind is not publishable, or it breaks an identity rule. Other error findings (a
//! broken signature, say) are *admitted* with the findings; they block a publish, which
//! checks them again.

use std::io::{Read, Seek, SeekFrom};

use crate::identity::IdentityRules;
use crate::registry::{
    DetectError, InspectContext, InspectError, Registry, Target, apply_install_mode,
};
use crate::{
    Arch, Finding, Inspected, Inspection, InstallMode, Limits, PlatformId, Probe, Severity,
};

/// What the caller knows besides the bytes.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub file_name: &'a str,
    /// The platform the manifest (or the API call) names, if any.
    pub hint: Option<&'a PlatformId>,
    /// The install mode the manifest asks for, if any.
    pub install: Option<InstallMode>,
    /// The architecture the manifest (or the API call) lists the file under, if any: a file
    /// built for another is admitted with [`crate::arch::ARCH_MISMATCH`], which blocks a
    /// publish.
    pub arch: Option<&'a Arch>,
    /// The notarization submission the manifest (or the API call) lists with the file, if
    /// any: its target's findings on it join the inspection's ([`crate::notarization::check`]).
    pub notarization: Option<&'a crate::Notarization>,
    /// The app's identity rules, every platform's; an empty map checks nothing.
    pub rules: &'a IdentityRules,
    pub limits: Limits,
    /// Seconds since the Unix epoch, for expiry checks.
    pub now_unix: i64,
    /// The public keys the app's admin added (`InspectContext::trusted_keys`); empty when
    /// the caller has none (`dist ci publish` does not read them).
    pub trusted_keys: &'a [Vec<u8>],
}

/// The answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// May be attached; error findings, if any, still block a publish.
    Admit,
    /// May not be attached; the findings say why (never empty).
    Refuse(Vec<Finding>),
}

/// One admission's result.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The platform whose target claimed the file or link; `None` when none did.
    pub platform: Option<PlatformId>,
    /// What the target read, with the install mode's findings; `None` when no target read
    /// the file. This is what a server stores.
    pub inspected: Option<Inspected>,
    /// The install mode the artifact takes.
    pub mode: Option<InstallMode>,
    /// The identity rules' findings. Kept out of the inspection: a stored inspection outlives
    /// a change of the rules, and a publish checks the rules of its day.
    pub identity: Vec<Finding>,
    pub verdict: Verdict,
    /// Whether identity rules decide the verdict: false once an earlier step refused the
    /// file (no rules can admit it) and for a link (it has no identity).
    rules_apply: bool,
}

impl Admission {
    pub fn inspection(&self) -> Option<&Inspection> {
        self.inspected.as_ref().map(|i| &i.inspection)
    }

    /// Every finding, each once: the inspection's, the identity rules', the refusal's.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out: Vec<Finding> = self
            .inspection()
            .map(|i| i.findings.clone())
            .unwrap_or_default();
        let refusal = match &self.verdict {
            Verdict::Refuse(f) => f.as_slice(),
            Verdict::Admit => &[],
        };
        for f in self.identity.iter().chain(refusal) {
            if !out.contains(f) {
                out.push(f.clone());
            }
        }
        out
    }

    pub fn refused(&self) -> Option<&[Finding]> {
        match &self.verdict {
            Verdict::Refuse(f) => Some(f),
            Verdict::Admit => None,
        }
    }

    /// Refused, or admitted with a finding that will stop a publish.
    pub fn blocks_publish(&self) -> bool {
        self.findings()
            .iter()
            .any(|f| f.severity == Severity::Error)
            || self
                .inspection()
                .is_some_and(|i| i.parse == crate::Parse::Reject)
    }
}

/// The bytes could not be read; nothing was decided.
#[derive(Debug, thiserror::Error)]
#[error("{file}: read failed: {source}")]
pub struct AdmitError {
    pub file: String,
    pub source: std::io::Error,
}

/// The finding code of a detection that failed for what the file is (not for I/O).
pub fn refusal_code(e: &DetectError) -> &'static str {
    match e {
        DetectError::Unrecognized { .. } => "detect.unrecognized",
        DetectError::PlatformMismatch { .. } => "detect.platform_mismatch",
        DetectError::UnknownPlatform { .. } => "detect.unknown_platform",
        DetectError::Inspect(InspectError::UnsupportedKind { .. }) => "detect.unsupported_kind",
        _ => "detect.failed",
    }
}

fn refuse(
    platform: Option<PlatformId>,
    inspected: Option<Inspected>,
    findings: Vec<Finding>,
) -> Admission {
    Admission {
        platform,
        inspected,
        mode: None,
        identity: Vec::new(),
        verdict: Verdict::Refuse(findings),
        rules_apply: false,
    }
}

impl Admission {
    /// The last step of [`admit`]: the app's identity rules for the file's platform. Public
    /// for a caller that learns the rules after reading its files (`dist ci publish` checks
    /// its files before it talks to the server, so that a broken file is named even when the
    /// server is unreachable, and reads a large file once); judging again replaces the
    /// previous rules' findings.
    pub fn judge(&mut self, registry: &Registry, rules: &IdentityRules) {
        if !self.rules_apply {
            return;
        }
        let Some(i) = self.inspected.as_ref().map(|i| &i.inspection) else {
            return;
        };
        self.identity = match (rules.get(&i.platform), registry.get(i.platform.as_str())) {
            (Some(r), Ok(target)) if !r.is_empty() => target.check_identity(i, r),
            _ => Vec::new(),
        };
        let broken: Vec<Finding> = self
            .identity
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .cloned()
            .collect();
        self.verdict = if broken.is_empty() {
            Verdict::Admit
        } else {
            Verdict::Refuse(broken)
        };
    }
}

/// Decides whether the file read from `reader` may be attached. Reads through `reader`
/// only, within `req.limits`; an `Err` is an I/O failure, never a verdict.
pub fn admit<R: Read + Seek>(
    registry: &Registry,
    reader: &mut R,
    req: &Request<'_>,
) -> Result<Admission, AdmitError> {
    let io = |source| AdmitError {
        file: req.file_name.to_owned(),
        source,
    };
    // Detect.
    let probe = Probe::read(req.file_name, reader, &req.limits).map_err(io)?;
    let (target, detection) = match registry.detect(&probe, req.hint) {
        Ok(found) => found,
        Err(DetectError::Io { source, .. }) => return Err(io(source)),
        Err(e) => {
            return Ok(refuse(
                None,
                None,
                vec![Finding::error(refusal_code(&e), e.to_string())],
            ));
        }
    };
    // Inspect.
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut ctx = InspectContext::new(&probe.file_name, probe.size, req.limits, req.now_unix);
    ctx.trusted_keys = req.trusted_keys.to_vec();
    let mut inspected = match target.inspect(reader, &detection.kind, &ctx) {
        Ok(i) => i,
        Err(InspectError::Io { source, .. }) => return Err(io(source)),
        Err(e) => {
            let e = DetectError::Inspect(e);
            return Ok(refuse(
                Some(platform_of(target)),
                None,
                vec![Finding::error(refusal_code(&e), e.to_string())],
            ));
        }
    };
    inspected.inspection.size = probe.size;
    inspected.inspection.file = probe.file_name;
    // Publishable.
    if let Some(f) = crate::registry::unpublishable(target, &inspected.inspection) {
        return Ok(refuse(Some(platform_of(target)), Some(inspected), vec![f]));
    }
    // Install mode.
    let mode = apply_install_mode(target, &mut inspected.inspection, req.install.clone());
    // Architecture. Stored with the inspection, as the install mode's findings are: the
    // listed arch is the artifact's and does not change after it is planned.
    if let Some(f) = req
        .arch
        .and_then(|a| crate::arch::arch_mismatch(&inspected.inspection, a))
    {
        inspected.inspection.findings.push(f);
    }
    // The listed notarization submission, stored with the inspection for the same reason.
    if let Some(claim) = req.notarization {
        crate::notarization::check(target, &mut inspected.inspection, claim);
    }
    // Identity rules.
    let mut admission = Admission {
        platform: Some(platform_of(target)),
        inspected: Some(inspected),
        mode,
        identity: Vec::new(),
        verdict: Verdict::Admit,
        rules_apply: true,
    };
    admission.judge(registry, req.rules);
    Ok(admission)
}

fn platform_of(target: &dyn Target) -> PlatformId {
    target.id().parse().expect("registered ids are valid")
}

/// Decides whether a link (a store or beta-testing invite) may join a release: the target of
/// `hint`, or the first that takes it, reads it into an inspection, and its install mode is
/// resolved as a file's is. Refused when no target takes the link (`link.unsupported`) or its
/// target says what is wrong with it (`link.invalid`). A link has no identity to check.
pub fn admit_link(
    registry: &Registry,
    url: &str,
    hint: Option<&PlatformId>,
    install: Option<InstallMode>,
) -> Admission {
    let targets: Vec<&'static dyn Target> = match hint {
        Some(p) => match registry.get(p.as_str()) {
            Ok(t) => vec![t],
            Err(e) => {
                return refuse(
                    None,
                    None,
                    vec![Finding::error(refusal_code(&e), e.to_string())],
                );
            }
        },
        None => registry.targets().to_vec(),
    };
    let Some((target, read)) = targets
        .iter()
        .find_map(|t| t.link_artifact(url).map(|r| (*t, r)))
    else {
        let scope = hint
            .map(|p| format!(" for platform {p}"))
            .unwrap_or_default();
        return refuse(
            None,
            None,
            vec![Finding::error(
                "link.unsupported",
                format!("no linked target takes this link{scope}"),
            )],
        );
    };
    let mut inspection = match read {
        Ok(i) => i,
        Err(message) => {
            return refuse(
                Some(platform_of(target)),
                None,
                vec![Finding::error("link.invalid", message)],
            );
        }
    };
    // The target decides the mode a link takes and whether an asked one fits.
    let mode = apply_install_mode(target, &mut inspection, install);
    Admission {
        platform: Some(platform_of(target)),
        inspected: Some(inspection.into()),
        mode,
        identity: Vec::new(),
        verdict: Verdict::Admit,
        rules_apply: false,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::identity::PlatformRules;
    use crate::registry::{Detection, KindInfo};
    use crate::{ArtifactView, Client, InstallAction, Kind, Links};

    /// A file is `T1 <kind> <identity> [<arch>]`; kind `note` is for inspection only. Links start
    /// with `t1:`; `t1:bad` is one it refuses.
    struct T1;

    impl Target for T1 {
        fn id(&self) -> &'static str {
            "t1"
        }
        fn display_name(&self) -> &'static str {
            "T1"
        }
        fn kinds(&self) -> &'static [KindInfo] {
            &[
                KindInfo {
                    kind: "pkg",
                    description: "package",
                    publishable: true,
                },
                KindInfo {
                    kind: "note",
                    description: "note",
                    publishable: false,
                },
                KindInfo {
                    kind: "invite",
                    description: "invite link",
                    publishable: true,
                },
            ]
        }
        fn detect(&self, probe: &Probe) -> Option<Detection> {
            let text = std::str::from_utf8(&probe.head).ok()?;
            let kind = text.strip_prefix("T1 ")?.split(' ').next()?;
            Some(Detection::new(kind, 100))
        }
        fn inspect(
            &self,
            input: &mut dyn crate::ReadSeek,
            kind: &Kind,
            ctx: &InspectContext,
        ) -> Result<Inspected, InspectError> {
            let mut text = String::new();
            input
                .read_to_string(&mut text)
                .map_err(|source| InspectError::Io {
                    file: ctx.file_name.clone(),
                    source,
                })?;
            let mut i = Inspection::new(
                &ctx.file_name,
                ctx.size,
                "t1".parse().unwrap(),
                kind.clone(),
            );
            i.identity = text.split(' ').nth(2).map(str::to_owned);
            i.archs = text.split(' ').nth(3).map(|a| vec![a.to_owned()]);
            Ok(i.into())
        }
        fn link_artifact(&self, url: &str) -> Option<Result<Inspection, String>> {
            let rest = url.strip_prefix("t1:")?;
            Some(if rest == "bad" {
                Err("not an invite".into())
            } else {
                Ok(Inspection::new(
                    url,
                    0,
                    "t1".parse().unwrap(),
                    "invite".parse().unwrap(),
                ))
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
    }

    fn registry() -> Registry {
        Registry::new([&T1 as &'static dyn Target])
    }

    fn rules(identity: &str) -> IdentityRules {
        let mut r = IdentityRules::new();
        r.insert(
            "t1".parse().unwrap(),
            PlatformRules {
                identities: vec![identity.into()],
                ..PlatformRules::default()
            },
        );
        r
    }

    fn run(bytes: &str, rules: &IdentityRules) -> Admission {
        let req = Request {
            file_name: "f",
            hint: None,
            install: None,
            arch: None,
            notarization: None,
            rules,
            limits: Limits::default(),
            now_unix: 0,
            trusted_keys: &[],
        };
        admit(&registry(), &mut Cursor::new(bytes.as_bytes()), &req).unwrap()
    }

    fn codes(a: &Admission) -> Vec<String> {
        a.refused()
            .unwrap_or_default()
            .iter()
            .map(|f| f.code.clone())
            .collect()
    }

    #[test]
    fn each_step_can_refuse() {
        let none = IdentityRules::new();
        let a = run("T1 pkg com.acme.app", &none);
        assert_eq!(a.verdict, Verdict::Admit);
        assert_eq!(a.platform.as_ref().map(|p| p.as_str()), Some("t1"));
        assert!(!a.blocks_publish());
        assert_eq!(codes(&run("hello", &none)), ["detect.unrecognized"]);
        let note = run("T1 note com.acme.app", &none);
        assert_eq!(codes(&note), ["publish.kind_not_publishable"]);
        assert!(note.inspection().is_some(), "what was read is kept");
        let other = run("T1 pkg com.other.app", &rules("com.acme.*"));
        assert_eq!(codes(&other), ["identity.mismatch"]);
        assert!(other.blocks_publish());
        assert_eq!(
            other.inspection().unwrap().findings,
            [],
            "the rules' findings stay out of the stored inspection"
        );
    }

    #[test]
    fn judging_again_follows_the_rules_but_not_past_an_earlier_refusal() {
        let none = IdentityRules::new();
        let mut a = run("T1 pkg com.other.app", &none);
        a.judge(&registry(), &rules("com.acme.*"));
        assert_eq!(codes(&a), ["identity.mismatch"]);
        a.judge(&registry(), &rules("com.other.*"));
        assert_eq!(a.verdict, Verdict::Admit);
        assert!(a.identity.is_empty());
        let mut note = run("T1 note com.acme.app", &none);
        note.judge(&registry(), &none);
        assert_eq!(codes(&note), ["publish.kind_not_publishable"]);
    }

    #[test]
    fn a_notarization_submission_on_a_platform_without_one_is_an_error() {
        let none = IdentityRules::new();
        let claim = crate::Notarization {
            submission_id: "2efe2717-52ef-43a5-96dc-0797e4ca1041".into(),
            status: crate::NotarizationStatus::Accepted,
        };
        let req = Request {
            file_name: "f",
            hint: None,
            install: None,
            arch: None,
            notarization: Some(&claim),
            rules: &none,
            limits: Limits::default(),
            now_unix: 0,
            trusted_keys: &[],
        };
        let a = admit(
            &registry(),
            &mut Cursor::new(b"T1 pkg com.acme.app".as_slice()),
            &req,
        )
        .unwrap();
        assert!(a.refused().is_none());
        assert!(a.blocks_publish());
        assert!(
            a.findings()
                .iter()
                .any(|f| f.code == crate::notarization::UNSUPPORTED),
            "{:?}",
            a.findings()
        );
    }

    #[test]
    fn a_file_built_for_another_arch_is_admitted_with_an_error() {
        let none = IdentityRules::new();
        let listed: Arch = "amd64".parse().unwrap();
        let admit_as = |bytes: &str| {
            let req = Request {
                file_name: "f",
                hint: None,
                install: None,
                arch: Some(&listed),
                notarization: None,
                rules: &none,
                limits: Limits::default(),
                now_unix: 0,
                trusted_keys: &[],
            };
            admit(&registry(), &mut Cursor::new(bytes.as_bytes()), &req).unwrap()
        };
        let other = admit_as("T1 pkg com.acme.app aarch64");
        assert_eq!(other.verdict, Verdict::Admit);
        assert!(other.blocks_publish());
        let stored = &other.inspection().unwrap().findings;
        assert_eq!(
            stored.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
            [crate::arch::ARCH_MISMATCH],
            "stored with the inspection"
        );
        assert!(!admit_as("T1 pkg com.acme.app x86_64").blocks_publish());
        assert!(
            !admit_as("T1 pkg com.acme.app").blocks_publish(),
            "no arch read, nothing to compare"
        );
        assert!(!run("T1 pkg com.acme.app aarch64", &none).blocks_publish());
    }

    #[test]
    fn links_are_admitted_by_their_target() {
        let r = registry();
        let ok = admit_link(&r, "t1:join", None, None);
        assert_eq!(ok.verdict, Verdict::Admit);
        assert_eq!(ok.inspection().unwrap().kind.as_str(), "invite");
        let bad = admit_link(&r, "t1:bad", None, None);
        assert_eq!(codes(&bad), ["link.invalid"]);
        assert_eq!(bad.platform.as_ref().map(|p| p.as_str()), Some("t1"));
        assert_eq!(
            codes(&admit_link(&r, "https://x", None, None)),
            ["link.unsupported"]
        );
        let nowhere = "t9".parse().unwrap();
        assert_eq!(
            codes(&admit_link(&r, "t1:join", Some(&nowhere), None)),
            ["detect.unknown_platform"]
        );
        // A mode the target does not declare: admitted, with the finding that blocks a publish.
        let moded = admit_link(&r, "t1:join", None, Some("enterprise".parse().unwrap()));
        assert_eq!(moded.verdict, Verdict::Admit);
        assert!(moded.blocks_publish());
    }
}
