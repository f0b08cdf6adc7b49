//! Sign-in, sign-out and the [`Session`] extractor.
//!
//! A personal token (admin, promote or read scope) is exchanged once for the `dist_admin`
//! cookie: HttpOnly, `SameSite=Strict`, `Secure` when the public URL is https, 256 random bits
//! of which the database keeps only the SHA-256 (`sessions`), with an expiry. The session acts
//! with its token's rights, checked on every request, so revoking the token ends it.
//!
//! CSRF: every form carries `csrf`, SHA-256 of a fixed label and the cookie value. Another
//! site can neither read it nor derive it, each session has its own, and it needs no storage.
//! The sign-in form, before there is a session, uses a double-submit cookie instead.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::Digest;
use subtle::ConstantTimeEq;

use platform::api::Scope;
use ui::admin::{Nav, SignInPage};

use super::{PageError, PageResult, html, see_other};
use crate::audit::{self, Event};
use crate::auth::{self, Principal};
use crate::error::AppError;
use crate::http::{deny, edge};
use crate::services::AppState;
use crate::sessions::{self, Kind};
use crate::util;

/// The double-submit cookie of the sign-in form.
const SIGNIN_COOKIE: &str = "dist_admin_signin";
/// Ends the admin session cookie in the browser.
pub const CLEAR_COOKIE: &str = "dist_admin=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict";

/// A signed-in person: the token behind the `dist_admin` cookie, checked on this request.
pub struct Session {
    pub p: Principal,
    cookie: String,
    csrf: String,
}

fn csrf_of(cookie: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update(b"dist admin csrf\0");
    h.update(cookie.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Session {
    /// The bar of a page in `section`.
    pub fn nav(&self, section: &'static str) -> Nav {
        let p = &self.p;
        Nav {
            token_id: p.id.to_string(),
            token_name: p.name.clone(),
            scopes: p
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            app_limit: p.app.as_ref().map(|a| a.to_string()),
            csrf: self.csrf.clone(),
            section,
            can_audit: p.has(Scope::Admin) && p.channels.is_empty(),
            can_settings: p.is_unrestricted_admin(),
        }
    }

    /// Refuses a form whose `csrf` is not this session's (missing, another session's, or
    /// forged): 403, recorded as `auth.denied`, before the form is acted on.
    pub async fn check_csrf(
        &self,
        st: &AppState,
        form: &Form,
        action: &str,
    ) -> Result<(), PageError> {
        if form.get("csrf").is_some_and(|v| same_secret(v, &self.csrf)) {
            return Ok(());
        }
        let e = AppError::forbidden(
            "the form's CSRF token is not this session's: reload the page and submit the form again",
        );
        deny(st, action, None, Some(&self.p), &e).await;
        Err(PageError::new(e, Some(self.nav("apps"))))
    }
}

/// Why a request has no session: a page sends the browser to sign in, a form gets 401.
pub struct NoSession(Response);

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        self.0
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, NoSession> {
        let cookie = sessions::cookie(&parts.headers, sessions::ADMIN_COOKIE).map(str::to_owned);
        let found = match &cookie {
            // From the read-path caches: a known session costs no database read.
            Some(v) => crate::http::auth::session_cached(st, Kind::Admin, v).await,
            None => Ok(None),
        };
        let p = match found {
            Ok(Some(p)) => p,
            Ok(None) if parts.method == axum::http::Method::GET => {
                let mut res = see_other("/admin/signin");
                if cookie.is_some() {
                    res.headers_mut()
                        .insert(header::SET_COOKIE, HeaderValue::from_static(CLEAR_COOKIE));
                }
                return Err(NoSession(res));
            }
            Ok(None) => {
                return Err(NoSession(
                    PageError::from(AppError::unauthorized(
                        "no admin session (signed out or expired): sign in again at /admin/signin",
                    ))
                    .into_response(),
                ));
            }
            // The session's token was revoked or expired: say so.
            Err(e) => return Err(NoSession(PageError::from(e).into_response())),
        };
        if p.needs_touch {
            let (db, id) = (st.db.clone(), p.id.clone());
            tokio::spawn(async move {
                let _ = db
                    .write(move |tx| Ok(crate::db::touch_token(tx, &id, &util::now())?))
                    .await;
            });
        }
        let cookie = cookie.unwrap_or_default();
        Ok(Session {
            p,
            csrf: csrf_of(&cookie),
            cookie,
        })
    }
}

/// A posted form (`application/x-www-form-urlencoded`), fields in order; repeated names kept.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// A field's value, trimmed; empty counts as absent.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }
    /// Whether a checkbox was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn fields(&self) -> &[(String, String)] {
        &self.0
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = PageError;
    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        match axum::Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Self(v)),
            Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(PageError::from(AppError::new(
                    platform::api::ErrorCode::PayloadTooLarge,
                    format!("form over the limit of {} bytes", super::MAX_FORM_BYTES),
                )))
            }
            Err(rej) => Err(PageError::from(AppError::bad_request(format!(
                "invalid form: {}",
                rej.body_text()
            )))),
        }
    }
}

fn signin_page(st: &AppState, status: StatusCode, error: Option<String>) -> PageResult {
    let mut bytes = [0u8; 24];
    util::random_bytes(&mut bytes).map_err(|e| AppError::internal("random source", e))?;
    let value = URL_SAFE_NO_PAD.encode(bytes);
    let mut res = html(
        status,
        &SignInPage {
            csrf: value.clone(),
            error,
        },
    );
    let cookie = format!(
        "{SIGNIN_COOKIE}={value}; Path=/admin; Max-Age=3600; HttpOnly; SameSite=Strict{}",
        if st.secure_cookies() { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

pub async fn signin_form(State(st): State<AppState>, h: HeaderMap) -> PageResult {
    if let Some(v) = sessions::cookie(&h, sessions::ADMIN_COOKIE).map(str::to_owned)
        && let Ok(Some(_)) = st
            .db
            .read(move |c| sessions::principal(c, Kind::Admin, &v))
            .await
    {
        return Ok(see_other("/admin"));
    }
    signin_page(&st, StatusCode::OK, None)
}

pub async fn signin(State(st): State<AppState>, h: HeaderMap, form: Form) -> PageResult {
    let pre = sessions::cookie(&h, SIGNIN_COOKIE).unwrap_or("");
    if pre.is_empty() || !form.get("csrf").is_some_and(|v| same_secret(v, pre)) {
        return signin_page(
            &st,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired or came from another page; sign in again here.".into()),
        );
    }
    let secret = form.text("token").unwrap_or("").to_owned();
    let found = st.db.read(move |c| auth::authenticate(c, &secret)).await;
    let p = match found {
        Ok(p) => p,
        Err(e) => {
            deny(&st, "admin.signin", None, None, &e).await;
            return signin_page(
                &st,
                StatusCode::UNAUTHORIZED,
                Some(format!("{}.", e.message)),
            );
        }
    };
    if !(p.has(Scope::Read) || p.has(Scope::Promote)) {
        let e = AppError::forbidden(format!(
            "token {} has scope(s) {}; the console needs admin, promote or read",
            p.name,
            p.scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        deny(&st, "admin.signin", None, Some(&p), &e).await;
        return signin_page(&st, StatusCode::FORBIDDEN, Some(format!("{}.", e.message)));
    }
    let client = edge::current_client().map(|ip| ip.to_string());
    let principal = p.clone();
    let (value, max_age) = st
        .db
        .write(move |tx| {
            let (value, max_age) =
                sessions::create(tx, Kind::Admin, &principal, sessions::ADMIN_SESSION_SECS)?;
            audit::append(
                tx,
                Event {
                    actor: &principal.actor(),
                    action: "admin.signin",
                    app: principal.app.as_ref().map(|a| a.as_str()),
                    subject: Some(principal.id.as_str()),
                    details: json!({"client": client, "session_secs": max_age}),
                },
            )?;
            Ok((value, max_age))
        })
        .await?;
    let mut res = see_other("/admin");
    let cookie = sessions::set_cookie(Kind::Admin, &value, max_age, st.secure_cookies());
    let hs = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        hs.append(header::SET_COOKIE, v);
    }
    hs.append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "dist_admin_signin=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict",
        ),
    );
    Ok(res)
}

pub async fn signout(State(st): State<AppState>, s: Session, form: Form) -> PageResult {
    s.check_csrf(&st, &form, "admin.signout").await?;
    let (cookie, actor) = (s.cookie.clone(), s.p.actor());
    let app = s.p.app.as_ref().map(|a| a.to_string());
    let id = s.p.id.to_string();
    st.db
        .write(move |tx| {
            sessions::end(tx, &cookie)?;
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "admin.signout",
                    app: app.as_deref(),
                    subject: Some(&id),
                    details: json!({}),
                },
            )?;
            Ok(())
        })
        .await
        .map_err(|err| PageError::new(err, Some(s.nav("apps"))))?;
    let mut res = see_other("/admin/signin");
    res.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static(CLEAR_COOKIE));
    Ok(res)
}
