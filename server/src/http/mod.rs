//! HTTP: the router, the one `IntoResponse` for [`AppError`], JSON/path/query extractors that
//! answer in the API's error shape, bearer-token checks, and request logging. Feature routers
//! live in the submodules and are merged in [`app`].

mod api;
mod blobs;
pub mod denials;
mod downloads;
pub mod edge;
mod health;
pub mod paging;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;
use tower_http::trace::TraceLayer;

use platform::api::{ErrorBody, ErrorCode, ErrorDetail, Scope, UPLOAD_OFFSET};

use crate::audit::{self, Event};
use crate::auth::{self, Principal};
use crate::config::MAX_JSON_BYTES;
use crate::error::{AppError, AppResult};
use crate::services::AppState;

/// The whole application: API, downloads, install pages, health.
pub fn app(state: AppState) -> Router {
    let client_addr = axum::middleware::from_fn_with_state(state.clone(), edge::client_addr);
    let api = api::router()
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        // The blob PUT counts bytes itself against DIST_MAX_UPLOAD_BYTES while streaming.
        .merge(blobs::router().layer(DefaultBodyLimit::disable()));
    Router::new()
        .nest("/api/v1", api)
        .merge(downloads::router())
        .merge(health::router())
        .fallback(not_found)
        // After every route is registered: it applies to the routes known at this point.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            TraceLayer::new_for_http()
                // Path only: no query string (it may carry ?token=) and no headers.
                .make_span_with(|req: &Request| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(
                    |res: &Response, latency: std::time::Duration, _span: &tracing::Span| {
                        tracing::info!(
                            status = res.status().as_u16(),
                            ms = latency.as_micros() as f64 / 1000.0,
                            "request"
                        );
                    },
                ),
        )
        // Outermost last: every answer, HTML error pages included, gets the headers.
        .layer(client_addr)
        .layer(axum::middleware::from_fn(edge::html_errors))
        .layer(axum::middleware::from_fn(edge::security_headers))
        .with_state(state)
}

async fn not_found(req: Request) -> AppError {
    AppError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}

async fn method_not_allowed(req: Request) -> AppError {
    AppError::new(
        platform::api::ErrorCode::MethodNotAllowed,
        format!(
            "{} is not allowed on {}; the Allow header lists what is",
            req.method(),
            req.uri().path()
        ),
    )
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = if self.gone {
            StatusCode::GONE
        } else {
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        };
        let info = edge::ErrorInfo {
            code: self.code,
            message: self.message.clone(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                findings: self.findings,
            },
        };
        let mut res = (status, axum::Json(body)).into_response();
        // For `edge::html_errors`, which gives a browser the same error as a page.
        res.extensions_mut().insert(info);
        if let Some(off) = self.upload_offset {
            res.headers_mut()
                .insert(UPLOAD_OFFSET, HeaderValue::from(off));
        }
        if matches!(
            self.code,
            ErrorCode::PayloadTooLarge
                | ErrorCode::SizeMismatch
                | ErrorCode::DigestMismatch
                | ErrorCode::UploadStalled
                | ErrorCode::InsufficientStorage
        ) || self.upload_offset.is_some()
        {
            // The request body may be left unread: close the connection so that a client
            // does not send its next request into the rest of it.
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.code == ErrorCode::Unauthorized {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

/// `axum::Json` with its rejections in the API's error shape (413 for oversized bodies,
/// serde's message for malformed JSON and unknown fields).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rej) => Err(match rej.status() {
                StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("JSON body over the limit of {MAX_JSON_BYTES} bytes"),
                ),
                StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                    AppError::bad_request("send the body with Content-Type: application/json")
                }
                _ => AppError::bad_request(format!("invalid JSON body: {}", rej.body_text())),
            }),
        }
    }
}

/// Path parameters with rejections in the API's error shape.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e| AppError::bad_request(format!("invalid path: {}", e.body_text())))
    }
}

/// Query parameters with rejections in the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e| AppError::bad_request(format!("invalid query: {}", e.body_text())))
    }
}

/// What an endpoint needs from the caller.
pub struct Need<'a> {
    /// `None`: any valid token.
    pub scope: Option<Scope>,
    /// For the audit record of a refusal: `release.create`, ...; `None` for reads.
    pub write: Option<&'a str>,
    pub app: Option<&'a str>,
    /// `?token=` accepted (download and install links followed by devices).
    pub query_token: Option<&'a str>,
}

impl<'a> Need<'a> {
    pub fn any() -> Self {
        Self {
            scope: None,
            write: None,
            app: None,
            query_token: None,
        }
    }
    pub fn read(scope: Scope) -> Self {
        Self {
            scope: Some(scope),
            write: None,
            app: None,
            query_token: None,
        }
    }
    pub fn write(scope: Scope, action: &'a str) -> Self {
        Self {
            scope: Some(scope),
            write: Some(action),
            app: None,
            query_token: None,
        }
    }
    pub fn app(mut self, app: &'a str) -> Self {
        self.app = Some(app);
        self
    }
}

/// Authenticates the caller and checks scope and app; refusals on write endpoints are
/// recorded as `auth.denied` (never with the secret).
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    need: Need<'_>,
) -> AppResult<Principal> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().ok().and_then(|s| auth::bearer(Some(s))));
    let secret: Option<String> = match from_header {
        Some(Some(s)) => Some(s.to_owned()),
        Some(None) => None,
        None => need.query_token.map(str::to_owned),
    };
    let result: AppResult<Principal> = match secret {
        None if from_header.is_some() => Err(AppError::unauthorized(
            "malformed Authorization header: send Authorization: Bearer <token>",
        )),
        None => Err(AppError::unauthorized(
            "missing token: send Authorization: Bearer <token>",
        )),
        Some(secret) => state.db.read(move |c| auth::authenticate(c, &secret)).await,
    };
    let principal = match result {
        Ok(p) => p,
        Err(e) => {
            if let Some(action) = need.write {
                deny(state, action, need.app, None, &e).await;
            }
            return Err(e);
        }
    };
    let allowed = need
        .scope
        .map_or(Ok(()), |s| principal.require(s))
        .and_then(|_| need.app.map_or(Ok(()), |a| principal.require_app(a)));
    if let Err(e) = allowed {
        if let Some(action) = need.write {
            deny(state, action, need.app, Some(&principal), &e).await;
        }
        return Err(e);
    }
    if principal.needs_touch {
        let (db, id) = (state.db.clone(), principal.id.clone());
        tokio::spawn(async move {
            let _ = db
                .write(move |tx| Ok(crate::db::touch_token(tx, &id, &crate::util::now())?))
                .await;
        });
    }
    Ok(principal)
}

/// Records an `auth.denied` event; failures to record are logged, not returned. A refusal
/// without a valid token is counted in `denials` (one row per client address and minute);
/// one with a valid token is a row of its own. Both name the client address.
pub async fn deny(
    state: &AppState,
    action: &str,
    app: Option<&str>,
    who: Option<&Principal>,
    err: &AppError,
) {
    let client = edge::current_client();
    let Some(who) = who else {
        state
            .denials
            .note(client, action, app, err.code.status(), &err.message);
        return;
    };
    let actor = who.actor();
    let details = json!({
        "endpoint": action,
        "status": err.code.status(),
        "reason": err.message,
        "client": client.map(|ip| ip.to_string()),
    });
    let app = app.map(str::to_owned);
    let res = state
        .db
        .write(move |tx| {
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "auth.denied",
                    app: app.as_deref(),
                    subject: None,
                    details,
                },
            )
        })
        .await;
    if let Err(e) = res {
        tracing::warn!("could not record auth.denied: {e}");
    }
}

/// Refuses identifiers that cannot be ours before any lookup (path traversal, huge input).
pub fn check_id(kind: &str, prefix: &str, id: &str) -> AppResult<()> {
    let ok = id.len() <= 64
        && id.starts_with(prefix)
        && id[prefix.len()..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(AppError::not_found(format!(
            "{kind} {:?} not found (ids look like {prefix}0123abcd...)",
            id.chars().take(80).collect::<String>()
        )))
    }
}

/// Parses a path segment into a validated newtype, 400 naming the problem.
pub fn parse_seg<T: std::str::FromStr>(s: &str) -> AppResult<T>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| AppError::bad_request(e.to_string()))
}
