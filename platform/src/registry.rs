//! The `Target` contract and the registry that finds every linked target.
//!
//! # Rules of registration
//! - A target crate registers one value with `inventory::submit!(TargetRegistration(&MyTarget))`.
//! - Ids are unique; building the registry with two targets of one id panics at start-up, so
//!   the mistake cannot ship.
//! - Order of registration is undefined; the registry sorts by id.
//! - A registration is linked only if the final binary names the target crate. Each binary
//!   holds one `use target_xxx as _;` line per target, and a test asserts the registry holds
//!   every expected id. Unit tests inside this crate see no targets.

use std::io::{Read, Seek, SeekFrom};
use std::sync::OnceLock;

use crate::identity::{IdentityFact, PlatformRules};
use crate::{
    ArtifactView, Client, Document, Finding, Inspected, Inspection, InstallAction, InstallMode,
    Kind, Limits, Links, PageFact, PlatformId, Probe,
};

/// `Read + Seek` as one object-safe trait.
pub use format_zip::ReadSeek;

/// One artifact kind a target reads.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    pub kind: &'static str,
    /// One phrase a person reads: `app archive`, `app bundle`, ...
    pub description: &'static str,
    /// Whether the kind may be attached to a release (a bare provisioning profile is for
    /// `dist inspect` only).
    pub publishable: bool,
}

/// One install mode a target declares: how an artifact of that platform reaches a device
/// (a platform with one way to install declares none). Stored and sent as
/// the `id` string; [`apply_install_mode`] refuses an id the artifact's target does not declare.
#[derive(Debug, Clone, Copy)]
pub struct ModeInfo {
    /// `1 to 32 of a-z, 0-9 and '-'`, as [`InstallMode`] checks.
    pub id: &'static str,
    /// What the mode means to a release manager, one sentence.
    pub description: &'static str,
    /// Whether this mode applies when a manifest names none and the target's
    /// [`Target::default_install_mode`] does not decide from the inspection.
    pub default: bool,
}

/// A target's claim on a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub kind: Kind,
    /// How sure: 100 for a structural match (an IPA's `Payload/*.app/Info.plist`), lower for
    /// a generic container another target may know better (a plain zip). The registry picks
    /// the highest.
    pub confidence: u8,
}

impl Detection {
    pub fn new(kind: &str, confidence: u8) -> Self {
        Self {
            kind: kind.parse().expect("target kinds are valid literals"),
            confidence,
        }
    }
}

/// What a target may want to know beyond the bytes.
#[derive(Debug, Clone)]
pub struct InspectContext {
    pub file_name: String,
    pub size: u64,
    pub limits: Limits,
    /// Seconds since the Unix epoch, for expiry checks; fixed in tests.
    pub now_unix: i64,
    /// Decompressed bytes this inspection may still produce, shared by all its readers
    /// (`limits.inflate_budget(size)` at the start). Spent, it is a `<platform>.zip.limit`.
    pub budget: crate::InflateBudget,
    /// Public keys the app's admin added, which a target checks signatures against, in the
    /// form its platform uses (OpenPGP public keys, armored or binary, where packages are
    /// signed with OpenPGP).
    /// Empty by default: a signature by a key not given here cannot read `signed`.
    pub trusted_keys: Vec<Vec<u8>>,
}

/// What a target reads from a key an admin adds ([`Target::trusted_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// Lowercase hex, the platform's usual fingerprint (OpenPGP v4: 40 hex digits).
    pub fingerprint: String,
    /// Who the key says it is (its first user id), for lists; may be empty.
    pub label: String,
}

impl InspectContext {
    /// The context of one inspection of a `size`-byte file, with a fresh budget.
    pub fn new(file_name: &str, size: u64, limits: Limits, now_unix: i64) -> Self {
        Self {
            file_name: file_name.to_owned(),
            size,
            limits,
            now_unix,
            budget: limits.budget_for(size),
            trusted_keys: Vec::new(),
        }
    }
}

/// Failure to read the input at all. Malformed content is not an error: it is an
/// [`Inspection`] with `parse: reject` and a finding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    #[error("{file}: read failed: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {kind} is not a kind the {platform} target reads")]
    UnsupportedKind {
        file: String,
        platform: String,
        kind: String,
    },
}

/// Why no target took a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    #[error(
        "{file}: not an artifact any linked target recognises{zip}; supported kinds: {supported}"
    )]
    Unrecognized {
        file: String,
        zip: String,
        supported: String,
    },
    #[error(
        "{file}: the manifest says platform {expected}, but the file is {detected_platform} {detected_kind}"
    )]
    PlatformMismatch {
        file: String,
        expected: String,
        detected_platform: String,
        detected_kind: String,
    },
    #[error("unknown platform {id:?}; linked platforms: {known}")]
    UnknownPlatform { id: String, known: String },
    #[error("{file}: read failed: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Inspect(#[from] InspectError),
}

/// A platform plugin: detects its artifact kinds, inspects them, and says how to install them.
/// Everything a target returns is plain data; it never touches the network, the database or
/// the filesystem beyond the reader it is handed.
pub trait Target: Send + Sync + 'static {
    /// Lowercase slug, unique across the registry.
    fn id(&self) -> &'static str;
    /// The platform's name as people write it.
    fn display_name(&self) -> &'static str;
    fn kinds(&self) -> &'static [KindInfo];

    /// Claims a file from its name, first and last bytes and, for zips, its index. Never from
    /// the extension alone: a renamed file is recognised or refused for what it is.
    fn detect(&self, probe: &Probe) -> Option<Detection>;

    /// Reads the metadata of a file this target detected as `kind`. Reads only what it needs,
    /// bounds every length by `ctx.limits`, and answers malformed input with `parse: reject`.
    fn inspect(
        &self,
        input: &mut dyn ReadSeek,
        kind: &Kind,
        ctx: &InspectContext,
    ) -> Result<Inspected, InspectError>;

    /// The install modes this platform offers; none by default (one way to install).
    fn modes(&self) -> &'static [ModeInfo] {
        &[]
    }

    /// The install mode an artifact takes when the manifest names none: by default the
    /// declared mode marked `default`, if any. A target overrides this to decide from the
    /// inspection (a signing fact, say).
    fn default_install_mode(&self, _inspection: &Inspection) -> Option<InstallMode> {
        self.modes()
            .iter()
            .find(|m| m.default)
            .map(|m| m.id.parse().expect("declared mode ids are valid literals"))
    }

    /// Findings for an install mode this target declares (the registry has already refused
    /// an undeclared one): whether this artifact can be delivered that way.
    fn check_install_mode(&self, _inspection: &Inspection, _mode: &InstallMode) -> Vec<Finding> {
        Vec::new()
    }

    /// What this file's notarization submission, as the manifest lists it, means beside what
    /// the file says of itself (a stapled ticket or none): findings in plain words when the
    /// two disagree. `None` (the default) when the platform's files take no submission, which
    /// [`crate::notarization::check`] reports as an error.
    fn notarization_findings(
        &self,
        _inspection: &Inspection,
        _claim: &crate::notarization::Notarization,
    ) -> Option<Vec<Finding>> {
        None
    }

    /// An artifact that is a link rather than a file (a store or beta-testing invite). `None`
    /// when the platform takes no links; `Some(Err)` names what is wrong with this link.
    fn link_artifact(&self, _url: &str) -> Option<Result<Inspection, String>> {
        None
    }

    /// What the install page may offer for this artifact on this client.
    fn install_actions(
        &self,
        artifact: &ArtifactView<'_>,
        links: &Links,
        client: &Client,
    ) -> Vec<InstallAction>;

    /// The media type a download of this kind is served as. Browsers and devices decide what
    /// to do with a file by it (some install a package only when it says so).
    fn media_type(&self, _kind: &Kind) -> &'static str {
        "application/octet-stream"
    }

    /// A document served at `{links.documents}/{name}` (an OTA manifest plist, say).
    fn document(
        &self,
        _name: &str,
        _artifact: &ArtifactView<'_>,
        _links: &Links,
    ) -> Option<Document> {
        None
    }

    /// The kinds a channel URL serves first, best first (an installable package before a
    /// store bundle). When the order does not decide, a channel URL offers the choice instead
    /// of guessing; a kind left out ranks after every kind listed.
    fn preferred_kinds(&self) -> &'static [&'static str] {
        &[]
    }

    /// A document that follows a channel (an update feed, a repository index), served at
    /// `/d/{app}/{channel}/{platform}/feed/{name}` with the release the channel points at
    /// now; `None` for a name this target does not serve.
    fn channel_document(&self, _ctx: &crate::channel::ChannelContext<'_>) -> Option<Document> {
        None
    }

    /// The identity facts this target reports, which an app's identity rules may name; by
    /// default only the identity itself.
    fn identity_facts(&self) -> &'static [IdentityFact] {
        &[crate::identity::IDENTITY]
    }

    /// Checks an inspection against the app's identity rules for this platform.
    fn check_identity(&self, inspection: &Inspection, rules: &PlatformRules) -> Vec<Finding> {
        rules.check(inspection)
    }

    /// The release versions this file fits besides the `version` it declares
    /// ([`crate::versions::version_mismatch`]): a package version with packaging parts (an
    /// epoch, a packaging revision or release) also fits a release named after the
    /// software's own version. None by default.
    fn release_versions(&self, _inspection: &Inspection) -> Vec<String> {
        Vec::new()
    }

    /// Checks that `next` may replace `current` on a channel (a platform may refuse an update
    /// signed by another key). Both are of this platform and the same identity.
    fn check_continuity(&self, _current: &Inspection, _next: &Inspection) -> Vec<Finding> {
        Vec::new()
    }

    /// What of this platform stops working when distd's links are plain http, for the
    /// operator's start-up warning (`over-the-air installs`); `None` when nothing does.
    fn needs_https_for(&self) -> Option<&'static str> {
        None
    }

    /// Reads a public key an admin adds to an app for this platform's signatures (the form
    /// its packages are signed with), answering its fingerprint and a label for lists.
    /// `None` when this platform takes no keys; `Some(Err)` says why the bytes are no key.
    fn trusted_key(&self, _key: &[u8]) -> Option<Result<TrustedKey, String>> {
        None
    }

    /// The value an app's `signer_sha256` identity rule lists to accept signatures by the
    /// key `key` (as [`Target::trusted_key`] reads it) and no other: what `dist app keys`
    /// shows beside the key so that an admin can pin it. `None` by default.
    fn key_pin(&self, _key: &[u8]) -> Option<String> {
        None
    }

    /// Facts the install page shows about this artifact beside its install actions (what it
    /// requires, who signed it). Plain text the page escapes, never HTML: the markup is `ui`'s.
    fn page_facts(&self, _artifact: &ArtifactView<'_>) -> Vec<PageFact> {
        Vec::new()
    }

    /// The devices an artifact installs on when only registered devices may install it (an
    /// ad hoc profile's UDIDs), for a page's "is my device in this build?"; `None` when any
    /// device may.
    fn registered_devices(&self, _artifact: &ArtifactView<'_>) -> Option<crate::DeviceList> {
        None
    }

    /// The operating system this platform's artifacts install on, for pages that put the
    /// artifact for the visitor's device first; `None` when no device installs them itself.
    fn device_os(&self) -> Option<crate::DeviceOs> {
        None
    }

    /// How well an artifact fits the device a page is opened on. By default: the operating
    /// system ([`Target::device_os`]) and the artifact's architectures against the device's;
    /// a target refines it (a minimum OS version, a file that installs nothing by tapping).
    fn fit(&self, artifact: &ArtifactView<'_>, device: &crate::Device) -> crate::Fit {
        crate::Fit::generic(
            self.device_os(),
            self.display_name(),
            &artifact_archs(artifact),
            device,
        )
    }
}

/// An artifact's architectures: the one its manifest names, else what inspection found.
pub fn artifact_archs<'a>(artifact: &'a ArtifactView<'_>) -> Vec<&'a str> {
    if let Some(a) = artifact.arch {
        return vec![a.as_str()];
    }
    artifact
        .inspection
        .and_then(|i| i.archs.as_ref())
        .map(|v| v.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Resolves an artifact's install mode (the one asked for, else the target's default) and
/// adds the findings that mode brings. `distd` and `dist` both call this, so a local check
/// before upload and the server's check agree.
pub fn apply_install_mode(
    target: &dyn Target,
    inspection: &mut Inspection,
    asked: Option<InstallMode>,
) -> Option<InstallMode> {
    let mode = asked.or_else(|| target.default_install_mode(inspection))?;
    let declared = target.modes();
    if !declared.iter().any(|m| m.id == mode.as_str()) {
        let message = if declared.is_empty() {
            format!(
                "{}: install mode {mode} does not apply: the {} target declares no install modes; remove \"install\" for this file",
                inspection.file,
                target.display_name()
            )
        } else {
            let ids: Vec<&str> = declared.iter().map(|m| m.id).collect();
            format!(
                "{}: install mode {mode} is not one the {} target declares; use one of {} or remove \"install\"",
                inspection.file,
                target.display_name(),
                ids.join(", ")
            )
        };
        inspection
            .findings
            .push(Finding::error("install.mode_unsupported", message));
        return Some(mode);
    }
    let findings = target.check_install_mode(inspection, &mode);
    inspection.findings.extend(findings);
    Some(mode)
}

/// The finding that keeps a file off a release when its target marks its kind as not
/// publishable (a kind only `dist inspect` reads). `distd`'s attach and `dist ci publish` both
/// ask this, so a file the server would refuse is refused before it is uploaded.
pub fn unpublishable(target: &dyn Target, inspection: &Inspection) -> Option<Finding> {
    let publishable = target
        .kinds()
        .iter()
        .any(|k| k.kind == inspection.kind.as_str() && k.publishable);
    (!publishable).then(|| {
        Finding::error(
            "publish.kind_not_publishable",
            format!(
                "{}: a {} {} cannot be attached to a release; the {} target reads it for dist inspect only",
                inspection.file,
                inspection.platform,
                inspection.kind,
                target.display_name()
            ),
        )
    })
}

/// The value a target crate hands to `inventory::submit!`.
pub struct TargetRegistration(pub &'static dyn Target);

inventory::collect!(TargetRegistration);

/// Every linked target, sorted by id.
pub struct Registry {
    targets: Vec<&'static dyn Target>,
}

/// The registry of every target linked into this binary, built once.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::new(
            inventory::iter::<TargetRegistration>
                .into_iter()
                .map(|r| r.0),
        )
    })
}

impl Registry {
    /// Builds a registry from targets; panics on a duplicate id (a build mistake).
    pub fn new(targets: impl IntoIterator<Item = &'static dyn Target>) -> Self {
        let mut targets: Vec<&'static dyn Target> = targets.into_iter().collect();
        targets.sort_by_key(|t| t.id());
        for pair in targets.windows(2) {
            assert!(
                pair[0].id() != pair[1].id(),
                "two targets registered the id {:?}",
                pair[0].id()
            );
        }
        for t in &targets {
            for m in t.modes() {
                assert!(
                    m.id.parse::<InstallMode>().is_ok(),
                    "target {:?} declares the invalid install mode {:?}",
                    t.id(),
                    m.id
                );
            }
            for k in t.preferred_kinds() {
                assert!(
                    t.kinds().iter().any(|d| d.kind == *k && d.publishable),
                    "target {:?} prefers {k:?}, which is not a publishable kind it declares",
                    t.id()
                );
            }
            assert!(
                t.modes().iter().filter(|m| m.default).count() <= 1,
                "target {:?} declares more than one default install mode",
                t.id()
            );
        }
        Self { targets }
    }

    pub fn targets(&self) -> &[&'static dyn Target] {
        &self.targets
    }

    pub fn ids(&self) -> Vec<&'static str> {
        self.targets.iter().map(|t| t.id()).collect()
    }

    pub fn get(&self, id: &str) -> Result<&'static dyn Target, DetectError> {
        self.targets
            .iter()
            .copied()
            .find(|t| t.id() == id)
            .ok_or_else(|| DetectError::UnknownPlatform {
                id: id.to_owned(),
                known: self.ids().join(", "),
            })
    }

    /// `<platform>: <kind>, <kind>; ...` for messages.
    pub fn supported_kinds(&self) -> String {
        if self.targets.is_empty() {
            return "none (no target crate is linked into this binary)".to_owned();
        }
        self.targets
            .iter()
            .map(|t| {
                let kinds: Vec<&str> = t.kinds().iter().map(|k| k.kind).collect();
                format!("{}: {}", t.id(), kinds.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Picks the target and kind for a probed file. With `expected`, a file of another
    /// platform is refused with both names.
    pub fn detect(
        &self,
        probe: &Probe,
        expected: Option<&PlatformId>,
    ) -> Result<(&'static dyn Target, Detection), DetectError> {
        let best = self
            .targets
            .iter()
            .filter_map(|t| t.detect(probe).map(|d| (*t, d)))
            .max_by_key(|(_, d)| d.confidence);
        match (best, expected) {
            (Some((t, d)), Some(exp)) if t.id() != exp.as_str() => {
                // The expected platform may still claim it with lower confidence (a plain zip).
                let target = self.get(exp.as_str())?;
                match target.detect(probe) {
                    Some(d2) => Ok((target, d2)),
                    None => Err(DetectError::PlatformMismatch {
                        file: probe.file_name.clone(),
                        expected: exp.to_string(),
                        detected_platform: t.id().to_owned(),
                        detected_kind: d.kind.to_string(),
                    }),
                }
            }
            (Some(found), _) => Ok(found),
            (None, _) => Err(DetectError::Unrecognized {
                file: probe.file_name.clone(),
                zip: probe
                    .zip_error
                    .as_ref()
                    .map(|e| {
                        format!(" (it starts like a zip archive but does not open as one: {e})")
                    })
                    .unwrap_or_default(),
                supported: self.supported_kinds(),
            }),
        }
    }

    /// Probes, detects and inspects a file. `sha256` in the result is left for the caller,
    /// which streams the whole file anyway.
    pub fn inspect<R: Read + Seek>(
        &self,
        file_name: &str,
        reader: &mut R,
        expected: Option<&PlatformId>,
        limits: Limits,
        now_unix: i64,
    ) -> Result<Inspected, DetectError> {
        self.inspect_trusting(file_name, reader, expected, limits, now_unix, &[])
    }

    /// [`Registry::inspect`] with the public keys an app's admin added
    /// ([`InspectContext::trusted_keys`]).
    pub fn inspect_trusting<R: Read + Seek>(
        &self,
        file_name: &str,
        reader: &mut R,
        expected: Option<&PlatformId>,
        limits: Limits,
        now_unix: i64,
        trusted_keys: &[Vec<u8>],
    ) -> Result<Inspected, DetectError> {
        let io = |source| DetectError::Io {
            file: file_name.to_owned(),
            source,
        };
        let probe = Probe::read(file_name, reader, &limits).map_err(io)?;
        let (target, detection) = self.detect(&probe, expected)?;
        reader.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut ctx = InspectContext::new(&probe.file_name, probe.size, limits, now_unix);
        ctx.trusted_keys = trusted_keys.to_vec();
        let mut inspected = target.inspect(reader, &detection.kind, &ctx)?;
        inspected.inspection.size = probe.size;
        inspected.inspection.file = probe.file_name;
        Ok(inspected)
    }
}
