//! The `distd` command line: `serve`, `token create`, `fsck`, `gc`, `reinspect`, `audit verify`,
//! `audit acknowledge`, `backup`, `restore`, `grant-key rotate`, `healthcheck`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use platform::api::{Scope, TokenCreate};
use platform::{AppSlug, ChannelName};

use crate::blobs::LocalBlobStore;
use crate::config;
use crate::db::{self, Db};
use crate::preflight::Use;
use crate::services::{AppState, tokens};

#[derive(Debug, Parser)]
#[command(
    name = "distd",
    version = env!("DIST_VERSION_LONG"),
    about = "dist release server: HTTP API, content-addressed artifact store, tokens, audit log",
    after_help = "Example:\n  distd serve --data ./data --listen 127.0.0.1:8080\n\nEnvironment: DIST_DATA, DIST_LISTEN, DIST_PUBLIC_URL, DIST_MAX_UPLOAD_BYTES, DIST_LOG,\nDIST_TRUSTED_PROXIES, DIST_HEADER_TIMEOUT_SECS, DIST_IDLE_TIMEOUT_SECS, DIST_MAX_INSPECTIONS,\nDIST_INSPECTION_WAIT_SECS, DIST_GRANT_TTL_SECS, DIST_UPLOAD_STALL_SECS,\nDIST_PARTIAL_TTL_SECS, DIST_PARTIAL_MAX_BYTES, DIST_PARTIAL_TOKEN_MAX_BYTES, DIST_MIN_FREE_BYTES,\nDIST_UPLOAD_WRITES, DIST_ACCEL_REDIRECT, DIST_RETENTION_KEEP, DIST_RETENTION_CHANNEL_DAYS, DIST_RETENTION_DRAFT_DAYS,\nDIST_RETENTION_EVERY_HOURS\n(flags > environment > DATA/config.toml > defaults); DIST_LOG_FILES=on also logs to\nDATA/logs/distd.log (DIST_LOG_FILE_MAX_BYTES, DIST_LOG_FILE_KEEP)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct DataArg {
    /// Data folder (default ./data, or DIST_DATA).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server.
    #[command(
        after_help = "Example:\n  distd serve --data /srv/dist --listen 0.0.0.0:8080\n  DIST_PUBLIC_URL=https://dist.example.com distd serve"
    )]
    Serve {
        #[command(flatten)]
        data: DataArg,
        /// Address to listen on (default 127.0.0.1:8080, or DIST_LISTEN).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Start with an empty database although the data folder holds blobs or an audit
        /// head from an earlier one (distd refuses that otherwise: restore the database instead).
        #[arg(long)]
        start_over: bool,
    },
    /// Manage API tokens without the API (bootstrap).
    #[command(
        subcommand,
        after_help = "Example:\n  distd token create --name ops --scope admin --data ./data"
    )]
    Token(TokenCommand),
    /// Re-hash every blob and check every artifact's blob; exit 1 on any problem.
    #[command(after_help = "Example:\n  distd fsck --data /srv/dist --json")]
    Fsck {
        #[command(flatten)]
        data: DataArg,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove blobs nothing refers to, older than --min-age-hours; with --releases, first apply
    /// the retention policy to releases. Each removal is audited.
    #[command(
        after_help = "Examples:\n  distd gc --data /srv/dist --dry-run\n  distd gc --data /srv/dist --min-age-hours 72 --json\n  distd gc --data /srv/dist --releases --keep 20 --channel-days 30 --draft-days 14 --dry-run\n\nSafe while distd runs: younger blobs are kept, since CI uploads a blob before the\nrelease that refers to it. Works on a full disk (it only deletes; its audit rows use\nDATA/space-reserve). --releases keeps, per app, the newest --keep releases and any release\na channel points at or pointed at within --channel-days; it revokes, then removes, the\nothers (their files are then collected like any unreferenced blob) and deletes drafts older\nthan --draft-days. Without the flags: DIST_RETENTION_KEEP, DIST_RETENTION_CHANNEL_DAYS,\nDIST_RETENTION_DRAFT_DAYS, or [retention] in DATA/config.toml ([retention.apps.NAME] for\none app). Exit 0 when done, 2 on a usage or I/O error."
    )]
    Gc {
        #[command(flatten)]
        data: DataArg,
        /// Keep unreferenced blobs younger than this many hours.
        #[arg(long, value_name = "HOURS", default_value_t = 24)]
        min_age_hours: u64,
        /// Say what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Apply the retention policy to releases first.
        #[arg(long)]
        releases: bool,
        /// With --releases: keep the newest N releases per app (0: all).
        #[arg(long, value_name = "N", requires = "releases")]
        keep: Option<u32>,
        /// With --releases: keep releases a channel pointed at within D days.
        #[arg(long, value_name = "D", requires = "releases")]
        channel_days: Option<u64>,
        /// With --releases: delete drafts older than D days (0: never).
        #[arg(long, value_name = "D", requires = "releases")]
        draft_days: Option<u64>,
    },
    /// Inspect stored artifacts again with this build's targets; store changed verdicts
    /// beside the old ones, audit each change, list published releases that got worse.
    #[command(
        after_help = "Examples:\n  distd reinspect --data /srv/dist --dry-run\n  distd reinspect --data /srv/dist --app acme --json\n\nThe attach-time inspection is never rewritten: a changed verdict is stored beside it\n(reinspections table) with an artifact.reinspect audit event. distd serve runs this in the\nbackground by itself when its inspector version changed; /healthz shows the last run.\nExit 0 when no published release got worse, 1 when one did, 2 on a usage or I/O error."
    )]
    Reinspect {
        #[command(flatten)]
        data: DataArg,
        /// Only this app's artifacts.
        #[arg(long)]
        app: Option<AppSlug>,
        /// Say what would change, store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The audit log.
    #[command(
        subcommand,
        after_help = "Example:\n  distd audit verify --data ./data"
    )]
    Audit(AuditCommand),
    /// The key that signs the grants in page links (DATA/grant-key).
    #[command(
        subcommand,
        after_help = "Example:\n  distd grant-key rotate --data /srv/dist"
    )]
    GrantKey(GrantKeyCommand),
    /// Write a consistent copy of the database (SQLite online backup) while distd runs.
    #[command(
        after_help = "Example:\n  distd backup --data /srv/dist --out /backups/distd-2026-11-21.sqlite3"
    )]
    Backup {
        #[command(flatten)]
        data: DataArg,
        /// File to write; must not exist.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Put a database written by `distd backup` back, after checking it (integrity, audit
    /// chain, every file it refers to present with its digest); stop distd first.
    #[command(
        after_help = "Examples:\n  distd restore /backups/distd-2026-11-21.sqlite3 --data /srv/dist --dry-run\n  distd restore /backups/distd-2026-11-21.sqlite3 --data /srv/dist\n\nNothing is replaced unless every check passes. The replaced database is kept as\nDATA/distd.sqlite3.before-restore-<time>; the restore is an audit.restore event in the\nrestored chain. Exit 0 restored (or, with --dry-run, sound), 1 the backup failed a check,\n2 on a usage or I/O error."
    )]
    Restore {
        /// The backup file (`distd backup --out`).
        #[arg(value_name = "BACKUP")]
        backup: PathBuf,
        #[command(flatten)]
        data: DataArg,
        /// Check the backup, replace nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ask a running distd's /healthz; exit 0 when healthy, 1 when not (the image's HEALTHCHECK).
    #[command(
        after_help = "Examples:\n  distd healthcheck\n  distd healthcheck --url http://127.0.0.1:8080/healthz\n\nWithout --url it asks the listen address distd would use (DIST_LISTEN, else\nDATA/config.toml, else 127.0.0.1:8080), with 0.0.0.0 read as 127.0.0.1."
    )]
    Healthcheck {
        /// The URL to ask (http only).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Seconds to wait for the answer.
        #[arg(long, value_name = "SECONDS", default_value_t = 3)]
        timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print its secret (shown once).
    #[command(
        after_help = "Examples:\n  distd token create --name admin --scope admin\n  distd token create --name ci --scope publish --scope promote --scope read --app acme --channel beta --channel nightly --json"
    )]
    Create {
        #[command(flatten)]
        data: DataArg,
        /// A name to recognise the token by.
        #[arg(long)]
        name: String,
        /// admin, publish, promote, read, download or create-app; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<Scope>,
        /// Limit the token to one app.
        #[arg(long)]
        app: Option<AppSlug>,
        /// Limit promotion to these channels; repeat for several.
        #[arg(long = "channel")]
        channels: Vec<ChannelName>,
        /// Expiry, RFC 3339 (2027-01-31T00:00:00Z).
        #[arg(long)]
        expires_at: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum GrantKeyCommand {
    /// Make a new signing key; the previous one keeps verifying until its grants expire.
    #[command(
        after_help = "Example:\n  distd grant-key rotate --data /srv/dist\n\nRestart distd afterwards: it signs with the key it read at start-up."
    )]
    Rotate {
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain; exit 1 if any row was edited or removed.
    #[command(after_help = "Example:\n  distd audit verify --data /srv/dist --json")]
    Verify {
        #[command(flatten)]
        data: DataArg,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Accept an audit chain that no longer reaches the row `audit-head` recorded, after
    /// looking into it; records the acknowledgement as an `audit.acknowledge` event.
    #[command(
        after_help = "Example:\n  distd audit acknowledge --data /srv/dist --reason \"restored yesterday's backup\"\n\nRun it with distd stopped, then start distd: it refuses changes until this is done.\nThe old anchor is kept as DATA/audit-head.acknowledged-<row>-<time>."
    )]
    Acknowledge {
        #[command(flatten)]
        data: DataArg,
        /// Why the mismatch is accepted, for the record.
        #[arg(long)]
        reason: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("distd: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            data,
            listen,
            start_over,
        } => serve(data.data, listen, start_over).map(|_| ExitCode::SUCCESS),
        Command::GrantKey(GrantKeyCommand::Rotate { data }) => {
            let dir = existing_data(data.data)?;
            crate::grants::rotate(&dir)
                .with_context(|| format!("rotate the grant key in {}", dir.display()))?;
            eprintln!(
                "distd: new grant key in {}; restart distd to sign with it (links already handed out keep working until they expire)",
                dir.join(crate::grants::KEY_FILE).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create {
            data,
            name,
            scopes,
            app,
            channels,
            expires_at,
            json,
        }) => {
            let dir = existing_data(data.data)?;
            crate::preflight::check(&dir, Use::Write)?;
            let db_path = config::db_file(&dir);
            let mut conn = db::open_writer(&db_path)?;
            let req = TokenCreate {
                name,
                scopes,
                app,
                channels,
                expires_at,
            };
            let created = db::write_tx_anchored(&mut conn, &db_path, |tx| {
                tokens::create_in(tx, "system:cli", &req)
            })
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&created)?);
            } else {
                println!("{}", created.secret);
                eprintln!(
                    "created token {} ({}); the secret above is shown once",
                    created.token.id, created.token.name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Fsck { data, json } => {
            let dir = existing_data(data.data)?;
            let state = crate::preflight::check(&dir, Use::Read)?;
            let conn = open_existing(&dir)?;
            let store = Arc::new(LocalBlobStore::open(&dir, false)?);
            let report = crate::fsck::run(&conn, &store)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{} blob(s), {} bytes re-hashed; {} artifact(s) checked",
                    report.blobs_checked, report.bytes_checked, report.artifacts_checked
                );
                for (label, list) in [
                    ("corrupt", &report.corrupt),
                    ("missing", &report.missing),
                    ("stray", &report.stray),
                    ("orphan (not a problem)", &report.orphans),
                ] {
                    for item in list.iter() {
                        println!("{label}: {item}");
                    }
                }
                println!("{}", if report.ok { "ok" } else { "PROBLEMS FOUND" });
            }
            if let Some(m) = &state.audit_mismatch {
                eprintln!("distd: {m}");
            }
            Ok(if report.ok && state.audit_mismatch.is_none() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Gc {
            data,
            min_age_hours,
            dry_run,
            json,
            releases,
            keep,
            channel_days,
            draft_days,
        } => {
            let dir = existing_data(data.data)?;
            crate::preflight::check(&dir, Use::Write)?;
            let db_path = existing_db(&dir)?;
            let mut conn = db::open_writer(&db_path)?;
            let store = Arc::new(LocalBlobStore::open(&dir, false)?);
            let min_age = std::time::Duration::from_secs(min_age_hours.saturating_mul(3600));
            // On a full disk the audit rows of the removals need the reserve's room.
            let had_reserve = !dry_run && crate::reserve::release(&dir);
            let retention = if releases {
                let mut policies = crate::retention::load(&dir, None)?;
                let d = &mut policies.default;
                d.keep = keep.unwrap_or(d.keep);
                d.channel_days = channel_days.unwrap_or(d.channel_days);
                d.draft_days = draft_days.unwrap_or(d.draft_days);
                if policies.all_off() {
                    eprintln!(
                        "distd: no retention policy is set (keep 0, draft days 0): no release is removed. Pass --keep / --draft-days, or set DIST_RETENTION_KEEP or [retention] in DATA/config.toml"
                    );
                }
                Some(crate::retention::run(
                    &mut conn,
                    &db_path,
                    &policies,
                    time::OffsetDateTime::now_utc(),
                    dry_run,
                ))
            } else {
                None
            };
            let report = match retention {
                Some(Err(e)) => Err(e),
                Some(Ok(r)) => {
                    crate::gc::run(&mut conn, &db_path, &store, min_age, dry_run).map(|mut g| {
                        g.releases = Some(r);
                        g
                    })
                }
                None => crate::gc::run(&mut conn, &db_path, &store, min_age, dry_run),
            };
            if had_reserve && let Err(e) = crate::reserve::ensure(&dir) {
                eprintln!(
                    "distd: warning: could not set {} bytes aside again in {} ({e}); free more space",
                    crate::reserve::RESERVE_BYTES,
                    crate::reserve::path(&dir).display()
                );
            }
            let report = report?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let verb = if dry_run { "would remove" } else { "removed" };
                for a in report.releases.iter().flat_map(|r| &r.apps) {
                    for r in &a.removed {
                        println!(
                            "{verb} release: {} {} {} ({}, was {})",
                            a.app, r.version, r.build, r.id, r.status
                        );
                    }
                    for r in &a.drafts_deleted {
                        println!(
                            "{verb} draft: {} {} {} ({})",
                            a.app, r.version, r.build, r.id
                        );
                    }
                    println!(
                        "app {}: kept {} release(s) (keep {}, channel days {}, draft days {})",
                        a.app,
                        a.kept.len(),
                        a.policy.keep,
                        a.policy.channel_days,
                        a.policy.draft_days
                    );
                }
                for r in &report.removed {
                    println!("{verb}: sha256 {} ({} bytes)", r.sha256, r.size);
                }
                println!(
                    "{verb} {} blob(s), {} bytes; kept {} unreferenced blob(s) younger than {} h",
                    report.removed.len(),
                    report.bytes_freed,
                    report.kept_young,
                    min_age_hours
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reinspect {
            data,
            app,
            dry_run,
            json,
        } => {
            let dir = existing_data(data.data)?;
            crate::preflight::check(&dir, if dry_run { Use::Read } else { Use::Write })?;
            let db_path = existing_db(&dir)?;
            // A dry run reads only: no migration, no write.
            let mut conn = if dry_run {
                db::open_reader_any_version(&db_path)?
            } else {
                db::open_writer(&db_path)?
            };
            let store = Arc::new(LocalBlobStore::open(&dir, false)?);
            let report = crate::reinspect::run(
                &mut conn,
                &db_path,
                &store,
                platform::registry(),
                app.as_ref().map(|a| a.as_str()),
                dry_run,
                crate::reinspect::Trigger::Command,
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let verb = if dry_run { "would store" } else { "stored" };
                for c in &report.changes {
                    println!(
                        "{verb}: {} {} ({} {}, release {}): {} -> {}{}",
                        c.app,
                        c.file,
                        c.artifact_id,
                        c.release_status,
                        c.release_id,
                        crate::reinspect::state_str(c.before.state),
                        crate::reinspect::state_str(c.after.state),
                        if c.worse { " (worse)" } else { "" }
                    );
                }
                for w in &report.worse_published {
                    println!(
                        "WORSE: published release {} {} {} ({}): {}",
                        w.app,
                        w.version,
                        w.build,
                        w.release_id,
                        w.artifacts
                            .iter()
                            .map(|a| a.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                for f in &report.failed {
                    println!("failed: {f}");
                }
                println!(
                    "inspector version {}: {} artifact(s) checked, {} changed, {} published release(s) worse, {} failed{}",
                    report.inspector_version,
                    report.checked,
                    report.changes.len(),
                    report.worse_published.len(),
                    report.failed.len(),
                    if dry_run {
                        " (dry run: nothing stored)"
                    } else {
                        ""
                    }
                );
            }
            Ok(if report.worse_published.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Audit(AuditCommand::Verify { data, json }) => {
            let dir = existing_data(data.data)?;
            crate::preflight::check(&dir, Use::Read)?;
            let conn = open_existing(&dir)?;
            let head = crate::audit::read_head(&crate::audit::head_path(&config::db_file(&dir)));
            let v = crate::audit::verify_with_head(&conn, head)
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{}", v.message);
            }
            Ok(if v.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Audit(AuditCommand::Acknowledge { data, reason }) => {
            let dir = existing_data(data.data)?;
            acknowledge(&dir, &reason)
        }
        Command::Backup { data, out } => {
            let dir = existing_data(data.data)?;
            if out.exists() {
                bail!("{} exists; choose a new file", out.display());
            }
            // A backup is taken even of a mismatched chain: it is the evidence.
            let mismatch = crate::preflight::check(&dir, Use::Read)?.audit_mismatch;
            if let Some(m) = &mismatch {
                eprintln!("distd: warning: {m}");
            }
            let conn = open_existing(&dir)?;
            db::backup(&conn, &out).with_context(|| format!("backup to {}", out.display()))?;
            eprintln!("wrote {}", out.display());
            // Nothing is added to a chain that does not match its anchor (the evidence).
            if mismatch.is_none()
                && let Err(e) = record_backup(&dir, &out)
            {
                eprintln!("distd: note: the backup is not recorded in the audit log: {e:#}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore {
            backup,
            data,
            dry_run,
            json,
        } => {
            let dir = existing_data(data.data)?;
            crate::startup::check_data_tree(&dir)?;
            let report = crate::restore::run(&backup, &dir, dry_run)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for p in &report.problems {
                    eprintln!("distd: backup {}: {p}", backup.display());
                }
            }
            if !report.problems.is_empty() {
                eprintln!(
                    "distd: {} failed its checks; nothing was replaced",
                    backup.display()
                );
                return Ok(ExitCode::from(1));
            }
            eprintln!(
                "distd: {} is sound: {} audit row(s), {} file(s) checked{}",
                backup.display(),
                report.audit_rows,
                report.blobs_checked,
                match (&report.previous, report.restored) {
                    (Some(p), true) => format!("; restored, the replaced database is kept as {p}"),
                    (None, true) => "; restored".to_owned(),
                    _ => " (dry run: nothing replaced)".to_owned(),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck { url, timeout } => crate::healthcheck::run(
            url.as_deref(),
            std::time::Duration::from_secs(timeout.max(1)),
        ),
    }
}

/// `distd audit acknowledge`: keeps the old anchor beside, appends `audit.acknowledge` naming
/// both positions and the reason, and moves the anchor to the new end.
fn acknowledge(dir: &Path, reason: &str) -> anyhow::Result<ExitCode> {
    let state = crate::preflight::check(dir, Use::Read)?;
    let Some(mismatch) = state.audit_mismatch else {
        eprintln!("distd: the audit log matches its head anchor; nothing to acknowledge");
        return Ok(ExitCode::SUCCESS);
    };
    if reason.trim().is_empty() {
        bail!("--reason must say why the mismatch is accepted");
    }
    crate::startup::check_data_tree(dir)?;
    let db_path = existing_db(dir)?;
    let head_path = crate::audit::head_path(&db_path);
    let (anchor_seq, anchor_hash) = crate::audit::read_head(&head_path)
        .context("the audit head anchor could not be read again")?;
    let kept = crate::preflight::acknowledged_head_path(dir, anchor_seq);
    std::fs::copy(&head_path, &kept).with_context(|| format!("keep {}", kept.display()))?;
    let mut conn = db::open_writer(&db_path)?;
    let end = db::last_audit(&conn)?;
    let details = serde_json::json!({
        "anchor_seq": anchor_seq,
        "anchor_hash": anchor_hash,
        "chain_end_seq": end.as_ref().map(|e| e.0),
        "chain_end_hash": end.as_ref().map(|e| e.1.clone()),
        "reason": reason,
        "kept_anchor": kept.file_name().map(|n| n.to_string_lossy().into_owned()),
    });
    let seq = db::write_tx_anchored(&mut conn, &db_path, |tx| {
        crate::audit::append(
            tx,
            crate::audit::Event {
                actor: "system:cli",
                action: "audit.acknowledge",
                app: None,
                subject: None,
                details,
            },
        )
    })
    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    eprintln!(
        "distd: acknowledged ({mismatch}); recorded as audit row {seq}; the old anchor is kept in {}. Start distd again.",
        kept.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn existing_data(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let (dir, _) = config::data_dir(flag);
    config::check_data_dir(&dir)?;
    Ok(dir)
}

/// The data folder's database file, which must exist.
fn existing_db(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = config::db_file(dir);
    if !path.exists() {
        bail!(
            "no database at {}; is --data right? (distd serve creates it)",
            path.display()
        );
    }
    Ok(path)
}

/// Records a finished backup as `backup.create` (actor `system:backup`), after the copy, so
/// the copy does not hold its own event: the admin console's settings page reads the last
/// backup from it, since backups run outside the server. Best effort: a backup of a
/// read-only data folder is still a backup. The database is not migrated for this; one at
/// another schema version is left as it is.
fn record_backup(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let db_path = existing_db(dir)?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let mut conn = rusqlite::Connection::open(&db_path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let version: i64 = conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
        r.get(0)
    })?;
    let known = db::MIGRATIONS.last().map_or(0, |m| m.0);
    if version != known {
        bail!("the database is at schema version {version}, this distd writes {known}");
    }
    let path = out.display().to_string();
    db::write_tx_anchored(&mut conn, &db_path, |tx| {
        crate::audit::append(
            tx,
            crate::audit::Event {
                actor: "system:backup",
                action: "backup.create",
                app: None,
                subject: Some(&path),
                details: serde_json::json!({"out": path, "bytes": bytes}),
            },
        )
    })
    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Ok(())
}

fn open_existing(dir: &Path) -> anyhow::Result<rusqlite::Connection> {
    Ok(db::open_reader_any_version(&existing_db(dir)?)?)
}

fn write_initial_token(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(format!("{secret}\n").as_bytes())?;
    f.sync_all()
}

fn serve(data: Option<PathBuf>, listen: Option<String>, start_over: bool) -> anyhow::Result<()> {
    let cfg = config::load(data, listen)?;
    let log_file = crate::logfile::init(&cfg.log, &cfg.data)?;
    for line in &cfg.sources {
        tracing::info!("config: {line}");
    }
    let state = crate::preflight::check(&cfg.data, Use::Serve { start_over })?;
    crate::startup::check_data_tree(&cfg.data)?;
    if let Some(path) = log_file {
        tracing::info!("log file: {} (rotated by size)", path.display());
    }
    for warning in crate::startup::warnings(&cfg) {
        tracing::warn!("{warning}");
    }
    let db_path = cfg.db_path();
    crate::perms::ensure_file(&db_path).with_context(|| format!("create {}", db_path.display()))?;
    if let Some(m) = &state.audit_broken {
        tracing::error!("audit log: {m} (`distd audit verify` shows it)");
    }
    if state.audit_mismatch.is_none() {
        let mut conn = db::open_writer(&db_path)
            .with_context(|| format!("open database {}", db_path.display()))?;
        if let Some(created) =
            tokens::bootstrap_admin(&mut conn).map_err(|e| anyhow::anyhow!("{}", e.message))?
        {
            let path = cfg.initial_token_path();
            write_initial_token(&path, &created.secret)
                .with_context(|| format!("write {}", path.display()))?;
            crate::bootstrap::announce(created.token.id.as_str(), &created.secret, &path);
        }
    }
    let store = Arc::new(
        LocalBlobStore::open(&cfg.data, true)
            .context("prepare blob store")?
            .with_writes(cfg.upload_writes),
    );
    if let Err(e) = crate::reserve::ensure(&cfg.data) {
        tracing::warn!(
            "could not set {} bytes aside in {} for distd gc on a full disk: {e}",
            crate::reserve::RESERVE_BYTES,
            crate::reserve::path(&cfg.data).display()
        );
    }
    let db = Db::open(&db_path).with_context(|| format!("open database {}", db_path.display()))?;
    if let Some(m) = &state.audit_mismatch {
        tracing::error!("{m}");
        db.set_read_only(m.clone());
    }
    let registry = platform::registry();
    tracing::info!("targets: {}", registry.supported_kinds());
    let grants = crate::grants::GrantKeys::load_or_create(&cfg.data, cfg.grant_ttl_secs)
        .context("load the grant key")?;
    if state.audit_mismatch.is_none() {
        crate::retention::spawn_schedule(db_path.clone(), store.clone(), cfg.retention.clone());
    }
    if state.audit_mismatch.is_none()
        && crate::reinspect::spawn_if_inspector_changed(&db_path, store.clone(), registry)
            .context("start the re-inspection")?
    {
        tracing::info!(
            "inspector version {} has not looked at the stored artifacts yet: re-inspecting them in the background",
            platform::INSPECTOR_VERSION
        );
    }
    let state = AppState::new(crate::services::Shared {
        cfg: Arc::new(cfg.clone()),
        db,
        blobs: store,
        registry,
        grants: Arc::new(grants),
        denials: Default::default(),
        inspections: Arc::new(tokio::sync::Semaphore::new(cfg.max_inspections)),
        missing_blobs: Default::default(),
        pages: Default::default(),
        read: Default::default(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start tokio")?;
    let db = state.db.clone();
    rt.block_on(async {
        crate::partials::sweep(&state, true).await;
        tokio::spawn(crate::partials::run_sweeper(state.clone()));
        tokio::spawn(crate::caches::run_touch_writer(state.clone()));
        crate::listener::run(&cfg, state, shutdown_signal()).await
    })?;
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    // Every commit into the database file, the WAL emptied: a copy of the file alone is whole.
    match db.checkpoint() {
        Ok((wal, done)) => tracing::info!("checkpointed the WAL ({done} of {wal} page(s))"),
        Err(e) => tracing::warn!("could not checkpoint the WAL at shutdown: {e}"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
