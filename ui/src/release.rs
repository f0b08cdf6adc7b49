//! The pages testers bookmark: an app's channels (`/apps/{app}`), a channel's current release
//! (`/apps/{app}/channels/{channel}`) and one release (`/apps/{app}/releases/{id}`). A release
//! page lists every artifact, the one that fits the visitor's device first with one primary
//! action, each other one with why it is not first (the target's words, [`platform::Fit`]).

use askama::Template;
use platform::api::PlatformInfo;
use platform::{ActionKind, InstallAction, InstallMode, Kind, PageFact};

use crate::install::{FileFacts, TargetPart};

/// Where the server serves [`SCRIPT`].
pub const SCRIPT_PATH: &str = "/static/dist.js";
/// The few lines of script a release page uses for what the server cannot see (an iPad that
/// asks for desktop sites). The page works without it.
pub const SCRIPT: &str = include_str!("../static/dist.js");

/// One artifact's section of a release page, with owned values (a page is rendered once and
/// kept, see the server's page cache).
pub struct ArtifactSection {
    pub file_name: Option<String>,
    pub size: u64,
    pub sha256: Option<String>,
    /// The architectures it is built for, as stored.
    pub arch: Option<String>,
    pub platform: PlatformInfo,
    pub kind: Kind,
    pub mode: Option<InstallMode>,
    pub facts: Vec<PageFact>,
    pub actions: Vec<InstallAction>,
    /// Why this artifact is not first on this device (or a caveat for the first).
    pub fit_note: Option<String>,
    /// Findings of its inspection, worst first: (severity word, message).
    pub findings: Vec<(String, String)>,
    /// Its target keeps a list of devices that may install it: the page offers a check, in
    /// the target's words (id name, where to find it).
    pub device_check: Option<DeviceCheck>,
    /// The check's answer for the id the visitor pasted (`?udid=`).
    pub device_answer: Option<DeviceAnswer>,
}

/// The words of a device check, from the artifact's target ([`platform::DeviceList`]).
pub struct DeviceCheck {
    pub id_name: String,
    pub where_to_find: String,
}

impl ArtifactSection {
    pub fn target(&self) -> TargetPart<'_> {
        TargetPart {
            platform: &self.platform,
            kind: &self.kind,
            mode: self.mode.as_ref(),
            facts: &self.facts,
            actions: &self.actions,
        }
    }

    pub fn file(&self) -> Option<FileFacts<'_>> {
        Some(FileFacts {
            name: self.file_name.as_deref().unwrap_or(""),
            size: self.size,
            sha256: self.sha256.as_deref()?,
        })
    }
}

/// Where a release came from, as its publisher's CI said.
pub struct SourceFacts {
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// Linked only when it is an http(s) URL.
    pub ci_url: Option<String>,
}

impl SourceFacts {
    pub fn ci_href(&self) -> Option<&str> {
        self.ci_url
            .as_deref()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    }
}

/// The answer to "is my device in this build?".
pub struct DeviceAnswer {
    pub id: String,
    pub listed: bool,
    /// The target's words for a device that is not listed.
    pub not_listed: String,
}

/// A release page: one release, or the one a channel points at.
#[derive(Template)]
#[template(path = "release.html")]
pub struct ReleasePage {
    pub app_name: String,
    pub app_url: String,
    pub version: String,
    pub build: String,
    pub release_id: String,
    /// Date of publication (`2026-12-02`).
    pub published: Option<String>,
    /// The channel this page follows, and the address of its page.
    pub channel: Option<String>,
    /// The channels pointing at this release now: (name, page URL).
    pub on_channels: Vec<(String, String)>,
    pub icon_url: Option<String>,
    /// Release notes as sanitised HTML ([`notes_html`]).
    pub notes_html: Option<String>,
    pub source: Option<SourceFacts>,
    /// How the page names the visitor's device ("a phone and its OS version").
    pub device: String,
    /// The server cannot tell this device from another one that only a touch screen gives
    /// away (a Mac User-Agent): the page's script may ask again ([`SCRIPT`]).
    pub refine_touch: bool,
    /// The app whose built-in browser this is.
    pub in_app: Option<String>,
    /// Best fit first.
    pub artifacts: Vec<ArtifactSection>,
    /// The page's address (what the QR code says).
    pub page_url: String,
    /// The QR code of `page_url`, an SVG document made here ([`qr_svg`]).
    pub qr_svg: String,
}

impl ReleasePage {
    pub fn title(&self) -> String {
        crate::shown(&format!(
            "{} {} ({})",
            self.app_name, self.version, self.build
        ))
        .into_owned()
    }
}

/// One channel on an app's page.
pub struct ChannelLine {
    pub name: String,
    pub url: String,
    /// "1.4.0 (1234), 2026-12-02", or why there is nothing to install.
    pub current: String,
}

/// `/apps/{app}`: the app's channels.
#[derive(Template)]
#[template(path = "app.html")]
pub struct AppPage {
    pub app_name: String,
    pub icon_url: Option<String>,
    pub channels: Vec<ChannelLine>,
    pub page_url: String,
    pub qr_svg: String,
}

/// The HTML of release notes written in Markdown: rendered by pulldown-cmark, then cleaned by
/// ammonia (no script, no event handlers, no style, links get `rel="noopener noreferrer"`).
/// Characters that hide or reorder text are written visibly first, as everywhere on a page.
pub fn notes_html(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let text = crate::shown_lines(markdown);
    let mut raw = String::with_capacity(text.len() * 2);
    html::push_html(
        &mut raw,
        Parser::new_ext(
            &text,
            Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
        ),
    );
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer"))
        .rm_tags(["img"])
        .clean(&raw)
        .to_string()
}

/// A QR code of `text` as an SVG element, to scan a page's address from another screen.
pub fn qr_svg(text: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let doc = code
        .render::<svg::Color<'_>>()
        .min_dimensions(160, 160)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The element only: an XML declaration has no place inside an HTML page.
    let at = doc.find("<svg")?;
    Some(doc[at..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_markdown_without_script() {
        let html = notes_html(
            "# Fixed\n\n- **crash** on start\n- see [log](https://x.example/a)\n\n<script>steal()</script><img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) [y](data:text/html,a)",
        );
        assert!(html.contains("<h1>Fixed</h1>"), "{html}");
        assert!(html.contains("<strong>crash</strong>"), "{html}");
        assert!(
            html.contains("href=\"https://x.example/a\" rel=\"noopener noreferrer\""),
            "{html}"
        );
        assert!(
            !html.contains("<script") && !html.contains("steal"),
            "{html}"
        );
        assert!(
            !html.contains("onerror") && !html.contains("<img"),
            "{html}"
        );
        assert!(
            !html.contains("href=\"javascript") && !html.contains("href=\"data"),
            "{html}"
        );
        let html = notes_html("invoice\u{202e}kpa.exe");
        assert!(html.contains("\\u{202e}"), "{html}");
    }

    fn section(name: &str, note: Option<&str>) -> ArtifactSection {
        ArtifactSection {
            file_name: Some(name.into()),
            size: 2048,
            sha256: Some("ab".repeat(32)),
            arch: Some("arm64".into()),
            platform: PlatformInfo {
                id: "toy".parse().unwrap(),
                display_name: "Toy".into(),
                kinds: Vec::new(),
                modes: Vec::new(),
                identity_facts: Vec::new(),
                preferred_kinds: Vec::new(),
            },
            kind: "toy".parse().unwrap(),
            mode: None,
            facts: Vec::new(),
            actions: Vec::new(),
            fit_note: note.map(Into::into),
            findings: vec![("warning".into(), "signed <by> nobody".into())],
            device_check: Some(DeviceCheck {
                id_name: "Toy id".into(),
                where_to_find: "the box's <label>".into(),
            }),
            device_answer: note.is_none().then(|| DeviceAnswer {
                id: "X-1".into(),
                listed: false,
                not_listed: "Not <listed>.".into(),
            }),
        }
    }

    #[test]
    fn a_release_page_puts_the_first_artifact_first_and_escapes_every_value() {
        let html = ReleasePage {
            app_name: "A&B".into(),
            app_url: "/apps/ab".into(),
            version: "1.0".into(),
            build: "7".into(),
            release_id: "rel_1".into(),
            published: Some("2026-12-02".into()),
            channel: Some("beta".into()),
            on_channels: vec![("beta".into(), "/apps/ab/channels/beta".into())],
            icon_url: None,
            notes_html: Some(notes_html("**new**")),
            source: Some(SourceFacts {
                commit: Some("abc".into()),
                branch: None,
                ci_url: Some("javascript:alert(1)".into()),
            }),
            device: "a <Mac>".into(),
            refine_touch: true,
            in_app: Some("Slack".into()),
            artifacts: vec![
                section("first.toy", None),
                section("second<x>.toy", Some("For <elsewhere>")),
            ],
            page_url: "https://d.example/apps/ab/channels/beta".into(),
            qr_svg: qr_svg("https://d.example/apps/ab/channels/beta").unwrap(),
        }
        .render()
        .unwrap();
        let first = html
            .find("<section class=\"artifact first\">")
            .expect(&html);
        let other = html
            .find("<section class=\"artifact other\">")
            .expect(&html);
        assert!(
            first < other && html[first..other].contains("first.toy"),
            "{html}"
        );
        assert!(html.contains("second&#60;x&#62;.toy"), "{html}");
        assert!(
            html.contains("<p class=\"fit\">For &#60;elsewhere&#62;</p>"),
            "{html}"
        );
        assert!(html.contains("signed &#60;by&#62; nobody"), "{html}");
        assert!(
            html.contains("Paste its Toy id (the box&#39;s &#60;label&#62;)"),
            "{html}"
        );
        assert_eq!(
            html.matches("Device X-1: Not &#60;listed&#62;.").count(),
            1,
            "the answer under its own artifact: {html}"
        );
        assert!(html.contains("content=\"touch-unknown\""), "{html}");
        assert!(html.contains("Slack's built-in browser"), "{html}");
        assert!(html.contains("<strong>new</strong>"), "{html}");
        assert!(
            !html.contains("href=\"javascript"),
            "a CI link that is no http(s) URL: {html}"
        );
        assert!(html.contains("<dt>Built for</dt><dd>arm64</dd>"), "{html}");
        assert!(html.contains(SCRIPT_PATH), "{html}");
    }

    #[test]
    fn qr_is_an_svg() {
        let svg = qr_svg("https://dist.example/apps/acme/channels/beta").unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
    }
}
