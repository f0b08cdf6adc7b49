//! The state check every command that opens a data folder runs first (`serve`, `fsck`, `gc`,
//! `backup`, `restore`, `reinspect`, `token create`, `audit`): it refuses states that would
//! otherwise be accepted silently and cost data.
//!
//! - A missing or 0-byte database beside a used data folder (blobs, or an `audit-head`):
//!   starting would make an empty database, turn every blob into an orphan `gc` deletes and
//!   mint a new admin token. Refused, naming what was found, unless `serve --start-over`.
//! - A database a newer distd migrated: refused, naming the migration.
//! - A database, WAL or folder distd cannot write (for commands that write): refused with the
//!   fix (`startup::check_data_tree`).
//! - An audit chain that does not reach the row `audit-head` recorded (rows cut off the end,
//!   or the end rewritten): `serve` runs read-only (downloads only) and every writing command
//!   refuses, so that the next write cannot overwrite the evidence, until an admin runs
//!   `distd audit acknowledge`, which records the acknowledgement in the chain.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::config;
use crate::db;

/// What the command is about to do with the data folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// `distd serve`; `start_over` is `--start-over`.
    Serve { start_over: bool },
    /// A command that writes the database (`gc`, `token create`, `reinspect`).
    Write,
    /// A command that only reads it (`fsck`, `backup`, `audit verify`, `reinspect --dry-run`).
    Read,
}

/// What the check found that does not stop every command.
#[derive(Debug, Default, Clone)]
pub struct State {
    /// The audit chain does not match its head anchor: the message names both positions.
    pub audit_mismatch: Option<String>,
    /// The chain itself does not verify (an edited or missing row inside it).
    pub audit_broken: Option<String>,
}

/// Runs the checks for `data` (a folder `config::check_data_dir` accepted).
pub fn check(data: &Path, what: Use) -> anyhow::Result<State> {
    let db_path = config::db_file(data);
    let size = match std::fs::metadata(&db_path) {
        Ok(m) => Some(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", db_path.display())),
    };
    if size.is_none_or(|s| s == 0) {
        no_database(data, &db_path, size, what)?;
        return Ok(State::default());
    }
    refuse_newer_schema(&db_path)?;
    if what != Use::Read {
        crate::startup::check_data_tree(data)?;
    }
    let state = audit_state(data, &db_path)?;
    if let (Use::Write, Some(m)) = (what, &state.audit_mismatch) {
        bail!("{m}");
    }
    Ok(state)
}

/// Blob files under `DATA/blobs/sha256`, counted up to `stop` (enough to say the folder is used).
fn count_blobs(data: &Path, stop: usize) -> usize {
    let mut n = 0;
    let Ok(shards) = std::fs::read_dir(data.join("blobs").join("sha256")) else {
        return 0;
    };
    for shard in shards.flatten() {
        if let Ok(files) = std::fs::read_dir(shard.path()) {
            n += files.flatten().count();
            if n >= stop {
                break;
            }
        }
    }
    n
}

fn no_database(data: &Path, db_path: &Path, size: Option<u64>, what: Use) -> anyhow::Result<()> {
    let head_path = data.join("audit-head");
    let head = crate::audit::read_head(&head_path);
    let blobs = count_blobs(data, 1000);
    let what_db = match size {
        None => "is missing",
        Some(_) => "is empty (0 bytes)",
    };
    let mut found = Vec::new();
    if blobs > 0 {
        found.push(format!(
            "{}{blobs} blob(s) in {}",
            if blobs >= 1000 { "at least " } else { "" },
            data.join("blobs").display()
        ));
    }
    if head_path.exists() {
        found.push(match &head {
            Some((seq, _)) => format!("{} recording audit row {seq}", head_path.display()),
            None => format!("{}", head_path.display()),
        });
    }
    if found.is_empty() {
        // A new data folder: serve creates the database, the others have nothing to read.
        return match what {
            Use::Serve { .. } => Ok(()),
            _ => bail!(
                "no database at {} ({what_db}); is --data right? (distd serve creates it)",
                db_path.display()
            ),
        };
    }
    let evidence = found.join(" and ");
    if what != (Use::Serve { start_over: true }) {
        bail!(
            "the database {} {what_db}, but this data folder was in use: it holds {evidence}. \
             Starting would create an empty database (every release gone, every blob an orphan). \
             Stop here and restore the database from a backup: `distd restore BACKUP --data {}` \
             (a file `distd backup` wrote). To start over on purpose with an empty database, \
             keeping the blobs as orphans for `distd gc`, run `distd serve --start-over --data {}`",
            db_path.display(),
            data.display(),
            data.display()
        );
    }
    // Starting over: the old anchor is kept beside, renamed, so the new chain starts clean
    // and the old one's last position is still on disk.
    if head_path.exists() {
        let kept = data.join(format!(
            "audit-head.before-start-over-{}",
            crate::util::now_unix()
        ));
        std::fs::rename(&head_path, &kept)
            .with_context(|| format!("move {} aside", head_path.display()))?;
        tracing::warn!(
            "--start-over: kept the old audit head as {}",
            kept.display()
        );
    }
    if size == Some(0) {
        std::fs::remove_file(db_path)
            .with_context(|| format!("remove the empty {}", db_path.display()))?;
    }
    tracing::warn!(
        "--start-over: starting with an empty database although the data folder holds {evidence}"
    );
    Ok(())
}

/// The newest migration recorded in `db_path`, without writing anything.
fn refuse_newer_schema(db_path: &Path) -> anyhow::Result<()> {
    let conn =
        db::open_reader(db_path).with_context(|| format!("open database {}", db_path.display()))?;
    let newest: Option<i64> = conn
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .with_context(|| {
            format!(
                "{} is not a distd database (no schema_migrations table); is --data right?",
                db_path.display()
            )
        })?;
    let known = db::MIGRATIONS.last().map_or(0, |m| m.0);
    if let Some(n) = newest
        && n > known
    {
        bail!(
            "{} was written by a newer distd (migration {n}; this distd knows up to {known}): run that version or newer, or restore the backup taken before the upgrade (`distd restore BACKUP --data {}`)",
            db_path.display(),
            db_path.parent().unwrap_or(Path::new(".")).display()
        );
    }
    Ok(())
}

/// The audit chain against its head anchor.
fn audit_state(data: &Path, db_path: &Path) -> anyhow::Result<State> {
    let conn = db::open_reader(db_path)?;
    let head_path = crate::audit::head_path(db_path);
    let head = crate::audit::read_head(&head_path);
    let chain = crate::audit::verify(&conn).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let mut state = State::default();
    if !chain.ok {
        state.audit_broken = Some(chain.message.clone());
    }
    let Some((seq, hash)) = head else {
        return Ok(state);
    };
    let end = db::last_audit(&conn)?;
    let at_seq = db::audit_hash_at(&conn, seq)?;
    if at_seq.as_deref() == Some(hash.as_str()) {
        return Ok(state);
    }
    let end_text = match &end {
        Some((s, h)) => format!("row {s} (hash {})", &h[..12.min(h.len())]),
        None => "row 0 (no rows)".to_owned(),
    };
    let why = match at_seq {
        None => "rows were cut off the end of the chain",
        Some(_) => "the end of the chain was rewritten",
    };
    state.audit_mismatch = Some(format!(
        "the audit log does not match {}: the chain ends at {end_text}, the anchor records row {seq} (hash {}); {why}. \
         distd serves downloads read-only and refuses every change until an admin has looked \
         (`distd audit verify --data {dir}`, compare with a backup) and runs \
         `distd audit acknowledge --data {dir} --reason TEXT`, which records the acknowledgement in the audit log",
        head_path.display(),
        &hash[..12],
        dir = data.display()
    ));
    Ok(state)
}

/// The file the acknowledged anchor is kept in.
pub fn acknowledged_head_path(data: &Path, seq: i64) -> PathBuf {
    data.join(format!(
        "audit-head.acknowledged-{seq}-{}",
        crate::util::now_unix()
    ))
}
