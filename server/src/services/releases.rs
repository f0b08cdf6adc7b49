//! Releases and artifacts: create a draft (idempotent), attach blobs (inspection by the
//! registry's target), publish (findings and identity rules), revoke, delete a draft.

use std::collections::BTreeSet;
use std::io::BufReader;

use serde_json::json;

use platform::api::{self, ArtifactSpec, PublishResult, ReleaseCreate};
use platform::versions::MismatchPolicy;
use platform::{
    ArtifactId, Finding, IdentityRules, Limits, ReleaseId, SCHEMA_VERSION, Severity, Sha256,
};

use super::{AppState, load_release, stored_inspection, target_for};
use crate::access;
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::blobs::BlobStore;
use crate::db::{self, AppRow, ArtifactRow, ReleaseRow};
use crate::error::{AppError, AppResult};
use crate::util;

const MAX_ARTIFACTS: usize = 100;
const MAX_NOTES: usize = 64 * 1024;
/// Icons larger than this are not kept.
const MAX_ICON_BYTES: usize = 4 * 1024 * 1024;

/// The platforms an app allows (empty: any linked platform); 404 for an unknown app, 500
/// naming the app when its stored list does not parse.
async fn app_platforms(state: &AppState, app: String) -> AppResult<Vec<String>> {
    let row = state.db.read(move |c| super::app_row(c, &app)).await?;
    serde_json::from_str(&row.platforms).map_err(|e| {
        tracing::error!("app {}: its stored platforms do not parse: {e}", row.slug);
        AppError::new(
            platform::api::ErrorCode::Internal,
            format!(
                "internal error: the stored platforms of app {} do not parse; the server log has the details",
                row.slug
            ),
        )
    })
}

/// The idempotency key of a release's content: file digests and link URLs, as a set.
fn fingerprint(specs: &[ArtifactSpec]) -> String {
    let set: BTreeSet<String> = specs
        .iter()
        .map(|s| match (&s.sha256, &s.link) {
            (Some(d), _) => format!("sha256:{d}"),
            (None, Some(u)) => format!("link:{u}"),
            (None, None) => String::new(),
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join("\n")
}

/// Checks the artifact list and turns it into the rows of release `release_id`.
fn plan_artifacts(
    state: &AppState,
    app_platforms: &[String],
    release_id: &ReleaseId,
    specs: &[ArtifactSpec],
) -> AppResult<Vec<ArtifactRow>> {
    if specs.is_empty() {
        return Err(AppError::invalid(
            "artifacts: a release needs at least one artifact",
        ));
    }
    if specs.len() > MAX_ARTIFACTS {
        return Err(AppError::invalid(format!(
            "artifacts: {} listed, at most {MAX_ARTIFACTS}",
            specs.len()
        )));
    }
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let at = |m: &str| AppError::invalid(format!("artifacts[{i}]: {m}"));
        if let Some(p) = &s.platform {
            target_for(state.registry, p.as_str()).map_err(|e| at(&e.message))?;
            if !app_platforms.is_empty() && !app_platforms.iter().any(|a| a == p.as_str()) {
                return Err(at(&format!(
                    "platform {p} is not one this app ships ({})",
                    app_platforms.join(", ")
                )));
            }
        }
        let mut row = ArtifactRow::planned(new_artifact_id()?, release_id.clone(), i as i64);
        row.platform = s.platform.clone();
        row.arch = s.arch.clone();
        row.spec_install = s.install.clone();
        if let Some(n) = &s.notarization {
            if s.link.is_some() {
                return Err(at(
                    "notarization: a link has no notarization; list it with the file it belongs to",
                ));
            }
            n.validate()
                .map_err(|m| at(&format!("notarization: {m}")))?;
            row.notarization = Some(n.normalized());
        }
        match (&s.sha256, &s.link) {
            (Some(d), None) => {
                let name = s
                    .file_name
                    .as_ref()
                    .ok_or_else(|| at("file_name is required for a file artifact"))?;
                if !seen.insert(format!("sha256:{d}")) {
                    return Err(at(&format!("sha256 {d} is listed twice")));
                }
                if let Some(size) = s.size
                    && size > state.cfg.max_upload_bytes
                {
                    return Err(at(&format!(
                        "size {size} is over the server's upload limit of {}",
                        state.cfg.max_upload_bytes
                    )));
                }
                row.file_name = Some(name.clone());
                row.sha256 = Some(*d);
                row.size = s.size;
            }
            (None, Some(url)) => {
                if s.file_name.is_some() || s.size.is_some() {
                    return Err(at("a link artifact has no file_name or size"));
                }
                if !seen.insert(format!("link:{url}")) {
                    return Err(at(&format!("link {url} is listed twice")));
                }
                // The admission `dist ci publish` runs on the same link.
                let admission = platform::admission::admit_link(
                    state.registry,
                    url,
                    s.platform.as_ref(),
                    s.install.clone(),
                );
                let mode = admission.mode.clone();
                if let Some(bad) = admission
                    .findings()
                    .into_iter()
                    .find(|f| f.severity == platform::Severity::Error)
                {
                    return Err(at(&format!("{} ({})", bad.message, bad.code)));
                }
                let inspection = admission.inspected.map(|i| i.inspection).ok_or_else(|| {
                    AppError::internal("admission", "admitted without an inspection")
                })?;
                row.platform = Some(inspection.platform.clone());
                row.kind = Some(inspection.kind.clone());
                row.link = Some(url.clone());
                row.install_mode = mode;
                row.attached = true;
                row.attached_at = Some(util::now());
                row.inspection = Some(
                    serde_json::to_string(&inspection)
                        .map_err(|e| AppError::internal("json", e))?,
                );
            }
            (Some(_), Some(_)) => {
                return Err(at("give either sha256 (a file) or link (a link), not both"));
            }
            (None, None) => {
                return Err(at("needs sha256 and file_name (a file) or link (a link)"));
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

pub async fn create(
    state: &AppState,
    p: &Principal,
    app: platform::AppSlug,
    body: ReleaseCreate,
) -> AppResult<(bool, api::Release)> {
    if body.notes.as_ref().is_some_and(|n| n.len() > MAX_NOTES) {
        return Err(AppError::invalid(format!(
            "notes: longer than {MAX_NOTES} bytes"
        )));
    }
    let platforms = app_platforms(state, app.to_string()).await?;
    let id = ReleaseId::from_random(id_bytes()?);
    let arts = plan_artifacts(state, &platforms, &id, &body.artifacts)?;
    let release = ReleaseRow {
        id,
        app: app.clone(),
        version: body.version.clone(),
        build: body.build.clone(),
        notes: body.notes.clone(),
        source: match &body.source {
            Some(s) => Some(serde_json::to_string(s).map_err(|e| AppError::internal("json", e))?),
            None => None,
        },
        status: platform::api::ReleaseStatus::Draft,
        fingerprint: fingerprint(&body.artifacts),
        created_at: util::now(),
        published_at: None,
        revoked_at: None,
        revoke_reason: None,
    };
    let actor = p.actor();
    let (created, id) = state
        .db
        .write(move |tx| {
            // Read and insert inside one IMMEDIATE transaction: racing creates serialise here,
            // and the unique index is the backstop.
            let key = (
                release.app.as_str(),
                release.version.as_str(),
                release.build.as_str(),
            );
            if let Some(existing) = db::get_release_by_key(tx, key.0, key.1, key.2)? {
                return same_or_conflict(&existing, &release.fingerprint).map(|id| (false, id));
            }
            if let Err(e) = db::insert_release(tx, &release) {
                // Another writer (another process on this database) won the unique index:
                // answer with its release, or a conflict if its content differs.
                let unique = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
                    if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE);
                if unique && let Some(existing) = db::get_release_by_key(tx, key.0, key.1, key.2)? {
                    return same_or_conflict(&existing, &release.fingerprint).map(|id| (false, id));
                }
                return Err(e.into());
            }
            for a in &arts {
                db::insert_artifact(tx, a)?;
            }
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "release.create",
                    app: Some(release.app.as_str()),
                    subject: Some(release.id.as_str()),
                    details: json!({
                        "version": release.version,
                        "build": release.build,
                        "artifacts": arts.iter().map(|a| json!({
                            "id": a.id, "file_name": a.file_name, "sha256": a.sha256,
                            "link": a.link,
                        })).collect::<Vec<_>>(),
                    }),
                },
            )?;
            Ok((true, release.id.clone()))
        })
        .await?;
    let st = state.clone();
    let rel = state
        .db
        .read(move |c| load_release(c, st.registry, st.base(), &id))
        .await?;
    Ok((created, rel))
}

/// Ten random bytes for a new id; the OS random source failing is a 500.
fn id_bytes() -> AppResult<[u8; 10]> {
    let mut b = [0u8; 10];
    util::random_bytes(&mut b).map_err(|e| AppError::internal("random source", e))?;
    Ok(b)
}

fn new_artifact_id() -> AppResult<ArtifactId> {
    Ok(ArtifactId::from_random(id_bytes()?))
}

fn same_or_conflict(existing: &ReleaseRow, fingerprint: &str) -> AppResult<ReleaseId> {
    if existing.fingerprint == fingerprint {
        Ok(existing.id.clone())
    } else {
        Err(AppError::conflict(format!(
            "release {} {} ({}) of {} already exists with other artifacts; use a new build number",
            existing.version, existing.build, existing.id, existing.app
        )))
    }
}

/// One release, if the caller may read it.
pub async fn get(state: &AppState, p: &Principal, id: ReleaseId) -> AppResult<api::Release> {
    let st = state.clone();
    let p = p.clone();
    state
        .db
        .read(move |c| {
            let r = super::release_row(c, &id)?;
            access::check_release(c, &p, &r, access::Use::Read)?;
            load_release(c, st.registry, st.base(), &id)
        })
        .await
}

/// An app's releases that the caller may read (a channel limit hides the others).
/// One page of an app's releases the caller may read, newest first; also where the next
/// page starts (the last row looked at, readable or not) when there may be one.
pub async fn list(
    state: &AppState,
    p: &Principal,
    app: String,
    filter: db::ReleaseFilter,
) -> AppResult<(Vec<api::Release>, Option<(String, String)>)> {
    let st = state.clone();
    let p = p.clone();
    state
        .db
        .read(move |c| {
            super::app_row(c, &app)?;
            // One row more than the page says whether another page follows.
            let probe = db::ReleaseFilter {
                limit: filter.limit + 1,
                ..filter.clone()
            };
            let mut rows = db::list_releases(c, &app, &probe)?;
            let more = rows.len() as i64 > filter.limit;
            rows.truncate(usize::try_from(filter.limit).unwrap_or(0));
            let next = more
                .then(|| {
                    rows.last()
                        .map(|r| (r.created_at.clone(), r.id.to_string()))
                })
                .flatten();
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                if access::check_release(c, &p, &r, access::Use::Read).is_err() {
                    continue;
                }
                let arts = db::list_artifacts(c, r.id.as_str())?;
                out.push(super::release_to_api(st.registry, st.base(), &r, &arts)?);
            }
            Ok((out, next))
        })
        .await
}

/// One artifact, if the caller may read its release.
pub async fn get_artifact(
    state: &AppState,
    p: &Principal,
    id: ArtifactId,
) -> AppResult<api::Artifact> {
    let (a, _) = artifact_and_release(state, p, id, access::Use::Read).await?;
    super::artifact_to_api(state.registry, state.base(), &a)
}

/// Reads an artifact with its release (404 naming the id when either is missing).
pub fn artifact_row(
    c: &rusqlite::Connection,
    id: &ArtifactId,
) -> AppResult<(ArtifactRow, ReleaseRow)> {
    let a = db::get_artifact(c, id.as_str())?
        .ok_or_else(|| AppError::not_found(format!("artifact {id} not found")))?;
    let r = db::get_release(c, a.release_id.as_str())?
        .ok_or_else(|| AppError::not_found(format!("artifact {id} not found")))?;
    Ok((a, r))
}

/// Reads an artifact with its release; checks the caller may use it so.
pub async fn artifact_and_release(
    state: &AppState,
    p: &Principal,
    id: ArtifactId,
    what: access::Use,
) -> AppResult<(ArtifactRow, ReleaseRow)> {
    let p = p.clone();
    state
        .db
        .read(move |c| {
            let (a, r) = artifact_row(c, &id)?;
            access::check_release(c, &p, &r, what)?;
            Ok((a, r))
        })
        .await
}

pub async fn attach(state: &AppState, p: &Principal, id: ArtifactId) -> AppResult<api::Artifact> {
    let (art, rel) = artifact_and_release(state, p, id.clone(), access::Use::Read).await?;
    if art.attached {
        return super::artifact_to_api(state.registry, state.base(), &art);
    }
    if rel.status != platform::api::ReleaseStatus::Draft {
        return Err(AppError::conflict(format!(
            "release {} is {}; artifacts can be attached to drafts only",
            rel.id, rel.status
        )));
    }
    let digest: Sha256 = art
        .sha256
        .ok_or_else(|| AppError::invalid(format!("artifact {id} is a link; nothing to attach")))?;
    // Proof of possession: the app's callers uploaded these bytes (or an attached artifact of
    // the app holds them). Knowing another app's digest must not lend its bytes.
    let owned = {
        let (hex, app) = (digest.hex(), rel.app.to_string());
        state
            .db
            .read(move |c| Ok(db::blob_usable_by(c, &hex, &app)?))
            .await?
    };
    if !owned {
        return Err(AppError::conflict(format!(
            "app {} has not uploaded sha256 {digest}; upload the file (PUT /api/v1/blobs/sha256/{digest}?app={}) and attach again",
            rel.app, rel.app
        )));
    }
    let size = state
        .blobs
        .stat(&digest)
        .map_err(|e| AppError::internal("stat blob", e))?
        .ok_or_else(|| {
            AppError::conflict(format!(
                "the server does not have sha256 {digest} yet; upload it first (PUT /api/v1/blobs/sha256/{digest})"
            ))
        })?;
    if let Some(declared) = art.size
        && declared != size
    {
        return Err(AppError::invalid(format!(
            "artifact {id} declares {declared} bytes, the blob has {size}"
        )));
    }
    // The app's identity rules and platforms, read before the file so that the admission
    // below is the one `dist ci publish` ran locally with the same rules.
    let app_row = {
        let slug = rel.app.clone();
        state.db.read(move |c| super::app_row(c, &slug)).await?
    };
    let rules: IdentityRules = serde_json::from_str(&app_row.identity).map_err(|e| {
        AppError::internal(
            &format!(
                "app {}: its stored identity rules do not parse",
                app_row.slug
            ),
            e,
        )
    })?;
    // The public keys the app's admin added: a signature by one of them reads `signed`.
    let trusted_keys = super::keys::of_app(state, rel.app.to_string()).await?;
    let st = state.clone();
    let file_name = art
        .file_name
        .as_ref()
        .map_or_else(|| "artifact".to_owned(), |f| f.to_string());
    let hint = art.platform.clone();
    let spec_install = art.spec_install.clone();
    let listed_arch = art.arch.clone();
    let notarization = art.notarization.clone();
    let mut row = art.clone();
    // At most DIST_MAX_INSPECTIONS at once; the permit lives as long as the inspection.
    let permit = state.inspection_permit().await?;
    let row = tokio::task::spawn_blocking(move || -> AppResult<ArtifactRow> {
        let _permit = permit;
        let file = st
            .blobs
            .open(&digest)
            .map_err(|e| AppError::internal("open blob", e))?;
        let mut reader = BufReader::with_capacity(64 * 1024, file);
        let req = platform::admission::Request {
            file_name: &file_name,
            hint: hint.as_ref(),
            install: spec_install,
            arch: listed_arch.as_ref(),
            notarization: notarization.as_ref(),
            rules: &rules,
            limits: Limits::default(),
            now_unix: util::now_unix(),
            trusted_keys: &trusted_keys,
        };
        let admission = platform::admit(st.registry, &mut reader, &req)
            .map_err(|e| AppError::internal("inspect", e))?;
        if let Some(refused) = admission.refused() {
            // The first finding's words, as before admission was one function; all of them
            // in `findings`.
            let first = refused
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_default();
            return Err(AppError::invalid(first).with_findings(refused.to_vec()));
        }
        let mode = admission.mode.clone();
        let inspected = admission
            .inspected
            .ok_or_else(|| AppError::internal("admission", "admitted without an inspection"))?;
        let mut inspection = inspected.inspection;
        inspection.sha256 = Some(digest.hex());
        if let Some(png) = inspected.icon_png.filter(|p| p.len() <= MAX_ICON_BYTES) {
            let d = st
                .blobs
                .put_bytes(&png)
                .map_err(|e| AppError::internal("store icon", e))?;
            row.icon_sha256 = Some(d);
        }
        row.platform = Some(inspection.platform.clone());
        row.kind = Some(inspection.kind.clone());
        row.install_mode = mode;
        row.size = Some(size);
        row.attached_at = Some(util::now());
        row.inspection =
            Some(serde_json::to_string(&inspection).map_err(|e| AppError::internal("json", e))?);
        Ok(row)
    })
    .await
    .map_err(|e| AppError::internal("inspect task", e))??;

    let platforms = app_platforms(state, rel.app.to_string()).await?;
    if let Some(pl) = &row.platform
        && !platforms.is_empty()
        && !platforms.iter().any(|p| p == pl.as_str())
    {
        return Err(AppError::invalid(format!(
            "{}: a {pl} artifact, but app {} ships only {}",
            row.file_name.as_ref().map_or("artifact", |f| f.as_str()),
            rel.app,
            platforms.join(", ")
        )));
    }
    let actor = p.actor();
    let app = rel.app.clone();
    let blobs = state.blobs.clone();
    let saved = state
        .db
        .write(move |tx| {
            // Checked again under the write lock: `distd gc` removes unreferenced blobs under
            // the same lock, so either it sees this artifact or this sees the blob gone.
            for d in [row.sha256, row.icon_sha256].into_iter().flatten() {
                let digest = d;
                if blobs
                    .stat(&digest)
                    .map_err(|e| AppError::internal("stat blob", e))?
                    .is_none()
                {
                    return Err(AppError::conflict(format!(
                        "blob sha256 {d} was removed meanwhile (distd gc); upload it again and attach"
                    )));
                }
            }
            if db::attach_artifact(tx, &row)? == 0 {
                // Attached meanwhile by another request: answer with what is stored.
                return db::get_artifact(tx, row.id.as_str())?
                    .ok_or_else(|| AppError::not_found(format!("artifact {} not found", row.id)));
            }
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "artifact.attach",
                    app: Some(app.as_str()),
                    subject: Some(row.id.as_str()),
                    details: json!({
                        "release_id": row.release_id, "sha256": row.sha256,
                        "platform": row.platform, "kind": row.kind,
                    }),
                },
            )?;
            db::get_artifact(tx, row.id.as_str())?
                .ok_or_else(|| AppError::not_found(format!("artifact {} not found", row.id)))
        })
        .await?;
    super::artifact_to_api(state.registry, state.base(), &saved)
}

/// Every finding a publish considers: each artifact's own, the app's identity rules, and
/// whether each file declares the release's version and build (the app's policy says how
/// much that matters).
fn publish_findings(
    state: &AppState,
    app: &AppRow,
    rel: &ReleaseRow,
    arts: &[ArtifactRow],
) -> AppResult<Vec<Finding>> {
    // Rules that no longer parse would publish unchecked: an error naming the app instead.
    let identity: IdentityRules = serde_json::from_str(&app.identity).map_err(|e| {
        AppError::internal(
            &format!("app {}: its stored identity rules do not parse", app.slug),
            e,
        )
    })?;
    let policy: MismatchPolicy = app.version_mismatch.parse().map_err(|e| {
        AppError::internal(
            &format!(
                "app {}: its stored version_mismatch does not parse",
                app.slug
            ),
            e,
        )
    })?;
    let version = Some((&rel.version, &rel.build));
    let mut findings = Vec::new();
    for a in arts {
        let Some(insp) = stored_inspection(a)? else {
            continue;
        };
        findings.extend(insp.findings.iter().cloned());
        if let Some((v, b)) = &version {
            findings.extend(platform::versions::version_mismatch(
                state.registry,
                &insp,
                v,
                b,
                policy,
            ));
        }
        if insp.parse == platform::Parse::Reject
            && !insp.findings.iter().any(|f| f.severity == Severity::Error)
        {
            findings.push(Finding::error(
                "artifact.rejected",
                format!("{}: the file was rejected by its reader", insp.file),
            ));
        }
        if let Some(rules) = identity.get(&insp.platform) {
            let target = target_for(state.registry, insp.platform.as_str())?;
            findings.extend(target.check_identity(&insp, rules));
        }
    }
    Ok(findings)
}

pub async fn publish(state: &AppState, p: &Principal, id: ReleaseId) -> AppResult<PublishResult> {
    let (rel, arts, app) = {
        let id = id.clone();
        state
            .db
            .read(move |c| {
                let r = super::release_row(c, &id)?;
                let arts = db::list_artifacts(c, id.as_str())?;
                let app = super::app_row(c, r.app.as_str())?;
                Ok((r, arts, app))
            })
            .await?
    };
    p.require_app(rel.app.as_str())?;
    let findings = publish_findings(state, &app, &rel, &arts)?;
    match rel.status {
        platform::api::ReleaseStatus::Published => {
            return Ok(PublishResult {
                schema_version: SCHEMA_VERSION,
                release: super::release_to_api(state.registry, state.base(), &rel, &arts)?,
                findings,
            });
        }
        platform::api::ReleaseStatus::Revoked => {
            return Err(AppError::conflict(format!(
                "release {id} was revoked; it cannot be published again"
            )));
        }
        _ => {}
    }
    let missing: Vec<String> = arts
        .iter()
        .filter(|a| !a.attached)
        .map(|a| {
            let name = a.file_name.as_ref().map_or("link", |f| f.as_str());
            format!("{name} ({})", a.id)
        })
        .collect();
    if !missing.is_empty() {
        return Err(AppError::invalid(format!(
            "release {id} has artifacts not attached yet: {}; upload and attach them first",
            missing.join(", ")
        )));
    }
    let errors: Vec<Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .cloned()
        .collect();
    if !errors.is_empty() {
        return Err(AppError::invalid(format!(
            "publish blocked by {} error finding(s); the release stays a draft. First: {}",
            errors.len(),
            errors[0].message
        ))
        .with_findings(errors));
    }
    let actor = p.actor();
    let n_findings = findings.len();
    let st = state.clone();
    let release = state
        .db
        .write(move |tx| {
            if db::set_release_published(tx, id.as_str(), &util::now())? == 1 {
                audit::append(
                    tx,
                    Event {
                        actor: &actor,
                        action: "release.publish",
                        app: Some(rel.app.as_str()),
                        subject: Some(id.as_str()),
                        details: json!({"version": rel.version, "build": rel.build, "findings": n_findings}),
                    },
                )?;
            }
            let now = super::release_row(tx, &id)?;
            if now.status == platform::api::ReleaseStatus::Revoked {
                return Err(AppError::conflict(format!("release {id} was revoked")));
            }
            load_release(tx, st.registry, st.base(), &id)
        })
        .await?;
    Ok(PublishResult {
        schema_version: SCHEMA_VERSION,
        release,
        findings,
    })
}

pub async fn revoke(
    state: &AppState,
    p: &Principal,
    id: ReleaseId,
    reason: String,
) -> AppResult<api::Release> {
    let reason = reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(AppError::invalid("reason: 1 to 2000 characters"));
    }
    let actor = p.actor();
    let principal = p.clone();
    let st = state.clone();
    state
        .db
        .write(move |tx| {
            let r = super::release_row(tx, &id)?;
            principal.require_app(r.app.as_str())?;
            match r.status {
                platform::api::ReleaseStatus::Draft => {
                    return Err(AppError::conflict(format!(
                        "release {id} is a draft; delete it instead of revoking"
                    )));
                }
                platform::api::ReleaseStatus::Revoked => {
                    return load_release(tx, st.registry, st.base(), &id);
                }
                _ => {}
            }
            db::set_release_revoked(tx, id.as_str(), &util::now(), &reason)?;
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "release.revoke",
                    app: Some(r.app.as_str()),
                    subject: Some(id.as_str()),
                    details: json!({"reason": reason, "version": r.version, "build": r.build}),
                },
            )?;
            load_release(tx, st.registry, st.base(), &id)
        })
        .await
}

pub async fn delete_draft(state: &AppState, p: &Principal, id: ReleaseId) -> AppResult<()> {
    let actor = p.actor();
    let principal = p.clone();
    state
        .db
        .write(move |tx| {
            let r = super::release_row(tx, &id)?;
            principal.require_app(r.app.as_str())?;
            if r.status != platform::api::ReleaseStatus::Draft {
                return Err(AppError::conflict(format!(
                    "release {id} is {}; only drafts can be deleted (revoke a published release)",
                    r.status
                )));
            }
            db::delete_draft(tx, id.as_str())?;
            audit::append(
                tx,
                Event {
                    actor: &actor,
                    action: "release.delete",
                    app: Some(r.app.as_str()),
                    subject: Some(id.as_str()),
                    details: json!({"version": r.version, "build": r.build}),
                },
            )?;
            Ok(())
        })
        .await
}
