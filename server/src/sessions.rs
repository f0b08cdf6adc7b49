//! Browser sessions. A page session comes from a download link: its `?token=` is exchanged
//! once for the `dist_page` cookie (HttpOnly, `SameSite=Lax` so links from chat and mail
//! work) and the address loses the token by a redirect. Admin sessions (`dist_admin`,
//! `SameSite=Strict`) belong to the admin UI; they also open the pages their token may read.
//! The cookie holds 256 random bits; the database keeps only their SHA-256. A session acts
//! with its token's rights, checked on every request, so revoking the token ends it.

use base64::Engine;
use rusqlite::Connection;
use sha2::Digest;

use crate::auth::{self, Principal};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::util;

pub const PAGE_COOKIE: &str = "dist_page";
pub const ADMIN_COOKIE: &str = "dist_admin";
/// A page session lasts this long, or until its token expires if that is sooner.
pub const PAGE_SESSION_SECS: i64 = 30 * 24 * 3600;
/// An admin session lasts this long (a working day), or until its token expires if sooner.
pub const ADMIN_SESSION_SECS: i64 = 12 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Page,
    Admin,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Admin => "admin",
        }
    }
    pub fn cookie(self) -> &'static str {
        match self {
            Self::Page => PAGE_COOKIE,
            Self::Admin => ADMIN_COOKIE,
        }
    }
}

fn hash(value: &str) -> [u8; 32] {
    sha2::Sha256::digest(value.as_bytes()).into()
}

/// Starts a session for `p` and returns the cookie value. Blocking (in a write transaction).
pub fn create(
    c: &Connection,
    kind: Kind,
    p: &Principal,
    lifetime_secs: i64,
) -> AppResult<(String, i64)> {
    let mut bytes = [0u8; 32];
    util::random_bytes(&mut bytes).map_err(|e| AppError::internal("random source", e))?;
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = time::OffsetDateTime::now_utc();
    let mut expires = now + time::Duration::seconds(lifetime_secs);
    if let Some(t) = p.expires_at.as_deref().and_then(util::parse_time) {
        expires = expires.min(t);
    }
    db::insert_session(
        c,
        &hash(&value),
        kind.as_str(),
        &p.id,
        &util::format_time(now),
        &util::format_time(expires),
    )?;
    Ok((value, (expires - now).whole_seconds().max(0)))
}

/// The caller behind a session cookie value, or `None` when there is no such live session.
/// A revoked or expired token answers 401 with its reason.
pub fn principal(c: &Connection, kind: Kind, value: &str) -> AppResult<Option<Principal>> {
    match lookup(c, value)? {
        Some(found) => judge(kind, &found),
        None => Ok(None),
    }
}

/// A session as stored, with its token's row: what [`judge`] decides on, so it may be kept
/// (the read-path caches do) and judged again at each use.
#[derive(Debug, Clone)]
pub struct Found {
    pub session: db::SessionRow,
    pub token: db::TokenRow,
}

/// The key a session is stored and cached under: the SHA-256 of its cookie value, or `None`
/// for a value no session can have.
pub fn key_of(value: &str) -> Option<[u8; 32]> {
    (!value.is_empty() && value.len() <= 128).then(|| hash(value))
}

/// The stored session behind a cookie value and its token, if both exist.
pub fn lookup(c: &Connection, value: &str) -> AppResult<Option<Found>> {
    let Some(key) = key_of(value) else {
        return Ok(None);
    };
    let Some(session) = db::get_session(c, &key)? else {
        return Ok(None);
    };
    Ok(db::get_token(c, &session.token_id)?.map(|token| Found { session, token }))
}

/// The caller a stored session stands for now: `None` when it is of another kind or has
/// expired, 401 when its token was revoked or expired.
pub fn judge(kind: Kind, found: &Found) -> AppResult<Option<Principal>> {
    let live = found.session.kind == kind.as_str()
        && util::parse_time(&found.session.expires_at)
            .is_some_and(|t| t > time::OffsetDateTime::now_utc());
    if !live {
        return Ok(None);
    }
    auth::principal_of(&found.token).map(Some)
}

/// Ends the session behind a cookie value (sign-out): the value no longer opens anything.
pub fn end(c: &Connection, value: &str) -> AppResult<()> {
    db::delete_session(c, &hash(value))?;
    Ok(())
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A `Set-Cookie` value for a session cookie.
pub fn set_cookie(kind: Kind, value: &str, max_age: i64, secure: bool) -> String {
    let same_site = match kind {
        Kind::Page => "Lax",
        Kind::Admin => "Strict",
    };
    format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{}",
        kind.cookie(),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; dist_page=abc"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("dist_admin=\"xyz\""),
        );
        assert_eq!(cookie(&h, PAGE_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, ADMIN_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "dist"), None);
    }

    #[test]
    fn set_cookie_attributes() {
        let c = set_cookie(Kind::Page, "v", 60, true);
        assert_eq!(
            c,
            "dist_page=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(set_cookie(Kind::Admin, "v", 60, false).contains("SameSite=Strict"));
    }
}
