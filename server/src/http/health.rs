//! `GET /healthz`: the database answers and the data folder takes a write (else 503); free
//! space, stored files found missing and read-only mode (200 with `status: degraded`: the
//! server still serves, an admin is needed); and the last re-inspection of stored artifacts.
//! Nothing here walks the blob store: a periodic walk would wake a NAS's sleeping disks.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use platform::api::{DiskHealth, Health, ReinspectHealth};

use crate::services::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(st): State<AppState>) -> Response {
    let db_ok = st
        .db
        .read(|c| {
            crate::db::ping(c)?;
            Ok(crate::reinspect::last_run(c)?)
        })
        .await;
    let dir = st.cfg.uploads_dir();
    let disk_ok = tokio::task::spawn_blocking(move || {
        let p = dir.join(format!(".healthz-{}", crate::util::new_id("h")));
        let r = std::fs::write(&p, b"ok");
        let _ = std::fs::remove_file(&p);
        r
    })
    .await;
    let space = disk_space(&st.cfg.data, st.cfg.min_free_bytes);
    let full = matches!(&disk_ok, Ok(Err(e)) if crate::blobs::is_disk_full(e));
    let problem = match (&db_ok, &disk_ok) {
        (Err(e), _) => Some(format!("database: {}", e.message)),
        // A full disk still serves downloads: degraded, not down.
        (_, Ok(Err(_))) if full => None,
        (_, Err(_)) | (_, Ok(Err(_))) => Some("data folder is not writable".to_owned()),
        _ => None,
    };
    let read_only = st.db.read_only();
    let missing_blobs = st
        .missing_blobs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .len() as u64;
    let mut degraded = Vec::new();
    if read_only.is_some() {
        degraded.push("read-only: the audit log does not match its head anchor".to_owned());
    }
    if full {
        degraded.push("the data folder's disk is full".to_owned());
    } else if let Some(d) = &space
        && d.free_bytes < d.min_free_bytes
    {
        degraded.push(format!(
            "low disk space: {} bytes free, below {} (DIST_MIN_FREE_BYTES)",
            d.free_bytes, d.min_free_bytes
        ));
    }
    if missing_blobs > 0 {
        degraded.push(format!(
            "{missing_blobs} stored file(s) missing; run distd fsck"
        ));
    }
    let status = match (&problem, degraded.is_empty()) {
        (Some(p), _) => p.clone(),
        (None, true) => "ok".to_owned(),
        (None, false) => "degraded".to_owned(),
    };
    let health = Health {
        status,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        platforms: st.registry.ids().into_iter().map(str::to_owned).collect(),
        reinspect: Some(ReinspectHealth {
            inspector_version: platform::INSPECTOR_VERSION,
            running: crate::reinspect::running(),
            last_run: db_ok.as_ref().ok().cloned().flatten(),
        }),
        read_only,
        disk: space,
        missing_blobs,
        degraded,
    };
    let status = if problem.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, axum::Json(health)).into_response()
}

/// Free and total bytes of the file system holding `dir` (`statvfs`).
fn disk_space(dir: &std::path::Path, min_free_bytes: u64) -> Option<DiskHealth> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some(DiskHealth {
        free_bytes: s.f_bavail.saturating_mul(s.f_frsize),
        total_bytes: s.f_blocks.saturating_mul(s.f_frsize),
        min_free_bytes,
    })
}
