//! `distd restore BACKUP --data DIR`: puts a database written by `distd backup` back in
//! place, after checking it, so that a bad backup never replaces a working database.
//!
//! Checked first, on a private copy in the data folder (the file the restore will install, not
//! the original, so a copy damaged on the way is caught): SQLite's `integrity_check`, a schema
//! this distd knows, an intact audit chain, and every file the backup's artifacts refer to
//! present in `DATA/blobs` with its digest and size. Then, with distd stopped: the current
//! database is checkpointed and kept as `distd.sqlite3.before-restore-<time>`, its WAL and
//! shared-memory files are removed (a WAL left beside another database would be replayed into
//! it), the copy is renamed into place, and the restore is recorded in the restored chain
//! (`audit.restore`, naming the backup and the previous head) with the head anchor moved to it.
//! Interrupted at any point, running it again finishes the job.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::json;

use platform::Sha256;

use crate::audit::{self, Event};
use crate::blobs::LocalBlobStore;
use crate::{config, db};

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub backup: String,
    /// What the checks found wrong; empty when the backup is sound.
    pub problems: Vec<String>,
    pub audit_rows: u64,
    pub blobs_checked: u64,
    pub restored: bool,
    /// Where the replaced database was kept.
    pub previous: Option<String>,
}

/// Checks `backup` and, when it is sound and `dry_run` is off, installs it in `data`.
pub fn run(backup: &Path, data: &Path, dry_run: bool) -> anyhow::Result<Report> {
    let meta = std::fs::metadata(backup)
        .with_context(|| format!("cannot read the backup {}", backup.display()))?;
    if !meta.is_file() || meta.len() == 0 {
        bail!(
            "{} is not a backup file (empty or not a file)",
            backup.display()
        );
    }
    let db_path = config::db_file(data);
    if let Some(pid) = open_by_another_process(&db_path) {
        bail!(
            "process {pid} has {} open (a running distd?): stop it before restoring",
            db_path.display()
        );
    }
    let staged = data.join("distd.sqlite3.restore-tmp");
    std::fs::copy(backup, &staged)
        .with_context(|| format!("copy {} into {}", backup.display(), data.display()))?;
    let mut report = Report {
        backup: backup.display().to_string(),
        ..Report::default()
    };
    let checked = check(&staged, data, &mut report);
    if let Err(e) = checked {
        report.problems.push(format!("{e:#}"));
    }
    if !report.problems.is_empty() || dry_run {
        let _ = std::fs::remove_file(&staged);
        return Ok(report);
    }
    install(&staged, &db_path, data, &mut report)?;
    Ok(report)
}

fn check(staged: &Path, data: &Path, report: &mut Report) -> anyhow::Result<()> {
    let conn = db::open_reader(staged).context("open the backup")?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .context("the backup is not an SQLite database")?;
    if integrity != "ok" {
        report
            .problems
            .push(format!("SQLite integrity check: {integrity}"));
        return Ok(());
    }
    let newest: Option<i64> = conn
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .context("the backup is not a distd database (no schema_migrations)")?;
    let known = db::MIGRATIONS.last().map_or(0, |m| m.0);
    if newest.is_some_and(|n| n > known) {
        report.problems.push(format!(
            "the backup was written by a newer distd (migration {}; this distd knows up to {known})",
            newest.unwrap_or_default()
        ));
    }
    let v = audit::verify(&conn).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    report.audit_rows = v.checked;
    if !v.ok {
        report.problems.push(format!("audit chain: {}", v.message));
    }
    let store = std::sync::Arc::new(LocalBlobStore::open(data, false)?);
    let sizes = artifact_sizes(&conn)?;
    for hex in db::referenced_blobs(&conn)? {
        let Ok(digest) = hex.parse::<Sha256>() else {
            report
                .problems
                .push(format!("a digest that is not SHA-256 hex: {hex:?}"));
            continue;
        };
        let path = store.path(&digest);
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                report
                    .problems
                    .push(format!("blob {hex} is missing ({}: {e})", path.display()));
                continue;
            }
        };
        let (got, size) = Sha256::of_reader(&mut f)?;
        report.blobs_checked += 1;
        if got != digest {
            report
                .problems
                .push(format!("blob {hex} is corrupt: its bytes hash to {got}"));
        } else if sizes.get(&hex).is_some_and(|want| !want.contains(&size)) {
            report.problems.push(format!(
                "blob {hex} has {size} bytes, not what the backup records"
            ));
        }
    }
    Ok(())
}

/// The sizes the backup's artifacts record per digest.
fn artifact_sizes(
    c: &rusqlite::Connection,
) -> anyhow::Result<std::collections::BTreeMap<String, BTreeSet<u64>>> {
    let mut out: std::collections::BTreeMap<String, BTreeSet<u64>> = Default::default();
    for a in db::list_all_artifacts(c)? {
        if let (Some(d), Some(s)) = (a.sha256, a.size) {
            out.entry(d.hex()).or_default().insert(s);
        }
    }
    Ok(out)
}

fn install(staged: &Path, db_path: &Path, data: &Path, report: &mut Report) -> anyhow::Result<()> {
    let stamp = crate::util::now_unix();
    let wal = with_suffix(db_path, "-wal");
    let shm = with_suffix(db_path, "-shm");
    if db_path.exists() {
        // Every commit into the main file first, so that the kept copy is whole alone.
        {
            let conn = rusqlite::Connection::open(db_path)
                .with_context(|| format!("open {}", db_path.display()))?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            let busy: i64 = conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                .context("checkpoint the current database")?;
            if busy != 0 {
                bail!(
                    "the current database is in use: stop distd before restoring, then run this again"
                );
            }
        }
        let kept = with_suffix(db_path, &format!(".before-restore-{stamp}"));
        std::fs::hard_link(db_path, &kept)
            .or_else(|_| std::fs::copy(db_path, &kept).map(|_| ()))
            .with_context(|| format!("keep the current database as {}", kept.display()))?;
        report.previous = Some(kept.display().to_string());
    }
    for f in [&wal, &shm] {
        match std::fs::remove_file(f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("remove {}", f.display())),
        }
    }
    std::fs::File::open(staged)?.sync_all()?;
    std::fs::rename(staged, db_path)
        .with_context(|| format!("move the backup into {}", db_path.display()))?;
    std::fs::File::open(data)?.sync_all()?;
    // On the record, in the restored chain; the anchor follows it.
    let head_path = audit::head_path(db_path);
    let previous_head = audit::read_head(&head_path);
    if head_path.exists() {
        let _ = std::fs::copy(
            &head_path,
            data.join(format!("audit-head.before-restore-{stamp}")),
        );
    }
    let mut conn = db::open_writer(db_path)?;
    let details = json!({
        "backup": report.backup,
        "previous_head_seq": previous_head.as_ref().map(|h| h.0),
        "previous_head_hash": previous_head.as_ref().map(|h| h.1.clone()),
        "previous_database": report.previous,
    });
    db::write_tx(&mut conn, |tx| {
        audit::append(
            tx,
            Event {
                actor: "system:restore",
                action: "audit.restore",
                app: None,
                subject: None,
                details,
            },
        )
    })
    .map_err(|e| anyhow::anyhow!("record the restore: {}", e.message))?;
    if let Some((seq, hash)) = db::last_audit(&conn)? {
        audit::write_head(&head_path, seq, &hash).context("move the audit head anchor")?;
    }
    report.restored = true;
    Ok(())
}

/// A process other than this one with the database open (`/proc`; `None` elsewhere or
/// when nothing is found). Replacing a database under a running distd would leave it writing
/// to the replaced file.
fn open_by_another_process(db_path: &Path) -> Option<u32> {
    let target = std::fs::canonicalize(db_path).ok()?;
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l == target) {
                return Some(pid);
            }
        }
    }
    None
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
