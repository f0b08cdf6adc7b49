//! The audit log: a table filtered by actor, action, app and time range, newest first, with
//! the chain's verification; and the same selection as JSONL (oldest first, streamed a batch
//! at a time). Who reads what follows `GET /api/v1/audit`: an unrestricted admin everything,
//! an app-limited admin its app's events, others nothing.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use ui::admin::{AuditFilterView, AuditPage, AuditView, VerifyView};

use super::apps::time_bound;
use super::session::Session;
use super::{OrPage, PageResult, ok, query_string};
use crate::auth::Principal;
use crate::db::{self, AuditQuery};
use crate::error::{AppError, AppResult};
use crate::http::ApiQuery;
use crate::http::auth::{authorize, need};
use crate::services::AppState;

/// Events per page of the table.
const PAGE_ROWS: i64 = 100;
/// Events read per batch of the export.
const EXPORT_BATCH: i64 = 1000;
/// Up to this many events the chain is verified on every view of the first page; a longer
/// log is verified when asked (verification reads every event).
const VERIFY_ON_VIEW: i64 = 50_000;

#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    actor: Option<String>,
    action: Option<String>,
    app: Option<String>,
    since: Option<String>,
    until: Option<String>,
    /// The table's page: events below this seq.
    before: Option<i64>,
    /// `1`: verify the chain whatever its length.
    verify: Option<u8>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The caller's filters, narrowed to what it may read.
fn query_for(p: &Principal, q: &AuditParams) -> AppResult<AuditQuery> {
    let app = crate::http::api::audit_app(p, given(&q.app))?;
    for (what, v) in [("actor", &q.actor), ("action", &q.action), ("app", &q.app)] {
        if v.as_ref().is_some_and(|v| v.len() > 300) {
            return Err(AppError::bad_request(format!(
                "{what}: at most 300 characters"
            )));
        }
    }
    Ok(AuditQuery {
        action: given(&q.action),
        app,
        actor: given(&q.actor),
        since: given(&q.since)
            .map(|v| time_bound("from", &v))
            .transpose()?,
        until: given(&q.until)
            .map(|v| time_bound("until", &v))
            .transpose()?,
        seq_bound: None,
        newest_first: true,
        limit: PAGE_ROWS,
    })
}

fn kept(q: &AuditParams) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("actor", given(&q.actor)),
        ("action", given(&q.action)),
        ("app", given(&q.app)),
        ("since", given(&q.since)),
        ("until", given(&q.until)),
    ]
}

fn url(path: &str, params: &[(&'static str, Option<String>)]) -> String {
    let refs: Vec<(&str, Option<&str>)> = params.iter().map(|(k, v)| (*k, v.as_deref())).collect();
    format!("{path}{}", query_string(&refs))
}

pub async fn list(
    State(st): State<AppState>,
    s: Session,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> PageResult {
    authorize::<need::AdminRead>(&st, &s.p, None, None)
        .await
        .or_page(&s)?;
    let mut query = query_for(&s.p, &q).or_page(&s)?;
    query.seq_bound = q.before;
    query.limit = PAGE_ROWS + 1;
    let mut rows = st
        .db
        .read(move |c| Ok(db::query_audit(c, &query)?))
        .await
        .or_page(&s)?;
    let more = rows.len() as i64 > PAGE_ROWS;
    rows.truncate(PAGE_ROWS as usize);
    let next_url = more
        .then(|| rows.last().map(|r| r.seq))
        .flatten()
        .map(|seq| {
            let mut params = kept(&q);
            params.push(("before", Some(seq.to_string())));
            url("/admin/audit", &params)
        });
    // The chain spans every app: only an unrestricted admin verifies it, on the first page.
    let asked = q.verify == Some(1);
    let mut verify_url = None;
    let verify = if s.p.is_unrestricted_admin() && (q.before.is_none() || asked) {
        let head = crate::audit::read_head(&crate::audit::head_path(&st.cfg.db_path()));
        let v = st
            .db
            .read(move |c| {
                let len = db::last_audit(c)?.map_or(0, |(seq, _)| seq);
                if len > VERIFY_ON_VIEW && !asked {
                    return Ok(None);
                }
                crate::audit::verify_with_head(c, head).map(Some)
            })
            .await
            .or_page(&s)?;
        let Some(v) = v else {
            let mut params = kept(&q);
            params.push(("verify", Some("1".to_owned())));
            verify_url = Some(url("/admin/audit", &params));
            return Ok(page(&s, rows, &q, None, verify_url, next_url));
        };
        Some(VerifyView {
            ok: v.ok,
            message: format!(
                "Chain {}: {} event(s) checked. {}",
                if v.ok { "verifies" } else { "does NOT verify" },
                v.checked,
                v.message
            ),
        })
    } else {
        None
    };
    Ok(page(&s, rows, &q, verify, verify_url, next_url))
}

fn page(
    s: &Session,
    rows: Vec<crate::db::AuditRow>,
    q: &AuditParams,
    verify: Option<VerifyView>,
    verify_url: Option<String>,
    next_url: Option<String>,
) -> axum::response::Response {
    ok(&AuditPage {
        nav: s.nav("audit"),
        rows: rows
            .into_iter()
            .map(|r| AuditView {
                seq: r.seq,
                at: r.at,
                actor: r.actor,
                action: r.action,
                app: r.app.unwrap_or_default(),
                subject: r.subject.unwrap_or_default(),
                details: r.details,
            })
            .collect(),
        filter: AuditFilterView {
            actor: given(&q.actor).unwrap_or_default(),
            action: given(&q.action).unwrap_or_default(),
            app: given(&q.app).unwrap_or_default(),
            since: given(&q.since).unwrap_or_default(),
            until: given(&q.until).unwrap_or_default(),
        },
        verify,
        verify_url,
        next_url,
        export_url: url("/admin/audit.jsonl", &kept(q)),
    })
}

/// The selection as JSON Lines, one `AuditEvent` (the API's shape) a line, oldest first.
pub async fn export(
    State(st): State<AppState>,
    s: Session,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> PageResult {
    authorize::<need::AdminRead>(&st, &s.p, None, None)
        .await
        .or_page(&s)?;
    let mut query = query_for(&s.p, &q).or_page(&s)?;
    query.newest_first = false;
    query.limit = EXPORT_BATCH;
    let db = st.db.clone();
    let batches = futures_util::stream::unfold(Some(query), move |state| {
        let db = db.clone();
        async move {
            let query = state?;
            let q2 = query.clone();
            match db.read(move |c| Ok(db::query_audit(c, &q2)?)).await {
                Ok(rows) => {
                    let full = rows.len() as i64 == query.limit;
                    let last = rows.last().map(|r| r.seq);
                    let mut out = Vec::new();
                    for r in rows {
                        if serde_json::to_writer(&mut out, &crate::audit::to_api(r)).is_err() {
                            return Some((Err(std::io::Error::other("encode audit event")), None));
                        }
                        out.push(b'\n');
                    }
                    let next = (full && last.is_some()).then_some(AuditQuery {
                        seq_bound: last,
                        ..query
                    });
                    Some((Ok(Bytes::from(out)), next))
                }
                Err(e) => {
                    tracing::error!("audit export: {}", e.message);
                    Some((Err(std::io::Error::other(e.message)), None))
                }
            }
        }
    });
    let mut res = Body::from_stream(batches).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit.jsonl\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
