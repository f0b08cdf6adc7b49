//! The three iOS delivery modes, kept apart: a TestFlight link, an enterprise OTA install
//! (itms-services, https only) and a plain file download that installs nothing.

use platform::{
    ActionKind, ArtifactView, Client, Document, Finding, Inspection, InstallAction, InstallMode,
    InvalidValue, Links, ModeInfo, PageFact, Parse, Signature,
};

use crate::profile::{ProfileType, profile_of};
use plist::{Dictionary, Value};

/// The three iOS delivery modes. Stored and sent as their ids (the platform contract knows
/// modes only as strings the target declares, [`MODES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IosMode {
    /// A stored TestFlight link; the page opens Apple's flow.
    Testflight,
    /// An itms-services OTA manifest for enterprise, ad hoc or development builds.
    Enterprise,
    /// An authenticated download, presented as a file, not as an install.
    ArtifactOnly,
}

/// What the iOS target declares: the ids and meanings of [`IosMode`].
pub const MODES: &[ModeInfo] = &[
    ModeInfo {
        id: "testflight",
        description: "A TestFlight invite link; the install page opens Apple's TestFlight flow.",
        default: false,
    },
    ModeInfo {
        id: "enterprise",
        description: "An over-the-air install (itms-services, https only) of an enterprise, ad hoc or development build.",
        default: false,
    },
    ModeInfo {
        id: "artifact-only",
        description: "A download of the IPA as a file, for Xcode or Apple Configurator; it installs nothing by tapping.",
        default: false,
    },
];

impl IosMode {
    pub fn id(self) -> &'static str {
        match self {
            Self::Testflight => MODES[0].id,
            Self::Enterprise => MODES[1].id,
            Self::ArtifactOnly => MODES[2].id,
        }
    }

    /// The iOS mode a stored mode id names; `None` for an id iOS does not declare.
    pub fn from_mode(mode: &InstallMode) -> Option<Self> {
        [Self::Testflight, Self::Enterprise, Self::ArtifactOnly]
            .into_iter()
            .find(|m| m.id() == mode.as_str())
    }

    pub fn mode(self) -> InstallMode {
        self.id().parse().expect("declared mode ids are valid")
    }
}

impl std::fmt::Display for IosMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

pub fn default_mode(i: &Inspection) -> Option<IosMode> {
    match i.kind.as_str() {
        "testflight" => Some(IosMode::Testflight),
        "ipa" => Some(match profile_of(i).map(|p| p.profile_type) {
            Some(ProfileType::Enterprise | ProfileType::Adhoc | ProfileType::Development) => {
                IosMode::Enterprise
            }
            Some(ProfileType::Appstore) | None => IosMode::ArtifactOnly,
        }),
        _ => None,
    }
}

pub fn check_mode(i: &Inspection, mode: IosMode) -> Vec<Finding> {
    let file = &i.file;
    let mut out = Vec::new();
    match (i.kind.as_str(), mode) {
        ("testflight", IosMode::Testflight) => {}
        ("testflight", _) => out.push(Finding::error(
            "ios.install.mode_unfit",
            format!("{file}: a TestFlight link installs through TestFlight only, not {mode}"),
        )),
        ("ipa", IosMode::Testflight) => out.push(Finding::error(
            "ios.install.mode_unfit",
            format!(
                "{file}: an IPA file cannot be delivered through TestFlight by dist; upload it to App Store Connect and add a separate entry with a TestFlight \"link\""
            ),
        )),
        ("ipa", IosMode::Enterprise) => {
            let blockers: Vec<String> = i
                .findings
                .iter()
                .filter(|f| INSTALL_ONLY.contains(&f.code.as_str()))
                .map(|f| format!("{} ({})", f.message, f.code))
                .collect();
            if !blockers.is_empty() {
                out.push(Finding::error(
                    "ios.install.blocked",
                    format!(
                        "{file}: an enterprise (OTA) install would fail: {}; fix the signing, or ship the IPA as a file with \"install\": \"artifact-only\"",
                        blockers.join("; ")
                    ),
                ));
            }
            out.extend(check_enterprise_profile(i));
        }
        ("ipa", IosMode::ArtifactOnly) => {}
        (kind, _) => out.push(Finding::error(
            "ios.install.not_publishable",
            format!("{file}: a {kind} is for dist inspect only and has no install mode"),
        )),
    }
    out
}

/// Problems that stop an install on a device but leave the file itself sound: an expired or
/// untrusted profile, a certificate past its date, a simulator build. An IPA shipped as a file
/// (artifact-only) carries them as warnings; the enterprise mode turns them into one blocking
/// `ios.install.blocked` error. A signature that does not verify is never softened: the file
/// is not what was signed.
pub const INSTALL_ONLY: &[&str] = &[
    "ios.profile.missing",
    "ios.profile.expired",
    "ios.profile.not_yet_valid",
    "ios.profile.untrusted",
    "ios.profile.unsigned",
    "ios.profile.app_id_mismatch",
    "ios.profile.team_mismatch",
    "ios.profile.certificate_not_included",
    "ios.signature.missing",
    "ios.signature.adhoc",
    "ios.signature.untrusted",
    "ios.signature.certificate_expired",
    "ios.signature.certificate_not_yet_valid",
    "ios.build.simulator",
    "ios.build.encrypted",
    "ios.extension.profile_missing",
    "ios.extension.profile_expired",
    "ios.extension.team_mismatch",
    "ios.extension.app_id_mismatch",
];

/// Lowers install-only errors of an IPA to warnings; `check_mode` raises them again for the
/// modes that install.
pub fn soften_install_only(i: &mut Inspection) {
    for f in &mut i.findings {
        if f.severity == platform::Severity::Error && INSTALL_ONLY.contains(&f.code.as_str()) {
            f.severity = platform::Severity::Warning;
        }
    }
}

fn check_enterprise_profile(i: &Inspection) -> Vec<Finding> {
    let file = &i.file;
    let mut out = Vec::new();
    match &profile_of(i) {
            None => out.push(Finding::error(
                "ios.install.profile_missing",
                format!("{file}: enterprise (OTA) install needs an embedded provisioning profile, and this IPA has none"),
            )),
            Some(p) => match p.profile_type {
                ProfileType::Appstore => out.push(Finding::error(
                    "ios.install.profile_unfit",
                    format!(
                        "{file}: the App Store profile {:?} cannot install over the air; use artifact-only, or re-sign with an ad hoc or enterprise profile",
                        p.name
                    ),
                )),
                ProfileType::Adhoc | ProfileType::Development => out.push(Finding::info(
                    "ios.install.devices_only",
                    format!(
                        "{file}: the {} profile lets only its {} registered device(s) install",
                        if p.profile_type == ProfileType::Adhoc { "ad hoc" } else { "development" },
                        p.devices
                    ),
                )),
                ProfileType::Enterprise => {}
            },
    }
    out
}

/// Validates a TestFlight public link: `https://testflight.apple.com/join/<8 to 12 letters or digits>`.
pub fn validate_testflight_url(url: &str) -> Result<(), InvalidValue> {
    let code = url.strip_prefix("https://testflight.apple.com/join/");
    match code {
        Some(code)
            if (8..=12).contains(&code.len())
                && code.bytes().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Ok(())
        }
        _ => Err(InvalidValue {
            what: "TestFlight URL",
            value: url.chars().take(200).collect(),
            expected: "https://testflight.apple.com/join/ followed by the 8-character invite code"
                .into(),
        }),
    }
}

pub fn testflight_link(url: &str) -> Result<Inspection, String> {
    validate_testflight_url(url).map_err(|e| e.to_string())?;
    let mut i = Inspection::new(
        url.rsplit('/').next().unwrap_or(url),
        0,
        "ios".parse().expect("literal platform id"),
        "testflight".parse().expect("literal kind"),
    );
    i.parse = Parse::Ok;
    i.signature = Signature::unknown();
    // The URL itself is the artifact's generic `link`, stored and sent by distd; the
    // inspection keeps no platform-named copy of it.
    Ok(i)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn mode_of(a: &ArtifactView<'_>) -> IosMode {
    a.install_mode
        .as_ref()
        .and_then(IosMode::from_mode)
        .or_else(|| a.inspection.and_then(default_mode))
        .unwrap_or(if a.kind.as_str() == "testflight" {
            IosMode::Testflight
        } else {
            IosMode::ArtifactOnly
        })
}

pub fn actions(a: &ArtifactView<'_>, links: &Links, client: &Client) -> Vec<InstallAction> {
    // iPhone, iPad and iPod touch say so in their User-Agent (an iPad asking for the desktop
    // site does not, and is told to open the page on the device, which it is: harmless).
    let on_device = client.user_agent_names(&["iphone", "ipad", "ipod"]);
    let elsewhere = (!on_device)
        .then(|| "Open this page on the iPhone or iPad that should install the app.".to_owned());
    let kind = a.kind.as_str();
    if kind != "ipa" && kind != "testflight" {
        let mut d = InstallAction::download(links, format!("Download {kind} file"));
        d.primary = true;
        d.caveats
            .push("For inspection only: this file is not an installable app.".into());
        return vec![d];
    }
    let profile = a.inspection.and_then(profile_of);
    let profile = profile.as_ref();
    match mode_of(a) {
        IosMode::Testflight => {
            let mut caveats = vec![
                "Needs Apple's TestFlight app; the invite may be limited in testers or closed by the team.".to_owned(),
            ];
            caveats.extend(elsewhere);
            vec![InstallAction {
                kind: ActionKind::OpenUrl,
                label: "Open in TestFlight".into(),
                url: a.link.map(str::to_owned),
                command: None,
                available: a.link.is_some(),
                reason: a
                    .link
                    .is_none()
                    .then(|| "No TestFlight link is stored for this release.".to_owned()),
                caveats,
                primary: true,
            }]
        }
        IosMode::Enterprise => {
            let mut caveats = Vec::new();
            match profile.map(|p| p.profile_type) {
                Some(ProfileType::Enterprise) => caveats.push(
                    "After installing, trust the developer in Settings > General > VPN & Device Management before the app opens.".to_owned(),
                ),
                Some(ProfileType::Adhoc | ProfileType::Development) => caveats.push(format!(
                    "Installs only on the {} device(s) registered in the provisioning profile.",
                    profile.map(|p| p.devices).unwrap_or(0)
                )),
                _ => {}
            }
            caveats.extend(elsewhere);
            let expired = a
                .inspection
                .is_some_and(|i| i.findings.iter().any(|f| f.code == "ios.profile.expired"));
            let unfit = match profile.map(|p| p.profile_type) {
                None => Some(
                    "The IPA carries no provisioning profile, so iOS cannot install it over the air.",
                ),
                Some(ProfileType::Appstore) => Some(
                    "Signed with an App Store profile: only TestFlight or the App Store can install it.",
                ),
                Some(_) => None,
            };
            let (available, reason, url) = if let Some(why) = unfit {
                (false, Some(why.to_owned()), None)
            } else if !links.is_https() {
                (
                    false,
                    Some("iOS refuses over-the-air installs from plain http links; serve dist over https (an https:// public URL) to enable this install.".to_owned()),
                    None,
                )
            } else if expired {
                (
                    false,
                    Some(
                        "The provisioning profile has expired; iOS would refuse the install."
                            .to_owned(),
                    ),
                    None,
                )
            } else {
                (
                    true,
                    None,
                    Some(format!(
                        "itms-services://?action=download-manifest&url={}",
                        url_encode(&links.document("manifest.plist"))
                    )),
                )
            };
            let mut dl = InstallAction::download(links, "Download IPA file");
            dl.caveats.push(
                "A file for Xcode or Apple Configurator; it does not install by tapping.".into(),
            );
            vec![
                InstallAction {
                    kind: ActionKind::OpenUrl,
                    label: "Install on this device".into(),
                    url,
                    command: None,
                    available,
                    reason,
                    caveats,
                    primary: true,
                },
                dl,
            ]
        }
        IosMode::ArtifactOnly => {
            let mut dl = InstallAction::download(links, "Download IPA file");
            dl.primary = true;
            dl.caveats.push(
                "This is a file, not an install: tapping it on an iPhone or iPad will not install the app. Install through TestFlight or the App Store, or with Xcode or Apple Configurator.".into(),
            );
            if profile.is_some_and(|p| p.profile_type == ProfileType::Appstore) {
                dl.caveats.push(
                    "Signed with an App Store profile: only App Store Connect can deliver it to devices.".into(),
                );
            }
            vec![dl]
        }
    }
}

/// How well an iOS artifact fits the device a page is open on: TestFlight and over-the-air
/// builds install on an iPhone or iPad (unless the device's iOS is older than the build needs,
/// or the build is for the other family); an artifact-only IPA is a file for a computer.
pub fn fit(a: &ArtifactView<'_>, device: &platform::Device) -> platform::Fit {
    use platform::{DeviceOs, Fit, FitRank};
    if device.os != DeviceOs::Ios {
        let what = if a.kind.as_str() == "testflight" {
            "A TestFlight invite for iPhone and iPad"
        } else {
            "For iPhone and iPad"
        };
        return Fit::new(
            FitRank::Elsewhere,
            Some(format!(
                "{what}; this page is open on {}.",
                device.describe()
            )),
        );
    }
    if let Some(i) = a.inspection {
        if let (Some(min), Some(have)) = (i.min_os.as_deref(), device.os_version.as_deref())
            && older(have, min)
        {
            return Fit::new(
                FitRank::WillNotRun,
                Some(format!(
                    "Needs iOS {min} or later; this device runs {have}."
                )),
            );
        }
        if let Some(families) = i.device_family.as_ref().filter(|f| !f.is_empty()) {
            let has = |f: &str| families.iter().any(|x| x == f);
            // iPhone apps run on an iPad; iPad-only apps do not run on an iPhone.
            if !device.tablet && !has("iphone") {
                return Fit::new(
                    FitRank::WillNotRun,
                    Some("Built for iPad only; this is an iPhone.".into()),
                );
            }
        }
    }
    match mode_of(a) {
        IosMode::Testflight | IosMode::Enterprise => Fit::new(FitRank::Installs, None),
        IosMode::ArtifactOnly => Fit::new(
            FitRank::Fits,
            Some("A file for Xcode or Apple Configurator: tapping it installs nothing.".into()),
        ),
    }
}

/// Whether dotted version `have` is older than `need` (`16.4` < `17.0`).
fn older(have: &str, need: &str) -> bool {
    let parts = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (mut h, mut n) = (parts(have), parts(need));
    let len = h.len().max(n.len());
    h.resize(len, 0);
    n.resize(len, 0);
    h < n
}

/// The UDIDs an ad hoc or development profile lets install, as the inspection keeps them.
pub fn provisioned_devices(i: &Inspection) -> Option<Vec<String>> {
    let list = i
        .details
        .get("profile")?
        .get("provisioned_devices")?
        .as_array()?;
    Some(
        list.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
    )
}

/// What the install page tells a tester about an IPA before they try: the iOS version and
/// devices it needs and, for an over-the-air build, whose devices its profile lets in.
pub fn page_facts(a: &ArtifactView<'_>) -> Vec<PageFact> {
    let Some(i) = a.inspection.filter(|i| i.kind.as_str() == "ipa") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(min) = &i.min_os {
        out.push(PageFact::new("Requires", format!("iOS {min} or later")));
    }
    if let Some(families) = i.device_family.as_ref().filter(|f| !f.is_empty()) {
        let names: Vec<&str> = families
            .iter()
            .map(|f| match f.as_str() {
                "iphone" => "iPhone",
                "ipad" => "iPad",
                "tv" => "Apple TV",
                "watch" => "Apple Watch",
                "vision" => "Apple Vision",
                other => other,
            })
            .collect();
        out.push(PageFact::new("Devices", names.join(", ")));
    }
    if let Some(p) = profile_of(i) {
        let reach = match p.profile_type {
            ProfileType::Enterprise => "enterprise: any device that trusts the team".to_owned(),
            ProfileType::Adhoc => format!("ad hoc: {} registered device(s)", p.devices),
            ProfileType::Development => format!("development: {} registered device(s)", p.devices),
            ProfileType::Appstore => "App Store: not installable from this page".to_owned(),
        };
        // `expires` is RFC 3339; the date is what a tester needs.
        let expires = p.expires.get(..10).unwrap_or(&p.expires);
        out.push(PageFact::new(
            "Provisioning profile",
            format!("{reach}; expires {expires}"),
        ));
    }
    out
}

/// What an OTA manifest names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtaManifest<'a> {
    /// Absolute https URL of the IPA.
    pub software_package: &'a str,
    /// Absolute https URL of a PNG icon (57 px and 512 px entries both use it).
    pub icon: Option<&'a str>,
    pub bundle_identifier: &'a str,
    pub bundle_version: &'a str,
    pub title: &'a str,
}

/// The itms-services manifest plist (XML). URLs must be absolute https URLs: iOS ignores
/// anything else. Every string goes through [`platform::text::xml_text`]: a control character
/// in an Info.plist value would otherwise make the document malformed XML (issue 9, item 10).
pub fn ota_manifest_plist(m: &OtaManifest<'_>) -> Result<Vec<u8>, String> {
    for url in std::iter::once(m.software_package).chain(m.icon) {
        if !url.starts_with("https://") {
            return Err(format!(
                "{url:?} is not an absolute https URL; iOS installs over https only"
            ));
        }
    }
    let string = |s: &str| Value::String(platform::text::xml_text(s).into_owned());
    let asset = |kind: &str, url: &str| {
        let mut d = Dictionary::new();
        d.insert("kind".into(), string(kind));
        d.insert("url".into(), string(url));
        Value::Dictionary(d)
    };
    let mut assets = vec![asset("software-package", m.software_package)];
    if let Some(icon) = m.icon {
        assets.push(asset("display-image", icon));
        assets.push(asset("full-size-image", icon));
    }
    let mut metadata = Dictionary::new();
    metadata.insert("bundle-identifier".into(), string(m.bundle_identifier));
    metadata.insert("bundle-version".into(), string(m.bundle_version));
    metadata.insert("kind".into(), string("software"));
    metadata.insert("title".into(), string(m.title));
    let mut item = Dictionary::new();
    item.insert("assets".into(), Value::Array(assets));
    item.insert("metadata".into(), Value::Dictionary(metadata));
    let mut root = Dictionary::new();
    root.insert("items".into(), Value::Array(vec![Value::Dictionary(item)]));
    let mut out = Vec::new();
    plist::to_writer_xml(&mut out, &Value::Dictionary(root)).map_err(|e| e.to_string())?;
    Ok(out)
}

pub fn document(name: &str, a: &ArtifactView<'_>, links: &Links) -> Option<Document> {
    if name != "manifest.plist" || a.kind.as_str() != "ipa" {
        return None;
    }
    let i = a.inspection?;
    let bundle_identifier = i.identity.as_deref()?;
    let bundle_version = i.version.as_deref().or(i.build.as_deref())?;
    let title = if a.app_name.is_empty() {
        i.display_name.as_deref().unwrap_or(bundle_identifier)
    } else {
        a.app_name
    };
    let body = ota_manifest_plist(&OtaManifest {
        software_package: &links.download,
        icon: links.icon.as_deref(),
        bundle_identifier,
        bundle_version,
        title,
    })
    .ok()?;
    Some(Document {
        content_type: "application/xml",
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn links(base: &str) -> Links {
        Links {
            base: base.into(),
            download: format!("{base}/d/abc/App.ipa"),
            icon: Some(format!("{base}/d/abc/icon.png")),
            documents: format!("{base}/docs/abc"),
        }
    }

    fn ipa(ptype: Option<ProfileType>) -> Inspection {
        let mut i = Inspection::new("App.ipa", 1, "ios".parse().unwrap(), "ipa".parse().unwrap());
        i.identity = Some("com.acme.app".into());
        i.version = Some("1.2 & <3>".into());
        if let Some(t) = ptype {
            let p = Profile {
                profile_type: t,
                name: "P".into(),
                team_id: "T".into(),
                uuid: "u".into(),
                expires: "2030-01-01T00:00:00Z".into(),
                devices: 2,
                provisions_all_devices: t == ProfileType::Enterprise,
                get_task_allow: false,
            };
            i.details
                .insert("profile".into(), serde_json::to_value(p).unwrap());
        }
        i
    }

    fn view<'a>(i: &'a Inspection, kind: &'a platform::Kind) -> ArtifactView<'a> {
        ArtifactView {
            id: "abc",
            file_name: None,
            kind,
            size: 1,
            sha256: None,
            arch: None,
            install_mode: None,
            link: None,
            inspection: Some(i),
            notarization: None,
            app_name: "Acme",
        }
    }

    #[test]
    fn fit_follows_the_device_its_os_and_the_mode() {
        use platform::{Device, FitRank};
        let iphone = |v: &str| {
            Device::from_user_agent(
                &format!("Mozilla/5.0 (iPhone; CPU iPhone OS {v} like Mac OS X)"),
                None,
            )
        };
        let kind: platform::Kind = "ipa".parse().unwrap();
        let mut i = ipa(Some(ProfileType::Adhoc));
        i.min_os = Some("16.0".into());
        let mut v = view(&i, &kind);
        v.install_mode = Some(IosMode::Enterprise.mode());
        assert_eq!(fit(&v, &iphone("17_4")).rank, FitRank::Installs);
        let old = fit(&v, &iphone("15_7"));
        assert_eq!(old.rank, FitRank::WillNotRun);
        assert_eq!(
            old.note.as_deref(),
            Some("Needs iOS 16.0 or later; this device runs 15.7.")
        );
        v.install_mode = Some(IosMode::ArtifactOnly.mode());
        assert_eq!(fit(&v, &iphone("17_4")).rank, FitRank::Fits);
        let mac = Device::from_user_agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)", None);
        assert_eq!(fit(&v, &mac).rank, FitRank::Elsewhere);
        assert!(older("9.3", "10.0") && !older("10.0", "10") && !older("17.4.1", "17.4"));
    }

    #[test]
    fn only_ad_hoc_and_development_profiles_list_devices() {
        let mut i = ipa(Some(ProfileType::Adhoc));
        assert_eq!(provisioned_devices(&i), None, "no list stored: none");
        i.details.insert(
            "profile".into(),
            serde_json::json!({"type": "adhoc", "provisioned_devices": ["00008030-ABC"]}),
        );
        assert_eq!(
            provisioned_devices(&i),
            Some(vec!["00008030-ABC".to_owned()])
        );
    }

    #[test]
    fn manifest_plist_round_trips() {
        let body = ota_manifest_plist(&OtaManifest {
            software_package: "https://x.example/a.ipa?t=1&u=2",
            icon: Some("https://x.example/i.png"),
            bundle_identifier: "com.acme.app",
            bundle_version: "1.0 <beta>",
            title: "Acme & Co",
        })
        .unwrap();
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.contains("&amp;"), "{text}");
        let v = Value::from_reader_xml(&body[..]).unwrap();
        let item = &v.as_dictionary().unwrap()["items"].as_array().unwrap()[0];
        let item = item.as_dictionary().unwrap();
        let assets = item["assets"].as_array().unwrap();
        let kinds: Vec<&str> = assets
            .iter()
            .map(|a| a.as_dictionary().unwrap()["kind"].as_string().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["software-package", "display-image", "full-size-image"]
        );
        assert_eq!(
            assets[0].as_dictionary().unwrap()["url"].as_string(),
            Some("https://x.example/a.ipa?t=1&u=2")
        );
        let md = item["metadata"].as_dictionary().unwrap();
        assert_eq!(md["bundle-identifier"].as_string(), Some("com.acme.app"));
        assert_eq!(md["bundle-version"].as_string(), Some("1.0 <beta>"));
        assert_eq!(md["kind"].as_string(), Some("software"));
        assert_eq!(md["title"].as_string(), Some("Acme & Co"));
        assert!(
            ota_manifest_plist(&OtaManifest {
                software_package: "http://x.example/a.ipa",
                icon: None,
                bundle_identifier: "a",
                bundle_version: "1",
                title: "t"
            })
            .is_err()
        );
    }

    /// Issue 9, item 10: control characters from Info.plist made `manifest.plist` malformed
    /// XML (XML 1.0 cannot carry them, not even as `&#1;`). The document must always parse.
    #[test]
    fn manifest_plist_is_well_formed_whatever_the_metadata() {
        let body = ota_manifest_plist(&OtaManifest {
            software_package: "https://x.example/a.ipa",
            icon: None,
            bundle_identifier: "com.acme.app\u{0}",
            bundle_version: "1.0\u{1b}[31m\u{7}",
            title: "Acme\u{1}\u{8}\u{fffe} & \u{202e}Co\u{85}",
        })
        .unwrap();
        let text = String::from_utf8(body.clone()).unwrap();
        let strict = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        roxmltree::Document::parse_with_options(&text, strict)
            .unwrap_or_else(|e| panic!("{e}:\n{text}"));
        let v = Value::from_reader_xml(&body[..]).unwrap_or_else(|e| panic!("{e}:\n{text}"));
        let item = &v.as_dictionary().unwrap()["items"].as_array().unwrap()[0];
        let md = item.as_dictionary().unwrap()["metadata"]
            .as_dictionary()
            .unwrap();
        // What XML cannot carry is written visibly; the rest (bidi, C1) stays data.
        assert_eq!(
            md["bundle-identifier"].as_string(),
            Some("com.acme.app\\u{0}")
        );
        assert_eq!(
            md["bundle-version"].as_string(),
            Some("1.0\\u{1b}[31m\\u{7}")
        );
        assert_eq!(
            md["title"].as_string(),
            Some("Acme\\u{1}\\u{8}\\u{fffe} & \u{202e}Co\u{85}")
        );

        // The same through the served document, from an inspection's Info.plist values.
        let mut i = ipa(Some(ProfileType::Adhoc));
        i.version = Some("2.0\u{1}".into());
        let kind: platform::Kind = "ipa".parse().unwrap();
        let doc = document(
            "manifest.plist",
            &view(&i, &kind),
            &links("https://d.example"),
        )
        .unwrap();
        let v = Value::from_reader_xml(&doc.body[..]).unwrap();
        let item = &v.as_dictionary().unwrap()["items"].as_array().unwrap()[0];
        let md = item.as_dictionary().unwrap()["metadata"]
            .as_dictionary()
            .unwrap();
        assert_eq!(md["bundle-version"].as_string(), Some("2.0\\u{1}"));
    }

    #[test]
    fn defaults_follow_the_profile() {
        assert_eq!(
            default_mode(&ipa(Some(ProfileType::Adhoc))),
            Some(IosMode::Enterprise)
        );
        assert_eq!(
            default_mode(&ipa(Some(ProfileType::Development))),
            Some(IosMode::Enterprise)
        );
        assert_eq!(
            default_mode(&ipa(Some(ProfileType::Enterprise))),
            Some(IosMode::Enterprise)
        );
        assert_eq!(
            default_mode(&ipa(Some(ProfileType::Appstore))),
            Some(IosMode::ArtifactOnly)
        );
        assert_eq!(default_mode(&ipa(None)), Some(IosMode::ArtifactOnly));
    }

    #[test]
    fn appstore_profile_in_enterprise_mode_is_an_error() {
        let f = check_mode(&ipa(Some(ProfileType::Appstore)), IosMode::Enterprise);
        assert!(
            f.iter().any(|f| f.code == "ios.install.profile_unfit"
                && f.severity == platform::Severity::Error)
        );
        assert!(check_mode(&ipa(Some(ProfileType::Enterprise)), IosMode::Enterprise).is_empty());
        assert!(!check_mode(&ipa(None), IosMode::Testflight).is_empty());
    }

    #[test]
    fn ota_link_only_over_https() {
        let i = ipa(Some(ProfileType::Enterprise));
        let kind: platform::Kind = "ipa".parse().unwrap();
        let client = Client::new("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)");
        let a = actions(&view(&i, &kind), &links("https://dist.example"), &client);
        assert_eq!(a[0].kind, ActionKind::OpenUrl);
        assert!(a[0].available);
        assert_eq!(
            a[0].url.as_deref(),
            Some(
                "itms-services://?action=download-manifest&url=https%3A%2F%2Fdist.example%2Fdocs%2Fabc%2Fmanifest.plist"
            )
        );
        let a = actions(&view(&i, &kind), &links("http://dist.local"), &client);
        assert!(!a[0].available);
        assert!(a[0].url.is_none());
        assert!(a[0].reason.as_deref().unwrap().contains("plain http"));
    }

    #[test]
    fn forced_enterprise_mode_never_offers_a_broken_link() {
        let i = ipa(Some(ProfileType::Appstore));
        let kind: platform::Kind = "ipa".parse().unwrap();
        let mut v = view(&i, &kind);
        v.install_mode = Some(IosMode::Enterprise.mode());
        let a = actions(
            &v,
            &links("https://d.example"),
            &Client::new("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"),
        );
        assert_eq!(a[0].kind, ActionKind::OpenUrl);
        assert!(!a[0].available && a[0].url.is_none());
        assert!(
            a[0].reason
                .as_deref()
                .unwrap()
                .contains("App Store profile")
        );
    }

    #[test]
    fn artifact_only_is_a_file() {
        let i = ipa(Some(ProfileType::Appstore));
        let kind: platform::Kind = "ipa".parse().unwrap();
        let a = actions(
            &view(&i, &kind),
            &links("https://d.example"),
            &Client::new("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"),
        );
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, ActionKind::Download);
        assert!(a[0].caveats[0].contains("not an install"));
        let doc = document(
            "manifest.plist",
            &view(&i, &kind),
            &links("https://d.example"),
        )
        .unwrap();
        assert!(
            String::from_utf8(doc.body)
                .unwrap()
                .contains("com.acme.app")
        );
    }

    #[test]
    fn page_facts_say_what_an_ipa_needs() {
        let mut i = ipa(Some(ProfileType::Adhoc));
        i.min_os = Some("15.0".into());
        i.device_family = Some(vec!["iphone".into(), "ipad".into()]);
        let kind: platform::Kind = "ipa".parse().unwrap();
        let facts = page_facts(&view(&i, &kind));
        assert_eq!(
            facts,
            [
                PageFact::new("Requires", "iOS 15.0 or later"),
                PageFact::new("Devices", "iPhone, iPad"),
                PageFact::new(
                    "Provisioning profile",
                    "ad hoc: 2 registered device(s); expires 2030-01-01"
                ),
            ]
        );
        let link = testflight_link("https://testflight.apple.com/join/ABCDEFGH").unwrap();
        let kind: platform::Kind = "testflight".parse().unwrap();
        assert!(page_facts(&view(&link, &kind)).is_empty());
    }

    #[test]
    fn a_desktop_is_told_to_open_the_page_on_the_device() {
        let link = testflight_link("https://testflight.apple.com/join/ABCDEFGH").unwrap();
        let kind: platform::Kind = "testflight".parse().unwrap();
        let mut v = view(&link, &kind);
        v.link = Some("https://testflight.apple.com/join/ABCDEFGH");
        let here = |ua: &str| {
            actions(&v, &links("https://d.example"), &Client::new(ua))[0]
                .caveats
                .iter()
                .any(|c| c.contains("Open this page on the iPhone or iPad"))
        };
        assert!(here("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"));
        assert!(!here("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)"));
    }

    #[test]
    fn testflight_links() {
        let i = testflight_link("https://testflight.apple.com/join/ABCDEFGH").unwrap();
        assert_eq!(i.kind.as_str(), "testflight");
        assert!(
            i.details.is_empty(),
            "the URL is the artifact's link: {:?}",
            i.details
        );
        assert_eq!(default_mode(&i), Some(IosMode::Testflight));
        assert!(testflight_link("https://example.com/join/ABCDEFGH").is_err());
        assert!(validate_testflight_url("http://testflight.apple.com/join/ABCDEFGH").is_err());
        assert!(validate_testflight_url("https://testflight.apple.com/join/AB").is_err());
        assert!(validate_testflight_url("https://evil.example/join/ABCDEFGH").is_err());
    }
}
