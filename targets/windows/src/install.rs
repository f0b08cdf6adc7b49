//! Install actions and page facts: a download for every kind, with the caveat a person meets
//! on Windows (SmartScreen for unsigned or untrusted files, App Installer for MSIX).

use platform::{ArtifactView, Client, InstallAction, Links, PageFact, SignatureState};

/// The install actions of one artifact.
pub fn actions(artifact: &ArtifactView<'_>, links: &Links, client: &Client) -> Vec<InstallAction> {
    let kind = artifact.kind.as_str();
    let label = match kind {
        "msix" | "appx" => "Download and install the package (App Installer)",
        "msixbundle" | "appxbundle" => "Download and install the bundle (App Installer)",
        "msi" => "Download the installer (.msi)",
        "exe" => "Download the installer (.exe)",
        "zip" => "Download the app (.zip)",
        _ => "Download",
    };
    let mut dl = InstallAction::download(links, label);
    dl.primary = client.user_agent_names(&["windows"]);
    let state = artifact.inspection.map(|i| i.signature.state);
    match state {
        Some(SignatureState::Unsigned) => dl.caveats.push(
            "Not signed: SmartScreen warns \"Windows protected your PC\"; choose More info, then Run anyway, only if you trust where it came from.".into(),
        ),
        Some(SignatureState::Untrusted) => dl.caveats.push(
            "Signed with a certificate Windows does not trust by default: SmartScreen warns, and an MSIX installs only after its certificate is added to Trusted People.".into(),
        ),
        Some(SignatureState::Invalid) => dl.caveats.push(
            "The signature does not verify: Windows treats the file as tampered with. Do not install it.".into(),
        ),
        _ => {}
    }
    match kind {
        "msix" | "appx" | "msixbundle" | "appxbundle" => dl.caveats.push(
            "Opens in App Installer on Windows 10 1809 or later; the package must be signed by a certificate the PC trusts.".into(),
        ),
        "msi" => dl.caveats.push(
            "Run it, or install silently with msiexec /i <file> /qn (administrator rights are usually needed).".into(),
        ),
        "zip" => dl.caveats.push(
            "Unpack the whole folder before running the app; Windows marks unpacked files as downloaded, so SmartScreen may still ask.".into(),
        ),
        _ => {}
    }
    vec![dl]
}

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
    if let Some(min) = &i.min_os {
        out.push(PageFact::new("Requires", format!("Windows {min} or later")));
    }
    if let Some(p) = i.signature.signers.first() {
        let how = match i.signature.state {
            SignatureState::Signed => "verified",
            SignatureState::Untrusted => "verifies, but not to a root Windows trusts by default",
            SignatureState::Invalid => "does not verify",
            _ => "not checked",
        };
        out.push(PageFact::new("Signed by", format!("{} ({how})", p.subject)));
    }
    out
}
