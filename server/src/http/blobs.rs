//! `HEAD` and `PUT /api/v1/blobs/sha256/{hex}`: ask for a digest, stream one in, resume.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use serde_json::json;

use platform::Sha256;
use platform::api::{BlobInfo, Scope, UPLOAD_LENGTH, UPLOAD_OFFSET};

use super::{ApiPath, Need, authorize};
use crate::audit::{self, Event};
use crate::blobs::{BlobStore, PutOutcome, UploadRequest};
use crate::error::{AppError, AppResult};
use crate::services::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/blobs/sha256/{hex}", put(put_blob).head(head_blob))
}

fn digest(hex: &str) -> AppResult<Sha256> {
    hex.parse()
        .map_err(|e: platform::types::InvalidValue| AppError::bad_request(e.to_string()))
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

async fn head_blob(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(hex): ApiPath<String>,
) -> AppResult<Response> {
    authorize(&st, &h, Need::read(Scope::Publish)).await?;
    let d = digest(&hex)?;
    match st
        .blobs
        .stat(&d)
        .map_err(|e| AppError::internal("stat blob", e))?
    {
        Some(size) => {
            let mut res = StatusCode::OK.into_response();
            res.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            Ok(res)
        }
        None => {
            let mut res = StatusCode::NOT_FOUND.into_response();
            if let Some(off) = st.blobs.partial_offset(&d) {
                res.headers_mut()
                    .insert(UPLOAD_OFFSET, HeaderValue::from(off));
            }
            Ok(res)
        }
    }
}

async fn put_blob(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(hex): ApiPath<String>,
    body: Body,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::write(Scope::Publish, "blob.upload")).await?;
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
    let req = UploadRequest {
        digest: d,
        total,
        offset,
        resumable: upload_length.is_some(),
        max_bytes: st.cfg.max_upload_bytes,
    };
    let outcome = st.blobs.put(req, body.into_data_stream()).await?;
    let (status, size, created) = match outcome {
        PutOutcome::Created(n) => (StatusCode::CREATED, n, true),
        PutOutcome::Present(n) => (StatusCode::OK, n, false),
    };
    if created {
        let actor = p.actor();
        st.db
            .write(move |tx| {
                audit::append(
                    tx,
                    Event {
                        actor: &actor,
                        action: "blob.upload",
                        app: None,
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
