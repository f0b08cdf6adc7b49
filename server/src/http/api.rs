//! JSON endpoints under `/api/v1`: tokens, apps, releases, artifacts, channels, audit.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use platform::api::ReleaseStatus;
use platform::api::{
    AccessRequest, App, AppCreate, AppKey, AppKeyAdd, AppKeyList, AppList, AppSettings, Artifact,
    AuditList, AuditVerify, Channel, ChannelHistory, ChannelList, ChannelMove, ChannelPolicy,
    PlatformList, PromoteRequest, PublishResult, Release, ReleaseCreate, ReleaseCreated,
    ReleaseList, RevokeRequest, TokenCreate, TokenCreated, TokenInfo, TokenList, WhoAmI,
};
use platform::{
    AppSlug, ArtifactId, ChannelName, IdentityRules, ReleaseId, SCHEMA_VERSION, TokenId,
};

use super::auth::{Auth, need};
use super::openapi::ApiErrors;
use super::{ApiJson, ApiPath, ApiQuery, deny, paging};
use crate::auth::Principal;
use crate::db::{self, AuditFilter};
use crate::error::{AppError, AppResult};
use crate::services::{AppState, apps, channels, keys, releases, tokens};

/// Every JSON route, each with its OpenAPI operation (`#[utoipa::path]` on the handler). The
/// paths are relative to `/api/v1`, where `http::app` nests them.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(whoami))
        .routes(routes!(platform_list))
        .routes(routes!(token_create, token_list))
        .routes(routes!(token_revoke))
        .routes(routes!(app_create, app_list))
        .routes(routes!(app_show))
        .routes(routes!(app_identity))
        .routes(routes!(app_access))
        .routes(routes!(app_settings))
        .routes(routes!(app_key_add, app_key_list))
        .routes(routes!(app_key_remove))
        .routes(routes!(release_create, release_list))
        .routes(routes!(release_show, release_delete))
        .routes(routes!(release_diff))
        .routes(routes!(release_publish))
        .routes(routes!(release_revoke))
        .routes(routes!(artifact_show))
        .routes(routes!(artifact_attach))
        .routes(routes!(super::downloads::artifact_download))
        .routes(routes!(channel_list))
        .routes(routes!(channel_show))
        .routes(routes!(channel_promote))
        .routes(routes!(channel_rollback))
        .routes(routes!(channel_history))
        .routes(routes!(channel_policy))
        .routes(routes!(channel_access))
        .routes(routes!(audit_list))
        .routes(routes!(audit_verify))
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

#[utoipa::path(get, path = "/token", tag = "tokens",
    responses((status = 200, description = "the calling token", body = WhoAmI), ApiErrors))]
async fn whoami(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::AnyToken>,
) -> AppResult<Response> {
    // Any valid token may ask who it is, whatever its scopes.
    let info = st
        .db
        .read(move |c| {
            let row =
                db::get_token(c, &p.id)?.ok_or_else(|| AppError::unauthorized("unknown token"))?;
            crate::auth::to_info(&row)
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

#[utoipa::path(get, path = "/platforms", tag = "platforms",
    responses((status = 200, description = "what every linked target declares", body = PlatformList), ApiErrors))]
async fn platform_list(State(st): State<AppState>, _: Auth<need::AnyToken>) -> AppResult<Response> {
    // Any valid token may read what the server's targets declare.
    Ok(json(
        StatusCode::OK,
        PlatformList::from_registry(st.registry),
    ))
}

#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = TokenCreate,
    responses((status = 201, description = "the new token and its secret, shown once", body = TokenCreated), ApiErrors))]
async fn token_create(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::TokenCreate>,
    ApiJson(body): ApiJson<TokenCreate>,
) -> AppResult<Response> {
    let created = tokens::create(&st, &p, body).await;
    Ok(json(
        StatusCode::CREATED,
        audited(&st, "token.create", &p, created).await?,
    ))
}

/// `?limit=&cursor=` for lists without filters of their own.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// Rows per page.
    limit: Option<i64>,
    /// Where the page starts: `next_cursor` of the previous page.
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

#[utoipa::path(get, path = "/tokens", tag = "tokens", params(PageQuery),
    responses((status = 200, description = "a page of tokens (never their secrets)", body = TokenList,
        headers(("link" = String, description = "<...>; rel=\"next\" when another page follows: the same filters and the next cursor"))), ApiErrors))]
async fn token_list(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::AdminRead>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> AppResult<Response> {
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

#[utoipa::path(post, path = "/tokens/{id}/revoke", tag = "tokens",
    params(("id" = TokenId, Path, description = "the token's id")),
    responses((status = 200, description = "the revoked token", body = TokenInfo), ApiErrors))]
async fn token_revoke(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::TokenRevoke>,
    ApiPath(id): ApiPath<TokenId>,
) -> AppResult<Response> {
    Ok(json(StatusCode::OK, tokens::revoke(&st, &p, id).await?))
}

// ---- apps

#[utoipa::path(post, path = "/apps", tag = "apps", request_body = AppCreate,
    responses((status = 201, description = "the new app", body = App), ApiErrors))]
async fn app_create(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::AppCreate>,
    ApiJson(body): ApiJson<AppCreate>,
) -> AppResult<Response> {
    if let Err(e) = crate::access::check_app_create(&p, body.slug.as_str()) {
        deny(&st, "app.create", Some(body.slug.as_str()), Some(&p), &e).await;
        return Err(e);
    }
    Ok(json(
        StatusCode::CREATED,
        apps::create(&st, &p, body).await?,
    ))
}

#[utoipa::path(put, path = "/apps/{app}/access", tag = "apps", params(AppPath), request_body = AccessRequest,
    responses((status = 200, description = "the app", body = App), ApiErrors))]
async fn app_access(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::AppAccess>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
    ApiJson(body): ApiJson<AccessRequest>,
) -> AppResult<Response> {
    Ok(json(
        StatusCode::OK,
        apps::set_access(&st, &p, app.to_string(), body.access).await?,
    ))
}

#[utoipa::path(put, path = "/apps/{app}/settings", tag = "apps", params(AppPath), request_body = AppSettings,
    responses((status = 200, description = "the app", body = App), ApiErrors))]
async fn app_settings(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::AppSettings>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
    ApiJson(body): ApiJson<AppSettings>,
) -> AppResult<Response> {
    Ok(json(
        StatusCode::OK,
        apps::set_settings(&st, &p, app.to_string(), body).await?,
    ))
}

#[utoipa::path(get, path = "/apps/{app}/keys", tag = "apps", params(AppPath),
    responses((status = 200, description = "the public keys the app's signatures are verified with", body = AppKeyList), ApiErrors))]
async fn app_key_list(
    State(st): State<AppState>,
    _: Auth<need::Read>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
) -> AppResult<Response> {
    Ok(json(
        StatusCode::OK,
        keys::list(&st, app.to_string()).await?,
    ))
}

#[utoipa::path(post, path = "/apps/{app}/keys", tag = "apps", params(AppPath), request_body = AppKeyAdd,
    responses(
        (status = 201, description = "the key, added", body = AppKey),
        (status = 200, description = "the key, which the app already had", body = AppKey),
        ApiErrors))]
async fn app_key_add(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::AppKeys>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
    ApiJson(body): ApiJson<AppKeyAdd>,
) -> AppResult<Response> {
    let (key, added) = keys::add(&st, &p, app.to_string(), body).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, key))
}

/// `{app}` and a key's `{fingerprint}` in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct AppKeyPath {
    /// The app's slug.
    app: AppSlug,
    /// The key's fingerprint, lowercase hex.
    #[param(pattern = "^[0-9a-f]{8,128}$")]
    fingerprint: String,
}

#[utoipa::path(delete, path = "/apps/{app}/keys/{fingerprint}", tag = "apps", params(AppKeyPath),
    responses((status = 204, description = "the key is gone"), ApiErrors))]
async fn app_key_remove(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::AppKeys>,
    ApiPath(AppKeyPath { app, fingerprint }): ApiPath<AppKeyPath>,
) -> AppResult<Response> {
    let ok = (8..=128).contains(&fingerprint.len())
        && fingerprint
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !ok {
        return Err(AppError::bad_request(
            "a key fingerprint is 8 to 128 lowercase hex digits (GET .../keys lists them)",
        ));
    }
    keys::remove(&st, &p, app.to_string(), fingerprint).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/apps", tag = "apps",
    responses((status = 200, description = "the apps the token may read", body = AppList), ApiErrors))]
async fn app_list(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::Read>,
) -> AppResult<Response> {
    let list = apps::list(&st, p.app.as_ref().map(|a| a.to_string())).await?;
    Ok(json(
        StatusCode::OK,
        AppList {
            schema_version: SCHEMA_VERSION,
            apps: list,
        },
    ))
}

/// `{app}` in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct AppPath {
    /// The app's slug.
    app: AppSlug,
}

/// `{app}` and `{channel}` in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct ChannelPath {
    /// The app's slug.
    app: AppSlug,
    /// The channel's name.
    channel: ChannelName,
}

#[utoipa::path(get, path = "/apps/{app}", tag = "apps", params(AppPath),
    responses((status = 200, description = "the app", body = App), ApiErrors))]
async fn app_show(
    State(st): State<AppState>,
    _: Auth<need::Read>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
) -> AppResult<Response> {
    Ok(json(StatusCode::OK, apps::get(&st, app.to_string()).await?))
}

#[utoipa::path(put, path = "/apps/{app}/identity", tag = "apps", params(AppPath),
    request_body(content = std::collections::BTreeMap<String, platform::PlatformRules>, description = "identity rules per platform id"),
    responses((status = 200, description = "the app", body = App), ApiErrors))]
async fn app_identity(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::AppIdentity>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
    ApiJson(rules): ApiJson<IdentityRules>,
) -> AppResult<Response> {
    Ok(json(
        StatusCode::OK,
        apps::update_identity(&st, &p, app.to_string(), rules).await?,
    ))
}

// ---- releases

#[utoipa::path(post, path = "/apps/{app}/releases", tag = "releases", params(AppPath), request_body = ReleaseCreate,
    responses(
        (status = 201, description = "a new draft", body = ReleaseCreated,
            headers(("deprecation" = String, description = "true when the request used a deprecated field (testflight_url); Link names the README section"))),
        (status = 200, description = "the same release existed already", body = ReleaseCreated,
            headers(("deprecation" = String, description = "true when the request used a deprecated field (testflight_url); Link names the README section"))),
        ApiErrors))]
async fn release_create(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::ReleaseCreate>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
    ApiJson(mut body): ApiJson<ReleaseCreate>,
) -> AppResult<Response> {
    let mut deprecated = false;
    for (n, a) in body.artifacts.iter_mut().enumerate() {
        deprecated |= a
            .adopt_deprecated_fields()
            .map_err(|m| AppError::bad_request(format!("artifacts[{n}]: {m}")))?;
    }
    let (created, release) = releases::create(&st, &p, app, body).await?;
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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReleaseQuery {
    /// Releases per page: 100 unless given, at most 500.
    limit: Option<i64>,
    /// Where the page starts: `next_cursor` of the previous page.
    cursor: Option<String>,
    status: Option<ReleaseStatus>,
    version: Option<platform::Version>,
    /// Releases with an artifact of this platform.
    platform: Option<platform::PlatformId>,
    /// RFC 3339: releases created at or after it.
    since: Option<String>,
}

/// Releases newest first, a page at a time (issue 11, item 11): up to 500 a page (the old
/// list's size), 100 unless `limit` says otherwise.
#[utoipa::path(get, path = "/apps/{app}/releases", tag = "releases", params(AppPath, ReleaseQuery),
    responses((status = 200, description = "a page of releases, newest first", body = ReleaseList,
        headers(("link" = String, description = "<...>; rel=\"next\" when another page follows: the same filters and the next cursor"))), ApiErrors))]
async fn release_list(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::Read>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
    ApiQuery(q): ApiQuery<ReleaseQuery>,
) -> AppResult<Response> {
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

#[utoipa::path(get, path = "/releases/{id}", tag = "releases",
    params(("id" = ReleaseId, Path, description = "the release's id")),
    responses((status = 200, description = "the release with its artifacts", body = Release), ApiErrors))]
async fn release_show(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::Read>,
    ApiPath(id): ApiPath<ReleaseId>,
) -> AppResult<Response> {
    Ok(json(StatusCode::OK, releases::get(&st, &p, id).await?))
}

/// What changed from release `id` to release `other` (issue 12, item 10), per platform:
/// [`platform::diff::diff_releases`] on the stored inspections. Both must be readable by the
/// caller and belong to one app.
#[utoipa::path(get, path = "/releases/{id}/diff/{other}", tag = "releases",
    params(("id" = ReleaseId, Path, description = "the release to compare from"),
           ("other" = ReleaseId, Path, description = "the release to compare to")),
    responses((status = 200, description = "what changed, per platform and arch", body = platform::diff::ReleaseDiff), ApiErrors))]
async fn release_diff(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::Read>,
    ApiPath((id, other)): ApiPath<(ReleaseId, ReleaseId)>,
) -> AppResult<Response> {
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

#[utoipa::path(post, path = "/releases/{id}/publish", tag = "releases",
    params(("id" = ReleaseId, Path, description = "the draft's id")),
    responses((status = 200, description = "the published release and every finding considered", body = PublishResult), ApiErrors))]
async fn release_publish(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::ReleasePublish>,
    ApiPath(id): ApiPath<ReleaseId>,
) -> AppResult<Response> {
    let r = releases::publish(&st, &p, id).await;
    Ok(json(
        StatusCode::OK,
        audited(&st, "release.publish", &p, r).await?,
    ))
}

#[utoipa::path(post, path = "/releases/{id}/revoke", tag = "releases",
    params(("id" = ReleaseId, Path, description = "the release's id")), request_body = RevokeRequest,
    responses((status = 200, description = "the revoked release", body = Release), ApiErrors))]
async fn release_revoke(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::ReleaseRevoke>,
    ApiPath(id): ApiPath<ReleaseId>,
    ApiJson(body): ApiJson<RevokeRequest>,
) -> AppResult<Response> {
    let r = releases::revoke(&st, &p, id, body.reason).await;
    Ok(json(
        StatusCode::OK,
        audited(&st, "release.revoke", &p, r).await?,
    ))
}

#[utoipa::path(delete, path = "/releases/{id}", tag = "releases",
    params(("id" = ReleaseId, Path, description = "the draft's id")),
    responses((status = 204, description = "the draft is gone"), ApiErrors))]
async fn release_delete(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::ReleaseDelete>,
    ApiPath(id): ApiPath<ReleaseId>,
) -> AppResult<Response> {
    let r = releases::delete_draft(&st, &p, id).await;
    audited(&st, "release.delete", &p, r).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- artifacts

#[utoipa::path(get, path = "/artifacts/{id}", tag = "artifacts",
    params(("id" = ArtifactId, Path, description = "the artifact's id")),
    responses((status = 200, description = "the artifact with its inspection", body = Artifact), ApiErrors))]
async fn artifact_show(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::Read>,
    ApiPath(id): ApiPath<ArtifactId>,
) -> AppResult<Response> {
    Ok(json(
        StatusCode::OK,
        releases::get_artifact(&st, &p, id).await?,
    ))
}

#[utoipa::path(post, path = "/artifacts/{id}/attach", tag = "artifacts",
    params(("id" = ArtifactId, Path, description = "the artifact's id")),
    responses((status = 200, description = "the artifact, inspected", body = Artifact), ApiErrors))]
async fn artifact_attach(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::ArtifactAttach>,
    ApiPath(id): ApiPath<ArtifactId>,
) -> AppResult<Response> {
    let r = releases::attach(&st, &p, id).await;
    Ok(json(
        StatusCode::OK,
        audited(&st, "artifact.attach", &p, r).await?,
    ))
}

// ---- channels

#[utoipa::path(get, path = "/apps/{app}/channels", tag = "channels", params(AppPath),
    responses((status = 200, description = "the app's channels the token may see", body = ChannelList), ApiErrors))]
async fn channel_list(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::Read>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
) -> AppResult<Response> {
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

#[utoipa::path(get, path = "/apps/{app}/channels/{channel}", tag = "channels", params(ChannelPath),
    responses((status = 200, description = "the channel", body = Channel), ApiErrors))]
async fn channel_show(
    State(st): State<AppState>,
    _: Auth<need::Read>,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
) -> AppResult<Response> {
    // The JSON kept with the channel: the lookup CI and devices poll.
    let ch = channels::get_cached(&st, app.to_string(), channel.to_string()).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        ch.json.clone(),
    )
        .into_response())
}

#[utoipa::path(get, path = "/apps/{app}/channels/{channel}/history", tag = "channels", params(ChannelPath, PageQuery),
    responses((status = 200, description = "a page of the channel's moves, oldest first", body = ChannelHistory,
        headers(("link" = String, description = "<...>; rel=\"next\" when another page follows: the same filters and the next cursor"))), ApiErrors))]
async fn channel_history(
    State(st): State<AppState>,
    _: Auth<need::Read>,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> AppResult<Response> {
    let limit = paging::limit(q.limit, 100, 1000);
    let after = paging::decode_seq(q.cursor.as_deref())?.unwrap_or(0);
    // One more than the page says whether another follows.
    let mut history =
        channels::history(&st, app.to_string(), channel.to_string(), after, limit + 1).await?;
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
        &format!("/apps/{app}/channels/{channel}/history"),
        &[("limit", q.limit.map(|l| l.to_string()))],
        next.as_deref(),
        ChannelHistory {
            schema_version: SCHEMA_VERSION,
            history,
            next_cursor: next.clone(),
        },
    ))
}

#[utoipa::path(post, path = "/apps/{app}/channels/{channel}/promote", tag = "channels", params(ChannelPath), request_body = PromoteRequest,
    responses((status = 200, description = "the channel after the move", body = ChannelMove), ApiErrors))]
async fn channel_promote(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::ChannelPromote>,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
    ApiJson(body): ApiJson<PromoteRequest>,
) -> AppResult<Response> {
    let mv = channels::promote(
        &st,
        &p,
        app.to_string(),
        channel.to_string(),
        body.release_id,
        body.allow_downgrade,
    )
    .await?;
    Ok(json(StatusCode::OK, mv))
}

#[utoipa::path(post, path = "/apps/{app}/channels/{channel}/rollback", tag = "channels", params(ChannelPath),
    responses((status = 200, description = "the channel after the move", body = ChannelMove), ApiErrors))]
async fn channel_rollback(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::ChannelRollback>,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
) -> AppResult<Response> {
    let mv = channels::rollback(&st, &p, app.to_string(), channel.to_string()).await?;
    Ok(json(StatusCode::OK, mv))
}

#[utoipa::path(put, path = "/apps/{app}/channels/{channel}/policy", tag = "channels", params(ChannelPath), request_body = ChannelPolicy,
    responses((status = 200, description = "the channel", body = Channel), ApiErrors))]
async fn channel_policy(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::ChannelPolicy>,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
    ApiJson(policy): ApiJson<ChannelPolicy>,
) -> AppResult<Response> {
    let ch = channels::set_policy(&st, &p, app.to_string(), channel.to_string(), policy).await?;
    Ok(json(StatusCode::OK, ch))
}

#[utoipa::path(put, path = "/apps/{app}/channels/{channel}/access", tag = "channels", params(ChannelPath), request_body = AccessRequest,
    responses((status = 200, description = "the channel", body = Channel), ApiErrors))]
async fn channel_access(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::ChannelAccess>,
    ApiPath(ChannelPath { app, channel }): ApiPath<ChannelPath>,
    ApiJson(body): ApiJson<AccessRequest>,
) -> AppResult<Response> {
    let ch =
        channels::set_access(&st, &p, app.to_string(), channel.to_string(), body.access).await?;
    Ok(json(StatusCode::OK, ch))
}

// ---- audit

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// `release.create`, `auth.denied`, ...
    action: Option<String>,
    /// One app's events.
    app: Option<String>,
    /// `tok_...:name`, `system`, ...
    actor: Option<String>,
    /// Events after this sequence number.
    after: Option<i64>,
    /// Events per page: 100 unless given, at most 1000.
    limit: Option<i64>,
    /// Where the page starts: `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "a page of audit events", body = AuditList,
        headers(("link" = String, description = "<...>; rel=\"next\" when another page follows: the same filters and the next cursor"))), ApiErrors))]
async fn audit_list(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::AdminRead>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Response> {
    // An app-limited admin reads its app's rows only; the whole log is the unrestricted
    // admin's.
    let app_param = q.app.clone();
    let app = audit_app(&p, q.app)?;
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

#[utoipa::path(get, path = "/audit/verify", tag = "audit",
    responses((status = 200, description = "whether the hash chain verifies", body = AuditVerify), ApiErrors))]
async fn audit_verify(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::AdminRead>,
) -> AppResult<Response> {
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

/// The app whose audit events `p` reads when it asks for `asked`: an app-limited admin its
/// own app only, the unrestricted admin any (or all); a token with channel limits none.
pub(crate) fn audit_app(p: &Principal, asked: Option<String>) -> AppResult<Option<String>> {
    match (&p.app, asked) {
        (Some(only), Some(asked)) if only.as_str() != asked => Err(AppError::forbidden(format!(
            "token {} is limited to app {only}: it may read only that app's audit events",
            p.name
        ))),
        (Some(only), _) => Ok(Some(only.to_string())),
        (None, asked) if p.is_unrestricted_admin() => Ok(asked),
        (None, _) => Err(AppError::forbidden(format!(
            "token {} has channel limits: the audit log is for admin tokens without limits",
            p.name
        ))),
    }
}
