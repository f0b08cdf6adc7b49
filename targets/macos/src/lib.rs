//! The macOS target: reads disk images (`dmg`: UDIF, HFS+ inside), zipped app bundles
//! (`app-zip`), app bundles in compressed tar archives (`app-tar`), installer packages (`pkg`), and for `dist inspect` bare Mach-O
//! files (`macho`) and macOS provisioning profiles (`mobileprovision`, `.provisionprofile`);
//! says who signed each (Developer ID, Apple Development, ad hoc, ...), whether the hardened
//! runtime is on, whether a notarization ticket is stapled, and what Gatekeeper will say.
//!
//! It owns macOS knowledge: an app bundle's `Contents/` layout, versioned frameworks, which
//! certificates Gatekeeper accepts, where a stapler puts a ticket, what an installer
//! package's Distribution and PackageInfo mean, and which findings those earn. The formats
//! belong below it: Mach-O, code signatures, seals and profiles to `formats/apple` (shared
//! with iOS), xar to `formats/xar`, UDIF and HFS+ to `formats/udif` and `formats/hfsplus`, X.509 to `formats/pki`, zip to `formats/zip`, tar and the
//! one decompression stack to `formats/tar` and `formats/compress`. Targets depend on
//! `platform` and `formats/*`, never on each other. It never extracts to disk, never
//! executes anything, never loads a whole artifact into memory, and bounds every length by
//! `Limits` before allocating. The app reader works on any [`tree::Tree`], so an app reached
//! through another container (a disk image) is read the same way.

pub mod app;
pub mod code;
mod detect;
pub mod dmg;
mod dmgsig;
mod install;
pub mod notarization;
pub mod payload;
pub mod pkg;
pub mod tree;

use std::io::{Read, SeekFrom};

use platform::{
    ArtifactView, Client, Detection, Finding, InspectContext, InspectError, Inspected, Inspection,
    InstallAction, Kind, KindInfo, Links, PageFact, Probe, ReadSeek, Signature, SignatureState,
    Target,
};
use serde_json::json;

pub use detect::detect_probe;

/// The macOS target, registered with the platform registry.
pub struct MacosTarget;

inventory::submit!(platform::TargetRegistration(&MacosTarget));

const KINDS: &[KindInfo] = &[
    KindInfo {
        kind: "dmg",
        description: "macOS disk image (.dmg: open it, then drag the app to Applications)",
        publishable: true,
    },
    KindInfo {
        kind: "pkg",
        description: "macOS installer package (.pkg, opened with Installer)",
        publishable: true,
    },
    KindInfo {
        kind: "app-zip",
        description: "zipped macOS app (.app in a .zip: unzip, then drag to Applications)",
        publishable: true,
    },
    KindInfo {
        kind: "app-tar",
        description: "macOS app in a compressed tar archive (.tar.gz, .tar.xz, .tar.zst, .tar.bz2)",
        publishable: true,
    },
    KindInfo {
        kind: "macho",
        description: "macOS Mach-O binary",
        publishable: false,
    },
    KindInfo {
        kind: "mobileprovision",
        description: "macOS provisioning profile (.provisionprofile)",
        publishable: false,
    },
];

impl Target for MacosTarget {
    /// Pages put a macOS build first on a Mac: a universal one first, else both architectures
    /// with a line on how to tell them apart (`Fit::generic`).
    fn device_os(&self) -> Option<platform::DeviceOs> {
        Some(platform::DeviceOs::Mac)
    }

    fn fit(&self, artifact: &ArtifactView<'_>, device: &platform::Device) -> platform::Fit {
        install::fit(artifact, device)
    }

    fn id(&self) -> &'static str {
        "macos"
    }

    fn display_name(&self) -> &'static str {
        "macOS"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        KINDS
    }

    /// A disk image is what most Mac users expect (open it, drag the app to Applications);
    /// then a zipped app (Safari unzips it); a pkg when the app needs installing; a tar is
    /// for people at a terminal.
    fn preferred_kinds(&self) -> &'static [&'static str] {
        &["dmg", "app-zip", "pkg", "app-tar"]
    }

    fn identity_facts(&self) -> &'static [platform::IdentityFact] {
        &[
            platform::IdentityFact {
                id: "identity",
                description: "the bundle identifier (CFBundleIdentifier) of an app, the product or package identifier of a pkg",
            },
            platform::IdentityFact {
                id: "team_id",
                description: "the Apple team of the code signature; met only by a signature that chains to Apple",
            },
            platform::IdentityFact {
                id: "signer_sha256",
                description: "the SHA-256 of the code-signing or installer-signing certificate",
            },
        ]
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
        let io = |source| InspectError::Io {
            file: ctx.file_name.clone(),
            source,
        };
        input.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut i = Inspection::new(
            &ctx.file_name,
            ctx.size,
            "macos".parse().expect("literal platform id"),
            kind.clone(),
        );
        i.signature = Signature::unsigned();
        match kind.as_str() {
            "app-zip" => inspect_zip(input, ctx, &mut i),
            "app-tar" => inspect_tar(input, ctx, &mut i),
            "pkg" => pkg::read(input, ctx, &mut i),
            "dmg" => dmg::read(input, ctx, &mut i),
            "macho" => inspect_macho(input, ctx, &mut i).map_err(io)?,
            "mobileprovision" => inspect_profile(input, ctx, &mut i).map_err(io)?,
            other => {
                return Err(InspectError::UnsupportedKind {
                    file: ctx.file_name.clone(),
                    platform: "macos".into(),
                    kind: other.into(),
                });
            }
        }
        Ok(i.into())
    }

    fn media_type(&self, kind: &Kind) -> &'static str {
        match kind.as_str() {
            "app-zip" => "application/zip",
            "pkg" => "application/octet-stream",
            "app-tar" => "application/x-tar",
            "dmg" => "application/x-apple-diskimage",
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

    fn page_facts(&self, artifact: &ArtifactView<'_>) -> Vec<PageFact> {
        install::page_facts(artifact)
    }

    /// Every macOS file takes a submission: it is judged against the status read from the
    /// file (`details.notarization.status`), whatever the kind.
    fn notarization_findings(
        &self,
        inspection: &Inspection,
        claim: &platform::Notarization,
    ) -> Option<Vec<Finding>> {
        Some(notarization::submission_findings(
            install::status_of(inspection),
            claim,
            &inspection.file,
        ))
    }

    /// The generic rules, plus the code signature's team: a pinned team is met only by a
    /// signature that chains to Apple (`details.team_id` is set only then).
    fn check_identity(
        &self,
        inspection: &Inspection,
        rules: &platform::PlatformRules,
    ) -> Vec<Finding> {
        rules.check(inspection)
    }
}

/// Refuses a file whose read stopped at a cap: a verdict reached on part of it proves
/// nothing, so a signature that looked good becomes unknown.
pub(crate) fn reject_at_limit(i: &mut Inspection, code: &str, why: impl Into<String>) {
    i.reject(
        code,
        format!(
            "{}; the file is refused rather than read further",
            why.into()
        ),
    );
    if matches!(
        i.signature.state,
        SignatureState::Signed | SignatureState::Untrusted
    ) {
        i.signature.state = SignatureState::Unknown;
        i.signature.digest_ok = None;
    }
}

fn inspect_zip(input: &mut dyn ReadSeek, ctx: &InspectContext, i: &mut Inspection) {
    let mut tree = match tree::ZipTree::open(input, ctx.size, &ctx.limits, &ctx.budget) {
        Ok(t) => t,
        Err(format_zip::ZipError::Limit(e)) => {
            i.reject("macos.archive.limit", e);
            return;
        }
        Err(e) => {
            i.reject(
                "macos.zip.malformed",
                format!("the file does not open as a zip archive: {e}"),
            );
            return;
        }
    };
    read_app(&mut tree, ctx, i);
}

fn inspect_tar(input: &mut dyn ReadSeek, ctx: &InspectContext, i: &mut Inspection) {
    let mut tree = match tree::TarTree::open(input, &ctx.limits, &ctx.budget, &tree::app_files) {
        Ok(t) => t,
        Err(tree::TarError::Limit(m)) => {
            i.reject(
                "macos.archive.limit",
                format!("{m}; the file is refused rather than read further"),
            );
            return;
        }
        Err(tree::TarError::Malformed(m)) => {
            i.reject(
                "macos.tar.malformed",
                format!("the archive is truncated or corrupt ({m}); build or download it again"),
            );
            return;
        }
        Err(tree::TarError::Io(e)) => {
            i.reject("macos.tar.malformed", format!("reading failed: {e}"));
            return;
        }
    };
    let compression = tree.codec().name();
    read_app(&mut tree, ctx, i);
    i.details.insert("compression".into(), json!(compression));
}

fn read_app(tree: &mut dyn tree::Tree, ctx: &InspectContext, i: &mut Inspection) {
    let apps = app::apps(tree);
    let Some(first) = apps.first().cloned() else {
        i.reject(
            "macos.app.missing",
            "no X.app/Contents/Info.plist in the archive: this is not a macOS app archive",
        );
        return;
    };
    let top: Vec<&String> = apps
        .iter()
        .filter(|a| a.matches('/').count() == first.matches('/').count())
        .collect();
    let several = top.len() > 1;
    let names: Vec<String> = top
        .iter()
        .map(|s| s.trim_end_matches('/').to_owned())
        .collect();
    app::read(tree, &first, ctx, i);
    if several {
        i.findings.push(Finding::warning(
            "macos.archive.several_apps",
            format!(
                "the archive holds {} apps ({}); only {} was read",
                names.len(),
                names.join(", "),
                names[0]
            ),
        ));
    }
}

fn inspect_macho(
    input: &mut dyn ReadSeek,
    ctx: &InspectContext,
    i: &mut Inspection,
) -> std::io::Result<()> {
    let ml = code::macho_limits(&ctx.limits);
    let m = match format_apple::macho::scan_seekable(&mut *input, &ml) {
        Ok(m) => m,
        Err(e) => {
            i.reject("macos.macho.malformed", e.to_string());
            return Ok(());
        }
    };
    i.archs = Some(m.archs());
    i.min_os = m.slices.iter().find_map(|s| s.min_os.clone());
    input.seek(SeekFrom::Start(0))?;
    let c = format_apple::verify::check_code(
        &m,
        format_apple::bytes::Stream::seekable(&mut *input),
        None,
        None,
        &ml,
    );
    let r = code::judge(&c, ctx.now_unix, "the binary");
    i.identity = r.identifier.clone();
    i.signature = r.signature;
    i.findings.extend(r.findings);
    i.details.insert("fat".into(), json!(m.fat));
    i.details.insert(
        "slices".into(),
        json!(
            m.slices
                .iter()
                .map(|s| json!({
                    "arch": s.arch, "offset": s.offset, "filetype": s.filetype,
                    "platform": s.platform, "min_os": s.min_os, "sdk": s.sdk,
                    "signed": s.signature.is_some(),
                }))
                .collect::<Vec<_>>()
        ),
    );
    i.details.insert("code_signature".into(), r.details);
    Ok(())
}

fn inspect_profile(
    input: &mut dyn ReadSeek,
    ctx: &InspectContext,
    i: &mut Inspection,
) -> std::io::Result<()> {
    let limit = ctx.limits.max_structure_bytes;
    if ctx.size > limit {
        i.reject(
            "macos.profile.too_large",
            format!("{} bytes, more than the limit of {limit}", ctx.size),
        );
        return Ok(());
    }
    let mut data = Vec::new();
    input.take(limit).read_to_end(&mut data)?;
    let p = app::read_profile(&data);
    if let Some(e) = &p.error {
        i.reject("macos.profile.malformed", e.clone());
    }
    if let Some(f) = &p.facts {
        i.identity = p.app_id.clone();
        i.display_name = f.name.clone();
        if f.expires.is_some_and(|e| e < ctx.now_unix) {
            i.findings.push(Finding::warning(
                "macos.profile.expired",
                format!(
                    "the profile expired {}",
                    f.expires.map(format_apple::rfc3339).unwrap_or_default()
                ),
            ));
        }
    }
    i.signature = match (p.signature_ok, p.chain_ok) {
        (None, _) => Signature::unsigned(),
        (Some(sig), chain) => Signature {
            state: if !sig {
                platform::SignatureState::Invalid
            } else if chain == Some(true) {
                platform::SignatureState::Signed
            } else {
                platform::SignatureState::Untrusted
            },
            schemes: vec!["cms".into()],
            signers: p
                .signers
                .iter()
                .map(|(subject, sha256)| platform::Signer {
                    subject: subject.clone(),
                    sha256: sha256.clone(),
                })
                .collect(),
            digest_ok: Some(sig),
            chain_ok: chain,
            timestamp: None,
        },
    };
    if let serde_json::Value::Object(m) = p.details {
        i.details = m;
    }
    Ok(())
}

/// Entry points for the fuzz targets in `targets/macos/fuzz`: each feeds untrusted bytes to
/// one parser the way `inspect` does. Not an API for other crates.
#[doc(hidden)]
pub mod fuzzing {
    use std::io::Cursor;

    use platform::{InspectContext, Limits, Target};

    fn ctx(len: usize) -> InspectContext {
        let limits = Limits {
            max_member_bytes: 4 << 20,
            max_structure_bytes: 4 << 20,
            max_streamed_bytes: 64 << 20,
            ..Limits::default()
        };
        InspectContext::new("fuzz", len as u64, limits, 1_798_761_600)
    }

    /// The UDIF layer alone: trailer, block map, partition map, and every byte of the
    /// logical disk read through the chunk reader (within a small budget).
    pub fn udif(data: &[u8]) {
        use std::io::Read;
        let mut c = Cursor::new(data);
        let Ok(image) = format_udif::Image::open(&mut c, data.len() as u64) else {
            return;
        };
        let budget = format_udif::InflateBudget::new(16 << 20);
        let mut disk = format_udif::Disk::new(&mut c, &image, &budget);
        let size = disk.size();
        let _ = format_udif::partition::read_map(&mut disk, size);
        let _ = std::io::copy(&mut (&mut disk).take(8 << 20), &mut std::io::sink());
    }

    /// The HFS+ layer alone, on `data` as a bare volume: list, then read every file.
    pub fn hfsplus(data: &[u8]) {
        let budget = format_hfsplus::InflateBudget::new(16 << 20);
        let limits = format_hfsplus::Limits {
            max_records: 100_000,
            max_tree_bytes: 16 << 20,
        };
        let Ok(mut v) = format_hfsplus::Volume::open(Cursor::new(data), 0, limits, &budget) else {
            return;
        };
        let Ok(list) = v.list() else { return };
        for e in list.iter().take(256) {
            let _ = v.read(e, 1 << 20);
        }
    }

    /// Inspects `data` as `kind` (dmg, app-zip, app-tar, pkg, macho, mobileprovision).
    pub fn inspect(data: &[u8], kind: &str) {
        let kind = kind.parse().expect("literal kind");
        let _ = super::MacosTarget.inspect(&mut Cursor::new(data), &kind, &ctx(data.len()));
    }

    /// Detection on the first and last bytes.
    pub fn detect(data: &[u8]) {
        let probe = platform::Probe {
            file_name: "fuzz".into(),
            size: data.len() as u64,
            head: data.to_vec(),
            tail: data.to_vec(),
            zip_entries: None,
            zip_error: None,
            tar_entries: None,
        };
        let _ = super::MacosTarget.detect(&probe);
    }
}
