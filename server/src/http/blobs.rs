//! `HEAD` and `PUT /api/v1/blobs/sha256/{hex}?app=NAME`: ask for a digest, stream one in,
//! resume. Blobs are shared on disk but owned per app: an app may use a blob once one of its
//! callers sent the bytes (proof of possession), and existence answers only for that app.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;

use platform::Sha256;
use platform::api::{BlobInfo, UPLOAD_LENGTH, UPLOAD_OFFSET};

use super::auth::{Auth, need};
use super::openapi::ApiErrors;
use super::{ApiPath, ApiQuery, parse_seg};
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::blobs::{BlobStore, PutOutcome, UploadRequest};
use crate::error::{AppError, AppResult};
use crate::services::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(utoipa_axum::routes!(put_blob, head_blob))
}

fn digest(hex: &str) -> AppResult<Sha256> {
    hex.parse()
        .map_err(|e: platform::types::InvalidValue| AppError::bad_request(e.to_string()))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct BlobQuery {
    /// The app the bytes are for; a token limited to one app may leave it out.
    #[param(value_type = Option<platform::AppSlug>)]
    app: Option<String>,
}

/// The app these bytes are for: the token's own app, or `?app=` for a token without one.
fn app_of(p: Option<&Principal>, q: &BlobQuery) -> AppResult<Option<platform::AppSlug>> {
    let asked = q
        .app
        .as_deref()
        .map(parse_seg::<platform::AppSlug>)
        .transpose()?;
    Ok(asked.or_else(|| p.and_then(|p| p.app.clone())))
}

fn need_app(app: Option<platform::AppSlug>) -> AppResult<platform::AppSlug> {
    app.ok_or_else(|| {
        AppError::bad_request(
            "say which app the bytes are for: add ?app=NAME (a token limited to one app may leave it out)",
        )
    })
}

/// 404 for an app that does not exist (its blobs cannot be recorded).
async fn app_must_exist(st: &AppState, app: &platform::AppSlug) -> AppResult<()> {
    let a = app.to_string();
    st.db
        .read(move |c| crate::services::app_row(c, &a).map(|_| ()))
        .await
}

fn header_u64(h: &HeaderMap, name: &str) -> AppResult<Option<u64>> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| AppError::bad_request(format!("header {name} must be a byte count"))),
    }
}

#[utoipa::path(head, path = "/blobs/sha256/{hex}", tag = "blobs",
    params(("hex" = platform::Sha256, Path, description = "the file's SHA-256"), BlobQuery),
    responses(
        (status = 200, description = "the app holds these bytes; Content-Length is their size"),
        (status = 404, description = "the app does not hold them; Upload-Offset says where a held partial upload ends",
            headers(("upload-offset" = u64, description = "bytes of a partial upload the server keeps"))),
        ApiErrors))]
async fn head_blob(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::BlobCheck>,
    ApiPath(hex): ApiPath<String>,
    ApiQuery(q): ApiQuery<BlobQuery>,
) -> AppResult<Response> {
    let app = need_app(app_of(Some(&p), &q)?)?;
    let d = digest(&hex)?;
    let stored = st
        .blobs
        .stat(&d)
        .map_err(|e| AppError::internal("stat blob", e))?;
    let owned = match stored {
        Some(_) => {
            let (hex, a) = (d.hex(), app.to_string());
            st.db
                .read(move |c| Ok(crate::db::blob_usable_by(c, &hex, &a)?))
                .await?
        }
        None => false,
    };
    match stored.filter(|_| owned) {
        Some(size) => {
            let mut res = StatusCode::OK.into_response();
            res.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            Ok(res)
        }
        None => {
            let mut res = StatusCode::NOT_FOUND.into_response();
            if upload_owner(&st, &d).await?.as_deref() == Some(app.as_str())
                && let Some(off) = st.blobs.partial_offset(&d)
            {
                res.headers_mut()
                    .insert(UPLOAD_OFFSET, HeaderValue::from(off));
            }
            Ok(res)
        }
    }
}

/// The app whose resumable upload of `d` is held (`partial_uploads`, kept across restarts).
async fn upload_owner(st: &AppState, d: &Sha256) -> AppResult<Option<String>> {
    let hex = d.hex();
    st.db
        .read(move |c| Ok(crate::db::get_partial(c, &hex)?.map(|r| r.app)))
        .await
}

/// Whether a new resumable upload of `total` bytes fits under the caps on partial bytes (the
/// token's and everyone's); past them the upload goes on, but is not kept if it breaks off.
async fn within_partial_caps(
    st: &AppState,
    token: &str,
    d: &Sha256,
    total: u64,
) -> AppResult<bool> {
    let (hex, tok) = (d.hex(), token.to_owned());
    let (mine, all) = st
        .db
        .read(move |c| Ok(crate::db::partial_bytes(c, &tok, &hex)?))
        .await?;
    let limits = st.cfg.uploads;
    let total = i64::try_from(total).unwrap_or(i64::MAX);
    let fits =
        |held: i64, cap: u64| held.saturating_add(total) <= i64::try_from(cap).unwrap_or(i64::MAX);
    let ok = fits(mine, limits.partial_token_max_bytes) && fits(all, limits.partial_max_bytes);
    if !ok {
        tracing::info!(
            sha256 = %d,
            "upload not resumable: {mine} bytes of this token's and {all} of all unfinished uploads are held (caps {} and {} bytes)",
            limits.partial_token_max_bytes,
            limits.partial_max_bytes
        );
    }
    Ok(ok)
}

#[utoipa::path(put, path = "/blobs/sha256/{hex}", tag = "blobs",
    params(
        ("hex" = platform::Sha256, Path, description = "the file's SHA-256"),
        BlobQuery,
        ("upload-length" = Option<u64>, Header, description = "the file's total size (a resumable upload)"),
        ("upload-offset" = Option<u64>, Header, description = "where this request's bytes start (resuming)"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file's bytes (from Upload-Offset on)"),
    responses(
        (status = 201, description = "stored", body = BlobInfo),
        (status = 200, description = "the server had it already; recorded for the app", body = BlobInfo),
        ApiErrors))]
async fn put_blob(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::BlobUpload>,
    h: HeaderMap,
    ApiPath(hex): ApiPath<String>,
    ApiQuery(q): ApiQuery<BlobQuery>,
    body: Body,
) -> AppResult<Response> {
    let app = need_app(app_of(Some(&p), &q)?)?;
    app_must_exist(&st, &app).await?;
    let d = digest(&hex)?;
    let upload_length = header_u64(&h, UPLOAD_LENGTH)?;
    let offset = header_u64(&h, UPLOAD_OFFSET)?.unwrap_or(0);
    let content_length = header_u64(&h, header::CONTENT_LENGTH.as_str())?;
    if let (Some(total), Some(len)) = (upload_length, content_length)
        && offset.checked_add(len).is_none_or(|end| end > total)
    {
        return Err(AppError::new(
            platform::api::ErrorCode::SizeMismatch,
            format!(
                "Upload-Offset {offset} + Content-Length {len} is more than Upload-Length {total}"
            ),
        ));
    }
    if let Some(total) = upload_length
        && offset > total
    {
        return Err(AppError::bad_request(format!(
            "Upload-Offset {offset} is past Upload-Length {total}"
        )));
    }
    let total = upload_length.or(if offset == 0 { content_length } else { None });
    let owned = {
        let (hex, a) = (d.hex(), app.to_string());
        st.db
            .read(move |c| Ok(crate::db::blob_usable_by(c, &hex, &a)?))
            .await?
    };
    // A resume continues bytes this app sent; another app's partial upload is not its to
    // finish (nor to learn about).
    if offset > 0 && upload_owner(&st, &d).await?.as_deref() != Some(app.as_str()) {
        return Err(AppError::conflict(format!(
            "app {app} has no upload of sha256 {d} in progress; start again from offset 0"
        ))
        .with_offset(0));
    }
    let mut resumable = upload_length.is_some();
    if let Some(total) = upload_length
        && offset == 0
        && st.blobs.stat(&d).ok().flatten().is_none()
    {
        resumable = within_partial_caps(&st, &p.id, &d, total).await?;
        if resumable {
            let now = crate::util::now();
            let row = crate::db::PartialRow {
                sha256: d.hex(),
                app: app.to_string(),
                token_id: p.id.to_string(),
                total: i64::try_from(total).unwrap_or(i64::MAX),
                started_at: now.clone(),
                updated_at: now,
            };
            st.db
                .write(move |tx| Ok(crate::db::upsert_partial(tx, &row)?))
                .await?;
        }
    }
    let req = UploadRequest {
        digest: d,
        total,
        offset,
        resumable,
        max_bytes: st.cfg.max_upload_bytes,
        prove_present: !owned,
        stall: st.cfg.uploads.stall,
    };
    let outcome = st.blobs.put(req, body.into_data_stream()).await;
    if resumable && (outcome.is_ok() || st.blobs.partial_offset(&d).is_none()) {
        let hex = d.hex();
        st.db
            .write(move |tx| Ok(crate::db::delete_partial(tx, &hex)?))
            .await?;
    }
    let (status, size, created) = match outcome? {
        PutOutcome::Created(n) => (StatusCode::CREATED, n, true),
        PutOutcome::Present(n) => (StatusCode::OK, n, false),
    };
    if created || !owned {
        let actor = p.actor();
        let app = app.to_string();
        st.db
            .write(move |tx| {
                crate::db::grant_blob(tx, &d.hex(), &app, &crate::util::now())?;
                audit::append(
                    tx,
                    Event {
                        actor: &actor,
                        action: if created { "blob.upload" } else { "blob.claim" },
                        app: Some(&app),
                        subject: Some(&d.hex()),
                        details: json!({"sha256": d.hex(), "size": size}),
                    },
                )
            })
            .await?;
    }
    Ok((
        status,
        axum::Json(BlobInfo {
            sha256: d,
            size,
            created,
        }),
    )
        .into_response())
}
