//! The access model's rules in one place (README "Security model"): which releases a caller
//! may read or download, when a release is public, and what rights a new token may be given.
//! Authentication (who is calling) is `auth`; sessions and grants are `sessions` and `grants`;
//! HTTP handlers call these checks and never decide rights themselves.

use rusqlite::Connection;

use platform::api::{Access, Scope, TokenCreate};

use crate::auth::Principal;
use crate::db::{self, ReleaseRow};
use crate::error::{AppError, AppResult};
use crate::util;

/// What a caller wants of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// API reads: drafts included for tokens of the app.
    Read,
    /// API download of the bytes: drafts only for tokens that may publish (to check a build
    /// before publishing it).
    Download,
    /// Pages, their documents and files, and channel URLs: published releases only, whoever
    /// asks. This is the publish gate for people.
    Page,
}

/// Checks app limit, the publish gate and channel limits for one release.
pub fn check_release(c: &Connection, p: &Principal, rel: &ReleaseRow, what: Use) -> AppResult<()> {
    check_release_on(p, rel, what, |channels| {
        Ok(db::release_on_channels(
            c,
            rel.app.as_str(),
            channels,
            rel.id.as_str(),
        )?)
    })
}

/// [`check_release`] with `was_on` answering whether the release is or was on any of the
/// named channels (a page that keeps the release's channels answers it without a read).
pub fn check_release_on(
    p: &Principal,
    rel: &ReleaseRow,
    what: Use,
    was_on: impl FnOnce(&[String]) -> AppResult<bool>,
) -> AppResult<()> {
    p.require_app(rel.app.as_str())?;
    let publisher = p.has(Scope::Publish);
    if rel.status == platform::api::ReleaseStatus::Draft
        && (what == Use::Page || (what == Use::Download && !publisher))
    {
        return Err(AppError::forbidden(format!(
            "release {} is a draft: only published releases are served{}",
            rel.id,
            if what == Use::Page {
                " on pages and channel URLs"
            } else {
                " to tokens without the publish scope"
            }
        )));
    }
    // A publisher made the app's releases; a channel limit narrows what the others see.
    if !p.channels.is_empty() && !publisher && !was_on(&p.channels)? {
        return Err(AppError::forbidden(format!(
            "token {} is limited to channel(s) {}, and release {} was never on them",
            p.name,
            p.channels.join(", "),
            rel.id
        )));
    }
    Ok(())
}

/// Whether anyone may see a release without a credential: it is published and its app is
/// public, or a public channel points, or pointed, at it.
pub fn release_is_public(c: &Connection, rel: &ReleaseRow) -> AppResult<bool> {
    if rel.status != platform::api::ReleaseStatus::Published {
        return Ok(false);
    }
    let app_public =
        db::get_app(c, rel.app.as_str())?.is_some_and(|a| a.access == Access::Public.as_str());
    Ok(app_public || db::release_on_public_channel(c, rel.app.as_str(), rel.id.as_str())?)
}

/// Whether a channel URL answers without a credential.
pub fn channel_is_public(c: &Connection, app: &str, channel: &str) -> AppResult<bool> {
    let app_public = db::get_app(c, app)?.is_some_and(|a| a.access == Access::Public.as_str());
    let ch_public =
        db::get_channel(c, app, channel)?.is_some_and(|ch| ch.access == Access::Public.as_str());
    Ok(app_public || ch_public)
}

/// Whether a caller may create an app: an unrestricted admin any app, a `create-app` token the
/// one app it is limited to.
pub fn check_app_create(p: &Principal, slug: &str) -> AppResult<()> {
    if p.is_unrestricted_admin()
        || (p.has(Scope::CreateApp) && p.app.as_ref().map(|a| a.as_str()) == Some(slug))
    {
        return Ok(());
    }
    Err(AppError::forbidden(
        match (&p.app, p.has(Scope::CreateApp)) {
            (Some(only), true) => {
                format!("token {} may create only app {only}, not {slug}", p.name)
            }
            _ => format!(
                "token {} may not create apps: that needs an admin token without an app limit, or a token with the create-app scope limited to {slug}",
                p.name
            ),
        },
    ))
}

/// Token rights never widen: a new token's app, channels, scopes and expiry lie within its
/// creator's. Returns the expiry to store (a limited creator's own when the request names none).
pub fn check_token_within(p: &Principal, req: &TokenCreate) -> AppResult<Option<String>> {
    let req_app = req.app.as_ref().map(|a| a.as_str());
    if let Some(only) = &p.app
        && req_app != Some(only.as_str())
    {
        return Err(AppError::forbidden(format!(
            "token {} is limited to app {only}: the tokens it creates must be limited to {only} too (--app {only})",
            p.name
        )));
    }
    if req.scopes.contains(&Scope::CreateApp)
        && !p.is_unrestricted_admin()
        && !p.scopes.contains(&Scope::CreateApp)
    {
        return Err(AppError::forbidden(format!(
            "token {} may not hand out create-app: only an admin token without limits may",
            p.name
        )));
    }
    if !p.channels.is_empty() {
        let outside: Vec<&str> = req
            .channels
            .iter()
            .map(|c| c.as_str())
            .filter(|c| !p.channels.iter().any(|own| own == c))
            .collect();
        if req.channels.is_empty() || !outside.is_empty() {
            return Err(AppError::forbidden(format!(
                "token {} is limited to channel(s) {}: the tokens it creates must name some of them (--channel){}",
                p.name,
                p.channels.join(", "),
                if outside.is_empty() {
                    String::new()
                } else {
                    format!(", not {}", outside.join(", "))
                }
            )));
        }
    }
    let Some(own) = &p.expires_at else {
        return Ok(req.expires_at.clone());
    };
    match &req.expires_at {
        None => Ok(Some(own.clone())),
        Some(asked) => {
            let later = match (util::parse_time(asked), util::parse_time(own)) {
                (Some(a), Some(o)) => a > o,
                // An unreadable time is refused by the caller with its own message.
                _ => false,
            };
            if later {
                Err(AppError::forbidden(format!(
                    "token {} expires at {own}: the tokens it creates must expire no later",
                    p.name
                )))
            } else {
                Ok(Some(asked.clone()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(scopes: &[Scope], app: Option<&str>, channels: &[&str]) -> Principal {
        Principal {
            id: "tok_x".parse().unwrap(),
            name: "x".into(),
            scopes: scopes.to_vec(),
            app: app.map(|a| a.parse().unwrap()),
            channels: channels.iter().map(|c| c.to_string()).collect(),
            expires_at: None,
            needs_touch: false,
        }
    }

    fn req(scopes: &[Scope], app: Option<&str>, channels: &[&str]) -> TokenCreate {
        TokenCreate {
            name: "n".into(),
            scopes: scopes.to_vec(),
            app: app.map(|a| a.parse().unwrap()),
            channels: channels.iter().map(|c| c.parse().unwrap()).collect(),
            expires_at: None,
        }
    }

    #[test]
    fn app_limited_admin_cannot_widen() {
        let p = principal(&[Scope::Admin], Some("a"), &[]);
        assert!(check_token_within(&p, &req(&[Scope::Admin], None, &[])).is_err());
        assert!(check_token_within(&p, &req(&[Scope::Admin], Some("b"), &[])).is_err());
        assert!(check_token_within(&p, &req(&[Scope::Publish], Some("a"), &[])).is_ok());
        assert!(
            check_token_within(&p, &req(&[Scope::CreateApp], Some("a"), &[])).is_err(),
            "create-app is never implied by an app-limited admin"
        );
    }

    #[test]
    fn channel_limits_and_expiry_are_inherited_bounds() {
        let mut p = principal(&[Scope::Admin], Some("a"), &["beta"]);
        assert!(check_token_within(&p, &req(&[Scope::Promote], Some("a"), &[])).is_err());
        assert!(check_token_within(&p, &req(&[Scope::Promote], Some("a"), &["stable"])).is_err());
        assert!(check_token_within(&p, &req(&[Scope::Promote], Some("a"), &["beta"])).is_ok());
        p.expires_at = Some("2030-01-01T00:00:00Z".into());
        let mut r = req(&[Scope::Read], Some("a"), &["beta"]);
        assert_eq!(
            check_token_within(&p, &r).unwrap().as_deref(),
            Some("2030-01-01T00:00:00Z")
        );
        r.expires_at = Some("2031-01-01T00:00:00Z".into());
        assert!(check_token_within(&p, &r).is_err());
        r.expires_at = Some("2029-01-01T00:00:00Z".into());
        assert!(check_token_within(&p, &r).is_ok());
    }

    #[test]
    fn create_app_needs_an_unrestricted_creator() {
        let root = principal(&[Scope::Admin], None, &[]);
        assert!(
            check_token_within(
                &root,
                &req(&[Scope::CreateApp, Scope::Publish], Some("new"), &[])
            )
            .is_ok()
        );
        let ci = principal(&[Scope::CreateApp, Scope::Publish], Some("new"), &[]);
        assert!(check_app_create(&ci, "new").is_ok());
        assert!(check_app_create(&ci, "other").is_err());
        assert!(check_app_create(&principal(&[Scope::Admin], Some("new"), &[]), "new").is_err());
        assert!(check_app_create(&root, "anything").is_ok());
    }
}
