//! The admin console's pages (`/admin`): plain view values in, HTML out. The server decides
//! who may see and do what; these templates only show what they are given, and offer a form
//! only where the server said the caller may use it (the server checks again on submit).
//! Every form carries the session's CSRF token as `csrf`.

mod pages;
mod views;

pub use pages::*;
pub use views::*;

/// Where the server serves [`ADMIN_STYLESHEET`]; admin pages link to it after the shared one.
pub const ADMIN_STYLESHEET_PATH: &str = "/admin/static/admin.css";
/// The console's own rules: wide tables, the nav bar, severity colours.
pub const ADMIN_STYLESHEET: &str = include_str!("../../static/admin.css");
/// Where the server serves [`COPY_SCRIPT`].
pub const COPY_SCRIPT_PATH: &str = "/admin/static/copy.js";
/// The console's only script: the copy button beside a new token's secret. Everything
/// works without it.
pub const COPY_SCRIPT: &str = include_str!("../../static/copy.js");

#[cfg(test)]
mod tests {
    use super::*;
    use askama::Template;

    fn nav() -> Nav {
        Nav {
            token_id: "tok_1".into(),
            token_name: "ops".into(),
            scopes: "read".into(),
            app_limit: None,
            csrf: "CSRF-VALUE".into(),
            section: "apps",
            can_audit: false,
            can_settings: false,
        }
    }

    #[test]
    fn every_form_carries_the_csrf_token_and_values_are_escaped() {
        let html = AdminErrorPage {
            nav: Some(nav()),
            status: 403,
            title: "Forbidden".into(),
            code: "forbidden".into(),
            message: "<script>alert(1)</script>".into(),
        }
        .render()
        .unwrap();
        assert!(html.contains("&#60;script&#62;"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        // The sign-out form in the bar.
        assert!(
            html.contains("name=\"csrf\" value=\"CSRF-VALUE\""),
            "{html}"
        );
        assert!(
            !html.contains("href=\"/admin/audit\""),
            "no audit link: {html}"
        );
        assert!(html.contains(ADMIN_STYLESHEET_PATH));
    }

    #[test]
    fn a_secret_is_shown_with_its_copy_button_and_hidden_text_is_made_visible() {
        let html = TokensPage {
            nav: nav(),
            notice: None,
            tokens: vec![TokenView {
                id: "tok_2".into(),
                name: "ci\u{202e}exe.pdf".into(),
                scopes: "publish".into(),
                app: "acme".into(),
                channels: "any".into(),
                created_at: "2026-01-01T00:00:00Z".into(),
                created_by: "tok_1:ops".into(),
                last_used_at: "–".into(),
                expires_at: "never".into(),
                revoked_at: None,
                can_revoke: true,
            }],
            own_only: false,
            can_create: true,
            scopes: Vec::new(),
            apps: Vec::new(),
            created: Some(CreatedToken {
                id: "tok_2".into(),
                name: "ci".into(),
                secret: "dist_SECRET".into(),
            }),
            next_url: None,
        }
        .render()
        .unwrap();
        assert!(html.contains("id=\"secret\">dist_SECRET<"), "{html}");
        assert!(html.contains(COPY_SCRIPT_PATH), "{html}");
        assert!(
            html.contains("action=\"/admin/tokens/tok_2/revoke\""),
            "{html}"
        );
        assert!(
            !html.contains('\u{202e}'),
            "bidi control shown, not obeyed: {html}"
        );
    }
}
