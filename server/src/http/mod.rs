//! HTTP: the router, the one `IntoResponse` for [`AppError`], JSON/path/query extractors that
//! answer in the API's error shape, the caller extractor (`auth::Auth`), the OpenAPI document
//! (`openapi`), and request logging. Feature routers live in the submodules and are merged in
//! [`app`].

pub mod admin;
mod api;
pub mod auth;
mod blobs;
mod compress;
pub mod denials;
mod downloads;
pub mod edge;
mod health;
mod openapi;
pub mod pages;
pub mod paging;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

use platform::api::{ErrorBody, ErrorCode, ErrorDetail, UPLOAD_OFFSET};

use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::config::MAX_JSON_BYTES;
use crate::error::{AppError, AppResult};
use crate::services::AppState;

/// The API routes under `/api/v1` and their OpenAPI document (paths relative to the prefix).
fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    api::router()
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        // The blob PUT counts bytes itself against DIST_MAX_UPLOAD_BYTES while streaming.
        .merge(blobs::router().layer(DefaultBodyLimit::disable()))
        .routes(utoipa_axum::routes!(openapi::serve))
        .split_for_parts()
}

/// The OpenAPI 3.1 document of API v1, as `/api/v1/openapi.json` serves it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::document(api_routes().1)
}

/// The whole application: API, downloads, install pages, the admin console, health.
pub fn app(state: AppState) -> Router {
    let (api, doc) = api_routes();
    openapi::publish(&openapi::document(doc));
    Router::new()
        .nest("/api/v1", api)
        .merge(downloads::router())
        .merge(admin::router())
        .merge(pages::router())
        .merge(health::router())
        .fallback(not_found)
        // After every route is registered: it applies to the routes known at this point.
        .method_not_allowed_fallback(method_not_allowed)
        // Around every route: client address, request log, gzip, HTML errors, headers.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            edge::edge,
        ))
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
        // For `edge::edge`, which gives a browser the same error as a page.
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
        // Read as a JSON value first: every body of API v1 is an object, and serde would
        // otherwise take a struct from an array too (`[[]]` read as a policy, found by the
        // OpenAPI fuzzing of issue 14, item 7).
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(rej) => return Err(json_rejection(rej)),
        };
        if !value.is_object() {
            return Err(AppError::bad_request(
                "invalid JSON body: send a JSON object ({...})",
            ));
        }
        serde_json::from_value(value)
            .map(Self)
            .map_err(|e| AppError::bad_request(format!("invalid JSON body: {e}")))
    }
}

/// axum's JSON rejections in the API's error shape.
fn json_rejection(rej: axum::extract::rejection::JsonRejection) -> AppError {
    match rej.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
            ErrorCode::PayloadTooLarge,
            format!("JSON body over the limit of {MAX_JSON_BYTES} bytes"),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            AppError::bad_request("send the body with Content-Type: application/json")
        }
        _ => AppError::bad_request(format!("invalid JSON body: {}", rej.body_text())),
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

/// Reads an id from a page address (`/i/{id}`): one that cannot be ours answers like an
/// unknown one, 404, before any lookup (a mangled link is not a bad request of the reader's).
/// API routes take ids through `ApiPath<ReleaseId>` and friends instead (400 naming the id).
pub fn page_id<T>(id: &str) -> AppResult<T>
where
    T: std::str::FromStr<Err = platform::InvalidValue>,
{
    id.parse::<T>().map_err(|e| {
        let shown: String = e.value.chars().take(80).collect();
        AppError::not_found(format!("{} {shown:?} not found ({})", e.what, e.expected))
    })
}

/// Parses a path segment into a validated newtype, 400 naming the problem.
pub fn parse_seg<T: std::str::FromStr>(s: &str) -> AppResult<T>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| AppError::bad_request(e.to_string()))
}
