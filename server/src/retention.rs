//! The retention policy (`distd gc --releases`, and on a schedule in `distd serve`): per app,
//! keep the newest N releases and any release a channel points at, or pointed at within D
//! days; delete drafts older than a limit; revoke, then remove, the other releases. Every step
//! is an audit event (`release.revoke`, `release.remove`, `release.delete`, actor
//! `system:retention`). A removed release stays on record (row, artifacts, history) but its
//! files stop counting as referenced, so blob gc frees them once nothing else refers to them.
//!
//! Off by default: nothing is deleted until an admin sets `keep` or `draft_days`
//! (`DIST_RETENTION_*` or `[retention]` in `DATA/config.toml`, with `[retention.apps.NAME]`
//! for one app).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{self, Event};
use crate::db;
use crate::error::AppError;

use crate::config::{
    ENV_RETENTION_CHANNEL_DAYS as ENV_CHANNEL_DAYS, ENV_RETENTION_DRAFT_DAYS as ENV_DRAFT_DAYS,
    ENV_RETENTION_EVERY_HOURS as ENV_EVERY_HOURS, ENV_RETENTION_KEEP as ENV_KEEP,
};

const ACTOR: &str = "system:retention";

/// One app's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub keep: u32,
    pub channel_days: u64,
    pub draft_days: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            keep: 0,
            channel_days: 30,
            draft_days: 0,
        }
    }
}

impl Policy {
    pub fn is_off(&self) -> bool {
        self.keep == 0 && self.draft_days == 0
    }
}

/// `[retention]` of `DATA/config.toml`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRetention {
    pub keep: Option<u32>,
    pub channel_days: Option<u64>,
    pub draft_days: Option<u64>,
    pub every_hours: Option<f64>,
    #[serde(default)]
    pub apps: BTreeMap<String, FileAppRetention>,
}

/// `[retention.apps.NAME]`: what differs for one app.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAppRetention {
    pub keep: Option<u32>,
    pub channel_days: Option<u64>,
    pub draft_days: Option<u64>,
}

/// The policies in effect: a default, per-app differences, and the schedule.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    pub default: Policy,
    pub apps: BTreeMap<String, FileAppRetention>,
    pub every_hours: f64,
}

impl Policies {
    pub fn for_app(&self, app: &str) -> Policy {
        let mut p = self.default;
        if let Some(o) = self.apps.get(app) {
            p.keep = o.keep.unwrap_or(p.keep);
            p.channel_days = o.channel_days.unwrap_or(p.channel_days);
            p.draft_days = o.draft_days.unwrap_or(p.draft_days);
        }
        p
    }
    pub fn all_off(&self) -> bool {
        self.default.is_off() && self.apps.keys().all(|a| self.for_app(a).is_off())
    }
}

/// Reads the policies: environment over `DATA/config.toml` over the defaults.
pub fn load(data: &Path, file: Option<FileRetention>) -> anyhow::Result<Policies> {
    let file = match file {
        Some(f) => f,
        None => crate::config::read_file(data)?
            .retention
            .unwrap_or_default(),
    };
    let num = |name: &str, from_file: Option<u64>, default: u64| -> anyhow::Result<u64> {
        match std::env::var(name).ok().filter(|v| !v.is_empty()) {
            Some(v) => v
                .trim()
                .parse()
                .with_context(|| format!("{name}={v:?} is not a whole number")),
            None => Ok(from_file.unwrap_or(default)),
        }
    };
    let d = Policy::default();
    let keep = num(ENV_KEEP, file.keep.map(u64::from), u64::from(d.keep))?;
    Ok(Policies {
        default: Policy {
            keep: u32::try_from(keep).context("DIST_RETENTION_KEEP is too large")?,
            channel_days: num(ENV_CHANNEL_DAYS, file.channel_days, d.channel_days)?,
            draft_days: num(ENV_DRAFT_DAYS, file.draft_days, d.draft_days)?,
        },
        apps: file.apps,
        every_hours: match std::env::var(ENV_EVERY_HOURS)
            .ok()
            .filter(|v| !v.is_empty())
        {
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|h| h.is_finite() && *h >= 0.0 && *h <= 24.0 * 366.0)
                .with_context(|| {
                    format!("{ENV_EVERY_HOURS}={v:?} is not a number of hours from 0 to 8784")
                })?,
            None => file.every_hours.unwrap_or(24.0),
        },
    })
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub apps: Vec<AppReport>,
}

#[derive(Debug, Serialize)]
pub struct AppReport {
    pub app: String,
    pub policy: Policy,
    /// Releases kept, newest first.
    pub kept: Vec<String>,
    /// Revoked (if published) and removed, or with `dry_run`, would be.
    pub removed: Vec<Acted>,
    /// Drafts deleted, or would be.
    pub drafts_deleted: Vec<Acted>,
}

#[derive(Debug, Serialize)]
pub struct Acted {
    pub id: String,
    pub version: String,
    pub build: String,
    pub status: String,
}

fn days_ago(now: OffsetDateTime, days: u64) -> String {
    let d = i64::try_from(days)
        .unwrap_or(i64::MAX / 86_400)
        .min(100_000);
    crate::util::format_time(now - time::Duration::days(d))
}

/// Applies the policies to every app (or says what it would do).
pub fn run(
    conn: &mut rusqlite::Connection,
    db_path: &Path,
    policies: &Policies,
    now: OffsetDateTime,
    dry_run: bool,
) -> anyhow::Result<Report> {
    let mut report = Report {
        dry_run,
        apps: Vec::new(),
    };
    for app in db::list_apps(conn)? {
        let policy = policies.for_app(&app.slug);
        if policy.is_off() {
            continue;
        }
        let since = days_ago(now, policy.channel_days);
        let draft_before = days_ago(now, policy.draft_days);
        let protected = db::channel_protected(conn, &app.slug, &since)?;
        let mut out = AppReport {
            app: app.slug.clone(),
            policy,
            kept: Vec::new(),
            removed: Vec::new(),
            drafts_deleted: Vec::new(),
        };
        let mut newest = 0u32;
        for r in db::retention_candidates(conn, &app.slug)? {
            let acted = Acted {
                id: r.id.clone(),
                version: r.version.clone(),
                build: r.build.clone(),
                status: r.status.as_str().to_owned(),
            };
            if r.status == platform::api::ReleaseStatus::Draft {
                if policy.draft_days > 0 && r.created_at < draft_before {
                    if !dry_run && !delete_draft(conn, db_path, &app.slug, &r, &policy)? {
                        continue;
                    }
                    out.drafts_deleted.push(acted);
                } else {
                    out.kept.push(r.id);
                }
                continue;
            }
            let in_newest = policy.keep == 0 || newest < policy.keep;
            newest += 1;
            if in_newest || protected.contains(&r.id) {
                out.kept.push(r.id);
                continue;
            }
            if !dry_run && !remove(conn, db_path, &app.slug, &r, &policy, &since)? {
                out.kept.push(r.id);
                continue;
            }
            out.removed.push(acted);
        }
        report.apps.push(out);
    }
    Ok(report)
}

fn why(policy: &Policy) -> String {
    format!(
        "retention: not among the newest {} and no channel pointed at it within {} days",
        policy.keep, policy.channel_days
    )
}

/// Revokes (if published) and removes one release, re-checking under the write lock that no
/// channel took it meanwhile. False when something changed and it stays.
fn remove(
    conn: &mut rusqlite::Connection,
    db_path: &Path,
    app: &str,
    r: &db::RetentionRow,
    policy: &Policy,
    since: &str,
) -> anyhow::Result<bool> {
    let reason = why(policy);
    db::write_tx_anchored(conn, db_path, |tx| {
        if db::channel_protected(tx, app, since)?.contains(&r.id) {
            return Ok(false);
        }
        let now = crate::util::now();
        let details = json!({
            "reason": reason, "version": r.version, "build": r.build,
            "keep": policy.keep, "channel_days": policy.channel_days,
        });
        if r.status == platform::api::ReleaseStatus::Published {
            if db::set_release_revoked(tx, &r.id, &now, &reason)? == 0 {
                return Ok(false);
            }
            audit::append(
                tx,
                Event {
                    actor: ACTOR,
                    action: "release.revoke",
                    app: Some(app),
                    subject: Some(&r.id),
                    details: details.clone(),
                },
            )?;
        }
        if db::set_release_removed(tx, &r.id, &now)? == 0 {
            return Err(AppError::conflict(format!(
                "release {} is not revoked; it was not removed",
                r.id
            )));
        }
        audit::append(
            tx,
            Event {
                actor: ACTOR,
                action: "release.remove",
                app: Some(app),
                subject: Some(&r.id),
                details,
            },
        )?;
        Ok(true)
    })
    .map_err(|e| anyhow::anyhow!("release {}: {}", r.id, e.message))
}

fn delete_draft(
    conn: &mut rusqlite::Connection,
    db_path: &Path,
    app: &str,
    r: &db::RetentionRow,
    policy: &Policy,
) -> anyhow::Result<bool> {
    db::write_tx_anchored(conn, db_path, |tx| {
        if db::delete_draft(tx, &r.id)? == 0 {
            return Ok(false);
        }
        audit::append(
            tx,
            Event {
                actor: ACTOR,
                action: "release.delete",
                app: Some(app),
                subject: Some(&r.id),
                details: json!({
                    "reason": format!("retention: a draft older than {} days", policy.draft_days),
                    "version": r.version, "build": r.build,
                }),
            },
        )?;
        Ok(true)
    })
    .map_err(|e| anyhow::anyhow!("draft {}: {}", r.id, e.message))
}

/// `distd serve`'s schedule: every `every_hours`, the policy then blob gc (blobs older than a
/// day), on their own connection, in a thread of their own. Not started when every policy is
/// off or the schedule is 0.
pub fn spawn_schedule(
    db_path: std::path::PathBuf,
    store: std::sync::Arc<crate::blobs::LocalBlobStore>,
    policies: Policies,
) {
    if policies.all_off() || policies.every_hours <= 0.0 {
        return;
    }
    let every = std::time::Duration::from_secs_f64((policies.every_hours * 3600.0).max(1.0));
    tracing::info!(
        "retention: applying the policy every {} h (keep {}, channel days {}, draft days {})",
        policies.every_hours,
        policies.default.keep,
        policies.default.channel_days,
        policies.default.draft_days
    );
    let _ = std::thread::Builder::new()
        .name("retention".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                let result = db::open_writer(&db_path)
                    .map_err(anyhow::Error::from)
                    .and_then(|mut c| {
                        let r = run(
                            &mut c,
                            &db_path,
                            &policies,
                            OffsetDateTime::now_utc(),
                            false,
                        )?;
                        let g = crate::gc::run(
                            &mut c,
                            &db_path,
                            &store,
                            std::time::Duration::from_secs(24 * 3600),
                            false,
                        )?;
                        Ok((r, g))
                    });
                match result {
                    Ok((r, g)) => tracing::info!(
                        "retention: removed {} release(s), deleted {} draft(s); gc freed {} bytes",
                        r.apps.iter().map(|a| a.removed.len()).sum::<usize>(),
                        r.apps.iter().map(|a| a.drafts_deleted.len()).sum::<usize>(),
                        g.bytes_freed
                    ),
                    Err(e) => tracing::error!("retention: {e:#}"),
                }
            }
        });
}
