//! The page a browser gets when a channel URL names several files and the platform's
//! preferred kinds do not decide (API clients get 409 and JSON instead).

use askama::Template;

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

/// The choices of `/d/{app}/{channel}/{platform}` in a browser.
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
