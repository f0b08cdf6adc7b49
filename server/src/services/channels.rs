//! Channels: a named pointer per app to a published release. Promote checks continuity (per
//! platform and identity, through the target) and the channel's policy, and refuses a stale
//! downgrade; rollback walks the append-only history back one move; downloads resolve through
//! the pointer.
//!
//! Stale downgrades (issue 12, item 5): a CI pipeline retried after a newer one promoted must
//! not move the channel backwards without a word. Releases are ordered by creation (their
//! `created_at`), not by `version`/`build`, which are free-form. Promoting a release created
//! before the one the channel points at is refused (409, naming the current release) unless
//! the request says `allow_downgrade`; a rollback is a deliberate move back and needs no flag.

use serde_json::json;

use platform::api::{Channel, ChannelHistoryEntry, ChannelMove, ChannelPolicy};
use platform::{Finding, SCHEMA_VERSION, Severity};

use super::{AppState, stored_inspection, target_for};
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::db::{self, AppRow, ArtifactRow, ChannelRow, HistoryRow, ReleaseRow};
use crate::error::{AppError, AppResult};
use crate::util;

/// The API view of a stored channel; a column that does not read back is an error naming the
/// channel (issue 14, item 6), never a placeholder or a default.
pub fn channel_to_api(r: &ChannelRow) -> AppResult<Channel> {
    let bad = |column: &str, e: &dyn std::fmt::Display| {
        tracing::error!(
            "channel {}/{}: column {column} does not read back: {e}",
            r.app,
            r.name
        );
        AppError::new(
            platform::api::ErrorCode::Internal,
            format!(
                "internal error: the stored channel {}/{} does not read back (column {column}); the server log has the details",
                r.app, r.name
            ),
        )
    };
    Ok(Channel {
        app: r.app.parse().map_err(|e| bad("app", &e))?,
        name: r.name.parse().map_err(|e| bad("name", &e))?,
        release_id: r.release_id.clone(),
        updated_at: r.updated_at.clone(),
        policy: stored_policy(r)?,
        access: r.access.parse().map_err(|e| bad("access", &e))?,
    })
}

/// A channel's stored policy; one that does not parse is an error naming the channel (a
/// policy silently read as empty would let blocked warnings through).
fn stored_policy(r: &ChannelRow) -> AppResult<ChannelPolicy> {
    serde_json::from_str(&r.policy).map_err(|e| {
        tracing::error!("channel {}/{}: its stored policy does not parse: {e}", r.app, r.name);
        AppError::new(
            platform::api::ErrorCode::Internal,
            format!(
                "internal error: the stored policy of channel {}/{} does not parse; the server log has the details",
                r.app, r.name
            ),
        )
    })
}

fn app_exists(c: &rusqlite::Connection, app: &str) -> AppResult<()> {
    super::app_row(c, app).map(|_| ())
}

/// The app exists and has a channel `name`: not found, naming which, otherwise.
fn channel_exists(c: &rusqlite::Connection, app: &str, name: &str) -> AppResult<()> {
    app_exists(c, app)?;
    if db::get_channel(c, app, name)?.is_none() {
        return Err(AppError::not_found(format!(
            "app {app} has no channel {name}"
        )));
    }
    Ok(())
}

pub async fn list(state: &AppState, app: String) -> AppResult<Vec<Channel>> {
    state
        .db
        .read(move |c| {
            app_exists(c, &app)?;
            db::list_channels(c, &app)?
                .iter()
                .map(channel_to_api)
                .collect()
        })
        .await
}

pub async fn get(state: &AppState, app: String, name: String) -> AppResult<Channel> {
    Ok(get_cached(state, app, name).await?.channel.clone())
}

/// A channel as the lookup answers it, with its JSON made once.
pub struct CachedChannel {
    pub channel: Channel,
    /// `channel` as JSON, the bytes `GET /api/v1/apps/{app}/channels/{channel}` answers.
    pub json: axum::body::Bytes,
}

/// The channel `name` of `app`, kept until the next write (a promote, a rollback, a policy
/// change: see `caches`).
pub async fn get_cached(
    state: &AppState,
    app: String,
    name: String,
) -> AppResult<std::sync::Arc<CachedChannel>> {
    let generation = state.db.generation();
    let key = (app, name);
    if let Some(ch) = state.read.channels.get(&key, generation) {
        return Ok(ch);
    }
    let (app, name) = key.clone();
    let channel = state
        .db
        .read(move |c| {
            app_exists(c, &app)?;
            db::get_channel(c, &app, &name)?
                .map(|r| channel_to_api(&r))
                .ok_or_else(|| AppError::not_found(format!("app {app} has no channel {name}")))?
        })
        .await?;
    let json = serde_json::to_vec(&channel)
        .map_err(|e| AppError::internal("channel as JSON", e))?
        .into();
    let ch = std::sync::Arc::new(CachedChannel { channel, json });
    state.read.channels.put(key, generation, ch.clone());
    Ok(ch)
}

/// One page of a channel's moves: after seq `after`, at most `limit`.
pub async fn history(
    state: &AppState,
    app: String,
    name: String,
    after: i64,
    limit: i64,
) -> AppResult<Vec<ChannelHistoryEntry>> {
    state
        .db
        .read(move |c| {
            channel_exists(c, &app, &name)?;
            Ok(db::list_history(c, &app, &name, after, limit)?
                .into_iter()
                .map(|h| ChannelHistoryEntry {
                    seq: h.seq,
                    at: h.at,
                    actor: h.actor,
                    action: h.action,
                    from_release_id: h.from_release_id,
                    to_release_id: h.to_release_id,
                })
                .collect())
        })
        .await
}

/// Continuity between the channel's current release and the next, per platform + identity,
/// and the channel's blocking warnings.
fn move_findings(
    state: &AppState,
    policy: &ChannelPolicy,
    current: &[ArtifactRow],
    next: &[ArtifactRow],
) -> AppResult<(Vec<Finding>, Vec<Finding>)> {
    let mut all = Vec::new();
    let mut blocking = Vec::new();
    for n in next {
        let Some(ni) = stored_inspection(n)? else {
            continue;
        };
        for c in current {
            let Some(ci) = stored_inspection(c)? else {
                continue;
            };
            if ci.platform == ni.platform && ci.identity.is_some() && ci.identity == ni.identity {
                let t = target_for(state.registry, ni.platform.as_str())?;
                for f in t.check_continuity(&ci, &ni) {
                    if f.severity == Severity::Error {
                        blocking.push(f.clone());
                    }
                    all.push(f);
                }
            }
        }
        for f in ni
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
        {
            if policy
                .blocking_warnings
                .iter()
                .any(|w| w == "*" || *w == f.code)
            {
                blocking.push(f.clone());
            }
            all.push(f.clone());
        }
    }
    Ok((all, blocking))
}

struct MovePlan {
    channel: Option<ChannelRow>,
    /// The release the channel points at now (promote only).
    current: Option<ReleaseRow>,
    target: ReleaseRow,
    current_arts: Vec<ArtifactRow>,
    target_arts: Vec<ArtifactRow>,
}

async fn record_move(
    state: &AppState,
    p: &Principal,
    app: String,
    name: String,
    plan: MovePlan,
    action: &'static str,
    findings: Vec<Finding>,
) -> AppResult<ChannelMove> {
    let actor = p.actor();
    let expected = plan.channel.as_ref().and_then(|c| c.release_id.clone());
    let to = plan.target.id.clone();
    let row = state
        .db
        .write(move |tx| {
            let now_ptr = db::get_channel(tx, &app, &name)?.and_then(|c| c.release_id);
            if now_ptr != expected {
                return Err(AppError::conflict(format!(
                    "channel {name} moved while this request ran; retry"
                )));
            }
            // The release may have been revoked since it was read.
            let status = db::get_release(tx, to.as_str())?.map(|r| r.status);
            if status != Some(platform::api::ReleaseStatus::Published) {
                return Err(AppError::conflict(format!(
                    "release {to} is not published (any more)"
                )));
            }
            let at = util::now();
            db::upsert_channel_pointer(tx, &app, &name, to.as_str(), &at)?;
            db::insert_history(
                tx,
                &app,
                &name,
                &HistoryRow {
                    seq: 0,
                    at,
                    actor: actor.clone(),
                    action: action.to_owned(),
                    from_release_id: expected.clone(),
                    to_release_id: Some(to.clone()),
                },
            )?;
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: if action == "promote" {
                        "channel.promote"
                    } else {
                        "channel.rollback"
                    },
                    app: Some(&app),
                    subject: Some(&name),
                    details: json!({"from": expected, "to": to}),
                },
            )?;
            db::get_channel(tx, &app, &name)?
                .ok_or_else(|| AppError::internal("channel", "vanished after write"))
        })
        .await?;
    let previous = plan.channel.and_then(|c| c.release_id);
    drop(plan.current_arts);
    drop(plan.target_arts);
    Ok(ChannelMove {
        schema_version: SCHEMA_VERSION,
        channel: channel_to_api(&row)?,
        previous_release_id: previous,
        findings,
    })
}

/// What promoting `release_id` to channel `name` would meet, read without moving anything.
async fn promote_plan(
    state: &AppState,
    app: &str,
    name: &str,
    release_id: &platform::ReleaseId,
) -> AppResult<MovePlan> {
    let (app, name, release_id) = (app.to_owned(), name.to_owned(), release_id.clone());
    state
        .db
        .read(move |c| {
            app_exists(c, &app)?;
            let target = db::get_release(c, release_id.as_str())?
                .ok_or_else(|| AppError::not_found(format!("release {release_id} not found")))?;
            if target.app.as_str() != app {
                return Err(AppError::invalid(format!(
                    "release {release_id} belongs to app {}, not {app}",
                    target.app
                )));
            }
            match target.status {
                platform::api::ReleaseStatus::Draft => {
                    return Err(AppError::conflict(format!(
                        "release {release_id} is a draft; publish it before promoting"
                    )));
                }
                platform::api::ReleaseStatus::Revoked => {
                    return Err(AppError::conflict(format!(
                        "release {release_id} was revoked and cannot be promoted"
                    )));
                }
                _ => {}
            }
            let channel = db::get_channel(c, &app, &name)?;
            let (current, current_arts) = match channel.as_ref().and_then(|c| c.release_id.as_ref())
            {
                Some(cur) => (
                    db::get_release(c, cur.as_str())?,
                    db::list_artifacts(c, cur.as_str())?,
                ),
                None => (None, Vec::new()),
            };
            let target_arts = db::list_artifacts(c, release_id.as_str())?;
            Ok(MovePlan {
                channel,
                current,
                target,
                current_arts,
                target_arts,
            })
        })
        .await
}

/// A promotion's outcome told before it is asked for (the admin console's confirm step):
/// the channel's current release and policy, every finding the move would report, those that
/// would block it, and the refusal a stale downgrade meets without `allow_downgrade`.
pub struct PromotePreview {
    pub current: Option<ReleaseRow>,
    pub target: ReleaseRow,
    pub policy: ChannelPolicy,
    pub findings: Vec<Finding>,
    pub blocking: Vec<Finding>,
    pub downgrade: Option<String>,
}

pub async fn preview(
    state: &AppState,
    app: String,
    name: String,
    release_id: platform::ReleaseId,
) -> AppResult<PromotePreview> {
    let plan = promote_plan(state, &app, &name, &release_id).await?;
    let policy: ChannelPolicy = match &plan.channel {
        Some(c) => stored_policy(c)?,
        None => ChannelPolicy::default(),
    };
    let already = plan.channel.as_ref().and_then(|c| c.release_id.as_ref()) == Some(&release_id);
    let (findings, blocking) = if already {
        let (all, _) = move_findings(state, &policy, &[], &plan.target_arts)?;
        (all, Vec::new())
    } else {
        move_findings(state, &policy, &plan.current_arts, &plan.target_arts)?
    };
    let downgrade = match (&plan.current, already) {
        (Some(current), false) => refuse_stale(&name, current, &plan.target)
            .err()
            .map(|e| e.message),
        _ => None,
    };
    Ok(PromotePreview {
        current: plan.current,
        target: plan.target,
        policy,
        findings,
        blocking,
        downgrade,
    })
}

pub async fn promote(
    state: &AppState,
    p: &Principal,
    app: String,
    name: String,
    release_id: platform::ReleaseId,
    allow_downgrade: bool,
) -> AppResult<ChannelMove> {
    let plan = promote_plan(state, &app, &name, &release_id).await?;
    let policy: ChannelPolicy = match &plan.channel {
        Some(c) => stored_policy(c)?,
        None => ChannelPolicy::default(),
    };
    if plan.channel.as_ref().and_then(|c| c.release_id.as_ref()) == Some(&release_id) {
        // Already there: nothing to record.
        let row = plan
            .channel
            .clone()
            .ok_or_else(|| AppError::internal("channel", "missing"))?;
        let (all, _) = move_findings(state, &policy, &[], &plan.target_arts)?;
        return Ok(ChannelMove {
            schema_version: SCHEMA_VERSION,
            channel: channel_to_api(&row)?,
            previous_release_id: row.release_id.clone(),
            findings: all,
        });
    }
    if !allow_downgrade && let Some(current) = &plan.current {
        refuse_stale(&name, current, &plan.target)?;
    }
    let (all, blocking) = move_findings(state, &policy, &plan.current_arts, &plan.target_arts)?;
    if !blocking.is_empty() {
        return Err(AppError::invalid(format!(
            "promotion of {release_id} to {name} blocked by {} finding(s). First: {}",
            blocking.len(),
            blocking[0].message
        ))
        .with_findings(blocking));
    }
    record_move(state, p, app, name, plan, "promote", all).await
}

/// Refuses to move channel `name` from `current` to `target` when `target` was created first
/// (see the module docs). Creation times that do not parse never refuse.
fn refuse_stale(name: &str, current: &ReleaseRow, target: &ReleaseRow) -> AppResult<()> {
    let (Some(cur), Some(tgt)) = (
        util::parse_time(&current.created_at),
        util::parse_time(&target.created_at),
    ) else {
        return Ok(());
    };
    if tgt >= cur {
        return Ok(());
    }
    Err(AppError::conflict(format!(
        "channel {name} points at {} ({} ({}), created {}); release {} ({} ({})) was created before it, so promoting it would move {name} backwards. To do that on purpose, promote with allow_downgrade (dist channel promote --allow-downgrade), or use dist channel rollback",
        current.id,
        current.version,
        current.build,
        current.created_at,
        target.id,
        target.version,
        target.build,
    )))
}

/// The release a rollback returns to: walking history backwards, each rollback cancels the
/// promote before it; the first promote not cancelled is undone.
fn rollback_target(history: &[HistoryRow]) -> Option<Option<platform::ReleaseId>> {
    let mut undone = 0usize;
    for h in history.iter().rev() {
        if h.action == "rollback" {
            undone += 1;
        } else if undone > 0 {
            undone -= 1;
        } else {
            return Some(h.from_release_id.clone());
        }
    }
    None
}

/// The release a roll back of channel `name` would return to, if any (read only: the admin
/// console names it before the person confirms).
pub async fn rollback_preview(
    state: &AppState,
    app: String,
    name: String,
) -> AppResult<Option<ReleaseRow>> {
    state
        .db
        .read(move |c| {
            channel_exists(c, &app, &name)?;
            let history = db::list_history(c, &app, &name, 0, i64::MAX)?;
            match rollback_target(&history).flatten() {
                Some(id) => Ok(db::get_release(c, id.as_str())?),
                None => Ok(None),
            }
        })
        .await
}

pub async fn rollback(
    state: &AppState,
    p: &Principal,
    app: String,
    name: String,
) -> AppResult<ChannelMove> {
    let plan = {
        let (app, name) = (app.clone(), name.clone());
        state
            .db
            .read(move |c| {
                app_exists(c, &app)?;
                let channel = db::get_channel(c, &app, &name)?
                    .ok_or_else(|| AppError::not_found(format!("app {app} has no channel {name}")))?;
                let history = db::list_history(c, &app, &name, 0, i64::MAX)?;
                let prev = rollback_target(&history).flatten().ok_or_else(|| {
                    AppError::conflict(format!(
                        "channel {name} has no previous release to roll back to"
                    ))
                })?;
                let target = db::get_release(c, prev.as_str())?
                    .ok_or_else(|| AppError::not_found(format!("release {prev} not found")))?;
                if target.status != platform::api::ReleaseStatus::Published {
                    return Err(AppError::conflict(format!(
                        "the previous release {prev} of channel {name} is {}; promote another release instead",
                        target.status
                    )));
                }
                Ok(MovePlan {
                    channel: Some(channel),
                    current: None,
                    target,
                    current_arts: Vec::new(),
                    target_arts: Vec::new(),
                })
            })
            .await?
    };
    record_move(state, p, app, name, plan, "rollback", Vec::new()).await
}

/// Sets a channel's policy (creating the channel without a release if needed).
pub async fn set_policy(
    state: &AppState,
    p: &Principal,
    app: String,
    name: String,
    policy: ChannelPolicy,
) -> AppResult<Channel> {
    let actor = p.actor();
    let json = serde_json::to_string(&policy).map_err(|e| AppError::internal("json", e))?;
    let audited_policy = policy;
    let row = state
        .db
        .write(move |tx| {
            app_exists(tx, &app)?;
            db::set_channel_policy(tx, &app, &name, &json, &util::now())?;
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "channel.policy",
                    app: Some(&app),
                    subject: Some(&name),
                    details: json!({"policy": audited_policy}),
                },
            )?;
            db::get_channel(tx, &app, &name)?
                .ok_or_else(|| AppError::internal("channel", "vanished after write"))
        })
        .await?;
    channel_to_api(&row)
}

/// Makes a channel's pages public or token-only (creating the channel without a release if
/// needed).
pub async fn set_access(
    state: &AppState,
    p: &Principal,
    app: String,
    name: String,
    access: platform::api::Access,
) -> AppResult<Channel> {
    let actor = p.actor();
    let row = state
        .db
        .write(move |tx| {
            app_exists(tx, &app)?;
            db::set_channel_access(tx, &app, &name, access.as_str(), &util::now())?;
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "channel.access",
                    app: Some(&app),
                    subject: Some(&name),
                    details: json!({"access": access.as_str()}),
                },
            )?;
            db::get_channel(tx, &app, &name)?
                .ok_or_else(|| AppError::internal("channel", "vanished after write"))
        })
        .await?;
    channel_to_api(&row)
}

/// What a channel points at right now: its app, the release and that release's attached
/// files (every platform's; a channel URL chooses among them, `http::downloads`).
pub struct Pointed {
    pub app: AppRow,
    pub release: ReleaseRow,
    pub files: Vec<ArtifactRow>,
}

/// The release a stable channel URL follows: 404 for no such app, channel or release yet,
/// 410 for a revoked one.
pub async fn pointed(state: &AppState, app: String, name: String) -> AppResult<Pointed> {
    state
        .db
        .read(move |c| {
            let app_row = super::app_row(c, &app)?;
            let ch = db::get_channel(c, &app, &name)?
                .ok_or_else(|| AppError::not_found(format!("app {app} has no channel {name}")))?;
            let rid = ch.release_id.ok_or_else(|| {
                AppError::not_found(format!("channel {name} of {app} points at no release yet"))
            })?;
            let rel = db::get_release(c, rid.as_str())?
                .ok_or_else(|| AppError::not_found(format!("release {rid} not found")))?;
            if rel.status == platform::api::ReleaseStatus::Revoked {
                return Err(AppError::gone(format!(
                    "channel {name} of {app} points at release {rid}, which was revoked ({}); roll the channel back or promote another release",
                    rel.revoke_reason.as_deref().unwrap_or("no reason given")
                )));
            }
            let files = db::list_artifacts(c, &rid)?
                .into_iter()
                .filter(|a| a.sha256.is_some() && a.attached)
                .collect();
            Ok(Pointed {
                app: app_row,
                release: rel,
                files,
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(action: &str, from: Option<&str>, to: &str) -> HistoryRow {
        HistoryRow {
            seq: 0,
            at: String::new(),
            actor: String::new(),
            action: action.into(),
            from_release_id: from.map(|r| r.parse().unwrap()),
            to_release_id: Some(to.parse().unwrap()),
        }
    }

    #[test]
    fn rollback_walks_back_one_move_at_a_time() {
        let mut hist = vec![
            h("promote", None, "rel_a"),
            h("promote", Some("rel_a"), "rel_b"),
            h("promote", Some("rel_b"), "rel_c"),
        ];
        assert_eq!(rollback_target(&hist), Some(Some("rel_b".parse().unwrap())));
        hist.push(h("rollback", Some("rel_c"), "rel_b"));
        assert_eq!(rollback_target(&hist), Some(Some("rel_a".parse().unwrap())));
        hist.push(h("rollback", Some("rel_b"), "rel_a"));
        assert_eq!(rollback_target(&hist), Some(None));
        assert_eq!(rollback_target(&[]), None);
    }
}
