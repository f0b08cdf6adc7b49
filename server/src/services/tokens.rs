//! Tokens: create (API and `distd token create`), list, revoke. Creation returns the secret
//! once; only its hash is stored and the audit event names the token, never the secret.

use serde_json::json;

use platform::SCHEMA_VERSION;
use platform::api::{Scope, TokenCreate, TokenCreated, TokenInfo};
use rusqlite::Connection;

use super::AppState;
use crate::access;
use crate::audit::{self, Event};
use crate::auth::{self, Principal};
use crate::db::{self, TokenRow};
use crate::error::{AppError, AppResult};
use crate::util;

/// Validates a request and inserts the token, with its audit event, in the caller's
/// transaction.
pub fn create_in(c: &Connection, actor: &str, req: &TokenCreate) -> AppResult<TokenCreated> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name: 1 to 100 characters without control characters",
        ));
    }
    if req.scopes.is_empty() {
        return Err(AppError::invalid(
            "scopes: at least one of admin, publish, promote, read, download, create-app",
        ));
    }
    let create_app = req.scopes.contains(&Scope::CreateApp);
    if create_app && req.app.is_none() {
        return Err(AppError::invalid(
            "scopes: create-app needs an app limit (--app NAME): it allows creating that one app",
        ));
    }
    // A limit to an app that does not exist is almost always a typo, and would otherwise
    // only show up later as refusals the token's owner cannot explain; with create-app it is
    // the app the token is for.
    if let Some(app) = &req.app
        && !create_app
        && db::get_app(c, app.as_str())?.is_none()
    {
        return Err(AppError::not_found(format!(
            "app: there is no app {app}; create it first (dist app create {app}), fix the name, or add the create-app scope so the token may create it"
        )));
    }
    let mut scopes = req.scopes.clone();
    scopes.sort();
    scopes.dedup();
    let mut channels: Vec<String> = req.channels.iter().map(|c| c.to_string()).collect();
    channels.sort();
    channels.dedup();
    let expires_at = match &req.expires_at {
        Some(s) => {
            let t = util::parse_time(s).ok_or_else(|| {
                AppError::invalid(format!(
                    "expires_at: {s:?} is not an RFC 3339 time such as 2027-01-31T00:00:00Z"
                ))
            })?;
            if t <= time::OffsetDateTime::now_utc() {
                return Err(AppError::invalid(format!("expires_at: {s} is in the past")));
            }
            Some(util::format_time(t))
        }
        None => None,
    };
    let (secret, hash) = auth::generate_secret()?;
    let row = TokenRow {
        id: util::new_id("tok"),
        name: name.to_owned(),
        hash: hash.to_vec(),
        scopes: serde_json::to_string(&scopes).map_err(|e| AppError::internal("json", e))?,
        app: req.app.as_ref().map(|a| a.to_string()),
        channels: serde_json::to_string(&channels).map_err(|e| AppError::internal("json", e))?,
        created_at: util::now(),
        expires_at,
        revoked_at: None,
        last_used_at: None,
        created_by: Some(actor.to_owned()),
    };
    db::insert_token(c, &row)?;
    audit::append(
        c,
        Event {
            actor,
            action: "token.create",
            app: row.app.as_deref(),
            subject: Some(&row.id),
            details: json!({
                "name": row.name,
                "scopes": scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "app": row.app, "channels": channels, "expires_at": row.expires_at,
            }),
        },
    )?;
    Ok(TokenCreated {
        schema_version: SCHEMA_VERSION,
        token: auth::to_info(&row)?,
        secret,
    })
}

/// Creates a token for an API caller, whose own rights bound the new token's.
pub async fn create(
    state: &AppState,
    p: &Principal,
    mut req: TokenCreate,
) -> AppResult<TokenCreated> {
    req.expires_at = access::check_token_within(p, &req)?;
    let actor = p.actor();
    state.db.write(move |tx| create_in(tx, &actor, &req)).await
}

/// The tokens a caller may see: all for an unrestricted admin, else those of its app.
/// One page of the tokens the caller manages, in creation order, after `after`
/// (`(created_at, id)`); also the last row's `(created_at, id)` when a next page may exist.
pub async fn list(
    state: &AppState,
    p: &Principal,
    after: Option<(String, String)>,
    limit: i64,
) -> AppResult<(Vec<TokenInfo>, Option<(String, String)>)> {
    let only = visible_app(p);
    state
        .db
        .read(move |c| {
            let mut rows = db::list_tokens(c, only.as_deref(), after, limit + 1)?;
            let more = rows.len() as i64 > limit;
            rows.truncate(usize::try_from(limit).unwrap_or(0));
            let next = more
                .then(|| rows.last().map(|r| (r.created_at.clone(), r.id.clone())))
                .flatten();
            let list = rows.iter().map(auth::to_info).collect::<AppResult<_>>()?;
            Ok((list, next))
        })
        .await
}

/// `None` for an unrestricted admin (every token), else the app whose tokens it manages. An
/// admin without an app limit but with channel limits sees no app-less token.
fn visible_app(p: &Principal) -> Option<String> {
    if p.is_unrestricted_admin() {
        None
    } else {
        Some(p.app.as_ref().map(|a| a.to_string()).unwrap_or_default())
    }
}

/// Revokes token `id` if `visible` lets the caller see it (others answer as if they did not
/// exist), auditing the revocation once, and answers the token as it now stands.
fn revoke_visible(
    tx: &rusqlite::Connection,
    actor: &str,
    id: &platform::TokenId,
    visible: impl Fn(&crate::db::TokenRow) -> bool,
) -> AppResult<TokenInfo> {
    let row = db::get_token(tx, id.as_str())?
        .filter(|r| visible(r))
        .ok_or_else(|| AppError::not_found(format!("token {id} not found")))?;
    if db::revoke_token(tx, id.as_str(), &util::now())? == 1 {
        audit::append(
            tx,
            Event {
                actor,
                action: "token.revoke",
                app: row.app.as_deref(),
                subject: Some(id.as_str()),
                details: json!({"name": row.name}),
            },
        )?;
    }
    let row = db::get_token(tx, id.as_str())?
        .ok_or_else(|| AppError::not_found(format!("token {id} not found")))?;
    auth::to_info(&row)
}

pub async fn revoke(
    state: &AppState,
    p: &Principal,
    id: platform::TokenId,
) -> AppResult<TokenInfo> {
    let actor = p.actor();
    // Another app's tokens answer as if they did not exist.
    let only = visible_app(p);
    state
        .db
        .write(move |tx| revoke_visible(tx, &actor, &id, |r| only.is_none() || r.app == only))
        .await
}

/// Whether `row` is the caller's own: the token itself or one it created. A person without
/// the admin scope sees and revokes only these (the admin console's Tokens page).
fn made_by(row: &crate::db::TokenRow, p: &Principal) -> bool {
    row.id == p.id.as_str()
        || row
            .created_by
            .as_deref()
            .and_then(|c| c.split_once(':'))
            .is_some_and(|(id, _)| id == p.id.as_str())
}

/// The caller's token and the tokens it created (at most 1000).
pub async fn list_own(state: &AppState, p: &Principal) -> AppResult<Vec<TokenInfo>> {
    let id = p.id.to_string();
    state
        .db
        .read(move |c| {
            db::list_tokens_made_by(c, &id)?
                .iter()
                .map(auth::to_info)
                .collect()
        })
        .await
}

/// Revokes a token the caller made (or the caller's own), whatever its scopes: a person may
/// always withdraw what they handed out. Others answer as if they did not exist.
pub async fn revoke_own(
    state: &AppState,
    p: &Principal,
    id: platform::TokenId,
) -> AppResult<TokenInfo> {
    let actor = p.actor();
    let caller = p.clone();
    state
        .db
        .write(move |tx| revoke_visible(tx, &actor, &id, |r| made_by(r, &caller)))
        .await
}

/// Creates the first admin token when the database has none. Returns its secret.
pub fn bootstrap_admin(c: &mut Connection) -> AppResult<Option<TokenCreated>> {
    db::write_tx(c, |tx| {
        if db::count_tokens(tx)? > 0 {
            return Ok(None);
        }
        let req = TokenCreate {
            name: "initial-admin".into(),
            scopes: vec![Scope::Admin],
            app: None,
            channels: Vec::new(),
            expires_at: None,
        };
        create_in(tx, "system", &req).map(Some)
    })
}
