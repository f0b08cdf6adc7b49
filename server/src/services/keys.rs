//! Public keys an app's admin adds, against which targets verify signatures (issue 18): the
//! target of the key's platform reads it (`Target::trusted_key`), distd stores it as sent, and
//! attach and reinspect hand every key of the app to the inspection.

use serde_json::json;

use platform::api::{AppKey, AppKeyAdd, AppKeyList, MAX_APP_KEY_BYTES};

use super::AppState;
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::db::{self, AppKeyRow};
use crate::error::{AppError, AppResult};

fn key_to_api(registry: &platform::Registry, r: &AppKeyRow) -> AppResult<AppKey> {
    Ok(AppKey {
        platform: r.platform.parse().map_err(|e| {
            AppError::internal(
                &format!("app key {}: its platform does not read back", r.fingerprint),
                e,
            )
        })?,
        fingerprint: r.fingerprint.clone(),
        label: r.label.clone(),
        signer_sha256: registry
            .get(&r.platform)
            .ok()
            .and_then(|t| t.key_pin(&r.key)),
        added_at: r.added_at.clone(),
        added_by: r.added_by.clone(),
    })
}

pub async fn list(state: &AppState, app: String) -> AppResult<AppKeyList> {
    let rows = state
        .db
        .read(move |c| {
            super::app_row(c, &app)?;
            Ok(db::list_app_keys(c, &app)?)
        })
        .await?;
    Ok(AppKeyList {
        schema_version: platform::SCHEMA_VERSION,
        keys: rows
            .iter()
            .map(|r| key_to_api(state.registry, r))
            .collect::<AppResult<_>>()?,
    })
}

/// The key bytes of every key of the app, for an inspection (`InspectContext::trusted_keys`).
pub async fn of_app(state: &AppState, app: String) -> AppResult<Vec<Vec<u8>>> {
    state
        .db
        .read(move |c| Ok(db::list_app_keys(c, &app)?))
        .await
        .map(|rows| rows.into_iter().map(|r| r.key).collect())
}

/// Adds a key; answers it and whether it is new (an existing key is left as it is).
pub async fn add(
    state: &AppState,
    p: &Principal,
    app: String,
    req: AppKeyAdd,
) -> AppResult<(AppKey, bool)> {
    if req.key.len() > MAX_APP_KEY_BYTES {
        return Err(AppError::bad_request(format!(
            "the key is {} bytes; at most {MAX_APP_KEY_BYTES} are taken",
            req.key.len()
        )));
    }
    let target = state.registry.get(req.platform.as_str()).map_err(|_| {
        AppError::invalid(format!(
            "platform {} is not linked into this distd (linked: {})",
            req.platform,
            state.registry.ids().join(", ")
        ))
    })?;
    let read = target.trusted_key(req.key.as_bytes()).ok_or_else(|| {
        AppError::invalid(format!(
            "the {} target verifies no signatures with added keys",
            target.display_name()
        ))
    })?;
    let info = read.map_err(|why| {
        AppError::invalid(format!("the key for {}: {why}", target.display_name()))
    })?;
    let row = AppKeyRow {
        platform: req.platform.to_string(),
        fingerprint: info.fingerprint,
        label: info.label,
        key: req.key.into_bytes(),
        added_at: crate::util::now(),
        added_by: p.actor(),
    };
    let actor = p.actor();
    let (row, added) = state
        .db
        .write(move |tx| {
            super::app_row(tx, &app)?;
            let added = db::insert_app_key(tx, &app, &row)?;
            if added {
                audit::append(
                    tx,
                    Event {
                        actor: &actor,
                        action: "app.key.add",
                        app: Some(&app),
                        subject: Some(&row.fingerprint),
                        details: json!({
                            "platform": row.platform,
                            "fingerprint": row.fingerprint,
                            "label": row.label,
                        }),
                    },
                )?;
            }
            let stored = db::list_app_keys(tx, &app)?
                .into_iter()
                .find(|k| k.platform == row.platform && k.fingerprint == row.fingerprint)
                .ok_or_else(|| AppError::internal("app key", "vanished after write"))?;
            Ok((stored, added))
        })
        .await?;
    Ok((key_to_api(state.registry, &row)?, added))
}

pub async fn remove(
    state: &AppState,
    p: &Principal,
    app: String,
    fingerprint: String,
) -> AppResult<()> {
    let actor = p.actor();
    state
        .db
        .write(move |tx| {
            super::app_row(tx, &app)?;
            if db::delete_app_key(tx, &app, &fingerprint)? == 0 {
                return Err(AppError::not_found(format!(
                    "app {app} has no key {fingerprint}"
                )));
            }
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "app.key.remove",
                    app: Some(&app),
                    subject: Some(&fingerprint),
                    details: json!({ "fingerprint": fingerprint }),
                },
            )
        })
        .await
        .map(|_| ())
}
