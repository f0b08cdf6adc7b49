//! Channels: the pointer and its history, promote (a review step that shows findings, the
//! diff and the policy result; a downgrade needs its checkbox), roll back (a confirmation
//! naming the target), policy and access. Moves go through `services::channels`, the API's.

use axum::extract::State;
use serde::Deserialize;

use platform::api::{Access, ChannelPolicy, ReleaseStatus, Scope};
use platform::{AppSlug, ChannelName, ReleaseId};
use ui::admin::{ChannelPage, ChannelRowView, HistoryView, PromotePage, RollbackPage};

use super::apps::NoticeQuery;
use super::session::{Form, Session};
use super::{OrPage, PageResult, notice, ok, see_other, views};
use crate::db;
use crate::error::AppError;
use crate::http::auth::{authorize, need};
use crate::http::{ApiPath, ApiQuery};
use crate::services::{AppState, apps, channels, releases};

/// Moves shown on a channel page, newest first.
const HISTORY_ROWS: usize = 100;

#[derive(Deserialize)]
pub struct ChannelPath {
    app: AppSlug,
    channel: ChannelName,
}

fn ids(r: &Option<ReleaseId>) -> String {
    r.as_ref().map(|r| r.to_string()).unwrap_or_default()
}

pub async fn show(
    State(st): State<AppState>,
    s: Session,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
    ApiQuery(q): ApiQuery<NoticeQuery>,
) -> PageResult {
    authorize::<need::Read>(&st, &s.p, Some(app.as_str()), Some(channel.as_str()))
        .await
        .or_page(&s)?;
    let c = channels::get(&st, app.to_string(), channel.to_string())
        .await
        .or_page(&s)?;
    let release = match &c.release_id {
        Some(id) => releases::get(&st, &s.p, id.clone())
            .await
            .ok()
            .map(|r| views::release_row(&r)),
        None => None,
    };
    let mut history = channels::history(&st, app.to_string(), channel.to_string(), 0, i64::MAX)
        .await
        .or_page(&s)?;
    history.reverse();
    history.truncate(HISTORY_ROWS);
    let can_promote = s.p.has(Scope::Promote);
    let (rollback_to, candidates) = if can_promote {
        let to = match channels::rollback_preview(&st, app.to_string(), channel.to_string())
            .await
            .or_page(&s)?
        {
            Some(t) => releases::get(&st, &s.p, t.id)
                .await
                .ok()
                .map(|r| views::release_row(&r)),
            None => None,
        };
        let (recent, _) = releases::list(
            &st,
            &s.p,
            app.to_string(),
            db::ReleaseFilter {
                status: Some(ReleaseStatus::Published.as_str().to_owned()),
                limit: 30,
                ..Default::default()
            },
        )
        .await
        .or_page(&s)?;
        (to, recent.iter().map(views::release_row).collect())
    } else {
        (None, Vec::new())
    };
    Ok(ok(&ChannelPage {
        nav: s.nav("apps"),
        notice: notice(q.ok.as_deref()),
        app: app.to_string(),
        policy: c.policy.blocking_warnings.join(", "),
        channel: ChannelRowView {
            name: c.name.to_string(),
            access: c.access.as_str().to_owned(),
            release,
            updated_at: c.updated_at.clone(),
        },
        history: history
            .into_iter()
            .map(|h| HistoryView {
                seq: h.seq,
                at: h.at,
                actor: h.actor,
                action: h.action,
                from: ids(&h.from_release_id),
                to: ids(&h.to_release_id),
            })
            .collect(),
        rollback_to,
        candidates,
        can_promote,
        can_admin: s.p.has(Scope::Admin),
    }))
}

#[derive(Deserialize)]
pub struct PromoteQuery {
    release: String,
    channel: String,
}

/// May the caller move `channel`: the promote scope and its limits (no record: a review
/// page changes nothing; the move itself is checked and recorded by `authorize`).
fn may_move(s: &Session, app: &str, channel: &str) -> Result<(), AppError> {
    s.p.require(Scope::Promote)?;
    s.p.require_app(app)?;
    s.p.require_channel(channel)
}

pub async fn promote_review(
    State(st): State<AppState>,
    s: Session,
    ApiPath(app): ApiPath<AppSlug>,
    ApiQuery(q): ApiQuery<PromoteQuery>,
) -> PageResult {
    let release: ReleaseId = q
        .release
        .trim()
        .parse()
        .map_err(|e| AppError::bad_request(format!("release: {e}")))
        .or_page(&s)?;
    let channel: ChannelName = q
        .channel
        .trim()
        .parse()
        .map_err(|e| AppError::bad_request(format!("channel: {e}")))
        .or_page(&s)?;
    authorize::<need::Read>(&st, &s.p, Some(app.as_str()), None)
        .await
        .or_page(&s)?;
    may_move(&s, app.as_str(), channel.as_str()).or_page(&s)?;
    let target = releases::get(&st, &s.p, release.clone())
        .await
        .or_page(&s)?;
    let pv = channels::preview(&st, app.to_string(), channel.to_string(), release)
        .await
        .or_page(&s)?;
    let policy = apps::get(&st, app.to_string())
        .await
        .or_page(&s)?
        .version_mismatch;
    let versions = views::version_findings(st.registry, &target, policy);
    let current = match &pv.current {
        Some(c) => Some(releases::get(&st, &s.p, c.id.clone()).await.or_page(&s)?),
        None => None,
    };
    let diff = current
        .as_ref()
        .map(|c| {
            platform::diff::diff_releases(c, &target)
                .platforms
                .iter()
                .flat_map(platform::diff::describe)
                .collect()
        })
        .unwrap_or_default();
    Ok(ok(&PromotePage {
        nav: s.nav("apps"),
        app: app.to_string(),
        channel: channel.to_string(),
        release: views::release_row(&target),
        current: current.as_ref().map(views::release_row),
        findings: views::finding_groups(pv.findings.iter().chain(&versions)),
        diff,
        blocking: pv.blocking.iter().map(views::finding).collect(),
        downgrade: pv.downgrade,
        policy: pv.policy.blocking_warnings.join(", "),
    }))
}

pub async fn promote(
    State(st): State<AppState>,
    s: Session,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
    form: Form,
) -> PageResult {
    s.check_csrf(&st, &form, "channel.promote").await?;
    authorize::<need::ChannelPromote>(&st, &s.p, Some(app.as_str()), Some(channel.as_str()))
        .await
        .or_page(&s)?;
    let release: ReleaseId = form
        .text("release")
        .unwrap_or("")
        .parse()
        .map_err(|e| AppError::bad_request(format!("release: {e}")))
        .or_page(&s)?;
    channels::promote(
        &st,
        &s.p,
        app.to_string(),
        channel.to_string(),
        release,
        form.checked("allow_downgrade"),
    )
    .await
    .or_page(&s)?;
    Ok(see_other(&format!(
        "/admin/apps/{app}/channels/{channel}?ok=promoted"
    )))
}

pub async fn rollback_review(
    State(st): State<AppState>,
    s: Session,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
) -> PageResult {
    authorize::<need::Read>(&st, &s.p, Some(app.as_str()), Some(channel.as_str()))
        .await
        .or_page(&s)?;
    may_move(&s, app.as_str(), channel.as_str()).or_page(&s)?;
    let c = channels::get(&st, app.to_string(), channel.to_string())
        .await
        .or_page(&s)?;
    let target = channels::rollback_preview(&st, app.to_string(), channel.to_string())
        .await
        .or_page(&s)?
        .ok_or_else(|| {
            AppError::conflict(format!(
                "channel {channel} has no previous release to roll back to"
            ))
        })
        .or_page(&s)?;
    let target = releases::get(&st, &s.p, target.id).await.or_page(&s)?;
    let current = match c.release_id {
        Some(id) => releases::get(&st, &s.p, id).await.ok(),
        None => None,
    };
    Ok(ok(&RollbackPage {
        nav: s.nav("apps"),
        app: app.to_string(),
        channel: channel.to_string(),
        current: current.as_ref().map(views::release_row),
        target: views::release_row(&target),
    }))
}

pub async fn rollback(
    State(st): State<AppState>,
    s: Session,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
    form: Form,
) -> PageResult {
    s.check_csrf(&st, &form, "channel.rollback").await?;
    authorize::<need::ChannelRollback>(&st, &s.p, Some(app.as_str()), Some(channel.as_str()))
        .await
        .or_page(&s)?;
    // The person confirmed a named target; if the channel moved since, that is not it.
    let confirmed = form.text("to").unwrap_or("");
    let target = channels::rollback_preview(&st, app.to_string(), channel.to_string())
        .await
        .or_page(&s)?;
    if target.as_ref().map(|t| t.id.as_str()) != Some(confirmed) {
        return Err(AppError::conflict(format!(
            "channel {channel} moved since the confirmation page named {confirmed}: open the roll back page again"
        )))
        .or_page(&s);
    }
    channels::rollback(&st, &s.p, app.to_string(), channel.to_string())
        .await
        .or_page(&s)?;
    Ok(see_other(&format!(
        "/admin/apps/{app}/channels/{channel}?ok=rolled-back"
    )))
}

pub async fn policy(
    State(st): State<AppState>,
    s: Session,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
    form: Form,
) -> PageResult {
    s.check_csrf(&st, &form, "channel.policy").await?;
    authorize::<need::ChannelPolicy>(&st, &s.p, Some(app.as_str()), Some(channel.as_str()))
        .await
        .or_page(&s)?;
    let codes: Vec<String> = form
        .get("blocking_warnings")
        .unwrap_or("")
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = codes
        .iter()
        .find(|c| c.len() > 200 || c.chars().any(char::is_control))
    {
        return Err(AppError::bad_request(format!(
            "blocking warning {bad:?}: a finding code as `dist release show` lists it, or *"
        )))
        .or_page(&s);
    }
    channels::set_policy(
        &st,
        &s.p,
        app.to_string(),
        channel.to_string(),
        ChannelPolicy {
            blocking_warnings: codes,
        },
    )
    .await
    .or_page(&s)?;
    Ok(see_other(&format!(
        "/admin/apps/{app}/channels/{channel}?ok=policy"
    )))
}

pub async fn access(
    State(st): State<AppState>,
    s: Session,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
    form: Form,
) -> PageResult {
    s.check_csrf(&st, &form, "channel.access").await?;
    authorize::<need::ChannelAccess>(&st, &s.p, Some(app.as_str()), Some(channel.as_str()))
        .await
        .or_page(&s)?;
    let access: Access = form
        .text("access")
        .unwrap_or("")
        .parse()
        .map_err(|_| AppError::bad_request("access: public or token"))
        .or_page(&s)?;
    channels::set_access(&st, &s.p, app.to_string(), channel.to_string(), access)
        .await
        .or_page(&s)?;
    Ok(see_other(&format!(
        "/admin/apps/{app}/channels/{channel}?ok=access"
    )))
}
