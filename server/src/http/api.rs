//! JSON endpoints under `/api/v1`: tokens, apps, releases, artifacts, channels, audit.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;

use platform::api::ReleaseStatus;
use platform::api::{
    AccessRequest, AppCreate, AppList, AppSettings, AuditList, ChannelHistory, ChannelList,
    ChannelPolicy, PromoteRequest, ReleaseCreate, ReleaseCreated, ReleaseList, RevokeRequest,
    Scope, TokenCreate, TokenList, WhoAmI,
};
use platform::{AppSlug, ChannelName, IdentityRules, SCHEMA_VERSION};

use super::{ApiJson, ApiPath, ApiQuery, Need, authorize, check_id, deny, paging, parse_seg};
use crate::auth::Principal;
use crate::db::{self, AuditFilter};
use crate::error::{AppError, AppResult};
use crate::services::{AppState, apps, channels, releases, tokens};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/token", get(whoami))
        .route("/platforms", get(platform_list))
        .route("/tokens", post(token_create).get(token_list))
        .route("/tokens/{id}/revoke", post(token_revoke))
        .route("/apps", post(app_create).get(app_list))
        .route("/apps/{app}", get(app_show))
        .route("/apps/{app}/identity", put(app_identity))
        .route("/apps/{app}/access", put(app_access))
        .route("/apps/{app}/settings", put(app_settings))
        .route(
            "/apps/{app}/releases",
            post(release_create).get(release_list),
        )
        .route("/releases/{id}", get(release_show).delete(release_delete))
        .route("/releases/{id}/diff/{other}", get(release_diff))
        .route("/releases/{id}/publish", post(release_publish))
        .route("/releases/{id}/revoke", post(release_revoke))
        .route("/artifacts/{id}", get(artifact_show))
        .route("/artifacts/{id}/attach", post(artifact_attach))
        .route("/apps/{app}/channels", get(channel_list))
        .route("/apps/{app}/channels/{name}", get(channel_show))
        .route("/apps/{app}/channels/{name}/promote", post(channel_promote))
        .route(
            "/apps/{app}/channels/{name}/rollback",
            post(channel_rollback),
        )
        .route("/apps/{app}/channels/{name}/history", get(channel_history))
        .route("/apps/{app}/channels/{name}/policy", put(channel_policy))
        .route("/apps/{app}/channels/{name}/access", put(channel_access))
        .route("/audit", get(audit_list))
        .route("/audit/verify", get(audit_verify))
        .route(
            "/artifacts/{id}/download",
            get(super::downloads::artifact_download),
        )
}

/// Records a 403 a service raised after the endpoint's own checks (an app limit met on a
/// release id, say) as `auth.denied`, then passes the result on.
async fn audited<T>(
    state: &AppState,
    action: &str,
    p: &Principal,
    r: AppResult<T>,
) -> AppResult<T> {
    if let Err(e) = &r
        && e.code == platform::api::ErrorCode::Forbidden
    {
        deny(state, action, None, Some(p), e).await;
    }
    r
}

fn json<T: serde::Serialize>(status: StatusCode, v: T) -> Response {
    (status, axum::Json(v)).into_response()
}

// ---- tokens

async fn whoami(State(st): State<AppState>, h: HeaderMap) -> AppResult<Response> {
    // Any valid token may ask who it is, whatever its scopes.
    let p = authorize(&st, &h, Need::any()).await?;
    let info = st
        .db
        .read(move |c| {
            db::get_token(c, &p.id)?
                .map(|r| crate::auth::to_info(&r))
                .ok_or_else(|| AppError::unauthorized("unknown token"))
        })
        .await?;
    Ok(json(
        StatusCode::OK,
        WhoAmI {
            schema_version: SCHEMA_VERSION,
            token: info,
        },
    ))
}

// ---- platforms

async fn platform_list(State(st): State<AppState>, h: HeaderMap) -> AppResult<Response> {
    // Any valid token may read what the server's targets declare.
    authorize(&st, &h, Need::any()).await?;
    Ok(json(
        StatusCode::OK,
        platform::api::PlatformList::from_registry(st.registry),
    ))
}

async fn token_create(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiJson(body): ApiJson<TokenCreate>,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::write(Scope::Admin, "token.create")).await?;
    let created = tokens::create(&st, &p, body).await;
    Ok(json(
        StatusCode::CREATED,
        audited(&st, "token.create", &p, created).await?,
    ))
}

/// `?limit=&cursor=` for lists without filters of their own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The answer of a list: its JSON and, when there is a next page, the `Link` header.
fn page<T: serde::Serialize>(
    st: &AppState,
    path: &str,
    params: &[(&str, Option<String>)],
    next: Option<&str>,
    body: T,
) -> Response {
    let headers = paging::link_headers(&format!("{}/api/v1", st.base()), path, params, next);
    (StatusCode::OK, headers, axum::Json(body)).into_response()
}

async fn token_list(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::read(Scope::Admin)).await?;
    let limit = paging::limit(q.limit, 100, 1000);
    let after = paging::decode_pair(q.cursor.as_deref())?;
    let (list, next) = tokens::list(&st, &p, after, limit).await?;
    let next = next.map(|(at, id)| paging::encode(&[&at, &id]));
    Ok(page(
        &st,
        "/tokens",
        &[("limit", q.limit.map(|l| l.to_string()))],
        next.as_deref(),
        TokenList {
            schema_version: SCHEMA_VERSION,
            tokens: list,
            next_cursor: next.clone(),
        },
    ))
}

async fn token_revoke(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::write(Scope::Admin, "token.revoke")).await?;
    check_id("token", "tok_", &id)?;
    Ok(json(StatusCode::OK, tokens::revoke(&st, &p, id).await?))
}

// ---- apps

async fn app_create(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiJson(body): ApiJson<AppCreate>,
) -> AppResult<Response> {
    // Any valid token gets this far; the access rule decides (an unrestricted admin, or a
    // create-app token for its own app).
    let mut need = Need::any();
    need.write = Some("app.create");
    let p = authorize(&st, &h, need).await?;
    if let Err(e) = crate::access::check_app_create(&p, body.slug.as_str()) {
        deny(&st, "app.create", Some(body.slug.as_str()), Some(&p), &e).await;
        return Err(e);
    }
    Ok(json(
        StatusCode::CREATED,
        apps::create(&st, &p, body).await?,
    ))
}

async fn app_access(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(app): ApiPath<String>,
    ApiJson(body): ApiJson<AccessRequest>,
) -> AppResult<Response> {
    let app: AppSlug = parse_seg(&app)?;
    let p = authorize(
        &st,
        &h,
        Need::write(Scope::Admin, "app.access").app(app.as_str()),
    )
    .await?;
    Ok(json(
        StatusCode::OK,
        apps::set_access(&st, &p, app.to_string(), body.access).await?,
    ))
}

async fn app_settings(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(app): ApiPath<String>,
    ApiJson(body): ApiJson<AppSettings>,
) -> AppResult<Response> {
    let app: AppSlug = parse_seg(&app)?;
    let p = authorize(
        &st,
        &h,
        Need::write(Scope::Admin, "app.settings").app(app.as_str()),
    )
    .await?;
    Ok(json(
        StatusCode::OK,
        apps::set_settings(&st, &p, app.to_string(), body).await?,
    ))
}

async fn app_list(State(st): State<AppState>, h: HeaderMap) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::read(Scope::Read)).await?;
    let list = apps::list(&st, p.app.clone()).await?;
    Ok(json(
        StatusCode::OK,
        AppList {
            schema_version: SCHEMA_VERSION,
            apps: list,
        },
    ))
}

async fn app_show(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(app): ApiPath<String>,
) -> AppResult<Response> {
    let app: AppSlug = parse_seg(&app)?;
    authorize(&st, &h, Need::read(Scope::Read).app(app.as_str())).await?;
    Ok(json(StatusCode::OK, apps::get(&st, app.to_string()).await?))
}

async fn app_identity(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(app): ApiPath<String>,
    ApiJson(rules): ApiJson<IdentityRules>,
) -> AppResult<Response> {
    let app: AppSlug = parse_seg(&app)?;
    let p = authorize(
        &st,
        &h,
        Need::write(Scope::Admin, "app.update").app(app.as_str()),
    )
    .await?;
    Ok(json(
        StatusCode::OK,
        apps::update_identity(&st, &p, app.to_string(), rules).await?,
    ))
}

// ---- releases

async fn release_create(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(app): ApiPath<String>,
    ApiJson(mut body): ApiJson<ReleaseCreate>,
) -> AppResult<Response> {
    let app: AppSlug = parse_seg(&app)?;
    let mut deprecated = false;
    for (n, a) in body.artifacts.iter_mut().enumerate() {
        deprecated |= a
            .adopt_deprecated_fields()
            .map_err(|m| AppError::bad_request(format!("artifacts[{n}]: {m}")))?;
    }
    let p = authorize(
        &st,
        &h,
        Need::write(Scope::Publish, "release.create").app(app.as_str()),
    )
    .await?;
    let (created, release) = releases::create(&st, &p, app.to_string(), body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = json(
        status,
        ReleaseCreated {
            schema_version: SCHEMA_VERSION,
            created,
            release,
        },
    );
    if deprecated {
        mark_deprecated(&mut response);
    }
    Ok(response)
}

/// RFC 9745: the request used a field that is going away (`testflight_url`, read as `link`
/// for one more version). `Link` names the README section that says what replaces it.
fn mark_deprecated(response: &mut Response) {
    let h = response.headers_mut();
    h.insert("deprecation", axum::http::HeaderValue::from_static("true"));
    h.insert(
        axum::http::header::LINK,
        axum::http::HeaderValue::from_static(DEPRECATION_LINK),
    );
}

/// Where the deprecation is explained: the README section of the distd release in use.
pub const DEPRECATION_LINK: &str =
    r#"<README.md#deprecated-api-fields>; rel="deprecation"; type="text/markdown""#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    status: Option<ReleaseStatus>,
    version: Option<platform::Version>,
    platform: Option<platform::PlatformId>,
    /// RFC 3339: releases created at or after it.
    since: Option<String>,
}

/// Releases newest first, a page at a time (issue 11, item 11): up to 500 a page (the old
/// list's size), 100 unless `limit` says otherwise.
async fn release_list(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(app): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReleaseQuery>,
) -> AppResult<Response> {
    let app: AppSlug = parse_seg(&app)?;
    let p = authorize(&st, &h, Need::read(Scope::Read).app(app.as_str())).await?;
    let since = match &q.since {
        Some(s) => Some(crate::util::format_time(
            crate::util::parse_time(s).ok_or_else(|| {
                AppError::bad_request(format!(
                    "since {s:?} is not an RFC 3339 time such as 2026-01-31T00:00:00Z"
                ))
            })?,
        )),
        None => None,
    };
    let status = q.status.map(ReleaseStatus::as_str);
    let filter = db::ReleaseFilter {
        status: status.map(str::to_owned),
        version: q.version.as_ref().map(ToString::to_string),
        platform: q.platform.as_ref().map(|p| p.as_str().to_owned()),
        since: since.clone(),
        before: paging::decode_pair(q.cursor.as_deref())?,
        limit: paging::limit(q.limit, 100, 500),
    };
    let (list, next) = releases::list(&st, &p, app.to_string(), filter).await?;
    let next = next.map(|(at, id)| paging::encode(&[&at, &id]));
    Ok(page(
        &st,
        &format!("/apps/{app}/releases"),
        &[
            ("limit", q.limit.map(|l| l.to_string())),
            ("status", status.map(str::to_owned)),
            ("version", q.version.as_ref().map(ToString::to_string)),
            (
                "platform",
                q.platform.as_ref().map(|p| p.as_str().to_owned()),
            ),
            ("since", q.since.clone()),
        ],
        next.as_deref(),
        ReleaseList {
            schema_version: SCHEMA_VERSION,
            releases: list,
            next_cursor: next.clone(),
        },
    ))
}

async fn release_show(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::read(Scope::Read)).await?;
    check_id("release", "rel_", &id)?;
    Ok(json(StatusCode::OK, releases::get(&st, &p, id).await?))
}

/// What changed from release `id` to release `other` (issue 12, item 10), per platform:
/// [`platform::diff::diff_releases`] on the stored inspections. Both must be readable by the
/// caller and belong to one app.
async fn release_diff(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((id, other)): ApiPath<(String, String)>,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::read(Scope::Read)).await?;
    check_id("release", "rel_", &id)?;
    check_id("release", "rel_", &other)?;
    let from = releases::get(&st, &p, id).await?;
    let to = releases::get(&st, &p, other).await?;
    if from.app != to.app {
        return Err(AppError::bad_request(format!(
            "release {} belongs to app {} and {} to app {}; compare releases of one app",
            from.id, from.app, to.id, to.app
        )));
    }
    Ok(json(
        StatusCode::OK,
        platform::diff::diff_releases(&from, &to),
    ))
}

async fn release_publish(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::write(Scope::Publish, "release.publish")).await?;
    check_id("release", "rel_", &id)?;
    let r = releases::publish(&st, &p, id).await;
    Ok(json(
        StatusCode::OK,
        audited(&st, "release.publish", &p, r).await?,
    ))
}

async fn release_revoke(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RevokeRequest>,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::write(Scope::Admin, "release.revoke")).await?;
    check_id("release", "rel_", &id)?;
    let r = releases::revoke(&st, &p, id, body.reason).await;
    Ok(json(
        StatusCode::OK,
        audited(&st, "release.revoke", &p, r).await?,
    ))
}

async fn release_delete(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::write(Scope::Publish, "release.delete")).await?;
    check_id("release", "rel_", &id)?;
    let r = releases::delete_draft(&st, &p, id).await;
    audited(&st, "release.delete", &p, r).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- artifacts

async fn artifact_show(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::read(Scope::Read)).await?;
    check_id("artifact", "art_", &id)?;
    Ok(json(
        StatusCode::OK,
        releases::get_artifact(&st, &p, id).await?,
    ))
}

async fn artifact_attach(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::write(Scope::Publish, "artifact.attach")).await?;
    check_id("artifact", "art_", &id)?;
    let r = releases::attach(&st, &p, id).await;
    Ok(json(
        StatusCode::OK,
        audited(&st, "artifact.attach", &p, r).await?,
    ))
}

// ---- channels

fn app_channel(app: &str, name: &str) -> AppResult<(AppSlug, ChannelName)> {
    Ok((parse_seg(app)?, parse_seg(name)?))
}

async fn channel_list(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(app): ApiPath<String>,
) -> AppResult<Response> {
    let app: AppSlug = parse_seg(&app)?;
    let p = authorize(&st, &h, Need::read(Scope::Read).app(app.as_str())).await?;
    let list = channels::list(&st, app.to_string())
        .await?
        .into_iter()
        .filter(|c| p.require_channel(c.name.as_str()).is_ok())
        .collect();
    Ok(json(
        StatusCode::OK,
        ChannelList {
            schema_version: SCHEMA_VERSION,
            channels: list,
        },
    ))
}

async fn channel_show(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((app, name)): ApiPath<(String, String)>,
) -> AppResult<Response> {
    let (app, name) = app_channel(&app, &name)?;
    let p = authorize(&st, &h, Need::read(Scope::Read).app(app.as_str())).await?;
    p.require_channel(name.as_str())?;
    Ok(json(
        StatusCode::OK,
        channels::get(&st, app.to_string(), name.to_string()).await?,
    ))
}

async fn channel_history(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((app, name)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> AppResult<Response> {
    let (app, name) = app_channel(&app, &name)?;
    let p = authorize(&st, &h, Need::read(Scope::Read).app(app.as_str())).await?;
    p.require_channel(name.as_str())?;
    let limit = paging::limit(q.limit, 100, 1000);
    let after = paging::decode_seq(q.cursor.as_deref())?.unwrap_or(0);
    // One more than the page says whether another follows.
    let mut history =
        channels::history(&st, app.to_string(), name.to_string(), after, limit + 1).await?;
    let more = history.len() as i64 > limit;
    history.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more
        .then(|| {
            history
                .last()
                .map(|e| paging::encode(&[&e.seq.to_string()]))
        })
        .flatten();
    Ok(page(
        &st,
        &format!("/apps/{app}/channels/{name}/history"),
        &[("limit", q.limit.map(|l| l.to_string()))],
        next.as_deref(),
        ChannelHistory {
            schema_version: SCHEMA_VERSION,
            history,
            next_cursor: next.clone(),
        },
    ))
}

async fn channel_promote(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((app, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<PromoteRequest>,
) -> AppResult<Response> {
    let (app, name) = app_channel(&app, &name)?;
    let p = authorize(
        &st,
        &h,
        Need::write(Scope::Promote, "channel.promote").app(app.as_str()),
    )
    .await?;
    if let Err(e) = p.require_channel(name.as_str()) {
        deny(&st, "channel.promote", Some(app.as_str()), Some(&p), &e).await;
        return Err(e);
    }
    check_id("release", "rel_", &body.release_id)?;
    let mv = channels::promote(
        &st,
        &p,
        app.to_string(),
        name.to_string(),
        body.release_id,
        body.allow_downgrade,
    )
    .await?;
    Ok(json(StatusCode::OK, mv))
}

async fn channel_rollback(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((app, name)): ApiPath<(String, String)>,
) -> AppResult<Response> {
    let (app, name) = app_channel(&app, &name)?;
    let p = authorize(
        &st,
        &h,
        Need::write(Scope::Promote, "channel.rollback").app(app.as_str()),
    )
    .await?;
    if let Err(e) = p.require_channel(name.as_str()) {
        deny(&st, "channel.rollback", Some(app.as_str()), Some(&p), &e).await;
        return Err(e);
    }
    let mv = channels::rollback(&st, &p, app.to_string(), name.to_string()).await?;
    Ok(json(StatusCode::OK, mv))
}

async fn channel_policy(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((app, name)): ApiPath<(String, String)>,
    ApiJson(policy): ApiJson<ChannelPolicy>,
) -> AppResult<Response> {
    let (app, name) = app_channel(&app, &name)?;
    let p = authorize(
        &st,
        &h,
        Need::write(Scope::Admin, "channel.policy").app(app.as_str()),
    )
    .await?;
    let ch = channels::set_policy(&st, &p, app.to_string(), name.to_string(), policy).await?;
    Ok(json(StatusCode::OK, ch))
}

async fn channel_access(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((app, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<AccessRequest>,
) -> AppResult<Response> {
    let (app, name) = app_channel(&app, &name)?;
    let p = authorize(
        &st,
        &h,
        Need::write(Scope::Admin, "channel.access").app(app.as_str()),
    )
    .await?;
    if let Err(e) = p.require_channel(name.as_str()) {
        deny(&st, "channel.access", Some(app.as_str()), Some(&p), &e).await;
        return Err(e);
    }
    let ch = channels::set_access(&st, &p, app.to_string(), name.to_string(), body.access).await?;
    Ok(json(StatusCode::OK, ch))
}

// ---- audit

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    action: Option<String>,
    app: Option<String>,
    actor: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn audit_list(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::read(Scope::Admin)).await?;
    // An app-limited admin reads its app's rows only; the whole log is the unrestricted
    // admin's.
    let app_param = q.app.clone();
    let app = match (&p.app, q.app) {
        (Some(only), Some(asked)) if *only != asked => {
            return Err(AppError::forbidden(format!(
                "token {} is limited to app {only}: it may read only that app's audit events",
                p.name
            )));
        }
        (Some(only), _) => Some(only.clone()),
        (None, asked) if p.is_unrestricted_admin() => asked,
        (None, _) => {
            return Err(AppError::forbidden(format!(
                "token {} has channel limits: the audit log is for admin tokens without limits",
                p.name
            )));
        }
    };
    let limit = paging::limit(q.limit, 100, 1000);
    let after = paging::decode_seq(q.cursor.as_deref())?.or(q.after);
    let filter = AuditFilter {
        action: q.action.clone(),
        app: app.clone(),
        actor: q.actor.clone(),
        after,
        limit: limit + 1,
    };
    let mut rows = st.db.read(move |c| Ok(db::list_audit(c, &filter)?)).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more
        .then(|| rows.last().map(|e| paging::encode(&[&e.seq.to_string()])))
        .flatten();
    let events = rows.into_iter().map(crate::audit::to_api).collect();
    Ok(page(
        &st,
        "/audit",
        &[
            ("action", q.action),
            ("app", app_param),
            ("actor", q.actor),
            ("limit", q.limit.map(|l| l.to_string())),
        ],
        next.as_deref(),
        AuditList {
            schema_version: SCHEMA_VERSION,
            events,
            next_cursor: next.clone(),
        },
    ))
}

async fn audit_verify(State(st): State<AppState>, h: HeaderMap) -> AppResult<Response> {
    let p = authorize(&st, &h, Need::read(Scope::Admin)).await?;
    if !p.is_unrestricted_admin() {
        return Err(AppError::forbidden(format!(
            "token {} is limited: the audit chain spans every app, so only an admin token without limits verifies it",
            p.name
        )));
    }
    let head = crate::audit::read_head(&crate::audit::head_path(&st.cfg.db_path()));
    let v = st
        .db
        .read(move |c| crate::audit::verify_with_head(c, head))
        .await?;
    Ok(json(StatusCode::OK, v))
}
