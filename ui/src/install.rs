//! The install page of one artifact (`/i/{artifact}`): the release's facts, then the part its
//! target decides, rendered from data with one template per [`ActionKind`].

use askama::Template;
use platform::api::PlatformInfo;
use platform::{ActionKind, InstallAction, InstallMode, Kind, PageFact};

/// The install page of one artifact (`/i/{artifact}`).
#[derive(Template)]
#[template(path = "install.html")]
pub struct InstallPage<'a> {
    pub app_name: &'a str,
    pub version: &'a str,
    pub build: &'a str,
    /// The artifact's file; `None` for a link artifact (its action opens the link).
    pub file: Option<FileFacts<'a>>,
    /// URL of the app icon, if the artifact has one.
    pub icon_url: Option<&'a str>,
    /// The release notes as published: plain text, shown with its line breaks.
    pub notes: Option<&'a str>,
    /// The release's page, which lists every file of the release for the visitor's device.
    pub release_page: Option<&'a str>,
    pub target: TargetPart<'a>,
}

impl InstallPage<'_> {
    /// "ACME 1.4.0 (1234)": the page title and heading, hidden characters shown.
    pub fn title(&self) -> String {
        crate::shown(&format!(
            "{} {} ({})",
            self.app_name, self.version, self.build
        ))
        .into_owned()
    }
}

/// What the page says of an artifact's file.
pub struct FileFacts<'a> {
    pub name: &'a str,
    pub size: u64,
    pub sha256: &'a str,
}

impl FileFacts<'_> {
    pub fn size_label(&self) -> String {
        platform::units::human_size(self.size)
    }
}

/// What the artifact's target declares and answers, for its part of the page.
pub struct TargetPart<'a> {
    /// What `GET /api/v1/platforms` says of the artifact's platform: its name, its kinds'
    /// and install modes' descriptions.
    pub platform: &'a PlatformInfo,
    pub kind: &'a Kind,
    /// The artifact's install mode, if its platform has modes.
    pub mode: Option<&'a InstallMode>,
    /// `Target::page_facts`.
    pub facts: &'a [PageFact],
    /// `Target::install_actions`, in the order to show them (this client's first).
    pub actions: &'a [InstallAction],
}

impl TargetPart<'_> {
    /// The kind as its target describes it; the bare kind if the target no longer declares it
    /// (an artifact stored by an older build).
    pub fn kind_description(&self) -> &str {
        self.platform
            .kinds
            .iter()
            .find(|k| k.kind == *self.kind)
            .map_or(self.kind.as_str(), |k| k.description.as_str())
    }

    /// What the artifact's install mode means, as its target declares it.
    pub fn mode_description(&self) -> Option<&str> {
        let mode = self.mode?;
        self.platform
            .modes
            .iter()
            .find(|m| m.id == *mode)
            .map(|m| m.description.as_str())
    }

    pub fn items(&self) -> Vec<ActionItem<'_>> {
        self.actions.iter().map(ActionItem::new).collect()
    }
}

/// One install action as the page shows it.
pub struct ActionItem<'a> {
    pub action: &'a InstallAction,
    /// The address to link: the action's URL when it is available and a page may open it.
    pub href: Option<&'a str>,
    /// Available, with a URL a page must not open (`javascript:`, `data:`, ...).
    refused_url: bool,
}

/// Why an available action with a script or inline-document URL shows no link.
const REFUSED_URL: &str =
    "Not linked: its address is a script or an inline document, which this page never opens.";

impl<'a> ActionItem<'a> {
    pub fn new(action: &'a InstallAction) -> Self {
        let url = action.url.as_deref().filter(|_| action.available);
        let href = url.filter(|u| opens_safely(u));
        Self {
            action,
            href,
            refused_url: url.is_some() && href.is_none(),
        }
    }

    /// The reason shown beside the label: the target's for an unavailable action, or ours
    /// for a URL this page will not link.
    pub fn reason(&self) -> Option<&str> {
        if self.refused_url {
            Some(REFUSED_URL)
        } else {
            self.action.reason.as_deref()
        }
    }
}

/// Whether a link may carry `url`: not a scheme that runs script or renders an inline
/// document in this page's origin. Browsers drop tabs, newlines and leading control
/// characters from a URL before reading its scheme, so those are dropped here too. Other
/// schemes stay allowed: a device's installer may answer its own (`itms-services:`,
/// `market:`, ...), and targets build those on purpose.
fn opens_safely(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    !["javascript:", "vbscript:", "data:", "blob:", "file:"]
        .iter()
        .any(|s| cleaned.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::STYLESHEET_PATH;
    use platform::api::{KindDescription, ModeDescription};

    fn platform_info() -> PlatformInfo {
        PlatformInfo {
            id: "toy".parse().unwrap(),
            display_name: "Toy <OS>".into(),
            kinds: vec![KindDescription {
                kind: "toy".parse().unwrap(),
                description: "Toy & <b>archive</b>".into(),
                publishable: true,
            }],
            modes: vec![ModeDescription {
                id: "side-door".parse().unwrap(),
                description: "Installs \"by hand\" <i>only</i>".into(),
                default: true,
            }],
            identity_facts: Vec::new(),
            preferred_kinds: vec!["toy".parse().unwrap()],
        }
    }

    fn action(kind: ActionKind, url: Option<&str>, command: Option<&str>) -> InstallAction {
        InstallAction {
            kind,
            label: "Do <it>".into(),
            url: url.map(Into::into),
            command: command.map(Into::into),
            available: true,
            reason: None,
            caveats: vec!["mind & </li><script>x()</script>".into()],
            primary: false,
        }
    }

    fn render(
        actions: &[InstallAction],
        facts: &[PageFact],
        notes: Option<&str>,
        mode: Option<&InstallMode>,
    ) -> String {
        let info = platform_info();
        let kind: Kind = "toy".parse().unwrap();
        InstallPage {
            app_name: "A&B <Tools>",
            version: "1.4.0",
            build: "1234",
            file: Some(FileFacts {
                name: "\"><script>alert(1)</script>'.toy",
                size: 48_213_000,
                sha256: "ab12",
            }),
            icon_url: None,
            notes,
            release_page: None,
            target: TargetPart {
                platform: &info,
                kind: &kind,
                mode,
                facts,
                actions,
            },
        }
        .render()
        .unwrap()
    }

    #[test]
    fn page_values_are_escaped() {
        let html = render(&[], &[], None, None);
        assert!(
            html.contains("<h1>A&#38;B &#60;Tools&#62; 1.4.0 (1234)</h1>"),
            "{html}"
        );
        assert!(
            html.contains("&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;&#39;.toy"),
            "{html}"
        );
        assert!(html.contains("46.0 MiB"), "{html}");
        assert!(html.contains(STYLESHEET_PATH), "{html}");
        assert!(!html.contains("<img"), "no icon, no img: {html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(
            !html.contains("Release notes"),
            "no notes, no section: {html}"
        );
    }

    /// A name with a right-to-left override reads backwards on screen; the page writes the
    /// override visibly wherever a file name or a target's words appear.
    #[test]
    fn hidden_characters_are_shown() {
        let info = platform_info();
        let kind: Kind = "toy".parse().unwrap();
        let mut a = action(
            ActionKind::CopyCommand,
            None,
            Some("curl -o 'invoice\u{202e}kpa.exe' u"),
        );
        a.label = "Get invoice\u{202e}kpa.exe".into();
        let facts = [PageFact::new("Signed by", "CN=\u{202e}emca")];
        let html = InstallPage {
            app_name: "Acme\u{200b}",
            version: "1",
            build: "1",
            file: Some(FileFacts {
                name: "invoice\u{202e}kpa.exe",
                size: 1,
                sha256: "",
            }),
            icon_url: None,
            notes: Some("line\u{202e}one\n\nline two\u{7}"),
            release_page: None,
            target: TargetPart {
                platform: &info,
                kind: &kind,
                mode: None,
                facts: &facts,
                actions: &[a],
            },
        }
        .render()
        .unwrap();
        assert!(
            !html.contains('\u{202e}') && !html.contains('\u{200b}'),
            "{html}"
        );
        assert!(html.contains("<h1>Acme\\u{200b} 1 (1)</h1>"), "{html}");
        assert!(html.contains("<dd>invoice\\u{202e}kpa.exe</dd>"), "{html}");
        assert!(
            html.contains("Get invoice\\u{202e}kpa.exe</span>"),
            "{html}"
        );
        assert!(
            html.contains("curl -o &#39;invoice\\u{202e}kpa.exe&#39; u"),
            "{html}"
        );
        assert!(html.contains("<dd>CN=\\u{202e}emca</dd>"), "{html}");
        assert!(
            html.contains("<p class=\"notes\">line\\u{202e}one\n\nline two\\u{7}</p>"),
            "{html}"
        );
    }

    #[test]
    fn hostile_notes_stay_text() {
        let notes = "Fixed <img src=x onerror=alert(1)>\n</p><script>steal()</script>\nline 3";
        let html = render(&[], &[], Some(notes), None);
        assert!(html.contains("<h2>Release notes</h2>"), "{html}");
        assert!(
            html.contains(
                "Fixed &#60;img src=x onerror=alert(1)&#62;\n&#60;/p&#62;&#60;script&#62;steal()&#60;/script&#62;\nline 3"
            ),
            "{html}"
        );
        assert!(
            !html.contains("<img") && !html.contains("<script"),
            "{html}"
        );
    }

    #[test]
    fn platform_words_come_from_the_declaration() {
        let mode: InstallMode = "side-door".parse().unwrap();
        let facts = [PageFact::new("Requires <x>", "Toy OS 3 & later")];
        let html = render(&[], &facts, None, Some(&mode));
        assert!(
            html.contains("<h2>Toy &#38; &#60;b&#62;archive&#60;/b&#62;</h2>"),
            "{html}"
        );
        assert!(
            html.contains("Toy &#60;OS&#62; &middot; <code>toy</code> &middot; install mode <code>side-door</code>"),
            "{html}"
        );
        assert!(
            html.contains(
                "<p class=\"mode\">Installs &#34;by hand&#34; &#60;i&#62;only&#60;/i&#62;</p>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<dt>Requires &#60;x&#62;</dt><dd>Toy OS 3 &#38; later</dd>"),
            "{html}"
        );
        // An undeclared mode or kind (stored by an older build) shows its id, no description.
        let other: InstallMode = "gone".parse().unwrap();
        let html = render(&[], &[], None, Some(&other));
        assert!(!html.contains("class=\"mode\""), "{html}");
    }

    #[test]
    fn each_action_kind_has_its_template() {
        let actions = [
            action(
                ActionKind::OpenUrl,
                Some("itms-services://?a=1&b=\"2\""),
                None,
            ),
            action(
                ActionKind::Download,
                Some("/i/art_1/download?grant=g.1"),
                None,
            ),
            action(
                ActionKind::CopyCommand,
                None,
                Some("curl -fL -o 'a b.toy' 'u' && echo \"<x>\""),
            ),
        ];
        let html = render(&actions, &[], None, None);
        let open = html.find("<li class=\"open-url\">").expect(&html);
        let download = html.find("<li class=\"download\">").expect(&html);
        let copy = html.find("<li class=\"copy-command\">").expect(&html);
        assert!(open < download && download < copy, "kept in order: {html}");
        assert!(
            html.contains(
                "<a href=\"itms-services://?a=1&#38;b=&#34;2&#34;\" rel=\"noreferrer\">Do &#60;it&#62;</a>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"/i/art_1/download?grant=g.1\">Do &#60;it&#62;</a>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"action\">Do &#60;it&#62;</span><code class=\"command\">curl -fL -o &#39;a b.toy&#39; &#39;u&#39; &#38;&#38; echo &#34;&#60;x&#62;&#34;</code>"),
            "{html}"
        );
        assert_eq!(
            html.matches("<p class=\"caveat\">mind &#38; &#60;/li&#62;&#60;script&#62;x()&#60;/script&#62;</p>")
                .count(),
            3,
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn unavailable_actions_show_why_and_no_link() {
        let mut a = action(ActionKind::OpenUrl, Some("https://x.example/"), None);
        a.available = false;
        a.reason = Some("Needs <https>".into());
        let mut c = action(ActionKind::CopyCommand, None, Some("adb"));
        c.available = false;
        let html = render(&[a, c], &[], None, None);
        assert!(!html.contains("href=\"https://x.example"), "{html}");
        assert!(
            html.contains(
                "<span class=\"unavailable\">Do &#60;it&#62;</span> <em>Needs &#60;https&#62;</em>"
            ),
            "{html}"
        );
        assert_eq!(html.matches("class=\"unavailable\"").count(), 2, "{html}");
    }

    #[test]
    fn script_urls_are_never_linked() {
        for url in [
            "javascript:alert(1)",
            "JaVa\tScRiPt:alert(1)",
            " \u{1}javascript:alert(1)",
            "java\nscript:alert(1)",
            "data:text/html,<script>x()</script>",
            "vbscript:x",
        ] {
            let html = render(
                &[action(ActionKind::OpenUrl, Some(url), None)],
                &[],
                None,
                None,
            );
            assert!(!html.contains("<a "), "{url}: {html}");
            assert!(html.contains(REFUSED_URL), "{url}: {html}");
            assert!(
                html.contains("<span class=\"unavailable\">"),
                "{url}: {html}"
            );
        }
        for url in [
            "https://x.example/a",
            "/i/a/download",
            "itms-services://?x",
            "market://details?id=a",
        ] {
            assert!(opens_safely(url), "{url}");
        }
    }

    #[test]
    fn the_icon_is_shown_when_there_is_one() {
        let info = platform_info();
        let kind: Kind = "toy".parse().unwrap();
        let html = InstallPage {
            app_name: "a",
            version: "1",
            build: "1",
            file: None,
            icon_url: Some("/i/art_1/icon.png?token=a&b"),
            notes: None,
            release_page: Some("/apps/a/releases/rel_1"),
            target: TargetPart {
                platform: &info,
                kind: &kind,
                mode: None,
                facts: &[],
                actions: &[],
            },
        }
        .render()
        .unwrap();
        assert!(
            html.contains("<img class=\"icon\" src=\"/i/art_1/icon.png?token=a&#38;b\""),
            "{html}"
        );
        assert!(
            !html.contains("<dt>File</dt>"),
            "a link has no file facts: {html}"
        );
        assert!(
            html.contains("<a href=\"/apps/a/releases/rel_1\">Every file of this release</a>"),
            "{html}"
        );
    }
}
