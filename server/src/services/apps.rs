//! Apps: create, list, show, update identity rules.

use serde_json::json;

use platform::api::{App, AppCreate};
use platform::{IdentityRules, PlatformId};

use super::AppState;
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::db::{self, AppRow};
use crate::error::{AppError, AppResult};

pub fn app_to_api(r: &AppRow) -> App {
    App {
        slug: r
            .slug
            .parse()
            .unwrap_or_else(|_| "invalid".parse().expect("literal slug")),
        name: r.name.clone(),
        platforms: serde_json::from_str(&r.platforms).unwrap_or_default(),
        identity: serde_json::from_str(&r.identity).unwrap_or_default(),
        created_at: r.created_at.clone(),
        access: r.access.parse().unwrap_or_default(),
        version_mismatch: r.version_mismatch.parse().unwrap_or_default(),
    }
}

/// Each platform's rules may name only identity facts its target reports.
fn check_identity_facts(state: &AppState, rules: &platform::IdentityRules) -> AppResult<()> {
    for (id, r) in rules {
        let t = super::target_for(state.registry, id.as_str())?;
        r.check_declared(t.id(), t.display_name(), t.identity_facts())
            .map_err(AppError::invalid)?;
    }
    Ok(())
}

fn check_platforms<'a>(
    state: &AppState,
    ids: impl IntoIterator<Item = &'a PlatformId>,
) -> AppResult<()> {
    for p in ids {
        super::target_for(state.registry, p.as_str())?;
    }
    Ok(())
}

pub async fn create(state: &AppState, p: &Principal, body: AppCreate) -> AppResult<App> {
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name: 1 to 200 characters without control characters",
        ));
    }
    check_platforms(state, &body.platforms)?;
    check_platforms(state, body.identity.keys())?;
    check_identity_facts(state, &body.identity)?;
    let row = AppRow {
        slug: body.slug.to_string(),
        name,
        platforms: serde_json::to_string(&body.platforms)
            .map_err(|e| AppError::internal("json", e))?,
        identity: serde_json::to_string(&body.identity)
            .map_err(|e| AppError::internal("json", e))?,
        created_at: crate::util::now(),
        access: platform::api::Access::Token.as_str().to_owned(),
        version_mismatch: platform::versions::MismatchPolicy::default()
            .as_str()
            .to_owned(),
    };
    let actor = p.actor();
    let row = state
        .db
        .write(move |tx| {
            if db::get_app(tx, &row.slug)?.is_some() {
                return Err(AppError::conflict(format!("app {} already exists", row.slug)));
            }
            db::insert_app(tx, &row)?;
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "app.create",
                    app: Some(&row.slug),
                    subject: Some(&row.slug),
                    details: json!({"name": row.name, "platforms": serde_json::from_str::<serde_json::Value>(&row.platforms).unwrap_or_default()}),
                },
            )?;
            Ok(row)
        })
        .await?;
    Ok(app_to_api(&row))
}

pub async fn get(state: &AppState, slug: String) -> AppResult<App> {
    state
        .db
        .read(move |c| super::app_row(c, &slug).map(|r| app_to_api(&r)))
        .await
}

pub async fn list(state: &AppState, only: Option<String>) -> AppResult<Vec<App>> {
    state
        .db
        .read(move |c| {
            Ok(db::list_apps(c)?
                .iter()
                .filter(|a| only.as_ref().is_none_or(|o| *o == a.slug))
                .map(app_to_api)
                .collect())
        })
        .await
}

pub async fn update_identity(
    state: &AppState,
    p: &Principal,
    slug: String,
    rules: IdentityRules,
) -> AppResult<App> {
    check_platforms(state, rules.keys())?;
    check_identity_facts(state, &rules)?;
    let json = serde_json::to_string(&rules).map_err(|e| AppError::internal("json", e))?;
    let actor = p.actor();
    let row = state
        .db
        .write(move |tx| {
            if db::update_app_identity(tx, &slug, &json)? == 0 {
                return Err(AppError::not_found(format!("app {slug} not found")));
            }
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "app.update",
                    app: Some(&slug),
                    subject: Some(&slug),
                    details: json!({"identity": serde_json::from_str::<serde_json::Value>(&json).unwrap_or_default()}),
                },
            )?;
            super::app_row(tx, &slug)
        })
        .await?;
    Ok(app_to_api(&row))
}

/// Makes an app's pages public or token-only.
pub async fn set_access(
    state: &AppState,
    p: &Principal,
    slug: String,
    access: platform::api::Access,
) -> AppResult<App> {
    let actor = p.actor();
    let row = state
        .db
        .write(move |tx| {
            if db::set_app_access(tx, &slug, access.as_str())? == 0 {
                return Err(AppError::not_found(format!("app {slug} not found")));
            }
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "app.access",
                    app: Some(&slug),
                    subject: Some(&slug),
                    details: json!({"access": access.as_str()}),
                },
            )?;
            super::app_row(tx, &slug)
        })
        .await?;
    Ok(app_to_api(&row))
}

/// Changes an app's settings (today: the version-mismatch policy); audited with what changed.
pub async fn set_settings(
    state: &AppState,
    p: &Principal,
    slug: String,
    settings: platform::api::AppSettings,
) -> AppResult<App> {
    let actor = p.actor();
    let row = state
        .db
        .write(move |tx| {
            let mut changed = serde_json::Map::new();
            if let Some(policy) = settings.version_mismatch {
                if db::set_app_version_mismatch(tx, &slug, policy.as_str())? == 0 {
                    return Err(AppError::not_found(format!("app {slug} not found")));
                }
                changed.insert("version_mismatch".into(), json!(policy.as_str()));
            }
            let row = super::app_row(tx, &slug)?;
            if !changed.is_empty() {
                audit::append(
                    tx,
                    Event {
                        actor: &actor,
                        action: "app.settings",
                        app: Some(&slug),
                        subject: Some(&slug),
                        details: serde_json::Value::Object(changed),
                    },
                )?;
            }
            Ok(row)
        })
        .await?;
    Ok(app_to_api(&row))
}
