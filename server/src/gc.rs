//! `distd gc`: removes blobs that no artifact or icon refers to and that are older than a
//! minimum age, each removal on the audit record.
//!
//! Safe while distd runs: an upload precedes its release, so young orphans are kept (the
//! minimum age is that window), and each removal happens inside a write transaction that
//! first re-checks the blob is unreferenced. Attach re-checks the blob exists under the same
//! lock, so an artifact can never be attached to a blob gc is removing.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Event};
use crate::blobs::{BlobStore, LocalBlobStore};
use crate::db;
use crate::error::AppError;

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub min_age_hours: u64,
    /// Removed (or, with `dry_run`, would be).
    pub removed: Vec<Removed>,
    pub bytes_freed: u64,
    /// Unreferenced but younger than the minimum age: an upload whose release may follow.
    pub kept_young: u64,
    /// What the retention policy did first (`--releases`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub releases: Option<crate::retention::Report>,
}

#[derive(Debug, Serialize)]
pub struct Removed {
    pub sha256: String,
    pub size: u64,
}

pub fn run(
    conn: &mut rusqlite::Connection,
    db_path: &std::path::Path,
    store: &Arc<LocalBlobStore>,
    min_age: Duration,
    dry_run: bool,
) -> anyhow::Result<Report> {
    let mut report = Report {
        dry_run,
        min_age_hours: min_age.as_secs() / 3600,
        ..Report::default()
    };
    let now = SystemTime::now();
    // One read for the candidates; each removal checks its blob again under the write lock.
    let referenced = db::referenced_blobs(conn)?;
    for (digest, path) in store.scan()?.blobs {
        let hex = digest.hex();
        if referenced.contains(&hex) {
            continue;
        }
        let meta = std::fs::metadata(&path)?;
        let age = now
            .duration_since(meta.modified()?)
            .unwrap_or(Duration::ZERO);
        if age < min_age {
            report.kept_young += 1;
            continue;
        }
        let size = meta.len();
        if !dry_run {
            // The file system's own words, for stderr: AppError::internal hides them.
            let mut io_failure: Option<std::io::Error> = None;
            let removed = db::write_tx_anchored(conn, db_path, |tx| {
                if db::blob_referenced(tx, &hex)? {
                    return Ok(false); // referenced since the scan
                }
                audit::append(
                    tx,
                    Event {
                        actor: "system:gc",
                        action: "blob.remove",
                        app: None,
                        subject: Some(&hex),
                        details: json!({"sha256": hex, "size": size, "reason": "unreferenced"}),
                    },
                )?;
                // Uploaders' proof of possession goes with the bytes.
                db::forget_blob(tx, &hex)?;
                // Under the write lock, before the commit: a failed removal rolls the record
                // back, and no attach can slip in between.
                store.remove(&digest).map_err(|e| {
                    let app_err = AppError::internal("remove blob", &e);
                    io_failure = Some(e);
                    app_err
                })?;
                Ok(true)
            })
            .map_err(|e| match io_failure.take() {
                Some(io) => anyhow::anyhow!("remove {}: {io}", path.display()),
                None => anyhow::anyhow!("remove {}: {}", path.display(), e.message),
            })?;
            if !removed {
                continue;
            }
        }
        report.bytes_freed += size;
        report.removed.push(Removed { sha256: hex, size });
    }
    Ok(report)
}
