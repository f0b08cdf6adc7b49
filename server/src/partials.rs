//! Unfinished resumable uploads (`uploads/<hex>.partial`) outlive a restart: a deploy must not
//! cost every big upload in flight a restart from zero. Each partial has an owner row in
//! `partial_uploads` (app, token, declared size); the sweep here, at start-up and every few
//! minutes after, keeps a partial while it is younger than `DIST_PARTIAL_TTL_SECS` and
//! consistent with its row, and removes the others, each removal an `upload.abandon` audit
//! event. A partial being written is never touched. The caps on partial bytes (per token and in
//! all) are applied when an upload starts (`http::blobs`): past them it is not resumable.

use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::audit::{self, Event};
use crate::blobs::BlobStore;
use crate::db;
use crate::services::AppState;

/// What a sweep did.
#[derive(Debug, Default)]
pub struct Sweep {
    pub kept: usize,
    pub kept_bytes: u64,
    pub removed: usize,
    pub removed_bytes: u64,
}

/// How often the running server looks for expired partials (the uploads folder only: blobs
/// are never walked).
pub const EVERY: Duration = Duration::from_secs(600);

/// Keeps or removes each partial; logs the outcome (at start-up always, later when it removed
/// something).
pub async fn sweep(st: &AppState, at_start: bool) -> Sweep {
    let mut out = Sweep::default();
    if st.db.read_only().is_some() {
        return out;
    }
    let found = match st.blobs.partials() {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(
                "partial uploads: cannot list {}: {e}",
                st.cfg.uploads_dir().display()
            );
            return out;
        }
    };
    let rows = st
        .db
        .read(|c| Ok(db::list_partials(c)?))
        .await
        .unwrap_or_default();
    let ttl = st.cfg.uploads.partial_ttl;
    let now = SystemTime::now();
    for (digest, bytes, modified) in &found {
        if st.blobs.in_progress(digest) {
            out.kept += 1;
            out.kept_bytes += bytes;
            continue;
        }
        let row = rows.iter().find(|r| r.sha256 == digest.hex());
        let age = now.duration_since(*modified).unwrap_or(Duration::ZERO);
        let stored = st.blobs.stat(digest).ok().flatten().is_some();
        let reason = match row {
            None => Some("no owner recorded"),
            Some(_) if stored => Some("the file was stored by another upload"),
            Some(r) if i64::try_from(*bytes).unwrap_or(i64::MAX) > r.total => {
                Some("more bytes than the declared size")
            }
            Some(_) if age >= ttl => Some("expired"),
            Some(_) => None,
        };
        let Some(reason) = reason else {
            out.kept += 1;
            out.kept_bytes += bytes;
            continue;
        };
        match st.blobs.remove_partial(digest) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(sha256 = %digest, "partial upload: cannot remove: {e}");
                continue;
            }
        }
        out.removed += 1;
        out.removed_bytes += bytes;
        let (hex, bytes, age_secs) = (digest.hex(), *bytes, age.as_secs());
        let (app, token, total) = row
            .map(|r| (Some(r.app.clone()), Some(r.token_id.clone()), Some(r.total)))
            .unwrap_or_default();
        let res = st
            .db
            .write(move |tx| {
                db::delete_partial(tx, &hex)?;
                audit::append(
                    tx,
                    Event {
                        actor: "system:uploads",
                        action: "upload.abandon",
                        app: app.as_deref(),
                        subject: Some(&hex),
                        details: json!({
                            "sha256": hex, "bytes": bytes, "declared": total,
                            "token_id": token, "age_secs": age_secs, "reason": reason,
                        }),
                    },
                )
            })
            .await;
        if let Err(e) = res {
            tracing::warn!("partial upload {digest}: removed, but not recorded: {e}");
        }
    }
    // Rows whose file is gone (a crash between the rename and the row's removal).
    for r in rows {
        if !found.iter().any(|(d, _, _)| d.hex() == r.sha256) {
            let hex = r.sha256.clone();
            let in_progress = hex
                .parse()
                .is_ok_and(|d: platform::Sha256| st.blobs.in_progress(&d));
            if !in_progress {
                let _ = st
                    .db
                    .write(move |tx| Ok(db::delete_partial(tx, &hex)?))
                    .await;
            }
        }
    }
    if at_start || out.removed > 0 {
        tracing::info!(
            "partial uploads: kept {} ({} bytes) for a resume, removed {} ({} bytes; each an upload.abandon audit event); kept for {} s (DIST_PARTIAL_TTL_SECS)",
            out.kept,
            out.kept_bytes,
            out.removed,
            out.removed_bytes,
            ttl.as_secs()
        );
    }
    out
}

/// Sweeps every [`EVERY`] until the server stops.
pub async fn run_sweeper(st: AppState) {
    loop {
        tokio::time::sleep(EVERY).await;
        sweep(&st, false).await;
    }
}
