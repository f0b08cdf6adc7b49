//! The admin console under `/admin` (issue 21): server-rendered pages for people who release
//! every day. A personal token signs in once and becomes an admin session (`session`); every
//! page and form then acts with that token's rights, decided by the same checks and services
//! as the API (`http::auth::authorize` with the API routes' requirements, then `services::*`),
//! never by which buttons a page shows. Every form carries the session's CSRF token, checked
//! before anything else. No JavaScript is needed; one script adds a copy button.

mod apps;
mod audit;
mod channels;
mod releases;
mod session;
mod settings;
mod tokens;
mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use platform::api::ErrorCode;
use ui::Template;
use ui::admin::{AdminErrorPage, Nav};

use crate::error::AppError;
use crate::services::AppState;

pub use session::Session;

/// Forms are small; a bigger body is refused before it is read.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The pages allow their own stylesheet and script, and posting forms to themselves only.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                   form-action 'self'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(apps::list))
        .route("/admin/", get(apps::list))
        .route(
            "/admin/signin",
            get(session::signin_form).post(session::signin),
        )
        .route("/admin/signout", post(session::signout))
        .route("/admin/apps", post(apps::create))
        .route("/admin/apps/{app}", get(apps::show))
        .route("/admin/apps/{app}/settings", post(apps::settings))
        .route(
            "/admin/apps/{app}/identity",
            get(apps::identity_form).post(apps::identity_save),
        )
        .route("/admin/apps/{app}/promote", get(channels::promote_review))
        .route("/admin/apps/{app}/channels/{channel}", get(channels::show))
        .route(
            "/admin/apps/{app}/channels/{channel}/promote",
            post(channels::promote),
        )
        .route(
            "/admin/apps/{app}/channels/{channel}/rollback",
            get(channels::rollback_review).post(channels::rollback),
        )
        .route(
            "/admin/apps/{app}/channels/{channel}/policy",
            post(channels::policy),
        )
        .route(
            "/admin/apps/{app}/channels/{channel}/access",
            post(channels::access),
        )
        .route("/admin/releases/{id}", get(releases::show))
        .route("/admin/tokens", get(tokens::list).post(tokens::create))
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke))
        .route("/admin/audit", get(audit::list))
        .route("/admin/audit.jsonl", get(audit::export))
        .route("/admin/settings", get(settings::show))
        .route(ui::admin::ADMIN_STYLESHEET_PATH, get(stylesheet))
        .route(ui::admin::COPY_SCRIPT_PATH, get(copy_script))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
}

async fn stylesheet() -> Response {
    static_asset("text/css; charset=utf-8", ui::admin::ADMIN_STYLESHEET)
}

async fn copy_script() -> Response {
    static_asset("text/javascript; charset=utf-8", ui::admin::COPY_SCRIPT)
}

fn static_asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A rendered page with the console's headers: strict CSP, never cached (pages show tokens'
/// names, findings and CSRF tokens).
fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut res = (status, body).into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => AppError::internal("render admin page", e).into_response(),
    }
}

fn ok(page: &impl Template) -> Response {
    html(StatusCode::OK, page)
}

/// 303 to `to` (after a form: a reload does not post again).
fn see_other(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// An error as a console page: the service's status and message, the bar when the caller is
/// known.
pub struct PageError(Box<(AppError, Option<Nav>)>);

impl PageError {
    pub fn new(err: AppError, nav: Option<Nav>) -> Self {
        Self(Box::new((err, nav)))
    }
}

impl From<AppError> for PageError {
    fn from(err: AppError) -> Self {
        Self::new(err, None)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (err, nav) = *self.0;
        let status = if err.gone {
            StatusCode::GONE
        } else {
            StatusCode::from_u16(err.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        };
        let mut message = err.message;
        for f in &err.findings {
            message.push_str(&format!(
                "\n{} {}: {}",
                views::severity(f.severity),
                f.code,
                f.message
            ));
        }
        let page = AdminErrorPage {
            nav,
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            code: err.code.as_str().to_owned(),
            message,
        };
        let mut res = html(status, &page);
        if err.code == ErrorCode::Unauthorized {
            res.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_static(session::CLEAR_COOKIE),
            );
        }
        res
    }
}

/// The result of every console handler.
type PageResult = Result<Response, PageError>;

/// `AppResult` into a console page error that keeps the caller's bar.
trait OrPage<T> {
    fn or_page(self, s: &Session) -> Result<T, PageError>;
}

impl<T> OrPage<T> for crate::error::AppResult<T> {
    fn or_page(self, s: &Session) -> Result<T, PageError> {
        self.map_err(|err| PageError::new(err, Some(s.nav("apps"))))
    }
}

/// What a `?ok=` after a redirect says: a fixed set of words, so a link cannot make the
/// console say something it did not do.
fn notice(code: Option<&str>) -> Option<String> {
    Some(
        match code? {
            "app-created" => "App created.",
            "promoted" => "Promoted.",
            "rolled-back" => "Rolled back.",
            "policy" => "Policy saved.",
            "access" => "Access saved.",
            "settings" => "App settings saved.",
            "identity" => "Identity rules saved.",
            "revoked" => "Token revoked.",
            _ => return None,
        }
        .to_owned(),
    )
}

/// `?a=1&b=2` from the parameters that have a value, percent-encoded.
fn query_string(params: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", percent(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_keep_given_values_percent_encoded() {
        assert_eq!(query_string(&[("a", None)]), "");
        assert_eq!(
            query_string(&[
                ("actor", Some("tok_1:ops & co")),
                ("app", None),
                ("x", Some("é"))
            ]),
            "?actor=tok_1%3Aops%20%26%20co&x=%C3%A9"
        );
    }

    #[test]
    fn notices_are_a_fixed_set() {
        assert_eq!(notice(Some("promoted")).as_deref(), Some("Promoted."));
        assert_eq!(notice(Some("<b>you were hacked</b>")), None);
        assert_eq!(notice(None), None);
    }
}
