//! Tokens: the list (name, scopes, limits, created by, last used, expires, revoked), create
//! (the secret shown once, with a copy button) and revoke. An admin session manages the
//! tokens its token may (all, or its app's); any other session sees and revokes its own token
//! and those it created. Creating needs the API's rights: `services::tokens` bounds them.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use platform::api::{Scope, TokenCreate, TokenInfo};
use platform::{AppSlug, ChannelName, TokenId};
use ui::admin::{Choice, CreatedToken, TokenView, TokensPage};

use super::session::{Form, Session};
use super::{OrPage, PageError, PageResult, html, notice, query_string, see_other, views};
use crate::error::AppError;
use crate::http::auth::{authorize, need};
use crate::http::{ApiPath, ApiQuery, paging};
use crate::services::{AppState, apps, tokens};

/// Tokens per page.
const PAGE_ROWS: i64 = 100;

#[derive(Debug, Deserialize)]
pub struct TokensQuery {
    ok: Option<String>,
    cursor: Option<String>,
}

fn view(t: TokenInfo, can_revoke: bool) -> TokenView {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "–".into());
    TokenView {
        id: t.id.to_string(),
        name: t.name,
        scopes: t
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        app: or_dash(t.app.map(|a| a.to_string())),
        channels: if t.channels.is_empty() {
            "any".into()
        } else {
            t.channels
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        },
        created_at: views::minute(&t.created_at),
        created_by: or_dash(t.created_by),
        last_used_at: or_dash(t.last_used_at.as_deref().map(views::minute)),
        expires_at: t
            .expires_at
            .as_deref()
            .map_or_else(|| "never".into(), views::minute),
        revoked_at: t.revoked_at.as_deref().map(views::minute),
        can_revoke,
    }
}

async fn page(
    st: &AppState,
    s: &Session,
    cursor: Option<&str>,
    created: Option<CreatedToken>,
    ok_code: Option<&str>,
    status: StatusCode,
) -> PageResult {
    let admin = s.p.has(Scope::Admin);
    let (list, next) = if admin {
        authorize::<need::AdminRead>(st, &s.p, None, None)
            .await
            .or_page(s)?;
        let after = paging::decode_pair(cursor).or_page(s)?;
        tokens::list(st, &s.p, after, PAGE_ROWS).await.or_page(s)?
    } else {
        (tokens::list_own(st, &s.p).await.or_page(s)?, None)
    };
    let next_url = next.map(|(at, id)| {
        let c = paging::encode(&[&at, &id]);
        format!(
            "/admin/tokens{}",
            query_string(&[("cursor", Some(c.as_str()))])
        )
    });
    let mut app_choices = Vec::new();
    if s.p.app.is_none() {
        app_choices.push(Choice {
            value: String::new(),
            label: "any app".into(),
            selected: true,
        });
    }
    if admin {
        for a in apps::list(st, s.p.app.as_ref().map(|a| a.to_string()))
            .await
            .or_page(s)?
        {
            app_choices.push(Choice {
                value: a.slug.to_string(),
                label: a.slug.to_string(),
                selected: s.p.app.is_some(),
            });
        }
    }
    Ok(html(
        status,
        &TokensPage {
            nav: s.nav("tokens"),
            notice: notice(ok_code),
            tokens: list.into_iter().map(|t| view(t, true)).collect(),
            own_only: !admin,
            can_create: admin,
            scopes: Scope::ALL
                .iter()
                .map(|sc| Choice {
                    value: sc.as_str().to_owned(),
                    label: sc.as_str().to_owned(),
                    selected: false,
                })
                .collect(),
            apps: app_choices,
            created,
            next_url,
        },
    ))
}

pub async fn list(
    State(st): State<AppState>,
    s: Session,
    ApiQuery(q): ApiQuery<TokensQuery>,
) -> PageResult {
    page(
        &st,
        &s,
        q.cursor.as_deref().filter(|c| !c.is_empty()),
        None,
        q.ok.as_deref(),
        StatusCode::OK,
    )
    .await
}

/// The create form as the API's request.
fn request_of(form: &Form) -> Result<TokenCreate, AppError> {
    let mut scopes = Vec::new();
    for (k, _) in form.fields() {
        if let Some(sc) = k.strip_prefix("scope_") {
            scopes.push(
                sc.parse::<Scope>()
                    .map_err(|_| AppError::bad_request(format!("no scope {sc}")))?,
            );
        }
    }
    let app = form
        .text("app")
        .map(|a| {
            a.parse::<AppSlug>()
                .map_err(|e| AppError::bad_request(format!("app: {e}")))
        })
        .transpose()?;
    let channels = form
        .get("channels")
        .unwrap_or("")
        .split([',', ' '])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<ChannelName>()
                .map_err(|e| AppError::bad_request(format!("channel: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TokenCreate {
        name: form.text("name").unwrap_or("").to_owned(),
        scopes,
        app,
        channels,
        expires_at: form.text("expires_at").map(str::to_owned),
    })
}

pub async fn create(State(st): State<AppState>, s: Session, form: Form) -> PageResult {
    s.check_csrf(&st, &form, "token.create").await?;
    authorize::<need::TokenCreate>(&st, &s.p, None, None)
        .await
        .or_page(&s)?;
    let req = request_of(&form).or_page(&s)?;
    let created = tokens::create(&st, &s.p, req).await;
    if let Err(e) = &created
        && e.code == platform::api::ErrorCode::Forbidden
    {
        crate::http::deny(&st, "token.create", None, Some(&s.p), e).await;
    }
    let created = created.or_page(&s)?;
    // The secret is in this answer only: no redirect, and the page is never cached.
    page(
        &st,
        &s,
        None,
        Some(CreatedToken {
            id: created.token.id.to_string(),
            name: created.token.name.clone(),
            secret: created.secret,
        }),
        None,
        StatusCode::CREATED,
    )
    .await
}

pub async fn revoke(
    State(st): State<AppState>,
    s: Session,
    ApiPath(id): ApiPath<TokenId>,
    form: Form,
) -> Result<axum::response::Response, PageError> {
    s.check_csrf(&st, &form, "token.revoke").await?;
    if s.p.has(Scope::Admin) {
        authorize::<need::TokenRevoke>(&st, &s.p, None, None)
            .await
            .or_page(&s)?;
        tokens::revoke(&st, &s.p, id).await.or_page(&s)?;
    } else {
        tokens::revoke_own(&st, &s.p, id).await.or_page(&s)?;
    }
    Ok(see_other("/admin/tokens?ok=revoked"))
}
