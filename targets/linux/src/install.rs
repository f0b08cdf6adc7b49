//! Install actions and page facts: the exact command for each kind, first for the
//! distribution family the browser reveals (a User-Agent naming Ubuntu or Fedora; most
//! reveal only "Linux", and then every command is shown).

use platform::{ActionKind, ArtifactView, Client, InstallAction, Links, PageFact, shell_quote};

/// Which family of distributions a User-Agent names, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Debian,
    RedHat,
    Suse,
}

pub fn family(client: &Client) -> Option<Family> {
    if client.user_agent_names(&["ubuntu", "debian", "linux mint", "pop!_os", "elementary"]) {
        Some(Family::Debian)
    } else if client.user_agent_names(&["fedora", "red hat", "centos", "rocky", "almalinux"]) {
        Some(Family::RedHat)
    } else if client.user_agent_names(&["suse"]) {
        Some(Family::Suse)
    } else {
        None
    }
}

fn command(label: &str, command: String, caveats: Vec<String>, primary: bool) -> InstallAction {
    InstallAction {
        kind: ActionKind::CopyCommand,
        label: label.into(),
        url: None,
        command: Some(command),
        available: true,
        reason: None,
        caveats,
        primary,
    }
}

/// The install actions of one artifact: a download, and the command that installs it.
pub fn actions(artifact: &ArtifactView<'_>, links: &Links, client: &Client) -> Vec<InstallAction> {
    let kind = artifact.kind.as_str();
    let file = artifact
        .file_name
        .map(|f| f.as_str().to_owned())
        .unwrap_or_else(|| match kind {
            "deb" => "package.deb".into(),
            "rpm" => "package.rpm".into(),
            "appimage" => "App.AppImage".into(),
            _ => "archive.tar.gz".into(),
        });
    let q = shell_quote(&file);
    let fetch = links.download_command(&file);
    let fam = family(client);
    let on_linux =
        client.user_agent_names(&["linux", "x11"]) && !client.user_agent_names(&["android"]);
    let mut out = Vec::new();
    let mut dl = InstallAction::download(links, "Download");
    match kind {
        "deb" => {
            dl.label = "Download .deb package".into();
            out.push(command(
                "Install with apt (Debian, Ubuntu)",
                format!("{fetch} && sudo apt install ./{q}"),
                vec![
                    "apt needs the ./ prefix to install a local file, and fetches the package's dependencies.".into(),
                    "The package installs as root: install only packages you trust.".into(),
                ],
                fam.is_none_or(|f| f == Family::Debian) && on_linux,
            ));
        }
        "rpm" => {
            dl.label = "Download .rpm package".into();
            out.push(command(
                "Install with dnf (Fedora, RHEL)",
                format!("{fetch} && sudo dnf install ./{q}"),
                vec!["dnf checks the package signature against the keys imported with rpm --import; an unsigned package needs --nogpgcheck.".into()],
                fam.is_none_or(|f| f == Family::RedHat) && on_linux,
            ));
            out.push(command(
                "Install with zypper (openSUSE)",
                format!("{fetch} && sudo zypper install ./{q}"),
                Vec::new(),
                fam == Some(Family::Suse),
            ));
        }
        "appimage" => {
            dl.label = "Download AppImage".into();
            out.push(command(
                "Run the AppImage",
                format!("{fetch} && chmod +x {q} && ./{q}"),
                vec!["AppImages need FUSE 2 (libfuse2) to run; without it, run it with --appimage-extract-and-run.".into()],
                on_linux,
            ));
        }
        _ => {
            dl.label = "Download archive".into();
            out.push(command(
                "Unpack the archive",
                format!("{fetch} && tar -xf {q}"),
                vec!["The archive unpacks into the current folder; see its README for how to run what it holds.".into()],
                false,
            ));
        }
    }
    dl.primary = !on_linux || out.iter().all(|a| !a.primary);
    out.insert(0, dl);
    out.sort_by_key(|a| !a.primary);
    out
}

/// What the install page tells about a Linux artifact: its architecture, its package
/// name and version, what it depends on, and who signed it.
pub fn page_facts(artifact: &ArtifactView<'_>) -> Vec<PageFact> {
    let Some(i) = artifact.inspection else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(archs) = &i.archs
        && !archs.is_empty()
    {
        out.push(PageFact::new("Architecture", archs.join(", ")));
    }
    if let (Some(id), Some(v)) = (&i.identity, &i.version) {
        out.push(PageFact::new("Package", format!("{id} {v}")));
    }
    if let Some(dep) = i.details.get("depends").and_then(|d| d.as_str()) {
        out.push(PageFact::new("Depends on", dep));
    }
    if let Some(sig) = i.details.get("signature")
        && let Some(k) = sig.get("key_id").and_then(|k| k.as_str())
    {
        // Say whether dist checked it: a key id alone proves nothing.
        let checked = match i.signature.state {
            platform::SignatureState::Signed => "verified against the app's key",
            platform::SignatureState::Invalid => "does not verify",
            _ => "not verified: the app does not hold this key",
        };
        out.push(PageFact::new(
            "Signed by OpenPGP key",
            format!("{k} ({checked})"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::Kind;

    fn links() -> Links {
        Links {
            base: "https://d.example".into(),
            download: "https://d.example/dl/1".into(),
            icon: None,
            documents: "https://d.example/i/1".into(),
        }
    }

    fn view<'a>(kind: &'a Kind, name: &'a platform::FileName) -> ArtifactView<'a> {
        ArtifactView {
            id: "art_1",
            file_name: Some(name),
            kind,
            size: 1,
            sha256: None,
            arch: None,
            install_mode: None,
            link: None,
            inspection: None,
            notarization: None,
            app_name: "Hello",
        }
    }

    #[test]
    fn each_kind_has_its_exact_command() {
        let ubuntu = Client::new("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Firefox/120.0");
        for (kind, name, cmd) in [
            (
                "deb",
                "hello_1.0_amd64.deb",
                "sudo apt install ./'hello_1.0_amd64.deb'",
            ),
            (
                "rpm",
                "hello-1.0.x86_64.rpm",
                "sudo dnf install ./'hello-1.0.x86_64.rpm'",
            ),
            (
                "appimage",
                "Hello.AppImage",
                "chmod +x 'Hello.AppImage' && ./'Hello.AppImage'",
            ),
            ("tarball", "hello.tar.gz", "tar -xf 'hello.tar.gz'"),
        ] {
            let k: Kind = kind.parse().unwrap();
            let n: platform::FileName = name.parse().unwrap();
            let a = actions(&view(&k, &n), &links(), &ubuntu);
            assert_eq!(
                a.iter().filter(|a| a.kind == ActionKind::Download).count(),
                1
            );
            let c = a.iter().find_map(|a| a.command.clone()).unwrap();
            assert!(c.starts_with("curl -fL -o ") && c.ends_with(cmd), "{c}");
        }
        let k: Kind = "deb".parse().unwrap();
        let n: platform::FileName = "x.deb".parse().unwrap();
        assert_eq!(
            actions(&view(&k, &n), &links(), &ubuntu)[0].kind,
            ActionKind::CopyCommand
        );
        let iphone = Client::new("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)");
        assert_eq!(
            actions(&view(&k, &n), &links(), &iphone)[0].kind,
            ActionKind::Download
        );
        let fedora = Client::new("Mozilla/5.0 (X11; Fedora; Linux x86_64)");
        assert_eq!(family(&fedora), Some(Family::RedHat));
    }

    #[test]
    fn page_facts_say_whether_the_key_was_checked() {
        let k: Kind = "rpm".parse().unwrap();
        let n: platform::FileName = "x.rpm".parse().unwrap();
        let mut i = platform::Inspection::new("x.rpm", 1, "linux".parse().unwrap(), k.clone());
        i.archs = Some(vec!["x86_64".into()]);
        i.details.insert(
            "signature".into(),
            serde_json::json!({"key_id": "4344591e1964c5fc"}),
        );
        let mut v = view(&k, &n);
        v.inspection = Some(&i);
        let f = page_facts(&v);
        assert_eq!(f[0].value, "x86_64");
        assert!(f[1].value.contains("not verified"), "{f:?}");
    }
}
