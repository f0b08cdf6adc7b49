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
        push_action(&mut html, a);
    }
    html.push_str("</ul></section>");
    html
}

/// One action as a list item: a link when it has a URL, a plain label when it is done by hand
/// (its command follows), struck out with the reason when it is not available here.
fn push_action(out: &mut String, a: &InstallAction) {
    out.push_str("<li>");
    match (&a.url, a.available) {
        (Some(url), true) => out.push_str(&format!(
            "<a href=\"{}\">{}</a>",
            escape(url),
            escape(&a.label)
        )),
        // Available, but done by hand: the command below is the action.
        (None, true) => out.push_str(&format!(
            "<span class=\"action\">{}</span>",
            escape(&a.label)
        )),
        (_, false) => out.push_str(&format!(
            "<span class=\"unavailable\">{}</span>",
            escape(&a.label)
        )),
    }
    if let Some(cmd) = &a.command {
        out.push_str(&format!("<code class=\"command\">{}</code>", escape(cmd)));
    }
    if let Some(reason) = &a.reason {
        out.push_str(&format!(" <em>{}</em>", escape(reason)));
    }
    for c in &a.caveats {
        out.push_str(&format!("<p class=\"caveat\">{}</p>", escape(c)));
    }
    out.push_str("</li>");
}

#[cfg(test)]
mod tests {
    use crate::{ActionKind, InstallAction};

    fn action(url: Option<&str>, command: Option<&str>, available: bool) -> InstallAction {
        InstallAction {
            kind: ActionKind::Download,
            label: "Do <it>".into(),
            url: url.map(Into::into),
            command: command.map(Into::into),
            available,
            reason: (!available).then(|| "not here".into()),
            caveats: vec!["mind & care".into()],
            primary: false,
        }
    }

    #[test]
    fn actions_read_as_what_they_are() {
        let html = |a: InstallAction| {
            let mut out = String::new();
            super::push_action(&mut out, &a);
            out
        };
        let link = html(action(Some("/d?a=1&b=2"), None, true));
        assert!(
            link.contains("<a href=\"/d?a=1&amp;b=2\">Do &lt;it&gt;</a>"),
            "{link}"
        );
        // A command-only action is available, not struck out.
        let by_hand = html(action(None, Some("adb install 'a b.apk'"), true));
        assert!(by_hand.contains("<span class=\"action\">"), "{by_hand}");
        assert!(by_hand.contains("<code class=\"command\">adb install &#39;a b.apk&#39;</code>"));
        let refused = html(action(Some("/d"), None, false));
        assert!(
            refused.contains("<span class=\"unavailable\">"),
            "{refused}"
        );
        assert!(!refused.contains("href"), "{refused}");
        assert!(refused.contains("<em>not here</em>") && refused.contains("mind &amp; care"));
    }

    #[test]
    fn escapes() {
        assert_eq!(
            super::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
