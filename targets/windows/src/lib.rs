//! The Windows target: PE executables and installers (`exe`; `dll`, `efi` and `sys` for
//! `dist inspect`), MSI packages (`msi`), MSIX/APPX packages and bundles (`msix`, `appx`,
//! `msixbundle`, `appxbundle`) and zipped apps (`zip`), with their Authenticode signatures
//! verified: the file's digest recomputed the format's way, the signer's signature, the
//! timestamp, and the chain to the trust store this crate ships (`trust/`, README there) or
//! a root the app's admin added.
//!
//! It owns Windows knowledge: PE headers and version resources, which installer technology
//! built an exe, MSI summary information and tables, MSIX manifests and block maps, and how a
//! person installs each kind. The containers and crypto belong to `formats/*` (zip, the CFB
//! reader, PKCS #7 and Authenticode parsing in `formats/pki`). It reads through bounded
//! reads and the inspection's budget, never loads a whole artifact, never extracts to disk
//! and never executes anything. Targets depend on `platform` and `formats/*` only.

mod appinstaller;
mod detect;
mod install;
pub mod msi;
pub mod msix;
pub mod pe;
pub mod signature;
pub mod trust;
pub mod zipapp;

use platform::{
    ArtifactView, Client, Detection, InspectContext, InspectError, Inspected, InstallAction, Kind,
    KindInfo, Links, PageFact, Probe, ReadSeek, Target,
};

pub use detect::detect_probe;

/// The Windows target, registered with the platform registry.
pub struct WindowsTarget;

inventory::submit!(platform::TargetRegistration(&WindowsTarget));

const KINDS: &[KindInfo] = &[
    KindInfo {
        kind: "msix",
        description: "MSIX package (installed by App Installer, updates in place)",
        publishable: true,
    },
    KindInfo {
        kind: "msixbundle",
        description: "MSIX bundle (MSIX packages for several architectures)",
        publishable: true,
    },
    KindInfo {
        kind: "appx",
        description: "APPX package (the older MSIX format)",
        publishable: true,
    },
    KindInfo {
        kind: "appxbundle",
        description: "APPX bundle (APPX packages for several architectures)",
        publishable: true,
    },
    KindInfo {
        kind: "msi",
        description: "Windows Installer package (.msi)",
        publishable: true,
    },
    KindInfo {
        kind: "exe",
        description: "Windows executable or installer (.exe)",
        publishable: true,
    },
    KindInfo {
        kind: "zip",
        description: "zipped Windows app (unpack and run its .exe)",
        publishable: true,
    },
    KindInfo {
        kind: "dll",
        description: "Windows library (.dll), for dist inspect",
        publishable: false,
    },
    KindInfo {
        kind: "sys",
        description: "Windows driver (.sys), for dist inspect",
        publishable: false,
    },
    KindInfo {
        kind: "efi",
        description: "UEFI application (.efi), for dist inspect",
        publishable: false,
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

impl From<format_zip::ZipError> for Error {
    fn from(e: format_zip::ZipError) -> Self {
        match e {
            format_zip::ZipError::Io(e) => Error::Io(e),
            format_zip::ZipError::Limit(m) => Error::Limit(m),
            other => Error::Malformed(other.to_string()),
        }
    }
}

impl From<format_cfb::Error> for Error {
    fn from(e: format_cfb::Error) -> Self {
        match e {
            format_cfb::Error::Io(e) => Error::Io(e),
            format_cfb::Error::Limit(m) => Error::Limit(m),
            other => Error::Malformed(other.to_string()),
        }
    }
}

pub(crate) fn malformed(m: impl Into<String>) -> Error {
    Error::Malformed(m.into())
}

impl Target for WindowsTarget {
    /// Pages put a Windows build first on a Windows PC, by its architecture.
    fn device_os(&self) -> Option<platform::DeviceOs> {
        Some(platform::DeviceOs::Windows)
    }

    fn id(&self) -> &'static str {
        "windows"
    }

    fn display_name(&self) -> &'static str {
        "Windows"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        KINDS
    }

    /// An MSIX installs, updates and uninstalls cleanly through App Installer; an MSI is the
    /// managed-install format; an exe installer runs its own logic; a zip is unpacked by hand.
    fn preferred_kinds(&self) -> &'static [&'static str] {
        &[
            "msix",
            "msixbundle",
            "appx",
            "appxbundle",
            "msi",
            "exe",
            "zip",
        ]
    }

    fn identity_facts(&self) -> &'static [platform::IdentityFact] {
        &[
            platform::IdentityFact {
                id: "identity",
                description: "MSIX Identity Name, MSI ProductName, or a PE's version-resource ProductName",
            },
            platform::IdentityFact {
                id: "signer_sha256",
                description: "the SHA-256 of the Authenticode signer's certificate",
            },
            platform::IdentityFact {
                id: "publisher",
                description: "the Authenticode signer's subject (an MSIX's Identity Publisher must equal it)",
            },
        ]
    }

    /// The generic rules, plus: a pinned publisher is met only by a signature that verifies
    /// to a trusted root, and an unsigned file is an error when the app pins signers or
    /// publishers.
    fn check_identity(
        &self,
        inspection: &platform::Inspection,
        rules: &platform::PlatformRules,
    ) -> Vec<platform::Finding> {
        let mut out = rules.check(inspection);
        let pins = !rules.publishers.is_empty() || !rules.signer_sha256.is_empty();
        if pins && inspection.signature.state == platform::SignatureState::Unsigned {
            out.push(platform::Finding::error(
                "windows.signature.required",
                format!(
                    "{}: not signed, but the app pins Windows signers or publishers; sign it with the pinned certificate (signtool sign /fd sha256 /tr <timestamp url>)",
                    inspection.file
                ),
            ));
        } else if !rules.publishers.is_empty()
            && inspection.signature.state != platform::SignatureState::Signed
        {
            out.push(platform::Finding::error(
                "identity.signature_untrusted",
                format!(
                    "{}: the app pins publishers, which only a signature verified to a trusted root can meet; this signature does not",
                    inspection.file
                ),
            ));
        }
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
        run(input, kind, ctx, Pass::Verify)
    }

    fn media_type(&self, kind: &Kind) -> &'static str {
        match kind.as_str() {
            "msix" | "appx" => "application/msix",
            "msixbundle" | "appxbundle" => "application/msixbundle",
            "msi" => "application/x-msi",
            "exe" => "application/vnd.microsoft.portable-executable",
            "zip" => "application/zip",
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

    /// A root (or intermediate) certificate, DER or PEM, that the app's Windows signatures
    /// may chain to besides the shipped store.
    fn trusted_key(&self, key: &[u8]) -> Option<Result<platform::TrustedKey, String>> {
        Some(trust::parse_added(key).map(|c| platform::TrustedKey {
            fingerprint: c.sha256.clone(),
            label: c.subject.clone(),
        }))
    }

    fn page_facts(&self, artifact: &ArtifactView<'_>) -> Vec<PageFact> {
        install::page_facts(artifact)
    }

    /// `NAME.appinstaller`: the App Installer file that keeps an MSIX on the channel.
    fn channel_document(
        &self,
        ctx: &platform::channel::ChannelContext<'_>,
    ) -> Option<platform::Document> {
        appinstaller::document(ctx)
    }
}

/// How much of a file an inspection reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Headers, manifests and tables only: the signature is left `unknown`.
    Metadata,
    /// Everything, signatures verified (what `inspect` does).
    Verify,
}

impl WindowsTarget {
    /// The metadata pass alone (no digest, no signature check), for the bench to report the
    /// bytes it reads apart from the verification pass.
    pub fn inspect_metadata(
        &self,
        input: &mut dyn ReadSeek,
        kind: &Kind,
        ctx: &InspectContext,
    ) -> Result<Inspected, InspectError> {
        run(input, kind, ctx, Pass::Metadata)
    }
}

fn run(
    input: &mut dyn ReadSeek,
    kind: &Kind,
    ctx: &InspectContext,
    pass: Pass,
) -> Result<Inspected, InspectError> {
    let mut ins = fresh_inspection(kind, ctx);
    if pass == Pass::Metadata {
        ins.signature = platform::Signature::unknown();
    }
    let (result, area) = match kind.as_str() {
        "exe" | "dll" | "sys" | "efi" => (pe::read(input, ctx, &mut ins, pass), "pe"),
        "msi" => (msi::read(input, ctx, &mut ins, pass), "msi"),
        "msix" | "appx" => (msix::read_package(input, ctx, &mut ins, pass), "msix"),
        "msixbundle" | "appxbundle" => (msix::read_bundle(input, ctx, &mut ins, pass), "msix"),
        "zip" => (zipapp::read(input, ctx, &mut ins, pass), "zip"),
        other => {
            return Err(InspectError::UnsupportedKind {
                file: ctx.file_name.clone(),
                platform: "windows".into(),
                kind: other.into(),
            });
        }
    };
    finish(ins, result, area)
}

/// A fresh Inspection of this platform: unsigned until a reader finds a signature.
pub(crate) fn fresh_inspection(kind: &Kind, ctx: &InspectContext) -> platform::Inspection {
    let platform = "windows".parse().expect("literal platform id");
    let mut ins = platform::Inspection::new(&ctx.file_name, ctx.size, platform, kind.clone());
    ins.signature = platform::Signature::unsigned();
    ins
}

/// Settles a reader's result the way every target does (`Inspection::settle`).
pub(crate) fn finish(
    ins: platform::Inspection,
    result: Result<(), Error>,
    area: &str,
) -> Result<Inspected, InspectError> {
    ins.settle(result.map_err(Into::into), "windows", area)
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
