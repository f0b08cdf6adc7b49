//! The OpenAPI 3.1 document of API v1, served at `/api/v1/openapi.json` (issue 14, item 7).
//! It is generated from the handlers' `#[utoipa::path]` operations and the `platform::api`
//! types they send and take, so it cannot drift from the code the way a hand-written file
//! would; `server/tests/openapi.rs` holds the README's API table to it, both ways.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{self, ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use platform::api::ErrorBody;

/// The name of the bearer scheme in the document.
pub const BEARER: &str = "bearer";
/// The name of the `?token=` scheme (the API download only).
pub const QUERY_TOKEN: &str = "token_query";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "distd API",
        description = "dist's release server: apps, releases, artifacts, channels, tokens and the audit log. Every route is under /api/v1 and takes Authorization: Bearer <token>; errors are {\"error\":{\"code\",\"message\"}} with the codes of ErrorCode. The README's \"HTTP API v1\" section says what each route is for.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&Security),
    security(("bearer" = [])),
    components(schemas(ErrorBody, platform::api::ErrorCode))
)]
struct ApiDoc;

/// Adds the security schemes the routes name.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a dist token: dist_ and 43 characters"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            QUERY_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "a dist token in the query, for download links followed by devices",
            ))),
        );
    }
}

/// The error answers every route may give, in the one error shape ([`ErrorBody`]): 4XX for
/// what the caller can fix, 5XX for the server's side.
pub struct ApiErrors;

impl IntoResponses for ApiErrors {
    fn responses() -> BTreeMap<String, RefOr<openapi::response::Response>> {
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                        .build(),
                )
                .build()
                .into()
        };
        BTreeMap::from([
            (
                "4XX".to_owned(),
                error(
                    "refused: bad_request, unauthorized, forbidden, not_found, conflict, payload_too_large, validation_failed (with findings), ...; the message says what to do",
                ),
            ),
            (
                "5XX".to_owned(),
                error(
                    "the server's side: internal (the log has the details), unavailable (read-only, busy, a stored file missing), insufficient_storage",
                ),
            ),
        ])
    }
}

/// The document for routes nested under `/api/v1`, with the paths as clients call them.
pub fn document(api: Document) -> Document {
    let mut doc = ApiDoc::openapi();
    doc.merge(api);
    doc.paths.paths = std::mem::take(&mut doc.paths.paths)
        .into_iter()
        .map(|(path, item)| (format!("{}{path}", platform::api::API_PREFIX), item))
        .collect();
    doc
}

static DOCUMENT: OnceLock<String> = OnceLock::new();

/// Keeps the rendered document for [`serve`]; called once when the router is built.
pub fn publish(doc: &Document) {
    let json = doc.to_json().unwrap_or_else(|e| {
        tracing::error!("render the OpenAPI document: {e}");
        String::from("{}")
    });
    let _ = DOCUMENT.set(json);
}

/// `GET /api/v1/openapi.json`: no token needed (it holds no data, only the contract).
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "this document (OpenAPI 3.1)", content_type = "application/json")))]
pub async fn serve() -> Response {
    match DOCUMENT.get() {
        Some(json) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json.clone(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the document is not built yet",
        )
            .into_response(),
    }
}
