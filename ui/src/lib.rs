//! `ui`: the HTML distd serves, as askama templates checked at compile time, and the static
//! assets those pages use (one stylesheet, embedded in the binary).
//!
//! It owns markup and styling only. It must not know HTTP, the database or any target (it
//! uses `platform` only for shared wording such as sizes): the server hands it plain values,
//! and the per-platform part of a page arrives as a snippet the target already escaped
//! (`platform::html`). Everything else is escaped here by askama.

pub use askama::Template;

/// Where the server serves [`STYLESHEET`]; pages link to it.
pub const STYLESHEET_PATH: &str = "/static/dist.css";
/// The stylesheet every page uses.
pub const STYLESHEET: &str = include_str!("../static/dist.css");

/// The install page of one artifact (`/i/{artifact}`).
#[derive(Template)]
#[template(path = "install.html")]
pub struct InstallPage<'a> {
    pub app_name: &'a str,
    pub version: &'a str,
    pub build: &'a str,
    pub file_name: &'a str,
    pub size: u64,
    pub sha256: &'a str,
    /// URL of the app icon, if the artifact has one.
    pub icon_url: Option<&'a str>,
    /// The target's install actions, already escaped HTML.
    pub snippet: &'a str,
}

impl InstallPage<'_> {
    /// "ACME 1.4.0 (1234)": the page title and heading.
    pub fn title(&self) -> String {
        format!("{} {} ({})", self.app_name, self.version, self.build)
    }

    fn size_label(&self) -> String {
        platform::units::human_size(self.size)
    }
}

/// The page a person's browser gets for an error (the API answers JSON instead).
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// 404, 403, ...
    pub status: u16,
    /// "Not Found": the status's reason phrase.
    pub title: &'a str,
    /// The API's error code (`not_found`), for a person to quote.
    pub code: &'a str,
    /// The server's message, escaped here like every value.
    pub message: &'a str,
}

/// One file a channel URL could mean, with the address that names it alone.
pub struct Choice<'a> {
    pub file_name: &'a str,
    pub kind: &'a str,
    pub arch: Option<&'a str>,
    pub size: u64,
    pub url: &'a str,
}

impl Choice<'_> {
    fn size_label(&self) -> String {
        platform::units::human_size(self.size)
    }
}

/// What a browser gets when a channel URL (`/d/{app}/{channel}/{platform}`) names several
/// files and the platform's preferred kinds do not decide (API clients get 409 and JSON).
#[derive(Template)]
#[template(path = "choices.html")]
pub struct ChannelChoices<'a> {
    pub app_name: &'a str,
    pub channel: &'a str,
    pub version: &'a str,
    pub build: &'a str,
    /// The platform's display name.
    pub platform: &'a str,
    pub choices: Vec<Choice<'a>>,
}

impl ChannelChoices<'_> {
    pub fn title(&self) -> String {
        format!("{} {} ({})", self.app_name, self.version, self.build)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_page_escapes_the_message() {
        let html = ErrorPage {
            status: 404,
            title: "Not Found",
            code: "not_found",
            message: "no route for GET /<script>",
        }
        .render()
        .unwrap();
        assert!(html.contains("<h1>404 Not Found</h1>"), "{html}");
        assert!(html.contains("/&#60;script&#62;"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains(STYLESHEET_PATH), "{html}");
    }

    fn page<'a>(snippet: &'a str, icon: Option<&'a str>) -> InstallPage<'a> {
        InstallPage {
            app_name: "A&B <Tools>",
            version: "1.4.0",
            build: "1234",
            file_name: "app\"release\".apk",
            size: 48_213_000,
            sha256: "ab12",
            icon_url: icon,
            snippet,
        }
    }

    #[test]
    fn values_are_escaped_and_the_snippet_is_not() {
        let html = page("<section class=\"target\">ok</section>", None)
            .render()
            .unwrap();
        assert!(
            html.contains("<h1>A&#38;B &#60;Tools&#62; 1.4.0 (1234)</h1>"),
            "{html}"
        );
        assert!(html.contains("app&#34;release&#34;.apk"), "{html}");
        assert!(
            html.contains("<section class=\"target\">ok</section>"),
            "{html}"
        );
        assert!(html.contains("46.0 MiB"), "{html}");
        assert!(html.contains(STYLESHEET_PATH), "{html}");
        assert!(!html.contains("<img"), "no icon, no img: {html}");
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn the_icon_is_shown_when_there_is_one() {
        let html = page("", Some("/i/art_1/icon.png?token=a&b"))
            .render()
            .unwrap();
        assert!(
            html.contains("<img class=\"icon\" src=\"/i/art_1/icon.png?token=a&#38;b\""),
            "{html}"
        );
    }

    #[test]
    fn channel_choices_list_each_file_escaped() {
        let html = ChannelChoices {
            app_name: "Acme",
            channel: "beta",
            version: "1.0",
            build: "7",
            platform: "Toy",
            choices: vec![
                Choice {
                    file_name: "a<b>.box",
                    kind: "toybox",
                    arch: Some("arm64"),
                    size: 2048,
                    url: "/d/acme/beta/toy/arm64?kind=toybox",
                },
                Choice {
                    file_name: "c.box",
                    kind: "toybox",
                    arch: None,
                    size: 10,
                    url: "/d/acme/beta/toy?kind=toybox",
                },
            ],
        }
        .render()
        .unwrap();
        assert!(html.contains("<h1>Acme 1.0 (7)</h1>"), "{html}");
        assert!(
            html.contains("href=\"/d/acme/beta/toy/arm64?kind=toybox\">a&#60;b&#62;.box</a>"),
            "{html}"
        );
        assert!(html.contains("toybox, arm64, 2.0 KiB"), "{html}");
        assert_eq!(html.matches("<li>").count(), 2, "{html}");
    }
}
