//! The page a person's browser gets for an error.

use askama::Template;

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
    /// Where to go instead: (link text, address), such as the channel's current build when
    /// this one was withdrawn.
    pub next: Option<(&'a str, &'a str)>,
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
            next: Some(("the current build", "/apps/a/channels/beta")),
        }
        .render()
        .unwrap();
        assert!(html.contains("<h1>404 Not Found</h1>"), "{html}");
        assert!(html.contains("/&#60;script&#62;"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains(crate::STYLESHEET_PATH), "{html}");
        assert!(
            html.contains("<a href=\"/apps/a/channels/beta\">the current build</a>"),
            "{html}"
        );
    }
}
