//! The Android target: reads APKs (`apk`) and Android App Bundles (`aab`).
//!
//! It owns Android knowledge only: the zip index and the few members it parses (binary
//! `AndroidManifest.xml`, `resources.arsc`, the bundle's protobuf manifest and resource
//! table), and the signatures: APK Signing Block v2/v3/v3.1 and JAR (v1) signatures, which it
//! *verifies* (content digests and signatures), not just reads. It never loads a whole
//! artifact into memory (signature checks stream entries once through digests, capped by
//! [`platform::Limits`]), never extracts to disk and never executes anything. Storage,
//! channels and HTTP belong to `distd`; the JSON shapes and the `Target` contract to
//! `platform`; the zip reader to `formats/zip`; DER, X.509 and PKCS#7 to `formats/pki`.
//! Targets depend on `platform` and `formats/*`, never on each other.

pub mod arsc;
pub mod axml;
pub mod jar;
pub mod pb;
pub mod sigblock;
pub mod zipr;

mod inspect;

use platform::{
    ActionKind, ArtifactView, Client, Detection, Finding, InspectContext, InspectError, Inspected,
    Inspection, InstallAction, KindInfo, Links, PageFact, Probe, ReadSeek, Target, shell_quote,
};

/// What went wrong while reading one structure. Malformed input becomes a `parse: reject`
/// inspection carrying this message; only I/O failures surface as [`InspectError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed zip: {0}")]
    Zip(String),
    #[error("over a limit: {0}")]
    Limit(String),
    #[error("malformed binary XML: {0}")]
    Axml(String),
    #[error("malformed resources.arsc: {0}")]
    Arsc(String),
    #[error("malformed protobuf: {0}")]
    Protobuf(String),
    #[error("malformed DER: {0}")]
    Der(String),
    #[error("malformed signature: {0}")]
    Signature(String),
}

impl From<format_pki::Error> for Error {
    fn from(e: format_pki::Error) -> Self {
        match e {
            format_pki::Error::Der(m) | format_pki::Error::Unsupported(m) => Error::Der(m),
            other => Error::Der(other.to_string()),
        }
    }
}

/// The Android target, registered with the platform registry.
pub struct AndroidTarget;

inventory::submit!(platform::TargetRegistration(&AndroidTarget));

const KINDS: &[KindInfo] = &[
    KindInfo {
        kind: "apk",
        description: "Android application package",
        publishable: true,
    },
    KindInfo {
        kind: "apks",
        description: "Android split-APK set (bundletool build-apks output)",
        publishable: true,
    },
    KindInfo {
        kind: "xapk",
        description: "Android split-APK package (XAPK)",
        publishable: true,
    },
    KindInfo {
        kind: "aab",
        description: "Android App Bundle (artifact only: Google Play or bundletool builds the installable APKs)",
        publishable: true,
    },
];

/// Decides from the zip index (and, for a zip that does not open, the name) whether a file
/// is an APK or an App Bundle.
pub fn detect_probe(probe: &Probe) -> Option<Detection> {
    if probe.zip_entries.is_some() {
        if probe.has_entry("AndroidManifest.xml")
            && (probe.has_entry("classes.dex") || probe.has_entry("resources.arsc"))
        {
            return Some(Detection::new("apk", 100));
        }
        if probe.has_entry("base/manifest/AndroidManifest.xml")
            && probe.has_entry("BundleConfig.pb")
        {
            return Some(Detection::new("aab", 100));
        }
        if probe.has_entry("toc.pb")
            && probe.any_entry(|n| {
                (n.starts_with("splits/") || n.starts_with("standalones/")) && n.ends_with(".apk")
            })
        {
            return Some(Detection::new("apks", 100));
        }
        if probe.has_entry("manifest.json")
            && probe.any_entry(|n| !n.contains('/') && n.ends_with(".apk"))
        {
            return Some(Detection::new("xapk", 90));
        }
        if probe.has_entry("AndroidManifest.xml") {
            // A manifest with no code or resources: still an APK in shape.
            return Some(Detection::new("apk", 60));
        }
        return None;
    }
    // A zip that does not open but is named like an APK: claim it so inspect can refuse it
    // with a finding that says why, rather than "unrecognised".
    let looks_zip = probe.head.starts_with(b"PK");
    match probe.extension().as_deref() {
        Some("apk") if looks_zip => Some(Detection::new("apk", 40)),
        Some("aab") if looks_zip => Some(Detection::new("aab", 40)),
        _ => None,
    }
}

impl Target for AndroidTarget {
    fn id(&self) -> &'static str {
        "android"
    }

    fn display_name(&self) -> &'static str {
        "Android"
    }

    fn identity_facts(&self) -> &'static [platform::IdentityFact] {
        &[
            platform::IdentityFact {
                id: "identity",
                description: "the package name",
            },
            platform::IdentityFact {
                id: "signer_sha256",
                description: "the SHA-256 of each signing certificate, of every scheme",
            },
        ]
    }

    fn kinds(&self) -> &'static [KindInfo] {
        KINDS
    }

    /// An APK installs as it is; a split set needs an installer app; a bundle installs on no device.
    fn preferred_kinds(&self) -> &'static [&'static str] {
        &["apk", "apks", "xapk", "aab"]
    }

    fn detect(&self, probe: &Probe) -> Option<Detection> {
        detect_probe(probe)
    }

    fn inspect(
        &self,
        input: &mut dyn ReadSeek,
        kind: &platform::Kind,
        ctx: &InspectContext,
    ) -> Result<Inspected, InspectError> {
        match kind.as_str() {
            "apk" | "aab" | "apks" | "xapk" => inspect::inspect(input, kind, ctx),
            other => Err(InspectError::UnsupportedKind {
                file: ctx.file_name.clone(),
                platform: "android".into(),
                kind: other.into(),
            }),
        }
    }

    fn media_type(&self, kind: &platform::Kind) -> &'static str {
        match kind.as_str() {
            "apk" => "application/vnd.android.package-archive",
            _ => "application/octet-stream",
        }
    }

    fn install_actions(
        &self,
        artifact: &ArtifactView<'_>,
        links: &Links,
        client: &Client,
    ) -> Vec<InstallAction> {
        install_actions(artifact, links, client)
    }

    fn check_continuity(&self, current: &Inspection, next: &Inspection) -> Vec<Finding> {
        check_continuity(current, next)
    }

    fn page_facts(&self, artifact: &ArtifactView<'_>) -> Vec<PageFact> {
        page_facts(artifact)
    }

    fn device_os(&self) -> Option<platform::DeviceOs> {
        Some(platform::DeviceOs::Android)
    }

    fn fit(&self, artifact: &ArtifactView<'_>, device: &platform::Device) -> platform::Fit {
        fit(artifact, device)
    }
}

/// The API level of an Android release as browsers name it (`Android 14`): the first level
/// of that major version.
fn api_level(major: u32) -> Option<u32> {
    Some(match major {
        5 => 21,
        6 => 23,
        7 => 24,
        8 => 26,
        9 => 28,
        10 => 29,
        11 => 30,
        12 => 31,
        13 => 33,
        14 => 34,
        15 => 35,
        16 => 36,
        n if n > 16 => 36 + (n - 16),
        _ => return None,
    })
}

/// How well an Android artifact fits the device a page is open on: an APK installs on an
/// Android device whose API level reaches its minSdk and whose ABI its native code covers;
/// a bundle or split set installs only with a computer.
pub fn fit(artifact: &ArtifactView<'_>, device: &platform::Device) -> platform::Fit {
    use platform::{DeviceOs, Fit, FitRank};
    let generic = Fit::generic(
        Some(DeviceOs::Android),
        "Android",
        &platform::registry::artifact_archs(artifact),
        device,
    );
    if device.os != DeviceOs::Android {
        return generic;
    }
    if let (Some(min), Some(level)) = (
        artifact
            .inspection
            .and_then(|i| i.min_os.as_deref())
            .and_then(|m| m.parse::<u32>().ok()),
        device.major_version().and_then(api_level),
    ) && level < min
    {
        return Fit::new(
            FitRank::WillNotRun,
            Some(format!(
                "Needs Android API level {min}; this device runs Android {} (API level {level}).",
                device.os_version.as_deref().unwrap_or("?")
            )),
        );
    }
    match artifact.kind.as_str() {
        "aab" => Fit::new(
            FitRank::Fits,
            Some("An app bundle for Google Play or bundletool: a device cannot install it from a page.".into()),
        ),
        "apks" | "xapk" => Fit::new(
            FitRank::Fits,
            Some("A split-APK set: it installs from a computer (bundletool or adb), not from a page.".into()),
        ),
        _ => generic,
    }
}

/// What the install page tells a tester about an Android artifact: the oldest Android it
/// runs on and the key it is signed with (an update installs only over the same key).
pub fn page_facts(artifact: &ArtifactView<'_>) -> Vec<PageFact> {
    let Some(i) = artifact.inspection else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(min) = &i.min_os {
        out.push(PageFact::new(
            "Requires",
            format!("Android API level {min} or later"),
        ));
    }
    // Every signer (after a key rotation the old and the new key are both listed).
    let certs: Vec<&str> = i
        .signature
        .signers
        .iter()
        .map(|s| s.sha256.as_str())
        .collect();
    match certs.len() {
        0 => {}
        1 => out.push(PageFact::new("Signing certificate SHA-256", certs[0])),
        _ => out.push(PageFact::new(
            "Signing certificates SHA-256",
            certs.join(", "),
        )),
    }
    out
}

/// Install actions: an APK downloads to the device (side-loading) or installs over `adb`; a
/// bundle is an artifact only.
pub fn install_actions(
    artifact: &ArtifactView<'_>,
    links: &Links,
    client: &Client,
) -> Vec<InstallAction> {
    let on_android = client.user_agent_names(&["android"]);
    if matches!(artifact.kind.as_str(), "apks" | "xapk") {
        let mut dl = InstallAction::download(links, "Download split-APK set");
        dl.caveats.push(
            "A split-APK set cannot be installed from a page: install it from a computer with \
             bundletool install-apks (or adb install-multiple on its APKs), or with a \
             split-APK installer app."
                .into(),
        );
        dl.primary = on_android;
        let file = artifact
            .file_name
            .map(|f| f.as_str().to_owned())
            .unwrap_or_else(|| format!("app.{}", artifact.kind));
        let cmd = InstallAction {
            kind: ActionKind::CopyCommand,
            label: "Install over USB with bundletool".into(),
            url: None,
            command: Some(format!(
                "{} && bundletool install-apks --apks={}",
                links.download_command(&file),
                shell_quote(&file)
            )),
            available: artifact.kind.as_str() == "apks",
            reason: (artifact.kind.as_str() != "apks").then(|| {
                "bundletool reads .apks sets; unpack an XAPK and use adb install-multiple".into()
            }),
            caveats: vec!["Needs USB debugging enabled on the device, adb and bundletool.".into()],
            primary: !on_android,
        };
        let mut out = vec![dl, cmd];
        out.sort_by_key(|a| !a.primary);
        return out;
    }
    if artifact.kind.as_str() == "aab" {
        let mut dl = InstallAction::download(links, "Download app bundle (.aab)");
        dl.caveats.push(
            "An Android App Bundle cannot be installed from a page: Google Play or bundletool \
             (build-apks, then install-apks) turns it into installable APKs."
                .into(),
        );
        dl.primary = true;
        return vec![dl];
    }
    let test_only = artifact
        .inspection
        .and_then(|i| i.details.get("test_only"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let mut dl = InstallAction::download(links, "Download and install APK");
    dl.caveats.push(
        "Android asks you to allow installs from unknown sources for your browser \
         (Settings > Apps > Special app access > Install unknown apps) before it installs \
         an APK from a page."
            .into(),
    );
    dl.caveats.push(
        "An update installs over an existing app only if it is signed by the same key.".into(),
    );
    if test_only {
        dl.available = false;
        dl.reason = Some(
            "The app is marked testOnly: the package installer refuses it; use adb install -t."
                .into(),
        );
    }
    dl.primary = on_android;
    let file = artifact
        .file_name
        .map(|f| f.as_str().to_owned())
        .unwrap_or_else(|| "app.apk".into());
    let flags = if test_only { "-r -t" } else { "-r" };
    let adb = InstallAction {
        kind: ActionKind::CopyCommand,
        label: "Install over USB with adb".into(),
        url: None,
        command: Some(format!(
            "{} && adb install {flags} {}",
            links.download_command(&file),
            shell_quote(&file)
        )),
        available: true,
        reason: None,
        caveats: vec!["Needs USB debugging enabled on the device and adb on the computer.".into()],
        primary: !on_android,
    };
    let mut out = vec![dl, adb];
    out.sort_by_key(|a| !a.primary);
    out
}

/// The signers a device of each SDK range verifies (`details.signers_by_sdk`), or, for an
/// inspection stored before that was recorded, every signer over all SDKs.
fn sdk_ranges(i: &Inspection) -> Vec<(u64, u64, Vec<String>)> {
    let from_details: Option<Vec<(u64, u64, Vec<String>)>> = i
        .details
        .get("signers_by_sdk")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    let lo = r.get("min_sdk")?.as_u64()?;
                    let hi = r.get("max_sdk")?.as_u64()?;
                    let certs = r
                        .get("sha256")?
                        .as_array()?
                        .iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect();
                    Some((lo, hi, certs))
                })
                .collect()
        });
    match from_details {
        Some(r) if !r.is_empty() => r,
        _ => {
            let all: Vec<String> = i
                .signature
                .signers
                .iter()
                .map(|s| s.sha256.clone())
                .collect();
            if all.is_empty() {
                Vec::new()
            } else {
                vec![(1, u64::from(u32::MAX), all)]
            }
        }
    }
}

fn sdk_label(lo: u64, hi: u64) -> String {
    if hi >= u64::from(u32::MAX) / 2 {
        format!("SDK {lo}+")
    } else if lo == hi {
        format!("SDK {lo}")
    } else {
        format!("SDK {lo}-{hi}")
    }
}

/// An update must verify, on every device that has the current release, with the signer
/// that device verified the current release with, or with a new key whose v3 lineage
/// includes it (only devices on SDK 28 and later read the lineage). Compared per SDK range:
/// after a rotation, old devices verify the v1/v2 signer and new ones the v3 signer.
pub fn check_continuity(current: &Inspection, next: &Inspection) -> Vec<Finding> {
    let cur = sdk_ranges(current);
    let nxt = sdk_ranges(next);
    if cur.is_empty() || nxt.is_empty() {
        return Vec::new();
    }
    let lineage: Vec<&str> = next
        .details
        .get("lineage")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|n| n.get("sha256").and_then(|s| s.as_str()))
                .collect()
        })
        .unwrap_or_default();
    // A current release inspected before signers were recorded per SDK range lists only its
    // newest scheme's signers: the update keeps it when it carries them, or a lineage from
    // them, in any scheme.
    if !current.details.contains_key("signers_by_sdk") {
        let legacy = &cur[0].2;
        let all: Vec<&str> = next
            .signature
            .signers
            .iter()
            .map(|s| s.sha256.as_str())
            .collect();
        if legacy.iter().all(|c| all.contains(&c.as_str())) {
            return Vec::new();
        }
        if legacy.iter().all(|c| lineage.contains(&c.as_str())) {
            return vec![rotated_finding(next)];
        }
        return vec![changed_finding(
            current,
            next,
            &[format!(
                "signed by {} but the current release by {}",
                all.join(", "),
                legacy.join(", ")
            )],
        )];
    }
    let mut rotated = false;
    let mut broken: Vec<String> = Vec::new();
    for (clo, chi, csign) in &cur {
        for (nlo, nhi, nsign) in &nxt {
            let lo = (*clo).max(*nlo);
            let hi = (*chi).min(*nhi);
            if lo > hi {
                continue;
            }
            let same = csign.len() == nsign.len() && csign.iter().all(|c| nsign.contains(c));
            if same {
                continue;
            }
            if hi >= LINEAGE_SDK && csign.iter().all(|c| lineage.contains(&c.as_str())) {
                rotated = true;
                if lo < LINEAGE_SDK {
                    broken.push(format!(
                        "{}: signed by {} but the current release by {} (a v3 lineage helps only SDK 28+)",
                        sdk_label(lo, LINEAGE_SDK - 1),
                        nsign.join(", "),
                        csign.join(", ")
                    ));
                }
                continue;
            }
            broken.push(format!(
                "{}: signed by {} but the current release by {}",
                sdk_label(lo, hi),
                nsign.join(", "),
                csign.join(", ")
            ));
        }
    }
    if !broken.is_empty() {
        return vec![changed_finding(current, next, &broken)];
    }
    if rotated {
        return vec![rotated_finding(next)];
    }
    Vec::new()
}

fn changed_finding(current: &Inspection, next: &Inspection, why: &[String]) -> Finding {
    Finding::error(
        "android.signer.changed",
        format!(
            "{}: devices that have {} refuse this update: {}",
            next.file,
            current.file,
            why.join("; ")
        ),
    )
}

fn rotated_finding(next: &Inspection) -> Finding {
    Finding::info(
        "android.signer.rotated",
        format!(
            "{}: signed by a new key; its v3 lineage shows rotation from the current signer",
            next.file
        ),
    )
}

/// The first SDK (Android 9) that reads a v3 proof-of-rotation lineage.
const LINEAGE_SDK: u64 = 28;

#[cfg(test)]
mod fit_tests {
    use super::*;
    use platform::{Device, FitRank, Inspection};

    #[test]
    fn min_sdk_and_bundles_decide_the_fit() {
        let kind: platform::Kind = "apk".parse().unwrap();
        let mut i = Inspection::new("a.apk", 1, "android".parse().unwrap(), kind.clone());
        i.min_os = Some("33".into());
        let v = ArtifactView {
            id: "art_1",
            file_name: None,
            kind: &kind,
            size: 1,
            sha256: None,
            arch: None,
            install_mode: None,
            link: None,
            inspection: Some(&i),
            notarization: None,
            app_name: "a",
        };
        let android = |n: &str| {
            Device::from_user_agent(&format!("Mozilla/5.0 (Linux; Android {n}; Pixel)"), None)
        };
        assert_eq!(fit(&v, &android("14")).rank, FitRank::Installs);
        let f = fit(&v, &android("12"));
        assert_eq!(f.rank, FitRank::WillNotRun);
        assert!(f.note.unwrap().contains("API level 33"));
        let aab: platform::Kind = "aab".parse().unwrap();
        let b = ArtifactView {
            kind: &aab,
            inspection: None,
            ..v.clone()
        };
        assert_eq!(fit(&b, &android("14")).rank, FitRank::Fits);
        let iphone = Device::from_user_agent(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
            None,
        );
        assert_eq!(fit(&v, &iphone).rank, FitRank::Elsewhere);
        assert_eq!(api_level(14), Some(34));
        assert_eq!(api_level(4), None);
    }
}
