//! Tokens: `dist_` + base64url(32 random bytes). Only SHA-256(secret) is stored; the lookup
//! goes by that hash and the match is confirmed with a constant-time compare. Secrets are never
//! logged: this module is the only one that sees them, and it returns only ids and names.

use base64::Engine;
use rusqlite::Connection;
use sha2::Digest;
use subtle::ConstantTimeEq;

use platform::api::{Scope, TOKEN_PREFIX, TokenInfo};
use platform::{AppSlug, ChannelName, TokenId};

use crate::db::{self, TokenRow};
use crate::error::{AppError, AppResult};
use crate::util;

/// A secret longer than this is refused before hashing (a real one is 48 characters).
const MAX_SECRET_LEN: usize = 256;
/// `last_used_at` is written at most this often per token.
const TOUCH_EVERY_SECS: i64 = 60;

/// A fresh secret and its stored hash.
pub fn generate_secret() -> AppResult<(String, [u8; 32])> {
    let mut bytes = [0u8; 32];
    util::random_bytes(&mut bytes).map_err(|e| AppError::internal("random source", e))?;
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hash_secret(&secret);
    Ok((secret, hash))
}

pub fn hash_secret(secret: &str) -> [u8; 32] {
    sha2::Sha256::digest(secret.as_bytes()).into()
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: TokenId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub app: Option<AppSlug>,
    pub channels: Vec<String>,
    /// RFC 3339, as stored.
    pub expires_at: Option<String>,
    /// Whether `last_used_at` is stale enough to be written.
    pub needs_touch: bool,
}

impl Principal {
    /// `tok_...:name`, as the audit log records callers.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.id, self.name)
    }

    /// Admin includes every scope but `create-app`, which is never implied: it is the one
    /// right that reaches beyond an existing app.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
            || (scope != Scope::CreateApp && self.scopes.contains(&Scope::Admin))
    }

    /// An admin token with no app or channel limit: the only caller of the global routes
    /// (every token, the whole audit log, any new app).
    pub fn is_unrestricted_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin) && self.app.is_none() && self.channels.is_empty()
    }

    pub fn require(&self, scope: Scope) -> AppResult<()> {
        if self.has(scope) {
            Ok(())
        } else {
            let have: Vec<&str> = self.scopes.iter().map(|s| s.as_str()).collect();
            Err(AppError::forbidden(format!(
                "token {} has scope(s) {}; this needs {scope}",
                self.name,
                have.join(", ")
            )))
        }
    }

    /// A token limited to one app may touch only that app.
    pub fn require_app(&self, app: &str) -> AppResult<()> {
        match &self.app {
            Some(only) if only.as_str() != app => Err(AppError::forbidden(format!(
                "token {} is limited to app {only}, not {app}",
                self.name
            ))),
            _ => Ok(()),
        }
    }

    /// A token limited to named channels may read, move and download through only those.
    pub fn require_channel(&self, channel: &str) -> AppResult<()> {
        if self.channels.is_empty() || self.channels.iter().any(|c| c == channel) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "token {} is limited to channel(s) {}, not {channel}",
                self.name,
                self.channels.join(", ")
            )))
        }
    }
}

/// Extracts the secret from `Authorization: Bearer <secret>`.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let h = header?.trim();
    let (scheme, rest) = h.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// Finds the token for a secret; unknown, malformed, expired and revoked all answer 401 with
/// a message that says which (the secret itself never appears).
pub fn authenticate(c: &Connection, secret: &str) -> AppResult<Principal> {
    if secret.len() > MAX_SECRET_LEN || !secret.starts_with(TOKEN_PREFIX) {
        return Err(AppError::unauthorized(format!(
            "malformed token: dist tokens start with {TOKEN_PREFIX}"
        )));
    }
    principal_of(&token_row(c, secret)?)
}

/// The stored row of a secret (revoked and expired ones too: [`principal_of`] judges them at
/// each use, so a row may be kept while it is current, see `http::auth`'s token cache).
pub fn token_row(c: &Connection, secret: &str) -> AppResult<TokenRow> {
    if secret.len() > MAX_SECRET_LEN || !secret.starts_with(TOKEN_PREFIX) {
        return Err(AppError::unauthorized(format!(
            "malformed token: dist tokens start with {TOKEN_PREFIX}"
        )));
    }
    let hash = hash_secret(secret);
    match db::token_by_hash(c, &hash)? {
        Some(r) if bool::from(r.hash.as_slice().ct_eq(hash.as_slice())) => Ok(r),
        _ => Err(AppError::unauthorized("unknown token")),
    }
}

/// The caller a stored token stands for, or 401 when it was revoked or expired. Sessions
/// come through here too, so revoking a token ends its sessions at once.
pub fn principal_of(row: &TokenRow) -> AppResult<Principal> {
    if row.revoked_at.is_some() {
        return Err(AppError::unauthorized(format!(
            "token {} ({}) was revoked",
            row.name, row.id
        )));
    }
    let now = time::OffsetDateTime::now_utc();
    if let Some(exp) = &row.expires_at {
        match util::parse_time(exp) {
            Some(t) if t > now => {}
            _ => {
                return Err(AppError::unauthorized(format!(
                    "token {} ({}) expired at {exp}",
                    row.name, row.id
                )));
            }
        }
    }
    let needs_touch = match row.last_used_at.as_deref().and_then(util::parse_time) {
        Some(t) => (now - t).whole_seconds() >= TOUCH_EVERY_SECS,
        None => true,
    };
    let info = to_info(row)?;
    Ok(Principal {
        id: info.id,
        name: row.name.clone(),
        scopes: info.scopes,
        app: info.app,
        channels: info.channels.into_iter().map(String::from).collect(),
        expires_at: row.expires_at.clone(),
        needs_touch,
    })
}

/// The API view of a stored token. A column that does not read back (scopes, app, channels)
/// is an error naming the token: a token whose limits were silently dropped would grant more
/// than it was given (issue 14, item 6).
pub fn to_info(row: &TokenRow) -> AppResult<TokenInfo> {
    fn column<T: serde::de::DeserializeOwned>(
        row: &TokenRow,
        column: &str,
        json: &str,
    ) -> AppResult<T> {
        serde_json::from_str(json).map_err(|e| corrupt_token(row, column, e))
    }
    Ok(TokenInfo {
        id: row
            .id
            .parse::<TokenId>()
            .map_err(|e| corrupt_token(row, "id", e))?,
        name: row.name.clone(),
        scopes: column(row, "scopes", &row.scopes)?,
        app: row
            .app
            .as_deref()
            .map(AppSlug::try_from)
            .transpose()
            .map_err(|e| corrupt_token(row, "app", e))?,
        channels: column::<Vec<ChannelName>>(row, "channels", &row.channels)?,
        created_at: row.created_at.clone(),
        expires_at: row.expires_at.clone(),
        revoked_at: row.revoked_at.clone(),
        last_used_at: row.last_used_at.clone(),
        created_by: row.created_by.clone(),
    })
}

fn corrupt_token(row: &TokenRow, column: &str, e: impl std::fmt::Display) -> AppError {
    tracing::error!("token {}: column {column} does not read back: {e}", row.id);
    AppError::new(
        platform::api::ErrorCode::Internal,
        format!(
            "internal error: the stored token {} does not read back (column {column}); the server log has the details",
            row.id
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_prefix_and_256_bits() {
        let (s, h) = generate_secret().unwrap();
        assert!(s.starts_with("dist_"));
        assert_eq!(s.len(), 5 + 43);
        assert_eq!(h, hash_secret(&s));
        let (s2, _) = generate_secret().unwrap();
        assert_ne!(s, s2);
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer(Some("Bearer dist_x")), Some("dist_x"));
        assert_eq!(bearer(Some("bearer  dist_x ")), Some("dist_x"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(None), None);
    }
}
