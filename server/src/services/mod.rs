//! The business rules: apps, releases and artifacts, channels, tokens. HTTP handlers and the
//! command line call these; these call `db`, `blobs`, `audit` and the target registry. Every
//! change and its audit event commit in one transaction.

pub mod apps;
pub mod channels;
pub mod keys;
pub mod releases;
pub mod tokens;

use std::sync::Arc;

use platform::api;
use platform::{ArtifactId, Inspection, Registry, ReleaseId};

use crate::blobs::LocalBlobStore;
use crate::config::Config;
use crate::db::{self, ArtifactRow, Db, ReleaseRow};
use crate::error::{AppError, AppResult};
use crate::grants::GrantKeys;

/// Everything a request needs; cheap to clone: one shared allocation, so a clone (axum makes
/// several per request) is one reference count, not one per part.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub cfg: Arc<Config>,
    pub db: Db,
    pub blobs: Arc<LocalBlobStore>,
    pub registry: &'static Registry,
    pub grants: Arc<GrantKeys>,
    /// Anonymous refusals not yet written to the audit log (see `http::denials`).
    pub denials: Arc<crate::http::denials::Denials>,
    /// Inspections at attach that may run at once (`DIST_MAX_INSPECTIONS`).
    pub inspections: Arc<tokio::sync::Semaphore>,
    /// Digests of stored files a download found missing since start, for `/healthz`.
    pub missing_blobs: Arc<std::sync::Mutex<std::collections::BTreeSet<platform::Sha256>>>,
    /// Rendered release pages and channel states (`http::pages`).
    pub pages: Arc<crate::http::pages::PageCaches>,
    /// Known tokens, channel states, batched `last_used_at` writes (`caches`).
    pub read: Arc<crate::caches::ReadCaches>,
}

impl Shared {
    /// Notes a stored file that is gone (deleted behind distd's back), with its digest and
    /// path in the log, and the 503 that names the artifact.
    pub fn blob_missing(&self, digest: &platform::Sha256, artifact: &str, file: &str) -> AppError {
        let path = self.blobs.path(digest);
        tracing::error!(
            sha256 = %digest,
            path = %path.display(),
            "the file of artifact {artifact} ({file}) is missing from the blob store; run `distd fsck` to list every missing file and restore them from a backup"
        );
        self.missing_blobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(*digest);
        AppError::unavailable(format!(
            "the file of artifact {artifact} ({file}) is missing from the server's store; an admin needs to restore it (distd fsck lists the missing files)"
        ))
    }

    pub fn base(&self) -> &str {
        &self.cfg.public_url
    }
    /// Whether cookies must be `Secure` (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.cfg.public_url.starts_with("https://")
    }

    /// A slot to inspect an artifact in, waiting at most `DIST_INSPECTION_WAIT_SECS`; a busy
    /// server answers 503 rather than queueing without end.
    pub async fn inspection_permit(&self) -> AppResult<tokio::sync::OwnedSemaphorePermit> {
        let wait = self.cfg.inspection_wait;
        match tokio::time::timeout(wait, self.inspections.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(AppError::unavailable(format!(
                "the server is busy inspecting other artifacts ({} at a time) and none finished within {} s; retry the attach later",
                self.cfg.max_inspections,
                wait.as_secs()
            ))),
        }
    }
}

/// The `url` of a release: its page, `/apps/{app}/releases/{id}` (what `dist ci publish`
/// prints; testers see every artifact there, the one for their device first).
pub fn release_url(base: &str, app: &platform::AppSlug, id: &ReleaseId) -> String {
    format!("{base}/apps/{app}/releases/{id}")
}

pub fn download_url(base: &str, artifact_id: &ArtifactId) -> String {
    format!("{base}/api/v1/artifacts/{artifact_id}/download")
}

pub fn install_url(base: &str, artifact_id: &ArtifactId) -> String {
    format!("{base}/i/{artifact_id}")
}

/// The stored inspection of an artifact: a row whose JSON no longer parses is an error naming
/// the artifact (issue 14, item 6), for showing it as for deciding with it (publish findings,
/// channel continuity), never a row silently shown without it or skipped.
pub fn stored_inspection(a: &ArtifactRow) -> AppResult<Option<Inspection>> {
    a.inspection
        .as_deref()
        .map(|j| {
            serde_json::from_str(j).map_err(|e| {
                tracing::error!("artifact {}: its stored inspection does not parse: {e}", a.id);
                AppError::new(
                    api::ErrorCode::Internal,
                    format!(
                        "internal error: the stored inspection of artifact {} does not parse; the server log has the details (distd reinspect rewrites it)",
                        a.id
                    ),
                )
            })
        })
        .transpose()
}

/// Whether an attached artifact has an install page: its target reads the kind and it may be
/// published.
fn installable(registry: &Registry, a: &ArtifactRow) -> bool {
    let (Some(platform), Some(kind)) = (&a.platform, &a.kind) else {
        return false;
    };
    a.attached
        && registry.get(platform.as_str()).is_ok_and(|t| {
            t.kinds()
                .iter()
                .any(|k| k.kind == kind.as_str() && k.publishable)
        })
}

pub fn artifact_to_api(
    registry: &Registry,
    base: &str,
    a: &ArtifactRow,
) -> AppResult<api::Artifact> {
    let has_file = a.sha256.is_some();
    Ok(api::Artifact {
        id: a.id.clone(),
        release_id: a.release_id.clone(),
        platform: a.platform.clone(),
        kind: a.kind.clone(),
        file_name: a.file_name.clone(),
        size: a.size,
        sha256: a.sha256,
        arch: a.arch.clone(),
        install_mode: a.install_mode.clone(),
        link: a.link.clone(),
        notarization: a.notarization.clone(),
        attached: a.attached,
        inspection: stored_inspection(a)?,
        download_url: has_file.then(|| download_url(base, &a.id)),
        install_url: installable(registry, a).then(|| install_url(base, &a.id)),
    })
}

pub fn release_to_api(
    registry: &Registry,
    base: &str,
    r: &ReleaseRow,
    artifacts: &[ArtifactRow],
) -> AppResult<api::Release> {
    let source = match r.source.as_deref() {
        Some(s) => Some(serde_json::from_str(s).map_err(|e| {
            tracing::error!("release {}: its stored source does not parse: {e}", r.id);
            AppError::new(
                api::ErrorCode::Internal,
                format!(
                    "internal error: the stored source of release {} does not parse; the server log has the details",
                    r.id
                ),
            )
        })?),
        None => None,
    };
    Ok(api::Release {
        id: r.id.clone(),
        app: r.app.clone(),
        version: r.version.clone(),
        build: r.build.clone(),
        notes: r.notes.clone(),
        source,
        status: r.status,
        created_at: r.created_at.clone(),
        published_at: r.published_at.clone(),
        revoked_at: r.revoked_at.clone(),
        revoke_reason: r.revoke_reason.clone(),
        url: release_url(base, &r.app, &r.id),
        artifacts: artifacts
            .iter()
            .map(|a| artifact_to_api(registry, base, a))
            .collect::<AppResult<_>>()?,
    })
}

/// Reads a release with its artifacts, as the API shows it.
pub fn load_release(
    c: &rusqlite::Connection,
    registry: &Registry,
    base: &str,
    id: &ReleaseId,
) -> AppResult<api::Release> {
    let r = release_row(c, id)?;
    let arts = db::list_artifacts(c, id.as_str())?;
    release_to_api(registry, base, &r, &arts)
}

/// An app's row, or a 404 naming the slug.
pub fn app_row(c: &rusqlite::Connection, slug: &str) -> AppResult<db::AppRow> {
    db::get_app(c, slug)?.ok_or_else(|| AppError::not_found(format!("app {slug} not found")))
}

/// A release's row, or a 404 naming the id.
pub fn release_row(c: &rusqlite::Connection, id: &ReleaseId) -> AppResult<db::ReleaseRow> {
    db::get_release(c, id.as_str())?
        .ok_or_else(|| AppError::not_found(format!("release {id} not found")))
}

/// The platform's target, or a 422 naming the linked ones.
pub fn target_for(registry: &Registry, platform: &str) -> AppResult<&'static dyn platform::Target> {
    registry
        .get(platform)
        .map_err(|e| AppError::invalid(e.to_string()))
}
