//! `GET /healthz`: the database answers and the data folder takes a write; and the last
//! re-inspection of stored artifacts (`distd reinspect`, or the run after an inspector change).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use platform::api::{Health, ReinspectHealth};

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
    let problem = match (&db_ok, &disk_ok) {
        (Err(e), _) => Some(format!("database: {}", e.message)),
        (_, Err(_)) | (_, Ok(Err(_))) => Some("data folder is not writable".to_owned()),
        _ => None,
    };
    let health = Health {
        status: problem.clone().unwrap_or_else(|| "ok".to_owned()),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        platforms: st.registry.ids().into_iter().map(str::to_owned).collect(),
        reinspect: Some(ReinspectHealth {
            inspector_version: platform::INSPECTOR_VERSION,
            running: crate::reinspect::running(),
            last_run: db_ok.as_ref().ok().cloned().flatten(),
        }),
    };
    let status = if problem.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, axum::Json(health)).into_response()
}
