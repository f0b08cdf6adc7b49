//! Install actions and page facts: a download whose caveats carry the Gatekeeper sentence
//! that matches the artifact's notarization status, labelled by architecture when a release
//! has one file per architecture, and the command that installs it from a terminal.

use platform::{ActionKind, ArtifactView, Client, InstallAction, Links, PageFact, shell_quote};

use crate::notarization::Status;

/// The notarization status an inspection recorded (`details.notarization.status`).
pub fn status_of(i: &platform::Inspection) -> Option<Status> {
    i.details
        .get("notarization")
        .and_then(|n| n.get("status"))
        .and_then(|s| s.as_str())
        .and_then(Status::from_id)
}

fn arch_words(artifact: &ArtifactView<'_>) -> Option<String> {
    if let Some(a) = artifact.arch {
        return Some(match a.as_str() {
            "arm64" => "Apple silicon (arm64)".to_owned(),
            "x86_64" => "Intel (x86_64)".to_owned(),
            other => other.to_owned(),
        });
    }
    let i = artifact.inspection?;
    if i.details.get("universal").and_then(|u| u.as_bool()) == Some(true) {
        return Some("Apple silicon and Intel".into());
    }
    None
}

/// How a macOS artifact fits the device: the generic judgement, except that an app holding
/// both an Apple silicon and an Intel slice installs on every Mac. Safari does not say which
/// chip a Mac has, so without this a universal build would read "built for x86_64, arm64 only"
/// and rank below a file that names no architecture.
pub fn fit(artifact: &ArtifactView<'_>, device: &platform::Device) -> platform::Fit {
    let archs = platform::registry::artifact_archs(artifact);
    let normal: Vec<&str> = archs
        .iter()
        .filter_map(|a| platform::device::normal_arch(a))
        .collect();
    let universal = artifact.arch.is_none()
        && (normal.contains(&"x86_64") && normal.contains(&"arm64")
            || artifact
                .inspection
                .and_then(|i| i.details.get("universal"))
                .and_then(|u| u.as_bool())
                == Some(true));
    if device.os == platform::DeviceOs::Mac && universal {
        return platform::Fit::new(platform::FitRank::Installs, None);
    }
    platform::Fit::generic(Some(platform::DeviceOs::Mac), "macOS", &archs, device)
}

pub fn actions(artifact: &ArtifactView<'_>, links: &Links, client: &Client) -> Vec<InstallAction> {
    let kind = artifact.kind.as_str();
    let on_mac = client.user_agent_names(&["macintosh", "mac os x"])
        && !client.user_agent_names(&["iphone", "ipad"]);
    let status = artifact.inspection.and_then(status_of);
    let file = artifact
        .file_name
        .map(|f| f.as_str().to_owned())
        .unwrap_or_else(|| match kind {
            "pkg" => "installer.pkg".into(),
            "app-tar" => "app.tar.gz".into(),
            "dmg" => "app.dmg".into(),
            _ => "app.zip".into(),
        });
    let what = match kind {
        "pkg" => "installer package",
        "dmg" => "disk image",
        "app-tar" => "app (tar archive)",
        _ => "app (zip)",
    };
    let mut label = format!("Download {what}");
    if let Some(a) = arch_words(artifact) {
        label.push_str(&format!(" for {a}"));
    }
    let mut dl = InstallAction::download(links, label);
    dl.primary = true;
    match status {
        Some(s) => dl.caveats.push(s.gatekeeper().to_owned()),
        None => dl.caveats.push(
            "The file's signature was not read: what macOS says when it opens is unknown.".into(),
        ),
    }
    match kind {
        "pkg" => dl.caveats.push(
            "Open the downloaded package to run Installer; it asks for an administrator password when it installs for all users.".into(),
        ),
        "dmg" => dl.caveats.push(match dmg_content(artifact) {
            Some(DmgContent::Pkg(p)) => format!(
                "Open the downloaded disk image, then open {p} in its window to run Installer; eject the image afterwards."
            ),
            Some(DmgContent::App(a)) => format!(
                "Open the downloaded disk image, drag {a} to the Applications folder (the shortcut in its window), then eject the image."
            ),
            None => "Open the downloaded disk image and follow what its window shows; eject it afterwards.".into(),
        }),
        "app-tar" => dl.caveats.push(
            "Safari does not unpack tar archives: open it in Finder (Archive Utility) or run the command below, then move the app to Applications.".into(),
        ),
        _ => dl.caveats.push(
            "Safari unzips it into Downloads; move the app to Applications before opening it.".into(),
        ),
    }
    if !on_mac {
        dl.caveats
            .push("This is a macOS file: open this page on a Mac to install it.".into());
    }
    let q = shell_quote(&file);
    let fetch = links.download_command(&file);
    let command = match kind {
        "pkg" => format!("{fetch} && sudo installer -pkg {q} -target /"),
        "app-tar" => format!("{fetch} && tar -xf {q} -C /Applications"),
        "dmg" => {
            // A mount point of our own: the volume's name may hold spaces or clash.
            let mnt = "/tmp/dist-dmg";
            let attach =
                format!("{fetch} && hdiutil attach -nobrowse -readonly -mountpoint {mnt} {q}");
            match dmg_content(artifact) {
                Some(DmgContent::App(a)) => format!(
                    "{attach} && ditto {} {} ; hdiutil detach {mnt}",
                    shell_quote(&format!("{mnt}/{a}")),
                    shell_quote(&format!(
                        "/Applications/{}",
                        a.rsplit('/').next().unwrap_or(&a)
                    ))
                ),
                Some(DmgContent::Pkg(p)) => format!(
                    "{attach} && sudo installer -pkg {} -target / ; hdiutil detach {mnt}",
                    shell_quote(&format!("{mnt}/{p}"))
                ),
                None => attach,
            }
        }
        _ => format!("{fetch} && ditto -x -k {q} /Applications"),
    };
    let terminal = InstallAction {
        kind: ActionKind::CopyCommand,
        label: "Install from Terminal".into(),
        url: None,
        command: Some(command),
        available: true,
        reason: None,
        caveats: vec![
            "A file fetched with curl carries no quarantine flag, so Gatekeeper does not check it: install this way only what you trust.".into(),
        ],
        primary: false,
    };
    vec![dl, terminal]
}

/// What a disk image holds, as its inspection recorded it.
enum DmgContent {
    App(String),
    Pkg(String),
}

fn dmg_content(artifact: &ArtifactView<'_>) -> Option<DmgContent> {
    let d = &artifact.inspection?.details;
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    s("app")
        .map(DmgContent::App)
        .or_else(|| s("pkg").map(DmgContent::Pkg))
}

/// What the install page tells about a macOS artifact.
pub fn page_facts(artifact: &ArtifactView<'_>) -> Vec<PageFact> {
    let Some(i) = artifact.inspection else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(v) = &i.min_os {
        out.push(PageFact::new("Requires", format!("macOS {v} or later")));
    }
    if let Some(a) = &i.archs
        && !a.is_empty()
    {
        let universal = i.details.get("universal").and_then(|u| u.as_bool()) == Some(true);
        out.push(PageFact::new(
            "Architectures",
            if universal {
                format!("{} (universal)", a.join(", "))
            } else {
                a.join(", ")
            },
        ));
    }
    let signing = i
        .details
        .get("code_signature")
        .and_then(|c| c.get("signing"))
        .or_else(|| {
            i.details
                .get("installer_signature")
                .and_then(|c| c.get("signing"))
        })
        .and_then(|s| s.as_str());
    if let Some(s) = signing {
        let signer = i.signature.signers.first().map(|s| s.subject.as_str());
        out.push(PageFact::new(
            "Signed",
            match signer {
                Some(who) => format!("{s}, {who}"),
                None => s.to_owned(),
            },
        ));
    }
    if let Some(line) = crate::notarization::beside(status_of(i), artifact.notarization) {
        out.push(PageFact::new("Notarization", line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{Inspection, Kind};
    use serde_json::json;

    fn links() -> Links {
        Links {
            base: "https://d.example".into(),
            download: "https://d.example/dl/1".into(),
            icon: None,
            documents: "https://d.example/i/1".into(),
        }
    }

    fn view<'a>(
        kind: &'a Kind,
        name: &'a platform::FileName,
        arch: Option<&'a platform::Arch>,
        i: &'a Inspection,
    ) -> ArtifactView<'a> {
        ArtifactView {
            id: "art_1",
            file_name: Some(name),
            kind,
            size: 1,
            sha256: None,
            arch,
            install_mode: None,
            link: None,
            inspection: Some(i),
            notarization: None,
            app_name: "Tiny",
        }
    }

    fn inspection(status: &str, universal: bool) -> Inspection {
        let mut i = Inspection::new(
            "Tiny.zip",
            1,
            "macos".parse().unwrap(),
            "app-zip".parse().unwrap(),
        );
        i.details
            .insert("notarization".into(), json!({"status": status}));
        i.details.insert("universal".into(), json!(universal));
        i
    }

    #[test]
    fn the_gatekeeper_sentence_follows_the_status_and_the_label_the_arch() {
        let mac = Client::new("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15");
        let k: Kind = "app-zip".parse().unwrap();
        let n: platform::FileName = "Tiny.zip".parse().unwrap();
        let arm: platform::Arch = "arm64".parse().unwrap();
        for (status, says) in [
            ("stapled", "notarization ticket is attached"),
            ("not-stapled", "asks Apple online"),
            ("not-notarizable", "Open Anyway"),
        ] {
            let i = inspection(status, false);
            let view = view(&k, &n, Some(&arm), &i);
            let a = actions(&view, &links(), &mac);
            assert_eq!(a[0].kind, ActionKind::Download);
            assert!(a[0].primary);
            assert!(
                a[0].label.contains("Apple silicon (arm64)"),
                "{}",
                a[0].label
            );
            assert!(
                a[0].caveats[0].contains(says),
                "{status}: {:?}",
                a[0].caveats
            );
            assert!(
                a[1].command
                    .as_deref()
                    .unwrap()
                    .contains("ditto -x -k 'Tiny.zip' /Applications"),
                "{:?}",
                a[1].command
            );
        }
        // A universal app without an artifact arch says so; a non-Mac client is told.
        let i = inspection("stapled", true);
        let view = view(&k, &n, None, &i);
        let a = actions(
            &view,
            &links(),
            &Client::new("Mozilla/5.0 (X11; Linux x86_64)"),
        );
        assert!(a[0].label.contains("Apple silicon and Intel"));
        assert!(
            a[0].caveats
                .iter()
                .any(|c| c.contains("open this page on a Mac"))
        );
        let facts = page_facts(&view);
        assert!(
            facts
                .iter()
                .any(|f| f.label == "Notarization" && f.value == "stapled (the file)")
        );
        // A submission dist.json lists is shown beside it, and a disagreement in words.
        let claim = platform::Notarization {
            submission_id: "2efe2717-52ef-43a5-96dc-0797e4ca1041".into(),
            status: platform::NotarizationStatus::Accepted,
        };
        let unstapled = inspection("not-stapled", true);
        let view = ArtifactView {
            notarization: Some(&claim),
            inspection: Some(&unstapled),
            ..view
        };
        let facts = page_facts(&view);
        let n = facts.iter().find(|f| f.label == "Notarization").unwrap();
        assert!(
            n.value.contains("accepted (dist.json). They disagree")
                && n.value.contains("no ticket is stapled"),
            "{}",
            n.value
        );
    }

    #[test]
    fn a_universal_app_installs_on_any_mac_and_a_one_chip_app_asks_which() {
        let mac = platform::Device::from_user_agent(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            None,
        );
        let windows = platform::Device::from_user_agent(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
            None,
        );
        let k: Kind = "dmg".parse().unwrap();
        let n: platform::FileName = "Tiny.dmg".parse().unwrap();
        let mut universal = inspection("not-notarizable", false);
        universal.archs = Some(vec!["x86_64".into(), "arm64".into()]);
        let v = view(&k, &n, None, &universal);
        assert_eq!(fit(&v, &mac).rank, platform::FitRank::Installs);
        assert_eq!(fit(&v, &windows).rank, platform::FitRank::Elsewhere);
        let mut intel = inspection("not-notarizable", false);
        intel.archs = Some(vec!["x86_64".into()]);
        let v = view(&k, &n, None, &intel);
        let f = fit(&v, &mac);
        assert_eq!(f.rank, platform::FitRank::Fits);
        assert!(f.note.unwrap().contains("Safari does not tell"));
    }

    #[test]
    fn a_disk_image_says_drag_the_app_and_mounts_it_for_the_terminal() {
        let mac = Client::new("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15");
        let k: Kind = "dmg".parse().unwrap();
        let n: platform::FileName = "Tiny 1.2.dmg".parse().unwrap();
        let mut i = inspection("not-notarizable", true);
        i.details.insert("app".into(), json!("Tiny.app"));
        let view = view(&k, &n, None, &i);
        let a = actions(&view, &links(), &mac);
        assert!(
            a[0].label.starts_with("Download disk image"),
            "{}",
            a[0].label
        );
        assert!(
            a[0].caveats[0].contains("Open Anyway"),
            "{:?}",
            a[0].caveats
        );
        assert!(
            a[0].caveats
                .iter()
                .any(|c| c.contains("drag Tiny.app to the Applications folder")),
            "{:?}",
            a[0].caveats
        );
        let cmd = a[1].command.as_deref().unwrap();
        assert!(
            cmd.contains(
                "hdiutil attach -nobrowse -readonly -mountpoint /tmp/dist-dmg 'Tiny 1.2.dmg'"
            ),
            "{cmd}"
        );
        assert!(
            cmd.contains("ditto '/tmp/dist-dmg/Tiny.app' '/Applications/Tiny.app'"),
            "{cmd}"
        );
    }
}
