//! The `.appinstaller` document of a channel (`/d/{app}/{channel}/windows/feed/NAME.appinstaller`):
//! App Installer opens it, installs the MSIX (or bundle) the channel points at now, and
//! checks the same URL on each launch, so users stay on the channel as it moves.

use platform::Document;
use platform::channel::ChannelContext;

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The document for `ctx`, when its name ends in `.appinstaller` and the release holds an
/// MSIX or APPX package or bundle with an identity and publisher.
pub fn document(ctx: &ChannelContext<'_>) -> Option<Document> {
    if !ctx.name.ends_with(".appinstaller") {
        return None;
    }
    let rank = |kind: &str| {
        ["msixbundle", "appxbundle", "msix", "appx"]
            .iter()
            .position(|k| *k == kind)
    };
    // A bundle first; among packages, one for x64, then any.
    let best = ctx
        .artifacts
        .iter()
        .filter(|a| rank(a.inspection.kind.as_str()).is_some())
        .filter(|a| a.inspection.parse == platform::Parse::Ok)
        .min_by_key(|a| (rank(a.inspection.kind.as_str()), a.arch != Some("x86_64")))?;
    let i = best.inspection;
    let name = i.identity.as_deref()?;
    let version = i.version.as_deref()?;
    let publisher = i.details.get("publisher").and_then(|p| p.as_str())?;
    let bundle = i.kind.as_str().ends_with("bundle");
    let main = if bundle {
        format!(
            "  <MainBundle Name=\"{}\" Publisher=\"{}\" Version=\"{}\" Uri=\"{}\"/>\n",
            xml_escape(name),
            xml_escape(publisher),
            xml_escape(version),
            xml_escape(&best.url)
        )
    } else {
        let arch = i
            .archs
            .as_ref()
            .and_then(|a| a.first())
            .map(String::as_str)
            .unwrap_or("neutral");
        format!(
            "  <MainPackage Name=\"{}\" Publisher=\"{}\" Version=\"{}\" ProcessorArchitecture=\"{}\" Uri=\"{}\"/>\n",
            xml_escape(name),
            xml_escape(publisher),
            xml_escape(version),
            xml_escape(arch),
            xml_escape(&best.url)
        )
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <AppInstaller xmlns=\"http://schemas.microsoft.com/appx/appinstaller/2018\" Version=\"{}\" Uri=\"{}\">\n\
         {main}\
         \x20 <UpdateSettings>\n    <OnLaunch HoursBetweenUpdateChecks=\"0\"/>\n  </UpdateSettings>\n\
         </AppInstaller>\n",
        xml_escape(version),
        xml_escape(&ctx.url)
    );
    Some(Document {
        content_type: "application/appinstaller",
        body: body.into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::Inspection;
    use platform::channel::ChannelArtifact;

    fn msix(kind: &str, arch: &str) -> Inspection {
        let mut i = Inspection::new(
            "a.msix",
            1,
            "windows".parse().unwrap(),
            kind.parse().unwrap(),
        );
        i.identity = Some("Acme.App".into());
        i.version = Some("1.2.3.0".into());
        i.archs = Some(vec![arch.into()]);
        i.details.insert(
            "publisher".into(),
            serde_json::json!("CN=Acme & Co, O=Acme"),
        );
        i
    }

    fn ctx<'a>(name: &'a str, arts: Vec<ChannelArtifact<'a>>) -> ChannelContext<'a> {
        ChannelContext {
            name,
            app: "acme",
            app_name: "Acme",
            channel: "beta",
            release_id: "r1",
            version: "1.2.3",
            build: "7",
            notes: None,
            published_at: None,
            url: "https://dist.example/d/acme/beta/windows/feed/Acme.appinstaller".into(),
            artifacts: arts,
        }
    }

    #[test]
    fn points_at_the_channel_package() {
        let x64 = msix("msix", "x64");
        let arm = msix("msix", "arm64");
        let exe = Inspection::new(
            "s.exe",
            1,
            "windows".parse().unwrap(),
            "exe".parse().unwrap(),
        );
        let art = |i: &'static Inspection, arch: &'static str, url: &str| ChannelArtifact {
            inspection: i,
            arch: Some(arch),
            size: 1,
            sha256: "00",
            url: url.into(),
        };
        let x64: &'static Inspection = Box::leak(Box::new(x64));
        let arm: &'static Inspection = Box::leak(Box::new(arm));
        let exe: &'static Inspection = Box::leak(Box::new(exe));
        let c = ctx(
            "Acme.appinstaller",
            vec![
                art(exe, "x86_64", "https://d/exe"),
                art(arm, "arm64", "https://d/arm"),
                art(x64, "x86_64", "https://d/x64?kind=msix"),
            ],
        );
        let d = document(&c).unwrap();
        assert_eq!(d.content_type, "application/appinstaller");
        let text = String::from_utf8(d.body).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap();
        let main = doc
            .descendants()
            .find(|n| n.has_tag_name("MainPackage"))
            .unwrap();
        assert_eq!(main.attribute("Uri"), Some("https://d/x64?kind=msix"));
        assert_eq!(main.attribute("Publisher"), Some("CN=Acme & Co, O=Acme"));
        assert_eq!(main.attribute("ProcessorArchitecture"), Some("x64"));
        assert_eq!(
            doc.root_element().attribute("Uri"),
            Some("https://dist.example/d/acme/beta/windows/feed/Acme.appinstaller")
        );
        // Another name, or a release without a package: not served.
        assert!(document(&ctx("latest", vec![])).is_none());
        assert!(document(&ctx("a.appinstaller", vec![art(exe, "x86_64", "u")])).is_none());
    }
}
