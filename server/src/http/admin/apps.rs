//! Apps: the list with each channel's current release, create, one app's channels and
//! releases table (filters, paging), and its identity rules form.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use platform::api::{Access, AppCreate, AppSettings, ReleaseStatus, Scope};
use platform::versions::MismatchPolicy;
use platform::{AppSlug, IdentityRules, PlatformId, PlatformRules};
use ui::admin::{
    AppPage, AppRowView, AppsPage, ChannelRowView, Choice, IdentityPage, ReleaseFilterView,
    RulesField, RulesPlatform,
};

use super::session::{Form, Session};
use super::{OrPage, PageResult, notice, ok, query_string, see_other, views};
use crate::access;
use crate::auth::Principal;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::http::auth::{authorize, need};
use crate::http::{ApiPath, ApiQuery, deny, paging};
use crate::services::{AppState, apps, channels, releases};

/// Releases per page of the table.
pub const PAGE_ROWS: i64 = 50;

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    pub ok: Option<String>,
}

/// The channels of `app` the caller may see, each with its release as a row.
pub async fn channel_rows(
    st: &AppState,
    p: &Principal,
    app: &str,
) -> AppResult<Vec<ChannelRowView>> {
    let mut out = Vec::new();
    for c in channels::list(st, app.to_owned()).await? {
        if p.require_channel(c.name.as_str()).is_err() {
            continue;
        }
        let release = match &c.release_id {
            Some(id) => match releases::get(st, p, id.clone()).await {
                Ok(r) => Some(views::release_row(&r)),
                // A release the caller may not read shows as none, like the API's list.
                Err(e) if e.code == platform::api::ErrorCode::Forbidden => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        out.push(ChannelRowView {
            name: c.name.to_string(),
            access: c.access.as_str().to_owned(),
            release,
            updated_at: c.updated_at,
        });
    }
    Ok(out)
}

fn platform_choices(st: &AppState, selected: &[&str]) -> Vec<Choice> {
    st.registry
        .targets()
        .iter()
        .map(|t| Choice {
            value: t.id().to_owned(),
            label: t.display_name().to_owned(),
            selected: selected.contains(&t.id()),
        })
        .collect()
}

pub async fn list(
    State(st): State<AppState>,
    s: Session,
    ApiQuery(q): ApiQuery<NoticeQuery>,
) -> PageResult {
    authorize::<need::Read>(&st, &s.p, None, None)
        .await
        .or_page(&s)?;
    let only = s.p.app.as_ref().map(|a| a.to_string());
    let mut rows = Vec::new();
    for a in apps::list(&st, only).await.or_page(&s)? {
        rows.push(AppRowView {
            channels: channel_rows(&st, &s.p, a.slug.as_str()).await.or_page(&s)?,
            slug: a.slug.to_string(),
            name: a.name,
            platforms: a
                .platforms
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            access: a.access.as_str().to_owned(),
        });
    }
    Ok(ok(&AppsPage {
        can_create: s.p.is_unrestricted_admin() || s.p.has(Scope::CreateApp),
        platforms: platform_choices(&st, &[]),
        nav: s.nav("apps"),
        notice: notice(q.ok.as_deref()),
        apps: rows,
    }))
}

pub async fn create(State(st): State<AppState>, s: Session, form: Form) -> PageResult {
    s.check_csrf(&st, &form, "app.create").await?;
    let slug: AppSlug = form
        .text("slug")
        .unwrap_or("")
        .parse()
        .map_err(|e: platform::InvalidValue| AppError::invalid(format!("slug: {e}")))
        .or_page(&s)?;
    authorize::<need::AppCreate>(&st, &s.p, None, None)
        .await
        .or_page(&s)?;
    if let Err(e) = access::check_app_create(&s.p, slug.as_str()) {
        deny(&st, "app.create", Some(slug.as_str()), Some(&s.p), &e).await;
        return Err(e).or_page(&s);
    }
    let mut platforms = Vec::new();
    for (k, _) in form.fields() {
        if let Some(id) = k.strip_prefix("platform_") {
            platforms.push(
                id.parse::<PlatformId>()
                    .map_err(|e| AppError::invalid(format!("platform: {e}")))
                    .or_page(&s)?,
            );
        }
    }
    let body = AppCreate {
        slug: slug.clone(),
        name: form.text("name").unwrap_or("").to_owned(),
        platforms,
        identity: IdentityRules::new(),
    };
    apps::create(&st, &s.p, body).await.or_page(&s)?;
    Ok(see_other(&format!("/admin/apps/{slug}?ok=app-created")))
}

#[derive(Debug, Deserialize)]
pub struct ReleasesQuery {
    ok: Option<String>,
    status: Option<String>,
    platform: Option<String>,
    version: Option<String>,
    since: Option<String>,
    cursor: Option<String>,
}

/// A date (`2026-01-31`) or RFC 3339 time, as stored times compare.
pub fn time_bound(what: &str, v: &str) -> AppResult<String> {
    let full = if v.len() == 10 {
        format!("{v}T00:00:00Z")
    } else {
        v.to_owned()
    };
    crate::util::parse_time(&full)
        .map(crate::util::format_time)
        .ok_or_else(|| {
            AppError::bad_request(format!(
                "{what} {v:?} is not a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z)"
            ))
        })
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub async fn show(
    State(st): State<AppState>,
    s: Session,
    ApiPath(app): ApiPath<AppSlug>,
    ApiQuery(q): ApiQuery<ReleasesQuery>,
) -> PageResult {
    authorize::<need::Read>(&st, &s.p, Some(app.as_str()), None)
        .await
        .or_page(&s)?;
    let a = apps::get(&st, app.to_string()).await.or_page(&s)?;
    let status = nonempty(&q.status)
        .map(|v| {
            v.parse::<ReleaseStatus>().map_err(|_| {
                AppError::bad_request(format!("status {v:?}: draft, published or revoked"))
            })
        })
        .transpose()
        .or_page(&s)?;
    let platform = nonempty(&q.platform)
        .map(|v| {
            v.parse::<PlatformId>()
                .map_err(|e| AppError::bad_request(format!("platform: {e}")))
        })
        .transpose()
        .or_page(&s)?;
    let version = nonempty(&q.version)
        .map(|v| {
            v.parse::<platform::Version>()
                .map_err(|e| AppError::bad_request(format!("version: {e}")))
        })
        .transpose()
        .or_page(&s)?;
    let since = nonempty(&q.since)
        .map(|v| time_bound("since", v))
        .transpose()
        .or_page(&s)?;
    let filter = db::ReleaseFilter {
        status: status.map(|s| s.as_str().to_owned()),
        version: version.as_ref().map(ToString::to_string),
        platform: platform.as_ref().map(|p| p.as_str().to_owned()),
        since,
        before: paging::decode_pair(nonempty(&q.cursor)).or_page(&s)?,
        limit: PAGE_ROWS,
    };
    let (list, next) = releases::list(&st, &s.p, app.to_string(), filter)
        .await
        .or_page(&s)?;
    let kept = [
        ("status", nonempty(&q.status)),
        ("platform", nonempty(&q.platform)),
        ("version", nonempty(&q.version)),
        ("since", nonempty(&q.since)),
    ];
    let next_url = next.map(|(at, id)| {
        let cursor = paging::encode(&[&at, &id]);
        let mut params = kept.to_vec();
        params.push(("cursor", Some(cursor.as_str())));
        format!("/admin/apps/{app}{}", query_string(&params))
    });
    let first_url =
        nonempty(&q.cursor).map(|_| format!("/admin/apps/{app}{}", query_string(&kept)));
    let app_platforms: Vec<&str> = a.platforms.iter().map(|p| p.as_str()).collect();
    let mut platforms = platform_choices(&st, &[]);
    if !app_platforms.is_empty() {
        platforms.retain(|c| app_platforms.contains(&c.value.as_str()));
    }
    for c in &mut platforms {
        c.selected = nonempty(&q.platform) == Some(c.value.as_str());
    }
    let statuses = ["published", "draft", "revoked"]
        .into_iter()
        .map(|v| Choice {
            value: v.to_owned(),
            label: v.to_owned(),
            selected: nonempty(&q.status) == Some(v),
        })
        .collect();
    Ok(ok(&AppPage {
        channels: channel_rows(&st, &s.p, app.as_str()).await.or_page(&s)?,
        releases: list.iter().map(views::release_row).collect(),
        filter: ReleaseFilterView {
            status: nonempty(&q.status).unwrap_or_default().to_owned(),
            platform: nonempty(&q.platform).unwrap_or_default().to_owned(),
            version: nonempty(&q.version).unwrap_or_default().to_owned(),
            since: nonempty(&q.since).unwrap_or_default().to_owned(),
        },
        statuses,
        platforms,
        next_url,
        first_url,
        can_admin: s.p.has(Scope::Admin),
        nav: s.nav("apps"),
        notice: notice(q.ok.as_deref()),
        slug: a.slug.to_string(),
        name: a.name,
        access: a.access.as_str().to_owned(),
        version_mismatch: a.version_mismatch.as_str().to_owned(),
    }))
}

/// Page access and the version setting, each through the API's service and right; a value
/// that did not change is not written (nor audited).
pub async fn settings(
    State(st): State<AppState>,
    s: Session,
    ApiPath(app): ApiPath<AppSlug>,
    form: Form,
) -> PageResult {
    s.check_csrf(&st, &form, "app.settings").await?;
    let access: Access = form
        .text("access")
        .unwrap_or("")
        .parse()
        .map_err(|_| AppError::bad_request("access: public or token"))
        .or_page(&s)?;
    let mismatch = match form.text("version_mismatch") {
        Some("warning") => MismatchPolicy::Warning,
        Some("error") => MismatchPolicy::Error,
        _ => {
            return Err(AppError::bad_request("version_mismatch: warning or error")).or_page(&s);
        }
    };
    let a = apps::get(&st, app.to_string()).await.or_page(&s)?;
    if a.access != access {
        authorize::<need::AppAccess>(&st, &s.p, Some(app.as_str()), None)
            .await
            .or_page(&s)?;
        apps::set_access(&st, &s.p, app.to_string(), access)
            .await
            .or_page(&s)?;
    }
    if a.version_mismatch != mismatch {
        authorize::<need::AppSettings>(&st, &s.p, Some(app.as_str()), None)
            .await
            .or_page(&s)?;
        apps::set_settings(
            &st,
            &s.p,
            app.to_string(),
            AppSettings {
                version_mismatch: Some(mismatch),
            },
        )
        .await
        .or_page(&s)?;
    }
    Ok(see_other(&format!("/admin/apps/{app}?ok=settings")))
}

/// The rule list of [`PlatformRules`] that names each identity fact.
const FACT_FIELDS: [(&str, &str); 4] = [
    ("identity", "identities"),
    ("team_id", "team_ids"),
    ("signer_sha256", "signer_sha256"),
    ("publisher", "publishers"),
];

fn rule_list<'a>(r: &'a PlatformRules, field: &str) -> Option<&'a Vec<String>> {
    match field {
        "identities" => Some(&r.identities),
        "team_ids" => Some(&r.team_ids),
        "signer_sha256" => Some(&r.signer_sha256),
        "publishers" => Some(&r.publishers),
        _ => None,
    }
}

fn rule_list_mut<'a>(r: &'a mut PlatformRules, field: &str) -> Option<&'a mut Vec<String>> {
    match field {
        "identities" => Some(&mut r.identities),
        "team_ids" => Some(&mut r.team_ids),
        "signer_sha256" => Some(&mut r.signer_sha256),
        "publishers" => Some(&mut r.publishers),
        _ => None,
    }
}

/// The form: one fieldset per platform of the app (every linked one when the app names none),
/// one field per identity fact its target declares.
fn rules_form(st: &AppState, a: &platform::api::App, rules: &IdentityRules) -> Vec<RulesPlatform> {
    st.registry
        .targets()
        .iter()
        .filter(|t| a.platforms.is_empty() || a.platforms.iter().any(|p| p.as_str() == t.id()))
        .map(|t| {
            let current = rules
                .iter()
                .find(|(id, _)| id.as_str() == t.id())
                .map(|(_, r)| r.clone())
                .unwrap_or_default();
            RulesPlatform {
                id: t.id().to_owned(),
                display_name: t.display_name().to_owned(),
                fields: t
                    .identity_facts()
                    .iter()
                    .filter_map(|f| {
                        let (_, field) = FACT_FIELDS.iter().find(|(fact, _)| *fact == f.id)?;
                        Some(RulesField {
                            name: format!("{}.{field}", t.id()),
                            fact: f.id.to_owned(),
                            description: f.description.to_owned(),
                            value: rule_list(&current, field)
                                .map(|l| l.join("\n"))
                                .unwrap_or_default(),
                        })
                    })
                    .collect(),
            }
        })
        .filter(|p| !p.fields.is_empty())
        .collect()
}

pub async fn identity_form(
    State(st): State<AppState>,
    s: Session,
    ApiPath(app): ApiPath<AppSlug>,
    ApiQuery(q): ApiQuery<NoticeQuery>,
) -> PageResult {
    authorize::<need::Read>(&st, &s.p, Some(app.as_str()), None)
        .await
        .or_page(&s)?;
    let a = apps::get(&st, app.to_string()).await.or_page(&s)?;
    Ok(ok(&IdentityPage {
        platforms: rules_form(&st, &a, &a.identity),
        nav: s.nav("apps"),
        notice: notice(q.ok.as_deref()),
        app: app.to_string(),
        error: None,
    }))
}

/// The submitted form as rules: `{platform}.{list}` fields, one value a line.
fn rules_of(form: &Form) -> AppResult<IdentityRules> {
    let mut rules = IdentityRules::new();
    for (name, value) in form.fields() {
        let Some((platform, field)) = name.split_once('.') else {
            continue;
        };
        let id: PlatformId = platform
            .parse()
            .map_err(|e| AppError::bad_request(format!("field {name}: {e}")))?;
        let values: Vec<String> = value
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        let entry = rules.entry(id).or_default();
        let list = rule_list_mut(entry, field)
            .ok_or_else(|| AppError::bad_request(format!("field {name}: no such rule list")))?;
        list.extend(values);
    }
    rules.retain(|_, r| !r.is_empty());
    Ok(rules)
}

pub async fn identity_save(
    State(st): State<AppState>,
    s: Session,
    ApiPath(app): ApiPath<AppSlug>,
    form: Form,
) -> Result<Response, super::PageError> {
    s.check_csrf(&st, &form, "app.update").await?;
    authorize::<need::AppIdentity>(&st, &s.p, Some(app.as_str()), None)
        .await
        .or_page(&s)?;
    let rules = rules_of(&form).or_page(&s)?;
    match apps::update_identity(&st, &s.p, app.to_string(), rules.clone()).await {
        Ok(_) => Ok(see_other(&format!(
            "/admin/apps/{app}/identity?ok=identity"
        ))),
        // A rule the target cannot meet: the form again, with what was typed and why.
        Err(e) if e.code == platform::api::ErrorCode::ValidationFailed => {
            let a = apps::get(&st, app.to_string()).await.or_page(&s)?;
            Ok(super::html(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                &IdentityPage {
                    platforms: rules_form(&st, &a, &rules),
                    nav: s.nav("apps"),
                    notice: None,
                    app: app.to_string(),
                    error: Some(e.message),
                },
            ))
        }
        Err(e) => Err(e).or_page(&s),
    }
}
