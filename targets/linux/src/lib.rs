//! The Linux target: reads tarballs (`tarball`), Debian packages (`deb`), RPM packages
//! (`rpm`) and AppImages (`appimage`), and gives the exact command that installs each.
//!
//! It owns Linux knowledge: what a deb's members and control fields mean, an rpm's lead,
//! headers, digests and signatures, an AppImage's runtime and embedded sections, which
//! findings those earn and how a person installs each kind. The formats below it belong to
//! `formats/*` (ar, tar, ELF, the one decompression stack). It streams what it reads through
//! bounded readers and the inspection's decompression budget, never loads a whole artifact,
//! never extracts to disk and never executes anything. Targets depend on `platform` and
//! `formats/*`, never on each other; shapes (the Inspection contract, install actions)
//! belong to `platform`.

pub mod appimage;
pub mod deb;
mod detect;
mod fit;
mod install;
mod iso9660;
pub mod rpm;
pub mod tarball;
mod trust;

use platform::{
    ArtifactView, Client, Detection, InspectContext, InspectError, Inspected, InstallAction, Kind,
    KindInfo, Links, PageFact, Probe, ReadSeek, Target,
};

pub use detect::detect_probe;

/// The Linux target, registered with the platform registry.
pub struct LinuxTarget;

inventory::submit!(platform::TargetRegistration(&LinuxTarget));

const KINDS: &[KindInfo] = &[
    KindInfo {
        kind: "deb",
        description: "Debian package (Debian, Ubuntu and derivatives: apt install)",
        publishable: true,
    },
    KindInfo {
        kind: "rpm",
        description: "RPM package (Fedora, RHEL, openSUSE: dnf or zypper install)",
        publishable: true,
    },
    KindInfo {
        kind: "appimage",
        description: "AppImage (one self-contained executable for any distribution)",
        publishable: true,
    },
    KindInfo {
        kind: "tarball",
        description: "compressed tar archive (.tar.gz, .tar.xz, .tar.zst, .tar.bz2)",
        publishable: true,
    },
];

/// Why reading one structure failed. Malformed input becomes a `parse: reject` inspection
/// carrying this message; only I/O failures of the reader surface as [`InspectError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Malformed(String),
    #[error("over a limit: {0}")]
    Limit(String),
}

impl Target for LinuxTarget {
    fn device_os(&self) -> Option<platform::DeviceOs> {
        Some(platform::DeviceOs::Linux)
    }

    fn fit(&self, artifact: &ArtifactView<'_>, device: &platform::Device) -> platform::Fit {
        fit::fit(artifact, device)
    }

    fn id(&self) -> &'static str {
        "linux"
    }

    fn display_name(&self) -> &'static str {
        "Linux"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        KINDS
    }

    /// A distribution package installs and updates with the system; an AppImage runs
    /// anywhere without installing; a tarball needs unpacking by hand.
    fn preferred_kinds(&self) -> &'static [&'static str] {
        &["deb", "rpm", "appimage", "tarball"]
    }

    fn identity_facts(&self) -> &'static [platform::IdentityFact] {
        &[
            platform::IdentityFact {
                id: "identity",
                description: "the package name (deb Package, rpm NAME) or an AppImage's desktop entry id",
            },
            platform::IdentityFact {
                id: "signer_sha256",
                description: "the SHA-256 of the OpenPGP public key packet that signed an rpm or AppImage",
            },
        ]
    }

    /// The generic rules, with the OpenPGP key id named when a pinned app gets a package
    /// signed by a key that could not be checked.
    fn check_identity(
        &self,
        inspection: &platform::Inspection,
        rules: &platform::PlatformRules,
    ) -> Vec<platform::Finding> {
        let mut out = rules.check(inspection);
        let key_id = inspection
            .details
            .get("signature")
            .and_then(|s| s.get("key_id"))
            .and_then(|k| k.as_str());
        if let Some(k) = key_id {
            for f in out
                .iter_mut()
                .filter(|f| f.code == "identity.signer_missing")
            {
                f.message = format!(
                    "{}: signed by OpenPGP key {k}, which is not among the app's trusted keys, so it cannot meet the pinned signers; add the key to the app or sign with a pinned one",
                    inspection.file
                );
            }
        }
        out
    }

    /// A deb's version is its whole Version (`1:1.2.3-4`, as `dpkg-deb` prints it) and an
    /// rpm's is `VERSION-RELEASE` (`1.2.3-1.fc40`): the epoch and the revision or release
    /// number the packaging, not the software. A release named after the software's version
    /// (`1.2.3`), or the deb's version without its epoch (`1.2.3-4`; a release version has
    /// no `:`), holds such a package without a mismatch.
    fn release_versions(&self, inspection: &platform::Inspection) -> Vec<String> {
        let Some(v) = inspection.version.as_deref() else {
            return Vec::new();
        };
        let mut out: Vec<String> = match inspection.kind.as_str() {
            "deb" => {
                let (_, upstream, _) = deb::split_version(v);
                let no_epoch = v.split_once(':').map_or(v, |(_, rest)| rest);
                vec![no_epoch.to_owned(), upstream.to_owned()]
            }
            // RELEASE has no '-' (rpm refuses one), so the last '-' splits VERSION-RELEASE.
            "rpm" => v
                .rsplit_once('-')
                .map(|(version, _)| vec![version.to_owned()])
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        out.retain(|a| !a.is_empty() && a != v);
        out.dedup();
        out
    }

    fn detect(&self, probe: &Probe) -> Option<Detection> {
        detect_probe(probe)
    }

    fn inspect(
        &self,
        input: &mut dyn ReadSeek,
        kind: &Kind,
        ctx: &InspectContext,
    ) -> Result<Inspected, InspectError> {
        match kind.as_str() {
            "deb" => inspect_with(input, kind, ctx, "deb", deb::read),
            "tarball" => inspect_with(input, kind, ctx, "tarball", tarball::read),
            "rpm" => inspect_with(input, kind, ctx, "rpm", rpm::read),
            "appimage" => appimage::inspect(input, kind, ctx),
            other => Err(InspectError::UnsupportedKind {
                file: ctx.file_name.clone(),
                platform: "linux".into(),
                kind: other.into(),
            }),
        }
    }

    fn media_type(&self, kind: &Kind) -> &'static str {
        match kind.as_str() {
            "deb" => "application/vnd.debian.binary-package",
            "rpm" => "application/x-rpm",
            "appimage" => "application/vnd.appimage",
            _ => "application/octet-stream",
        }
    }

    fn install_actions(
        &self,
        artifact: &ArtifactView<'_>,
        links: &Links,
        client: &Client,
    ) -> Vec<InstallAction> {
        install::actions(artifact, links, client)
    }

    /// An OpenPGP public key (armored or binary), as rpm, AppImage and debsigs signatures
    /// are checked against; one primary key (with its subkeys) per call.
    fn trusted_key(&self, key: &[u8]) -> Option<Result<platform::TrustedKey, String>> {
        let keys = match format_openpgp::parse_keys(key) {
            Ok(k) => k,
            Err(e) => return Some(Err(format!("not an OpenPGP public key: {e}"))),
        };
        let mut primaries = keys.iter().filter(|k| !k.is_subkey);
        let (Some(primary), None) = (primaries.next(), primaries.next()) else {
            return Some(Err(
                "the data holds more than one primary key; add one key at a time".into(),
            ));
        };
        Some(Ok(platform::TrustedKey {
            fingerprint: primary.fingerprint.to_ascii_lowercase(),
            label: primary.user_ids.first().cloned().unwrap_or_default(),
        }))
    }

    /// The SHA-256 of the primary key's packet: what a signer of an rpm, AppImage or
    /// debsigs deb verified by this key reports (`signature.signers[].sha256`).
    fn key_pin(&self, key: &[u8]) -> Option<String> {
        let keys = format_openpgp::parse_keys(key).ok()?;
        let mut primaries = keys.iter().filter(|k| !k.is_subkey);
        match (primaries.next(), primaries.next()) {
            (Some(k), None) => Some(k.sha256.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn page_facts(&self, artifact: &ArtifactView<'_>) -> Vec<PageFact> {
        install::page_facts(artifact)
    }

    fn check_continuity(
        &self,
        current: &platform::Inspection,
        next: &platform::Inspection,
    ) -> Vec<platform::Finding> {
        check_continuity(current, next)
    }
}

/// The OpenPGP key id that signed an inspected package, if it is signed.
fn signing_key(i: &platform::Inspection) -> Option<&str> {
    i.details
        .get("signature")
        .and_then(|s| s.get("key_id"))
        .and_then(|k| k.as_str())
        .filter(|k| !k.is_empty())
}

/// An update of a signed package should be signed by the same key: users who imported the
/// team's key (`rpm --import`, a debsig policy, an AppImage's trusted key) refuse or warn
/// about another one. A warning, not an error: teams do rotate keys, and must then ship the
/// new key to users first.
pub fn check_continuity(
    current: &platform::Inspection,
    next: &platform::Inspection,
) -> Vec<platform::Finding> {
    if current.kind != next.kind {
        return Vec::new();
    }
    match (signing_key(current), signing_key(next)) {
        (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => vec![platform::Finding::warning(
            "linux.signer.changed",
            format!(
                "{}: signed by OpenPGP key {b}, but {} (the channel's current release) by {a}; users who trust only the old key will refuse it: publish the new key to them first",
                next.file, current.file
            ),
        )],
        (Some(a), None) => vec![platform::Finding::warning(
            "linux.signer.dropped",
            format!(
                "{}: not signed, but {} (the channel's current release) was signed by OpenPGP key {a}; installs that check signatures will refuse it",
                next.file, current.file
            ),
        )],
        _ => Vec::new(),
    }
}

/// Turns a read failure into the inspection's result: an I/O error of the reader is the
/// caller's error; a cap or malformed structure is a `parse: reject` with a finding.
/// A fresh Inspection of this platform: unsigned until a reader verifies a signature.
pub(crate) fn fresh_inspection(kind: &Kind, ctx: &InspectContext) -> platform::Inspection {
    let platform = "linux".parse().expect("literal platform id");
    let mut ins = platform::Inspection::new(&ctx.file_name, ctx.size, platform, kind.clone());
    ins.signature = platform::Signature::unsigned();
    ins
}

type Reader =
    fn(&mut dyn ReadSeek, &InspectContext, &mut platform::Inspection) -> Result<(), Error>;

/// Runs one kind's reader on a fresh Inspection and turns its error into findings.
fn inspect_with(
    r: &mut dyn ReadSeek,
    kind: &Kind,
    ctx: &InspectContext,
    area: &str,
    read: Reader,
) -> Result<Inspected, InspectError> {
    let mut ins = fresh_inspection(kind, ctx);
    let result = read(r, ctx, &mut ins);
    finish(ins, result, area)
}

/// Settles a reader's result the way every target does (`Inspection::settle`).
pub(crate) fn finish(
    ins: platform::Inspection,
    result: Result<(), Error>,
    area: &str,
) -> Result<Inspected, InspectError> {
    ins.settle(result.map_err(Into::into), "linux", area)
}

impl From<Error> for platform::ReadFailure {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => platform::ReadFailure::Io(e),
            Error::Limit(m) => platform::ReadFailure::Limit(m),
            Error::Malformed(m) => platform::ReadFailure::Malformed(m),
        }
    }
}
