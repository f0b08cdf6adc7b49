//! One release: every artifact's inspection in words and as JSON, findings by severity,
//! downloads, and what changed against each channel's current release (the release diff of
//! `GET /api/v1/releases/{id}/diff/{other}`).

use axum::extract::State;

use platform::ReleaseId;
use platform::api::Scope;
use ui::admin::{DiffView, ReleasePage};

use super::apps::NoticeQuery;
use super::session::Session;
use super::{OrPage, PageResult, notice, ok, views};
use crate::http::auth::{authorize, need};
use crate::http::{ApiPath, ApiQuery};
use crate::services::{AppState, apps, channels, releases};

pub async fn show(
    State(st): State<AppState>,
    s: Session,
    ApiPath(id): ApiPath<ReleaseId>,
    ApiQuery(q): ApiQuery<NoticeQuery>,
) -> PageResult {
    authorize::<need::Read>(&st, &s.p, None, None)
        .await
        .or_page(&s)?;
    // The service checks the app limit, drafts and channel limits, as for the API.
    let r = releases::get(&st, &s.p, id).await.or_page(&s)?;
    let app = r.app.to_string();
    let policy = apps::get(&st, app.clone())
        .await
        .or_page(&s)?
        .version_mismatch;
    let mut diffs = Vec::new();
    let mut promote_to = Vec::new();
    let may_promote =
        s.p.has(Scope::Promote) && r.status == platform::api::ReleaseStatus::Published;
    for c in channels::list(&st, app.clone()).await.or_page(&s)? {
        if s.p.require_channel(c.name.as_str()).is_err() {
            continue;
        }
        if may_promote {
            promote_to.push(c.name.to_string());
        }
        let Some(current) = c.release_id.filter(|cur| *cur != r.id) else {
            continue;
        };
        let Ok(cur) = releases::get(&st, &s.p, current).await else {
            continue;
        };
        let d = platform::diff::diff_releases(&cur, &r);
        diffs.push(DiffView {
            channel: c.name.to_string(),
            current_id: cur.id.to_string(),
            current_label: format!("{} ({})", cur.version, cur.build),
            lines: d
                .platforms
                .iter()
                .flat_map(platform::diff::describe)
                .collect(),
        });
    }
    if may_promote && promote_to.is_empty() && s.p.channels.is_empty() {
        // No channel yet: the first promotion makes one; suggest the usual names.
        promote_to = vec!["beta".into(), "stable".into()];
    }
    Ok(ok(&ReleasePage {
        nav: s.nav("apps"),
        notice: notice(q.ok.as_deref()),
        app,
        release: views::release_row(&r),
        notes: r.notes.clone().filter(|n| !n.trim().is_empty()),
        revoke_reason: r.revoke_reason.clone(),
        artifacts: r.artifacts.iter().map(views::artifact).collect(),
        findings: views::release_findings(&r, &views::version_findings(st.registry, &r, policy)),
        diffs,
        promote_to,
    }))
}
