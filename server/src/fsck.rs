//! `distd fsck`: re-hash every blob, check every attached artifact's blob (and icon) exists
//! and matches its recorded size, list orphan blobs and stray files.

use std::collections::BTreeSet;

use serde::Serialize;

use platform::Sha256;

use crate::blobs::{BlobStore, LocalBlobStore};
use crate::db;

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub blobs_checked: u64,
    pub bytes_checked: u64,
    pub artifacts_checked: u64,
    /// Blobs whose bytes no longer hash to their name.
    pub corrupt: Vec<String>,
    /// Attached artifacts (or icons) whose blob is missing or of the wrong size.
    pub missing: Vec<String>,
    /// Files in the blob folder that are not blobs.
    pub stray: Vec<String>,
    /// Blobs no artifact refers to (kept: an upload may precede its release, and deleted
    /// drafts leave them). Not a problem by themselves; `distd gc` removes old ones.
    pub orphans: Vec<String>,
    pub ok: bool,
}

pub fn run(
    conn: &rusqlite::Connection,
    store: &std::sync::Arc<LocalBlobStore>,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let scan = store.scan()?;
    let mut present = BTreeSet::new();
    for (digest, path) in &scan.blobs {
        let mut f = std::fs::File::open(path)?;
        let (got, size) = Sha256::of_reader(&mut f)?;
        report.blobs_checked += 1;
        report.bytes_checked += size;
        if got != *digest {
            report
                .corrupt
                .push(format!("{}: bytes hash to {got}", path.display()));
        } else {
            present.insert(digest.hex());
        }
    }
    report.stray = scan.stray.iter().map(|p| p.display().to_string()).collect();
    for a in db::list_all_artifacts(conn)? {
        report.artifacts_checked += 1;
        if let Some(d) = &a.sha256
            && a.attached
        {
            let size = store.stat(d)?;
            match (size, a.size) {
                (None, _) => report
                    .missing
                    .push(format!("artifact {}: blob {d} is missing", a.id)),
                (Some(s), Some(want)) if want != s => report.missing.push(format!(
                    "artifact {}: blob {d} has {s} bytes, recorded {want}",
                    a.id
                )),
                _ if !present.contains(&d.hex()) => report
                    .missing
                    .push(format!("artifact {}: blob {d} is corrupt", a.id)),
                _ => {}
            }
        }
        if let Some(icon) = &a.icon_sha256
            && !present.contains(&icon.hex())
        {
            report.missing.push(format!(
                "artifact {}: icon blob {icon} is missing or corrupt",
                a.id
            ));
        }
    }
    report.orphans = present
        .difference(&db::referenced_blobs(conn)?)
        .cloned()
        .collect();
    report.ok = report.corrupt.is_empty() && report.missing.is_empty() && report.stray.is_empty();
    Ok(report)
}
