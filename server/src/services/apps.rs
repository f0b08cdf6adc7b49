//! Apps: create, list, show, update identity rules.

use serde_json::json;

use platform::api::{App, AppCreate};
use platform::{IdentityRules, PlatformId};

use super::AppState;
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::db::{self, AppRow};
use crate::error::{AppError, AppResult};

/// The API view of a stored app. A column that does not read back is an error naming the app
/// (issue 14, item 6): rules or a policy silently read as empty would publish unchecked.
pub fn app_to_api(r: &AppRow) -> AppResult<App> {
    let bad = |column: &str, e: &dyn std::fmt::Display| {
        tracing::error!("app {}: column {column} does not read back: {e}", r.slug);
        AppError::new(
            platform::api::ErrorCode::Internal,
            format!(
                "internal error: the stored app {} does not read back (column {column}); the server log has the details",
                r.slug
            ),
        )
    };
    Ok(App {
        slug: r.slug.parse().map_err(|e| bad("slug", &e))?,
        name: r.name.clone(),
        platforms: serde_json::from_str(&r.platforms).map_err(|e| bad("platforms", &e))?,
        identity: serde_json::from_str(&r.identity).map_err(|e| bad("identity", &e))?,
        created_at: r.created_at.clone(),
        access: r.access.parse().map_err(|e| bad("access", &e))?,
        version_mismatch: r
            .version_mismatch
            .parse()
            .map_err(|e| bad("version_mismatch", &e))?,
    })
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
    let platforms = body.platforms.clone();
    let row = state
        .db
        .write(move |tx| {
            if db::get_app(tx, &row.slug)?.is_some() {
                return Err(AppError::conflict(format!(
                    "app {} already exists",
                    row.slug
                )));
            }
            db::insert_app(tx, &row)?;
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "app.create",
                    app: Some(&row.slug),
                    subject: Some(&row.slug),
                    details: json!({"name": row.name, "platforms": platforms}),
                },
            )?;
            Ok(row)
        })
        .await?;
    app_to_api(&row)
}

pub async fn get(state: &AppState, slug: String) -> AppResult<App> {
    state
        .db
        .read(move |c| app_to_api(&super::app_row(c, &slug)?))
        .await
}

pub async fn list(state: &AppState, only: Option<String>) -> AppResult<Vec<App>> {
    state
        .db
        .read(move |c| {
            db::list_apps(c)?
                .iter()
                .filter(|a| only.as_ref().is_none_or(|o| *o == a.slug))
                .map(app_to_api)
                .collect()
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
    let audited_rules = rules.clone();
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
                    details: json!({"identity": audited_rules}),
                },
            )?;
            super::app_row(tx, &slug)
        })
        .await?;
    app_to_api(&row)
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
    app_to_api(&row)
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
    app_to_api(&row)
}
