//! The generic install-page snippet, for targets that do not bring their own.

use crate::{ArtifactView, InstallAction};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub(crate) fn default_snippet(
    platform: &str,
    artifact: &ArtifactView<'_>,
    actions: &[InstallAction],
) -> String {
    let mut html = format!(
        "<section class=\"target\"><h3>{} &middot; {}</h3><ul class=\"actions\">",
        escape(platform),
        escape(artifact.kind.as_str())
    );
    for a in actions {
        html.push_str("<li>");
        match (&a.url, a.available) {
            (Some(url), true) => html.push_str(&format!(
                "<a href=\"{}\">{}</a>",
                escape(url),
                escape(&a.label)
            )),
            _ => html.push_str(&format!(
                "<span class=\"unavailable\">{}</span>",
                escape(&a.label)
            )),
        }
        if let Some(cmd) = &a.command {
            html.push_str(&format!(" <code>{}</code>", escape(cmd)));
        }
        if let Some(reason) = &a.reason {
            html.push_str(&format!(" <em>{}</em>", escape(reason)));
        }
        for c in &a.caveats {
            html.push_str(&format!("<p class=\"caveat\">{}</p>", escape(c)));
        }
        html.push_str("</li>");
    }
    html.push_str("</ul></section>");
    html
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(
            super::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
