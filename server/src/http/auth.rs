//! The caller of an API route, as an extractor: `Auth<need::ReleasePublish>` authenticates the
//! bearer token (or `?token=` where a route takes one), checks the scope the marker type
//! names, the token's app limit against the route's `{app}` segment (or `?app=` on the blob
//! routes) and its channel limit against `{channel}`, and records refusals of write routes as
//! `auth.denied`. Handlers receive a checked [`Principal`] and decide nothing about rights
//! beyond what `access` rules on the data itself.
//!
//! The marker types say what each route needs in one place ([`need`]), which the OpenAPI
//! document's per-route security reads too.

use std::collections::HashMap;
use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Query, RawPathParams};
use axum::http::{header, request::Parts};

use platform::api::Scope;
use platform::{AppSlug, ChannelName};

use super::{deny, parse_seg};
use crate::auth::{self, Principal};
use crate::error::{AppError, AppResult};
use crate::services::AppState;
use crate::sessions;

/// What a route needs of its caller, declared as a type (see [`need`]).
pub trait Requirement: Send + Sync + 'static {
    /// `None`: any valid token.
    const SCOPE: Option<Scope>;
    /// The audit action of a write route: its refusals are recorded as `auth.denied`.
    const ACTION: Option<&'static str>;
    /// `?token=` is accepted in place of the header (download links followed by devices).
    const QUERY_TOKEN: bool = false;
    /// The app comes from `?app=` (the blob routes), not from an `{app}` path segment.
    const APP_IN_QUERY: bool = false;
}

/// A caller that passed `R`'s checks. The second field keeps the requirement in the type.
pub struct Auth<R: Requirement>(pub Principal, pub PhantomData<R>);

/// The route's `{app}` and `{channel}` segments and the query's `token` and `app`, validated.
struct Target {
    app: Option<AppSlug>,
    channel: Option<ChannelName>,
    query_token: Option<String>,
}

async fn target_of<R: Requirement>(parts: &mut Parts, state: &AppState) -> AppResult<Target> {
    let mut app = None;
    let mut channel = None;
    // Routes without parameters have none to give; that is not an error.
    if let Ok(params) = RawPathParams::from_request_parts(parts, state).await {
        for (name, value) in params.iter() {
            match name {
                "app" => app = Some(parse_seg::<AppSlug>(value)?),
                "channel" => channel = Some(parse_seg::<ChannelName>(value)?),
                _ => {}
            }
        }
    }
    let mut query_token = None;
    if R::QUERY_TOKEN || R::APP_IN_QUERY {
        // A query that does not parse is the handler's 400 (its own `ApiQuery`); here it
        // simply names no token and no app.
        let query = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        if R::QUERY_TOKEN {
            query_token = query.get("token").cloned();
        }
        if R::APP_IN_QUERY
            && let Some(a) = query.get("app")
        {
            app = Some(parse_seg::<AppSlug>(a)?);
        }
    }
    Ok(Target {
        app,
        channel,
        query_token,
    })
}

impl<R: Requirement> FromRequestParts<AppState> for Auth<R> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        // A malformed `{app}`, `{channel}` or `?app=` is the caller's 400, but only once the
        // caller is known: an anonymous request learns that it needs a token first.
        let target = target_of::<R>(parts, state).await;
        let known = target.as_ref().ok();
        let app = known.and_then(|t| t.app.as_ref()).map(AppSlug::as_str);
        let from_header = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().ok().and_then(|s| auth::bearer(Some(s))));
        // The header wins; `?token=` counts only where the route takes it and no header came.
        let secret: Option<String> = match from_header {
            Some(Some(s)) => Some(s.to_owned()),
            Some(None) => None,
            None => known.and_then(|t| t.query_token.clone()),
        };
        let result: AppResult<(Principal, bool)> = match secret {
            None if from_header.is_some() => Err(AppError::unauthorized(
                "malformed Authorization header: send Authorization: Bearer <token>",
            )),
            None => Err(AppError::unauthorized(
                "missing token: send Authorization: Bearer <token>",
            )),
            Some(secret) => authenticate_cached(state, secret).await,
        };
        let (principal, first_use) = match result {
            Ok(p) => p,
            Err(e) => {
                if let Some(action) = R::ACTION {
                    deny(state, action, app, None, &e).await;
                }
                return Err(e);
            }
        };
        let target = target?;
        authorize::<R>(
            state,
            &principal,
            target.app.as_ref().map(AppSlug::as_str),
            target.channel.as_ref().map(ChannelName::as_str),
        )
        .await?;
        note_use(state, &principal, first_use);
        Ok(Self(principal, PhantomData))
    }
}

/// `R`'s checks for a known caller: the scope, the app limit against `app` and the channel
/// limit against `channel`; refusals of write routes are recorded as `auth.denied`. The API's
/// extractor and the admin console (whose caller comes from a session cookie) both decide
/// with this, so a page can never allow what the API refuses.
pub async fn authorize<R: Requirement>(
    state: &AppState,
    principal: &Principal,
    app: Option<&str>,
    channel: Option<&str>,
) -> AppResult<()> {
    let allowed = R::SCOPE
        .map_or(Ok(()), |s| principal.require(s))
        .and_then(|_| app.map_or(Ok(()), |a| principal.require_app(a)))
        .and_then(|_| channel.map_or(Ok(()), |c| principal.require_channel(c)));
    if let Err(e) = allowed {
        if let Some(action) = R::ACTION {
            deny(state, action, app, Some(principal), &e).await;
        }
        return Err(e);
    }
    Ok(())
}

/// Queues the write of a token's `last_used_at` when it is due: a token's first use shows at
/// once, later ones within a batch ([`crate::caches::TOUCH_BATCH`]).
pub(crate) fn note_use(state: &AppState, principal: &Principal, first_use: bool) {
    if principal.needs_touch {
        state.read.note_use(principal.id.as_str());
        if first_use {
            let state = state.clone();
            tokio::spawn(async move { crate::caches::write_touches(&state).await });
        }
    }
}

/// The caller behind a secret without a database read when the token is known: its row is
/// kept at the database's generation ([`crate::caches`]), so a revoke (a commit, by this
/// process or another) drops it, and revocation and expiry are judged again at every use. An
/// unknown secret always reads the database: a token made a moment ago by `distd token
/// create` works at once. True with it for a token never used before.
pub(crate) async fn authenticate_cached(
    state: &AppState,
    secret: String,
) -> AppResult<(Principal, bool)> {
    let hash = auth::hash_secret(&secret);
    let generation = state.db.generation();
    let row = match state.read.tokens.get(&hash, generation) {
        Some(row) => row,
        None => {
            let row = state.db.read(move |c| auth::token_row(c, &secret)).await?;
            let row = std::sync::Arc::new(row);
            state.read.tokens.put(hash, generation, row.clone());
            row
        }
    };
    let first_use = row.last_used_at.is_none();
    auth::principal_of(&row).map(|p| (p, first_use))
}

/// The caller behind a session cookie value, as [`crate::sessions::principal`] finds it,
/// without a database read when the session is known: the session and its token's row are
/// kept at the database's generation, so a sign-out or a revoke (commits) drops them, and the
/// session's and the token's expiry and revocation are judged again at every use. An unknown
/// value always reads the database. The token's `last_used_at` is written as a bearer's is.
pub(crate) async fn session_cached(
    state: &AppState,
    kind: sessions::Kind,
    value: &str,
) -> AppResult<Option<Principal>> {
    let Some(key) = sessions::key_of(value) else {
        return Ok(None);
    };
    let generation = state.db.generation();
    let found = match state.read.sessions.get(&key, generation) {
        Some(f) => f,
        None => {
            let value = value.to_owned();
            let Some(f) = state.db.read(move |c| sessions::lookup(c, &value)).await? else {
                return Ok(None);
            };
            let f = std::sync::Arc::new(f);
            state.read.sessions.put(key, generation, f.clone());
            f
        }
    };
    let principal = sessions::judge(kind, &found)?;
    if let Some(p) = &principal {
        note_use(state, p, found.token.last_used_at.is_none());
    }
    Ok(principal)
}

/// The requirement of every API route, by name.
pub mod need {
    use super::Requirement;
    use platform::api::Scope;

    macro_rules! requirement {
        ($(#[$doc:meta])* $name:ident, $scope:expr, $action:expr $(, $flag:ident)*) => {
            $(#[$doc])*
            pub struct $name;
            impl Requirement for $name {
                const SCOPE: Option<Scope> = $scope;
                const ACTION: Option<&'static str> = $action;
                $(const $flag: bool = true;)*
            }
        };
    }

    requirement!(
        /// Any valid token, whatever its scopes (who am I, the platform list).
        AnyToken, None, None
    );
    requirement!(
        /// Reads: apps, releases, artifacts, channels.
        Read, Some(Scope::Read), None
    );
    requirement!(
        /// Admin reads: tokens, the audit log.
        AdminRead, Some(Scope::Admin), None
    );
    requirement!(
        /// `GET /artifacts/{id}/download`, which also takes `?token=`.
        Download, Some(Scope::Download), None, QUERY_TOKEN
    );
    requirement!(TokenCreate, Some(Scope::Admin), Some("token.create"));
    requirement!(TokenRevoke, Some(Scope::Admin), Some("token.revoke"));
    requirement!(
        /// Any valid token gets this far; `access::check_app_create` decides (an unrestricted
        /// admin, or a create-app token for its own app).
        AppCreate, None, Some("app.create")
    );
    requirement!(AppAccess, Some(Scope::Admin), Some("app.access"));
    requirement!(AppSettings, Some(Scope::Admin), Some("app.settings"));
    requirement!(AppKeys, Some(Scope::Admin), Some("app.key"));
    requirement!(AppIdentity, Some(Scope::Admin), Some("app.update"));
    requirement!(ReleaseCreate, Some(Scope::Publish), Some("release.create"));
    requirement!(
        ReleasePublish,
        Some(Scope::Publish),
        Some("release.publish")
    );
    requirement!(ReleaseRevoke, Some(Scope::Admin), Some("release.revoke"));
    requirement!(ReleaseDelete, Some(Scope::Publish), Some("release.delete"));
    requirement!(
        ArtifactAttach,
        Some(Scope::Publish),
        Some("artifact.attach")
    );
    requirement!(
        ChannelPromote,
        Some(Scope::Promote),
        Some("channel.promote")
    );
    requirement!(
        ChannelRollback,
        Some(Scope::Promote),
        Some("channel.rollback")
    );
    requirement!(ChannelPolicy, Some(Scope::Admin), Some("channel.policy"));
    requirement!(ChannelAccess, Some(Scope::Admin), Some("channel.access"));
    requirement!(
        /// `HEAD /blobs/sha256/{hex}?app=`.
        BlobCheck, Some(Scope::Publish), None, APP_IN_QUERY
    );
    requirement!(
        /// `PUT /blobs/sha256/{hex}?app=`.
        BlobUpload, Some(Scope::Publish), Some("blob.upload"), APP_IN_QUERY
    );
}
