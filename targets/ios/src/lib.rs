//! The iOS target: detects and inspects IPAs, provisioning profiles and bare Mach-O binaries,
//! and says honestly how an IPA may reach a device (TestFlight link, enterprise OTA over
//! https, or a plain file download).
//!
//! It owns iOS knowledge: what an IPA's layout means, which findings a profile, a code
//! signature or a bundle seal earns on iOS, Apple's CgBI icons, and the OTA manifest plist.
//! The formats it reads belong below it and are shared with the macOS target: Mach-O, code
//! signatures, CodeResources seals, provisioning profiles, plists and Apple's roots to
//! `formats/apple`, X.509/CMS to `formats/pki`, the zip reader to `formats/zip`. Targets
//! depend on `platform` and `formats/*`, never on each other. It must not touch the network,
//! a database or the filesystem (beyond the reader it is handed), must not extract or
//! execute anything, and must bound every length read from a file by `Limits` before
//! allocating. Shapes (the Inspection contract, install actions) belong to `platform`.

mod archive;
mod binary;
mod cgbi;
mod install;
mod ipa;
mod profile;

pub use profile::{Profile, ProfileType, profile_of};

use std::io::{Read, SeekFrom};

use platform::{
    ArtifactView, Client, Detection, Document, Finding, InspectContext, InspectError, Inspected,
    Inspection, InstallAction, InstallMode, Kind, KindInfo, Links, ModeInfo, PageFact,
    PlatformRules, Probe, ReadSeek, Target,
};
use serde_json::json;

use format_apple::{bytes, macho};

pub use cgbi::{CgbiError, to_standard_png};
pub use format_apple::roots::APPLE_ROOT_CA_SHA256;
pub use install::{OtaManifest, ota_manifest_plist};

/// The iOS target, registered with the platform registry.
pub struct IosTarget;

inventory::submit!(platform::TargetRegistration(&IosTarget));

const KINDS: &[KindInfo] = &[
    KindInfo {
        kind: "ipa",
        description: "iOS app archive",
        publishable: true,
    },
    KindInfo {
        kind: "testflight",
        description: "TestFlight invite link",
        publishable: true,
    },
    KindInfo {
        kind: "mobileprovision",
        description: "iOS provisioning profile",
        publishable: false,
    },
    KindInfo {
        kind: "macho",
        description: "iOS Mach-O binary",
        publishable: false,
    },
];

impl Target for IosTarget {
    fn id(&self) -> &'static str {
        "ios"
    }

    fn display_name(&self) -> &'static str {
        "iOS"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        KINDS
    }

    /// An IPA installs over the air; a TestFlight link needs the TestFlight app.
    fn preferred_kinds(&self) -> &'static [&'static str] {
        &["ipa", "testflight"]
    }

    fn detect(&self, probe: &Probe) -> Option<Detection> {
        detect(probe)
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
        match kind.as_str() {
            "ipa" => Ok(ipa::inspect(input, ctx)),
            "mobileprovision" => inspect_profile(input, ctx).map_err(io),
            "macho" => inspect_macho(input, ctx).map_err(io),
            other => Err(InspectError::UnsupportedKind {
                file: ctx.file_name.clone(),
                platform: "ios".into(),
                kind: other.into(),
            }),
        }
    }

    fn identity_facts(&self) -> &'static [platform::IdentityFact] {
        &[
            platform::IdentityFact {
                id: "identity",
                description: "the bundle identifier (CFBundleIdentifier)",
            },
            platform::IdentityFact {
                id: "team_id",
                description: "the Apple team of the provisioning profile, else of the code signature; met only by a signature chaining to Apple",
            },
            platform::IdentityFact {
                id: "signer_sha256",
                description: "the SHA-256 of each code-signing certificate",
            },
        ]
    }

    fn modes(&self) -> &'static [ModeInfo] {
        install::MODES
    }

    fn default_install_mode(&self, inspection: &Inspection) -> Option<InstallMode> {
        install::default_mode(inspection).map(install::IosMode::mode)
    }

    fn check_install_mode(&self, inspection: &Inspection, mode: &InstallMode) -> Vec<Finding> {
        // The registry passes only declared ids, so `from_mode` always answers.
        install::IosMode::from_mode(mode)
            .map(|m| install::check_mode(inspection, m))
            .unwrap_or_default()
    }

    fn link_artifact(&self, url: &str) -> Option<Result<Inspection, String>> {
        Some(install::testflight_link(url))
    }

    fn install_actions(
        &self,
        artifact: &ArtifactView<'_>,
        links: &Links,
        client: &Client,
    ) -> Vec<InstallAction> {
        install::actions(artifact, links, client)
    }

    fn document(&self, name: &str, artifact: &ArtifactView<'_>, links: &Links) -> Option<Document> {
        install::document(name, artifact, links)
    }

    fn page_facts(&self, artifact: &ArtifactView<'_>) -> Vec<PageFact> {
        install::page_facts(artifact)
    }

    fn registered_devices(&self, artifact: &ArtifactView<'_>) -> Option<platform::DeviceList> {
        let i = artifact.inspection.filter(|i| i.kind.as_str() == "ipa")?;
        match profile::profile_of(i)?.profile_type {
            profile::ProfileType::Adhoc | profile::ProfileType::Development => {
                Some(platform::DeviceList {
                    ids: install::provisioned_devices(i)?,
                    id_name: "UDID".into(),
                    where_to_find: "Finder or Apple Configurator shows it while the device is connected to a Mac".into(),
                    not_listed: "It is not in this build's provisioning profile: iOS will refuse the install. Ask the team to register the device and ship a new build.".into(),
                })
            }
            _ => None,
        }
    }

    fn device_os(&self) -> Option<platform::DeviceOs> {
        Some(platform::DeviceOs::Ios)
    }

    fn fit(&self, artifact: &ArtifactView<'_>, device: &platform::Device) -> platform::Fit {
        install::fit(artifact, device)
    }

    fn needs_https_for(&self) -> Option<&'static str> {
        Some("iOS over-the-air installs (itms-services)")
    }

    fn check_identity(&self, inspection: &Inspection, rules: &PlatformRules) -> Vec<Finding> {
        let mut out = rules.check(inspection);
        // The generic check reads the profile's team; the code signature's team must be
        // allowed too (a profile of one team cannot vouch for a binary signed by another).
        if !rules.team_ids.is_empty()
            && let Some(team) = inspection
                .details
                .get("code_signature")
                .and_then(|c| c.get("team_id"))
                .and_then(|t| t.as_str())
            && !rules.team_ids.iter().any(|t| t == team)
        {
            out.push(Finding::error(
                "identity.team_mismatch",
                format!(
                    "{}: the code signature's team {team} is not one the app allows ({})",
                    inspection.file,
                    rules.team_ids.join(", ")
                ),
            ));
        }
        out
    }
}

fn detect(probe: &Probe) -> Option<Detection> {
    if probe.zip_entries.is_some() {
        return probe
            .any_entry(ipa::is_main_info_plist)
            .then(|| Detection::new("ipa", 100));
    }
    let head = &probe.head;
    if profile::looks_like_profile(head) {
        // A macOS profile is the macOS target's; claimed weakly so a build without it still
        // names the file.
        let confidence = if format_apple::profile::is_macos_profile(head) {
            30
        } else if head.first() == Some(&0x30) {
            100
        } else {
            90
        };
        return Some(Detection::new("mobileprovision", confidence));
    }
    macho_detect(head).map(|c| Detection::new("macho", c))
}

/// Confidence that `head` starts an iOS-family Mach-O: 100 when the first slice's load
/// commands name an iOS-family platform, 40 when they cannot be seen, none for macOS.
fn macho_detect(head: &[u8]) -> Option<u8> {
    let slice_start = macho::first_slice_offset(head)?;
    let Some(h) = head.get(slice_start as usize..) else {
        return Some(40);
    };
    let Some((be, _, _, _, ncmds, sizeofcmds, hlen)) = macho::thin_header(h) else {
        // A fat table whose first slice is visible but is not Mach-O.
        return (h.len() < 4).then_some(40);
    };
    let Some(cmds) = h.get(hlen..hlen + sizeofcmds as usize) else {
        return Some(40);
    };
    match macho::parse_load_commands(cmds, ncmds, be) {
        Ok(f) => match f.platform {
            Some(macho::PLATFORM_MACOS | macho::PLATFORM_MACCATALYST) => None,
            Some(_) => Some(100),
            None => Some(40),
        },
        Err(_) => Some(40),
    }
}

/// The caps a Mach-O read takes from the inspection's limits.
pub(crate) fn macho_limits(l: &platform::Limits) -> macho::Limits {
    macho::Limits {
        max_structure_bytes: l.max_structure_bytes,
        max_streamed_bytes: l.max_streamed_bytes,
    }
}

fn new_inspection(ctx: &InspectContext, kind: &str) -> Inspection {
    Inspection::new(
        &ctx.file_name,
        ctx.size,
        "ios".parse().expect("literal platform id"),
        kind.parse().expect("literal kind"),
    )
}

fn inspect_profile(input: &mut dyn ReadSeek, ctx: &InspectContext) -> std::io::Result<Inspected> {
    let mut i = new_inspection(ctx, "mobileprovision");
    let limit = ctx.limits.max_structure_bytes;
    if ctx.size > limit {
        i.reject(
            "ios.profile.too_large",
            format!("{} bytes, more than the limit of {limit}", ctx.size),
        );
        return Ok(i.into());
    }
    let mut data = Vec::new();
    input.take(limit).read_to_end(&mut data)?;
    let p = profile::read(&data, ctx.now_unix);
    i.identity = p.app_id.clone();
    i.display_name = p.app_id_name.clone();
    i.signature = p.signature.clone();
    for (code, msg) in &p.rejects {
        i.reject(code, msg.clone());
    }
    i.findings.extend(p.findings);
    // A profile on its own: its details are the profile's (schema: [`Profile`]).
    if let serde_json::Value::Object(m) = p.details {
        i.details = m;
    }
    Ok(i.into())
}

fn inspect_macho(input: &mut dyn ReadSeek, ctx: &InspectContext) -> std::io::Result<Inspected> {
    let mut i = new_inspection(ctx, "macho");
    let m = match macho::scan_seekable(&mut *input, &macho_limits(&ctx.limits)) {
        Ok(m) => m,
        Err(e) => {
            i.reject("ios.macho.malformed", e.to_string());
            return Ok(i.into());
        }
    };
    i.archs = Some(m.archs());
    i.min_os = m.slices.iter().find_map(|s| s.min_os.clone());
    input.seek(SeekFrom::Start(0))?;
    let report = binary::check(
        &m,
        bytes::Stream::seekable(&mut *input),
        None,
        None,
        ctx.now_unix,
        &ctx.limits,
    );
    i.identity = report.identifier.clone();
    i.signature = report.signature;
    i.findings.extend(report.findings);
    if m.slices
        .iter()
        .all(|s| matches!(s.arch.as_str(), "x86_64" | "i386" | "x86_64h"))
    {
        i.findings.push(Finding::warning(
            "ios.build.simulator",
            "only simulator architectures (x86_64, i386)",
        ));
    }
    i.details.insert("fat".into(), json!(m.fat));
    i.details.insert(
        "slices".into(),
        json!(
            m.slices
                .iter()
                .map(|s| json!({
                    "arch": s.arch, "offset": s.offset, "filetype": s.filetype,
                    "platform": s.platform, "min_os": s.min_os, "sdk": s.sdk,
                    "encrypted": s.encrypted, "signed": s.signature.is_some(),
                }))
                .collect::<Vec<_>>()
        ),
    );
    if let Some(t) = &report.team_id {
        i.details.insert("team_id".into(), json!(t));
    }
    i.details.insert("code_signature".into(), report.details);
    Ok(i.into())
}

/// Entry points for the fuzz targets in `targets/ios/fuzz`: each feeds untrusted bytes to one
/// parser the way `inspect` does. Not an API for other crates.
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

    fn inspect(data: &[u8], kind: &str) {
        let kind = kind.parse().expect("literal kind");
        let _ = super::IosTarget.inspect(&mut Cursor::new(data), &kind, &ctx(data.len()));
    }

    /// A provisioning profile: CMS (BER) and the plist inside.
    pub fn mobileprovision(data: &[u8]) {
        inspect(data, "mobileprovision");
    }

    /// A Mach-O file: fat and thin headers, load commands, the code signature, page hashes.
    pub fn macho(data: &[u8]) {
        inspect(data, "macho");
    }

    /// An embedded code signature (SuperBlob) on its own, with the CMS over its directory.
    pub fn code_signature(data: &[u8]) {
        if let Ok(sig) = format_apple::codesign::EmbeddedSignature::parse(data) {
            let _ = sig.check_special_slots(Some(data), None);
            if let Some(cms) = sig.cms.as_deref() {
                let _ = format_apple::codesign::verify_cms(cms, Some(&sig.primary().raw));
            }
        }
    }

    /// An IPA: zip index, Info.plist, profiles, executable, extensions, icon.
    pub fn ipa(data: &[u8]) {
        inspect(data, "ipa");
    }

    /// Apple's CgBI PNG conversion.
    pub fn cgbi(data: &[u8]) {
        let _ = crate::cgbi::to_standard_png(data, 16 << 20);
    }

    /// Detection on the first bytes.
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
        let _ = super::IosTarget.detect(&probe);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(head: &[u8]) -> Probe {
        Probe {
            file_name: "x.ipa".into(),
            size: head.len() as u64,
            head: head.to_vec(),
            tail: head.to_vec(),
            zip_entries: None,
            zip_error: None,
            tar_entries: None,
        }
    }

    #[test]
    fn java_class_is_not_a_fat_binary() {
        // cafebabe, minor 0, major 61 (Java 17), then a constant pool.
        let mut class = vec![0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 61];
        class.extend_from_slice(&[0u8; 64]);
        assert_eq!(detect(&probe(&class)), None);
    }

    #[test]
    fn thin_macho_without_platform_is_a_weak_claim() {
        let mut h = vec![
            0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0,
        ];
        h.extend_from_slice(&[0u8; 16]);
        assert_eq!(detect(&probe(&h)), Some(Detection::new("macho", 40)));
        // The same header with LC_BUILD_VERSION for macOS is not ours.
        let mut mac = h.clone();
        mac[16] = 1; // ncmds
        mac[20] = 24; // sizeofcmds
        mac.extend_from_slice(&[
            0x32, 0, 0, 0, 24, 0, 0, 0, 1, 0, 0, 0, 0, 0, 14, 0, 0, 0, 14, 0, 0, 0, 0, 0,
        ]);
        assert_eq!(detect(&probe(&mac)), None);
        let mut ios = mac.clone();
        ios[32 + 8] = 2;
        assert_eq!(detect(&probe(&ios)), Some(Detection::new("macho", 100)));
    }

    #[test]
    fn profiles_by_content_not_name() {
        let xml = b"<?xml version=\"1.0\"?><plist><dict><key>TeamIdentifier</key><array/><key>ExpirationDate</key></dict></plist>";
        assert_eq!(
            detect(&probe(xml)).map(|d| d.kind.to_string()),
            Some("mobileprovision".into())
        );
        assert_eq!(
            detect(&probe(b"<?xml version=\"1.0\"?><plist><dict/></plist>")),
            None
        );
        // A zip without an app bundle is not an IPA, whatever its name.
        let mut p = probe(b"PK\x03\x04");
        p.zip_entries = Some(vec!["Payload/readme.txt".into()]);
        assert_eq!(detect(&p), None);
        p.zip_entries = Some(vec!["Payload/A.app/Info.plist".into()]);
        assert_eq!(detect(&p), Some(Detection::new("ipa", 100)));
    }
}
