//! `dist ci publish`: one command from `dist.json` to a published, promoted release.
//!
//! 1. read and validate the manifest, expand its globs inside the manifest's folder;
//! 2. inspect and hash every file locally, and check the app's identity rules when the token
//!    may read them; stop before any upload on a refused file or an error finding;
//! 3. create (or find) the draft, upload only the blobs the server lacks, resuming;
//! 4. attach, publish, promote;
//! 5. print the publish JSON on stdout (human text on stderr).
//!
//! Nothing is published until every artifact is uploaded and attached, so a failure leaves
//! at most a draft behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use platform::api::{
    App, AppCreate, Artifact, ArtifactSpec, Channel, ChannelHistory, ChannelMove, ErrorCode,
    PromoteRequest, PublishResult, Release, ReleaseCreate, ReleaseCreated, ReleaseList,
    ReleaseStatus,
};
use platform::manifest::{MAX_MANIFEST_BYTES, Manifest, check_relative_path};
use platform::{
    AppSlug, Build, ChannelName, FileName, Finding, IdentityRules, Kind, PlatformId,
    SCHEMA_VERSION, Severity, Sha256, Version,
};
use serde::{Deserialize, Serialize};

use super::inspect::{Local, inspect_path};
use platform::diff::{ReleaseDiff, describe};

use crate::Ctx;
use crate::client::{Api, ApiError, BlobState, Retry};
use crate::exit::{Exit, Failure};
use crate::ui::{self, Tone, Ui, human_size};

const PUBLISH_HELP: &str = "\
Steps: validate dist.json and expand its globs (relative to the manifest); inspect and hash
every file locally and stop before any upload on a refused file or an error finding; create or
find the draft release; upload only the blobs the server lacks (resuming interrupted uploads);
attach, publish, and promote --channel (or the manifest's \"channel\").

Prints the publish JSON document on stdout (release, artifacts with digests, download and
install URLs and findings, channel move); human text goes to stderr. Re-running the same job
is safe: it finds the same release and prints the same JSON with \"created\": false and
\"uploaded\": false. --dry-run asks the server what it has and prints what would happen,
writing nothing.

Example:
  dist ci publish --server \"$DIST_SERVER\" --token \"$DIST_TOKEN\" --manifest dist.json --json";

#[derive(Subcommand)]
pub enum CiCommand {
    /// Publish (and promote) a release described by dist.json
    #[command(after_help = PUBLISH_HELP)]
    Publish(PublishArgs),
}

#[derive(Args)]
pub struct PublishArgs {
    /// The manifest; artifact paths are relative to its folder
    #[arg(long, default_value = "dist.json", value_name = "FILE")]
    pub manifest: PathBuf,
    /// Channel to promote the release to (overrides the manifest's "channel")
    #[arg(long, value_name = "NAME")]
    pub channel: Option<ChannelName>,
    /// Check everything and ask the server what it lacks, but write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Promote even when the channel points at a release created after this one
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Refuse (exit 3, before any upload) a file whose declared version or build differs
    /// from the manifest's; without it the difference is a warning
    #[arg(long)]
    pub strict_versions: bool,
}

pub async fn run(cmd: CiCommand, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        CiCommand::Publish(args) => publish(args, ctx).await,
    }
}

// ---- the publish JSON (schema_version 1) ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishDoc {
    pub schema_version: u32,
    pub app: AppSlug,
    /// Null only when local checks stopped the job before the server was asked.
    pub release: Option<ReleaseDoc>,
    pub artifacts: Vec<ArtifactDoc>,
    pub channel: Option<ChannelDoc>,
    /// Present when the job failed after this document could be built (blocked publish,
    /// refused promotion): what failed, while the rest says what stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseDoc {
    pub id: String,
    pub version: Version,
    pub build: Build,
    pub status: ReleaseStatus,
    /// False when the release already existed (a re-run).
    pub created: bool,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactDoc {
    pub id: Option<String>,
    pub platform: Option<PlatformId>,
    pub kind: Option<Kind>,
    pub file_name: Option<FileName>,
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
    /// False when the server already had the blob.
    pub uploaded: bool,
    pub download_url: Option<String>,
    pub install_url: Option<String>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelDoc {
    pub name: ChannelName,
    pub release_id: String,
    pub previous_release_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDoc {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

impl ErrorDoc {
    fn of(f: &Failure) -> Self {
        Self {
            code: f.code.clone(),
            message: f.message.clone(),
            findings: f.findings.clone(),
        }
    }
}

/// What `--dry-run` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRunDoc {
    pub schema_version: u32,
    pub dry_run: bool,
    pub app: AppSlug,
    pub version: Version,
    pub build: Build,
    /// The existing release for this version and build, if the token may see it.
    pub existing_release: Option<ExistingRelease>,
    pub artifacts: Vec<DryRunArtifact>,
    pub channel: Option<ChannelName>,
    /// What a real run would do, in order.
    pub actions: Vec<String>,
    /// What is already done and a real run would leave as it is.
    pub done: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExistingRelease {
    pub id: String,
    pub status: ReleaseStatus,
    /// True when its artifacts differ from the manifest's: a real run exits 5.
    pub conflict: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRunArtifact {
    pub platform: Option<PlatformId>,
    pub kind: Option<Kind>,
    pub file_name: Option<FileName>,
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
    /// True when the server lacks the blob.
    pub upload: bool,
    pub findings: Vec<Finding>,
}

// ---- step 1: the manifest and its files ----

/// One artifact of the expanded manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        /// Index in the manifest's `artifacts`.
        entry: usize,
        /// Canonical path, inside the manifest's folder.
        path: PathBuf,
        name: FileName,
    },
    Link {
        entry: usize,
        url: String,
    },
}

/// Reads and validates the manifest; returns it with its folder, canonicalised.
pub fn load_manifest(path: &Path) -> Result<(Manifest, PathBuf), Failure> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| Failure::manifest(format!("cannot read manifest {shown}: {e}")))?;
    if !meta.is_file() {
        return Err(Failure::manifest(format!(
            "manifest {shown} is not a regular file"
        )));
    }
    if meta.len() > MAX_MANIFEST_BYTES as u64 {
        return Err(Failure::manifest(format!(
            "manifest {shown}: {} bytes, more than the {MAX_MANIFEST_BYTES}-byte limit",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::manifest(format!("cannot read manifest {shown}: {e}")))?;
    let manifest = Manifest::from_json(&bytes)
        .map_err(|e| Failure::manifest(format!("manifest {shown}: {e}")))?;
    let canonical = std::fs::canonicalize(path)
        .map_err(|e| Failure::manifest(format!("cannot resolve manifest {shown}: {e}")))?;
    let dir = canonical
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| Failure::manifest(format!("manifest {shown} has no folder")))?;
    Ok((manifest, dir))
}

/// Expands each entry's path (a glob) inside `dir`. Refuses an entry that matches no file,
/// a match that resolves outside `dir` (through `..` or a symlink), and a file two entries
/// match.
pub fn expand(manifest: &Manifest, dir: &Path) -> Result<Vec<Entry>, Failure> {
    let dir_text = dir.to_str().ok_or_else(|| {
        Failure::manifest(format!(
            "the manifest's folder {} is not UTF-8",
            dir.display()
        ))
    })?;
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let mut out = Vec::new();
    let mut seen: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for (n, a) in manifest.artifacts.iter().enumerate() {
        let field = format!("artifacts[{n}].path");
        let Some(rel) = &a.path else {
            if let Some(url) = &a.testflight_url {
                out.push(Entry::Link {
                    entry: n,
                    url: url.clone(),
                });
            }
            continue;
        };
        check_relative_path(rel).map_err(|m| Failure::manifest(format!("{field}: {m}")))?;
        let pattern = format!("{}/{rel}", glob::Pattern::escape(dir_text));
        let paths = glob::glob_with(&pattern, options)
            .map_err(|e| Failure::manifest(format!("{field}: {rel:?} is not a valid glob: {e}")))?;
        let mut matched = 0usize;
        for p in paths {
            let p = p.map_err(|e| Failure::usage(format!("{field}: {e}")))?;
            let canonical = std::fs::canonicalize(&p)
                .map_err(|e| Failure::usage(format!("{field}: {}: {e}", p.display())))?;
            if !canonical.starts_with(dir) {
                return Err(Failure::manifest(format!(
                    "{field}: {} resolves to {}, outside the manifest's folder {}",
                    p.display(),
                    canonical.display(),
                    dir.display()
                )));
            }
            if !canonical.is_file() {
                continue;
            }
            if let Some(first) = seen.insert(canonical.clone(), n) {
                return Err(Failure::manifest(format!(
                    "{field}: {} is also matched by artifacts[{first}].path; list each file once",
                    p.display()
                )));
            }
            let base = p
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = FileName::try_from(base)
                .map_err(|e| Failure::manifest(format!("{field}: {}: {e}", p.display())))?;
            matched += 1;
            out.push(Entry::File {
                entry: n,
                path: canonical,
                name,
            });
        }
        if matched == 0 {
            return Err(Failure::manifest(format!(
                "{field}: {rel:?} matches no file in {}",
                dir.display()
            )));
        }
        if out.len() > 256 {
            return Err(Failure::manifest(
                "the manifest's globs match more than 256 files",
            ));
        }
    }
    Ok(out)
}

// ---- step 2: local checks ----

/// One artifact on its way to the server.
#[derive(Debug, Clone)]
struct Planned {
    /// For files; `None` for a TestFlight link.
    path: Option<PathBuf>,
    spec: ArtifactSpec,
    kind: Option<Kind>,
    /// Local findings: the inspection's, install mode and identity checks.
    findings: Vec<Finding>,
    /// The local inspection, for identity checks.
    inspection: Option<platform::Inspection>,
}

impl Planned {
    fn blocked(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    fn label(&self) -> String {
        match (&self.spec.file_name, &self.spec.testflight_url) {
            (Some(n), _) => n.to_string(),
            (None, Some(u)) => u.clone(),
            _ => "(artifact)".into(),
        }
    }

    fn local_doc(&self) -> ArtifactDoc {
        ArtifactDoc {
            id: None,
            platform: self.spec.platform.clone(),
            kind: self.kind.clone(),
            file_name: self.spec.file_name.clone(),
            sha256: self.spec.sha256,
            size: self.spec.size,
            uploaded: false,
            download_url: None,
            install_url: None,
            findings: self.findings.clone(),
        }
    }
}

fn local_checks(manifest: &Manifest, entries: &[Entry], ui: &Ui) -> Result<Vec<Planned>, Failure> {
    let registry = platform::registry();
    let mut planned = Vec::new();
    for e in entries {
        match e {
            Entry::File { entry, path, name } => {
                let m = &manifest.artifacts[*entry];
                let local = inspect_path(path, name.as_str(), m.platform.as_ref(), m.install)?;
                let (platform, kind, sha, size, findings, inspection) = match local {
                    Local::Inspected(i) => {
                        let sha = i.sha256.as_deref().and_then(|s| s.parse().ok());
                        (
                            Some(i.platform.clone()),
                            Some(i.kind.clone()),
                            sha,
                            i.size,
                            i.findings.clone(),
                            Some(*i),
                        )
                    }
                    Local::Refused {
                        size,
                        sha256,
                        finding,
                        ..
                    } => (
                        m.platform.clone(),
                        None,
                        sha256.and_then(|s| s.parse().ok()),
                        size,
                        vec![finding],
                        None,
                    ),
                };
                ui.note_lead(
                    Tone::Dim,
                    "checked",
                    &format!(
                        "{name}: {} {}, {}",
                        platform.as_ref().map(|p| p.as_str()).unwrap_or("?"),
                        kind.as_ref().map(|k| k.as_str()).unwrap_or("?"),
                        human_size(size)
                    ),
                );
                planned.push(Planned {
                    path: Some(path.clone()),
                    spec: ArtifactSpec {
                        file_name: Some(name.clone()),
                        sha256: sha,
                        size: Some(size),
                        platform,
                        arch: m.arch.clone(),
                        install: m.install,
                        testflight_url: None,
                    },
                    kind,
                    findings,
                    inspection,
                });
            }
            Entry::Link { entry, url } => {
                let m = &manifest.artifacts[*entry];
                let candidates: Vec<_> = match &m.platform {
                    Some(p) => registry
                        .get(p.as_str())
                        .map(|t| vec![t])
                        .unwrap_or_default(),
                    None => registry.targets().to_vec(),
                };
                let mut found = None;
                for t in candidates {
                    if let Some(r) = t.link_artifact(url) {
                        found = Some((t, r));
                        break;
                    }
                }
                let (platform, kind, findings, inspection) = match found {
                    Some((_, Ok(i))) => (
                        Some(i.platform.clone()),
                        Some(i.kind.clone()),
                        i.findings.clone(),
                        Some(i),
                    ),
                    Some((t, Err(msg))) => (
                        PlatformId::try_from(t.id()).ok(),
                        None,
                        vec![Finding::error("link.invalid", msg)],
                        None,
                    ),
                    None => (
                        m.platform.clone(),
                        None,
                        vec![Finding::error(
                            "link.unsupported",
                            format!(
                                "artifacts[{entry}].testflight_url: no linked target takes this link{}",
                                m.platform
                                    .as_ref()
                                    .map(|p| format!(" for platform {p}"))
                                    .unwrap_or_default()
                            ),
                        )],
                        None,
                    ),
                };
                planned.push(Planned {
                    path: None,
                    spec: ArtifactSpec {
                        file_name: None,
                        sha256: None,
                        size: None,
                        platform,
                        arch: m.arch.clone(),
                        install: m.install,
                        testflight_url: Some(url.clone()),
                    },
                    kind,
                    findings,
                    inspection,
                });
            }
        }
    }
    Ok(planned)
}

/// The finding for a file whose declared version or build differs from the release's.
pub const VERSION_MISMATCH: &str = "release.version_mismatch";

/// Issue 12, item 6: an IPA 1.2.3 (5) in release 2.1.0 (10) is worth a word. A warning
/// (printed here, once) unless `strict`, then an error that stops the job before any upload.
fn check_versions(manifest: &Manifest, planned: &mut [Planned], strict: bool, ui: &Ui) {
    for p in planned.iter_mut() {
        let Some(i) = &p.inspection else { continue };
        let differs = |declared: Option<&str>, ours: &str| declared.is_some_and(|d| d != ours);
        if !differs(i.version.as_deref(), manifest.version.as_str())
            && !differs(i.build.as_deref(), manifest.build.as_str())
        {
            continue;
        }
        let message = format!(
            "{}: the file declares version {} ({}), the release is {} ({}); set \"version\" and \"build\" in dist.json to what the build wrote",
            p.label(),
            i.version.as_deref().unwrap_or("?"),
            i.build.as_deref().unwrap_or("?"),
            manifest.version,
            manifest.build
        );
        let f = if strict {
            Finding::error(VERSION_MISMATCH, message)
        } else {
            ui.warn(&format!("{VERSION_MISMATCH} {message}"));
            Finding::warning(VERSION_MISMATCH, message)
        };
        p.findings.push(f);
    }
}

/// Runs the app's identity rules on every local inspection.
fn check_identity(app: &App, planned: &mut [Planned]) {
    let registry = platform::registry();
    for p in planned.iter_mut() {
        let Some(i) = &p.inspection else { continue };
        let Some(rules) = app.identity.get(&i.platform) else {
            continue;
        };
        if rules.is_empty() {
            continue;
        }
        if let Ok(t) = registry.get(i.platform.as_str()) {
            for f in t.check_identity(i, rules) {
                if !p.findings.contains(&f) {
                    p.findings.push(f);
                }
            }
        }
    }
}

fn blocking_findings(planned: &[Planned]) -> Vec<Finding> {
    planned
        .iter()
        .flat_map(|p| p.findings.iter())
        .filter(|f| f.severity == Severity::Error)
        .cloned()
        .collect()
}

// ---- the whole job ----

async fn publish(args: PublishArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let ui = ctx.ui;
    // Server and token first: a job without them stops before reading a single file.
    let api = ctx.api()?;
    api.require_token()?;
    let (manifest, dir) = load_manifest(&args.manifest)?;
    let entries = expand(&manifest, &dir)?;
    let mut planned = local_checks(&manifest, &entries, &ui)?;
    check_versions(&manifest, &mut planned, args.strict_versions, &ui);
    let channel = args.channel.clone().or_else(|| manifest.channel.clone());
    let app_slug = manifest.app.clone();

    let stop_local = |planned: &[Planned], why: &str| -> anyhow::Error {
        let findings = blocking_findings(planned);
        for f in &findings {
            ui.error(&format!("{} {}", f.code, f.message));
        }
        let failure = Failure::validation(format!("{why}; nothing was uploaded"), findings);
        let doc = PublishDoc {
            schema_version: SCHEMA_VERSION,
            app: app_slug.clone(),
            release: None,
            artifacts: planned.iter().map(Planned::local_doc).collect(),
            channel: None,
            error: Some(ErrorDoc::of(&failure)),
        };
        print_doc(&doc);
        failure.with_printed().into()
    };

    if planned.iter().any(Planned::blocked) {
        return Err(stop_local(&planned, "local inspection found errors"));
    }

    let mut app_exists = true;
    match api.get::<App>(&["apps", app_slug.as_str()]).await {
        Ok(app) => {
            check_identity(&app, &mut planned);
            if planned.iter().any(Planned::blocked) {
                return Err(stop_local(&planned, "the app's identity rules refuse a file"));
            }
        }
        Err(ApiError::Status { status: 403, .. }) => ui.warn(
            "this token may not read the app, so its identity rules were not checked locally; the server checks them when publishing",
        ),
        // A dry run writes nothing: the app it would create is one of its actions.
        Err(ApiError::Status { status: 404, .. }) if args.dry_run => app_exists = false,
        Err(ApiError::Status { status: 404, .. }) => create_app(&api, &ui, &manifest).await?,
        Err(e) => return Err(e.into()),
    }

    let create = ReleaseCreate {
        version: manifest.version.clone(),
        build: manifest.build.clone(),
        notes: manifest.notes.clone(),
        source: manifest.source.clone(),
        artifacts: planned.iter().map(|p| p.spec.clone()).collect(),
    };

    if args.dry_run {
        return dry_run(
            &api,
            ctx,
            &manifest,
            &planned,
            channel,
            app_exists,
            args.allow_downgrade,
        )
        .await;
    }

    // Step 3: the draft, then the blobs it lacks.
    let created: ReleaseCreated = match api
        .post(
            &["apps", app_slug.as_str(), "releases"],
            Some(&create),
            Retry::Idempotent,
        )
        .await
    {
        Ok((_, c)) => c,
        Err(e @ ApiError::Status { status: 409, .. }) => {
            let mut f = Failure::from(e);
            f.message = format!(
                "release {} ({}) of {app_slug} already exists with different artifacts: {}; publish a new build number",
                manifest.version, manifest.build, f.message
            );
            return Err(f.into());
        }
        Err(e) => return Err(e.into()),
    };
    let mut release = created.release;
    let release_created = created.created;
    ui.note(&format!(
        "{} release {} {} ({}) {}",
        if release_created { "created" } else { "found" },
        app_slug,
        release.version,
        release.build,
        release.id
    ));
    if release.status == ReleaseStatus::Revoked {
        return Err(Failure::new(
            Exit::Conflict,
            "conflict",
            format!(
                "release {} ({}) of {app_slug} is revoked ({}); publish a new build number",
                release.version,
                release.build,
                release
                    .revoke_reason
                    .as_deref()
                    .unwrap_or("no reason given")
            ),
        )
        .into());
    }
    // Match the server's artifacts to ours before any upload, so a server that answers with
    // another list stops the job early.
    for p in &planned {
        find_artifact(&release, &p.spec)?;
    }

    let mut uploaded: BTreeMap<Sha256, bool> = BTreeMap::new();
    for p in &planned {
        let (Some(path), Some(sha), Some(size)) = (&p.path, p.spec.sha256, p.spec.size) else {
            continue;
        };
        if uploaded.contains_key(&sha) {
            continue;
        }
        let did = match api.blob_head(app_slug.as_str(), &sha).await? {
            BlobState::Present => false,
            BlobState::Missing { offset } => {
                let file = Upload {
                    app: app_slug.as_str(),
                    path,
                    label: &p.label(),
                    sha: &sha,
                    size,
                };
                match upload_checked(&api, &ui, &file, offset).await {
                    Ok(did) => did,
                    Err(f) => {
                        if f.code == "file_changed" && release_created {
                            // The draft names a digest no file has any more; a re-run would
                            // conflict with it, so remove it.
                            match api.delete(&["releases", &release.id]).await {
                                Ok(()) => ui.note(&format!("deleted the draft {}", release.id)),
                                Err(e) => ui.warn(&format!(
                                    "could not delete the draft {}: {e}",
                                    release.id
                                )),
                            }
                        }
                        return Err(f.into());
                    }
                }
            }
        };
        uploaded.insert(sha, did);
    }

    // Step 4: attach, publish, promote.
    for p in &planned {
        let art = find_artifact(&release, &p.spec)?;
        if art.attached {
            continue;
        }
        let id = art.id.clone();
        match api
            .post::<(), Artifact>(&["artifacts", &id, "attach"], None, Retry::Idempotent)
            .await
        {
            Ok((_, a)) => {
                if let Some(slot) = release.artifacts.iter_mut().find(|x| x.id == id) {
                    *slot = a;
                }
            }
            Err(e) => {
                let f = Failure::from(e);
                let doc = build_doc(
                    &app_slug,
                    &release,
                    release_created,
                    &planned,
                    &uploaded,
                    None,
                    Some(&f),
                );
                print_doc(&doc);
                return Err(f.with_printed().into());
            }
        }
    }

    if release.status == ReleaseStatus::Draft {
        match api
            .post::<(), PublishResult>(
                &["releases", &release.id, "publish"],
                None,
                Retry::Idempotent,
            )
            .await
        {
            Ok((_, r)) => {
                release = r.release;
                ui.note_lead(Tone::Green, "published", &release.id);
            }
            Err(e) => {
                let mut f = Failure::from(e);
                if f.exit == Exit::Validation {
                    // Each finding is printed once, here; the server's summary of them is not
                    // repeated after them.
                    for finding in &f.findings {
                        ui.error(&format!("{} {}", finding.code, finding.message));
                    }
                    f.message = if f.findings.is_empty() {
                        format!(
                            "publishing {} was refused: {}; the release stays a draft",
                            release.id, f.message
                        )
                    } else {
                        format!(
                            "the server refused to publish {} for the finding(s) above; it stays a draft: fix them and publish a new build, or remove it with `dist release delete-draft {}`",
                            release.id, release.id
                        )
                    };
                }
                let doc = build_doc(
                    &app_slug,
                    &release,
                    release_created,
                    &planned,
                    &uploaded,
                    None,
                    Some(&f),
                );
                print_doc(&doc);
                return Err(f.with_printed().into());
            }
        }
    } else {
        ui.note(&format!("{} is already published", release.id));
    }

    let mut channel_doc = None;
    if let Some(ch) = &channel {
        match promote(&api, &app_slug, ch, &release.id, args.allow_downgrade, &ui).await {
            Ok((c, moved)) => {
                if moved {
                    ui.note_lead(
                        Tone::Green,
                        "promoted",
                        &format!(
                            "{ch}: {} -> {}",
                            c.previous_release_id.as_deref().unwrap_or("(none)"),
                            c.release_id
                        ),
                    );
                } else {
                    ui.note(&format!("{ch} already points at {}", c.release_id));
                }
                channel_doc = Some(c);
            }
            Err(e) => {
                let mut f = Failure::from(e);
                f.message = format!(
                    "release {} is published, but promoting it to {ch} failed: {}",
                    release.id, f.message
                );
                let doc = build_doc(
                    &app_slug,
                    &release,
                    release_created,
                    &planned,
                    &uploaded,
                    None,
                    Some(&f),
                );
                print_doc(&doc);
                return Err(f.with_printed().into());
            }
        }
    }

    let doc = build_doc(
        &app_slug,
        &release,
        release_created,
        &planned,
        &uploaded,
        channel_doc,
        None,
    );
    summary(&ui, &doc);
    print_doc(&doc);
    Ok(())
}

fn print_doc<T: Serialize>(doc: &T) {
    if let Err(e) = ui::print_json(doc) {
        ui::note_line(&format!("cannot print the JSON document: {e}"));
    }
}

fn summary(ui: &Ui, doc: &PublishDoc) {
    let Some(r) = &doc.release else { return };
    ui.note_lead(
        Tone::Bold,
        doc.app.as_str(),
        &format!("{} ({}) {} {}", r.version, r.build, r.id, r.url),
    );
    for a in &doc.artifacts {
        ui.note(&format!(
            "  {:<8} {:<10} {:<32} {:>10}  {}",
            a.platform.as_ref().map(|p| p.as_str()).unwrap_or("-"),
            a.kind.as_ref().map(|k| k.as_str()).unwrap_or("-"),
            a.file_name.as_ref().map(|f| f.as_str()).unwrap_or("(link)"),
            a.size.map(human_size).unwrap_or_default(),
            match (a.uploaded, &a.file_name) {
                (_, None) => "link",
                (true, _) => "uploaded",
                (false, _) => "already on the server",
            }
        ));
    }
}

/// The server's artifact for one of ours: same digest and file name, or same link.
fn find_artifact<'a>(release: &'a Release, spec: &ArtifactSpec) -> Result<&'a Artifact, Failure> {
    release
        .artifacts
        .iter()
        .find(|a| match (&spec.sha256, &spec.testflight_url) {
            (Some(sha), _) => a.sha256.as_ref() == Some(sha) && a.file_name == spec.file_name,
            (None, Some(url)) => a.testflight_url.as_ref() == Some(url),
            _ => false,
        })
        .ok_or_else(|| {
            Failure::new(
                Exit::Server,
                "protocol",
                format!(
                    "the server's release {} has no artifact for {}",
                    release.id,
                    spec.file_name
                        .as_ref()
                        .map(|f| f.to_string())
                        .or_else(|| spec.testflight_url.clone())
                        .unwrap_or_default()
                ),
            )
        })
}

/// The publish document from the server's view of the release, in manifest order.
fn build_doc(
    app: &AppSlug,
    release: &Release,
    created: bool,
    planned: &[Planned],
    uploaded: &BTreeMap<Sha256, bool>,
    channel: Option<ChannelDoc>,
    failure: Option<&Failure>,
) -> PublishDoc {
    let artifacts = planned
        .iter()
        .map(|p| match find_artifact(release, &p.spec) {
            Ok(a) => {
                let mut findings = a
                    .inspection
                    .as_ref()
                    .map(|i| i.findings.clone())
                    .unwrap_or_else(|| p.findings.clone());
                // The server does not compare versions; keep the local finding.
                for f in p.findings.iter().filter(|f| f.code == VERSION_MISMATCH) {
                    if !findings.contains(f) {
                        findings.push(f.clone());
                    }
                }
                // Findings that blocked a publish (identity rules, say) name their file.
                if let (Some(f), Some(name)) = (failure, &a.file_name) {
                    let prefix = format!("{name}: ");
                    for x in &f.findings {
                        if x.message.starts_with(&prefix) && !findings.contains(x) {
                            findings.push(x.clone());
                        }
                    }
                }
                ArtifactDoc {
                    id: Some(a.id.clone()),
                    platform: a.platform.clone().or_else(|| p.spec.platform.clone()),
                    kind: a.kind.clone().or_else(|| p.kind.clone()),
                    file_name: a.file_name.clone(),
                    sha256: a.sha256,
                    size: a.size,
                    uploaded: a
                        .sha256
                        .and_then(|s| uploaded.get(&s).copied())
                        .unwrap_or(false),
                    download_url: a.download_url.clone(),
                    install_url: a.install_url.clone(),
                    findings,
                }
            }
            Err(_) => p.local_doc(),
        })
        .collect();
    PublishDoc {
        schema_version: SCHEMA_VERSION,
        app: app.clone(),
        release: Some(ReleaseDoc {
            id: release.id.clone(),
            version: release.version.clone(),
            build: release.build.clone(),
            status: release.status,
            created,
            url: release.url.clone(),
        }),
        artifacts,
        channel,
        error: failure.map(ErrorDoc::of),
    }
}

/// Uploads one blob; on a digest or size mismatch re-hashes the file: if it changed, fails
/// saying so; if not, retries once, then fails.
/// Creates the manifest's app, which does not exist yet: allowed to a token with the create-app
/// scope for that app (or an admin token without limits). Another job creating it first is fine.
async fn create_app(api: &Api, ui: &Ui, manifest: &Manifest) -> Result<(), Failure> {
    let slug = &manifest.app;
    let body = AppCreate {
        slug: slug.clone(),
        name: manifest
            .app_name
            .clone()
            .unwrap_or_else(|| slug.to_string()),
        platforms: Vec::new(),
        identity: IdentityRules::new(),
    };
    match api
        .post::<_, App>(&["apps"], Some(&body), Retry::ConnectOnly)
        .await
    {
        Ok(_) => {
            ui.note(&format!("created app {slug}"));
            Ok(())
        }
        Err(ApiError::Status { status: 409, .. }) => Ok(()),
        Err(ApiError::Status { status: 403, .. }) => Err(Failure::usage(format!(
            "app {slug} does not exist on {} and this token may not create it; an admin creates it with `dist app create {slug} --name NAME`, or gives CI a token with the create-app scope for {slug}",
            api.base()
        ))),
        Err(e) => Err(e.into()),
    }
}

/// One file to upload, for the app that will own the blob.
struct Upload<'a> {
    app: &'a str,
    path: &'a Path,
    label: &'a str,
    sha: &'a Sha256,
    size: u64,
}

async fn upload_checked(
    api: &Api,
    ui: &Ui,
    file: &Upload<'_>,
    offset: u64,
) -> Result<bool, Failure> {
    let &Upload {
        app,
        path,
        label,
        sha,
        size,
    } = file;
    let is_mismatch = |e: &ApiError| {
        matches!(
            e.code(),
            Some(ErrorCode::DigestMismatch | ErrorCode::SizeMismatch)
        )
    };
    let bar = ui.bar(size, label);
    let first = api.blob_put(app, path, sha, size, offset, &bar).await;
    let err = match first {
        Ok(o) => {
            bar.finish_and_clear();
            return Ok(o.created);
        }
        Err(e) if is_mismatch(&e) => e,
        Err(e) => {
            bar.abandon();
            return Err(e.into());
        }
    };
    let changed = |now: &str| {
        Failure::new(
            Exit::Server,
            "file_changed",
            format!(
                "{label} changed while it was uploaded (sha256 was {sha}, {now}); nothing was published"
            ),
        )
    };
    ui.warn(&format!(
        "{label}: the server refused the bytes it received ({err}); hashing the file again"
    ));
    let (now, now_size) = hash_file(path)?;
    if now != *sha || now_size != size {
        bar.abandon();
        return Err(changed(&format!("now {now}, {now_size} bytes")));
    }
    ui.note(&format!(
        "{label}: unchanged on disk; retrying the upload once"
    ));
    let offset = match api.blob_head(app, sha).await? {
        BlobState::Present => {
            bar.finish_and_clear();
            return Ok(true);
        }
        BlobState::Missing { offset } => offset,
    };
    match api.blob_put(app, path, sha, size, offset, &bar).await {
        Ok(o) => {
            bar.finish_and_clear();
            Ok(o.created)
        }
        Err(e) if is_mismatch(&e) => {
            bar.abandon();
            Err(Failure::new(
                Exit::Server,
                "digest_mismatch",
                format!(
                    "{label}: the server twice received bytes that do not hash to {sha} ({e}); the file changed while it was uploaded or the transfer damages data; nothing was published"
                ),
            ))
        }
        Err(e) => {
            bar.abandon();
            Err(e.into())
        }
    }
}

fn hash_file(path: &Path) -> Result<(Sha256, u64), Failure> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| Failure::usage(format!("{}: cannot read: {e}", path.display())))?;
    Sha256::of_reader(&mut f)
        .map_err(|e| Failure::usage(format!("{}: cannot read: {e}", path.display())))
}

/// Points `channel` at `release_id`; the flag says whether it moved. When it already points
/// there (a re-run), reports the move that put it there, from the channel's history, so the
/// JSON is the same.
async fn promote(
    api: &Api,
    app: &AppSlug,
    channel: &ChannelName,
    release_id: &str,
    allow_downgrade: bool,
    ui: &Ui,
) -> Result<(ChannelDoc, bool), ApiError> {
    match api
        .get::<Channel>(&["apps", app.as_str(), "channels", channel.as_str()])
        .await
    {
        Ok(c) if c.release_id.as_deref() == Some(release_id) => {
            let history: Result<ChannelHistory, _> = api
                .get(&[
                    "apps",
                    app.as_str(),
                    "channels",
                    channel.as_str(),
                    "history",
                ])
                .await;
            let previous = history.ok().and_then(|h| {
                h.history
                    .iter()
                    .filter(|e| e.to_release_id.as_deref() == Some(release_id))
                    .max_by_key(|e| e.seq)
                    .and_then(|e| e.from_release_id.clone())
            });
            return Ok((
                ChannelDoc {
                    name: channel.clone(),
                    release_id: release_id.to_owned(),
                    previous_release_id: previous,
                },
                false,
            ));
        }
        Ok(c) => {
            // Before moving the channel, say what changes for the people on it.
            if let Some(cur) = c.release_id.as_deref()
                && let Ok(d) = api
                    .get::<ReleaseDiff>(&["releases", cur, "diff", release_id])
                    .await
            {
                let lines: Vec<String> = d.platforms.iter().flat_map(describe).collect();
                if !lines.is_empty() {
                    ui.note(&format!("changes from {cur} (now on {channel}):"));
                    for l in &lines {
                        ui.note(&format!("  {l}"));
                    }
                }
            }
        }
        // A new channel, or a token that may promote but not read: just promote.
        Err(ApiError::Status {
            status: 404 | 403, ..
        }) => {}
        Err(e) => return Err(e),
    }
    let (_, moved): (_, ChannelMove) = api
        .post(
            &[
                "apps",
                app.as_str(),
                "channels",
                channel.as_str(),
                "promote",
            ],
            Some(&PromoteRequest {
                release_id: release_id.to_owned(),
                allow_downgrade,
            }),
            Retry::ConnectOnly,
        )
        .await?;
    Ok((
        ChannelDoc {
            name: channel.clone(),
            release_id: moved
                .channel
                .release_id
                .unwrap_or_else(|| release_id.to_owned()),
            previous_release_id: moved.previous_release_id,
        },
        true,
    ))
}

async fn dry_run(
    api: &Api,
    ctx: &Ctx,
    manifest: &Manifest,
    planned: &[Planned],
    channel: Option<ChannelName>,
    app_exists: bool,
    allow_downgrade: bool,
) -> anyhow::Result<()> {
    let ui = ctx.ui;
    let app = manifest.app.as_str();
    let mut actions = Vec::new();
    let mut done = Vec::new();
    if !app_exists {
        actions.push(format!("create app {app}"));
    }
    let releases: Vec<Release> = match api.get::<ReleaseList>(&["apps", app, "releases"]).await {
        Ok(list) => list.releases,
        Err(ApiError::Status { status: 403, .. }) => {
            ui.warn("this token may not list releases; cannot tell whether the release exists");
            Vec::new()
        }
        Err(ApiError::Status { status: 404, .. }) if !app_exists => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let created_of = |id: &str| {
        releases
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| ui::time_key(&r.created_at))
    };
    let existing = releases
        .iter()
        .find(|r| r.version == manifest.version && r.build == manifest.build)
        .cloned();
    let existing = existing.map(|r| {
        let mut theirs: Vec<String> = r
            .artifacts
            .iter()
            .map(|a| {
                a.sha256
                    .map(|s| s.hex())
                    .or_else(|| a.testflight_url.clone())
                    .unwrap_or_default()
            })
            .collect();
        let mut ours: Vec<String> = planned
            .iter()
            .map(|p| {
                p.spec
                    .sha256
                    .map(|s| s.hex())
                    .or_else(|| p.spec.testflight_url.clone())
                    .unwrap_or_default()
            })
            .collect();
        theirs.sort();
        ours.sort();
        ExistingRelease {
            id: r.id,
            status: r.status,
            conflict: theirs != ours,
        }
    });
    match &existing {
        None => actions.push(format!(
            "create draft release {} ({})",
            manifest.version, manifest.build
        )),
        Some(e) if e.conflict => actions.push(format!(
            "stop: release {} exists with different artifacts (exit 5)",
            e.id
        )),
        Some(e) => done.push(format!("release {} exists with these artifacts", e.id)),
    }
    let mut arts = Vec::new();
    let mut asked: BTreeMap<Sha256, bool> = BTreeMap::new();
    for p in planned {
        let upload = match p.spec.sha256 {
            Some(sha) => match asked.get(&sha) {
                Some(_) => false,
                None => {
                    let missing = !app_exists
                        || matches!(api.blob_head(app, &sha).await?, BlobState::Missing { .. });
                    asked.insert(sha, missing);
                    let what = format!("{} ({})", p.label(), human_size(p.spec.size.unwrap_or(0)));
                    if missing {
                        actions.push(format!("upload {what}"));
                    } else {
                        done.push(format!("{what} is on the server"));
                    }
                    missing
                }
            },
            None => false,
        };
        arts.push(DryRunArtifact {
            platform: p.spec.platform.clone(),
            kind: p.kind.clone(),
            file_name: p.spec.file_name.clone(),
            sha256: p.spec.sha256,
            size: p.spec.size,
            upload,
            findings: p.findings.clone(),
        });
    }
    let conflict = existing.as_ref().is_some_and(|e| e.conflict);
    let mut stale: Option<String> = None;
    if !conflict {
        match &existing {
            Some(e) if e.status == ReleaseStatus::Published => {
                done.push(format!("release {} is published", e.id));
            }
            Some(e) if e.status == ReleaseStatus::Revoked => actions.push(format!(
                "stop: release {} is revoked (exit 5); publish a new build number",
                e.id
            )),
            _ => actions.push("attach the artifacts and publish".into()),
        }
        if let Some(ch) = &channel {
            let now = if app_exists {
                match api
                    .get::<Channel>(&["apps", app, "channels", ch.as_str()])
                    .await
                {
                    Ok(c) => c.release_id,
                    // A new channel, or a token that may promote but not read it.
                    Err(ApiError::Status {
                        status: 404 | 403, ..
                    }) => None,
                    Err(e) => return Err(e.into()),
                }
            } else {
                None
            };
            match (&existing, now) {
                (Some(e), Some(now)) if e.id == now => {
                    done.push(format!("{ch} points at {now}"));
                }
                // The server refuses to move a channel to an older release (item 5).
                (Some(e), Some(now))
                    if !allow_downgrade
                        && matches!(
                            (created_of(&e.id), created_of(&now)),
                            (Some(a), Some(b)) if a < b
                        ) =>
                {
                    stale = Some(format!(
                        "{ch} points at {now}, created after release {}; a real run would exit 5 (--allow-downgrade moves it back)",
                        e.id
                    ));
                    actions.push(format!(
                        "stop: {ch} points at {now}, created after {} (exit 5; --allow-downgrade moves it back)",
                        e.id
                    ));
                }
                (_, Some(now)) => actions.push(format!("promote {ch} (now at {now})")),
                (_, None) => actions.push(format!("promote {ch}")),
            }
        }
    }
    for a in &done {
        ui.note(&format!("already done: {a}"));
    }
    for a in &actions {
        ui.note(&format!("would {a}"));
    }
    if actions.is_empty() {
        ui.note("nothing to do: this job has already run");
    }
    let doc = DryRunDoc {
        schema_version: SCHEMA_VERSION,
        dry_run: true,
        app: manifest.app.clone(),
        version: manifest.version.clone(),
        build: manifest.build.clone(),
        existing_release: existing,
        artifacts: arts,
        channel,
        actions,
        done,
    };
    print_doc(&doc);
    if let Some(why) = stale {
        return Err(Failure::new(Exit::Conflict, "conflict", why)
            .with_printed()
            .into());
    }
    if conflict {
        return Err(Failure::new(
            Exit::Conflict,
            "conflict",
            format!(
                "release {} ({}) of {} already exists with different artifacts",
                manifest.version, manifest.build, manifest.app
            ),
        )
        .with_printed()
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(artifacts: &str) -> Manifest {
        Manifest::from_json(
            format!(
                r#"{{"schema_version":1,"app":"acme","version":"1.0.0","build":"7","artifacts":{artifacts}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(t.path()).unwrap().join("job");
        std::fs::create_dir_all(dir.join("out/sub")).unwrap();
        for f in [
            "out/b.apk",
            "out/a.apk",
            "out/app.ipa",
            "out/sub/c.apk",
            "out/.hidden.apk",
        ] {
            std::fs::write(dir.join(f), f).unwrap();
        }
        std::fs::write(t.path().join("secret.apk"), "outside").unwrap();
        (t, dir)
    }

    fn names(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Entry::File { entry, name, .. } => format!("{entry}:{name}"),
                Entry::Link { entry, url } => format!("{entry}:{url}"),
            })
            .collect()
    }

    #[test]
    fn globs_expand_sorted_inside_the_manifest_folder() {
        let (_t, dir) = tree();
        let m = manifest(
            r#"[{"path":"out/*.apk"},{"path":"out/app.ipa"},{"platform":"ios","testflight_url":"https://testflight.apple.com/join/ABCDEFGH"}]"#,
        );
        let e = expand(&m, &dir).unwrap();
        // `*` does not cross folders and does not match dot files.
        assert_eq!(
            names(&e),
            [
                "0:a.apk",
                "0:b.apk",
                "1:app.ipa",
                "2:https://testflight.apple.com/join/ABCDEFGH"
            ]
        );
        match &e[0] {
            Entry::File { path, .. } => assert_eq!(path, &dir.join("out/a.apk")),
            other => panic!("{other:?}"),
        }
        let e = expand(&manifest(r#"[{"path":"out/**/*.apk"}]"#), &dir).unwrap();
        assert_eq!(names(&e), ["0:a.apk", "0:b.apk", "0:c.apk"]);
    }

    #[test]
    fn empty_glob_is_refused_naming_the_entry() {
        let (_t, dir) = tree();
        let f = expand(
            &manifest(r#"[{"path":"out/a.apk"},{"path":"out/*.deb"}]"#),
            &dir,
        )
        .unwrap_err();
        assert_eq!(f.exit, Exit::Usage);
        assert_eq!(f.code, "invalid_manifest");
        assert!(
            f.message
                .starts_with("artifacts[1].path: \"out/*.deb\" matches no file"),
            "{f}"
        );
        let f = expand(&manifest(r#"[{"path":"missing.apk"}]"#), &dir).unwrap_err();
        assert!(f.message.contains("artifacts[0].path"), "{f}");
    }

    #[test]
    fn escaping_paths_are_refused() {
        let (_t, dir) = tree();
        // `..` that climbs out is refused by the manifest itself.
        let bad = Manifest::from_json(
            br#"{"schema_version":1,"app":"acme","version":"1","build":"1","artifacts":[{"path":"../secret.apk"}]}"#,
        );
        assert!(bad.is_err());
        // A symlink inside the folder that points outside it.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                dir.parent().unwrap().join("secret.apk"),
                dir.join("out/link.apk"),
            )
            .unwrap();
            let f = expand(&manifest(r#"[{"path":"out/link.apk"}]"#), &dir).unwrap_err();
            assert_eq!(f.exit, Exit::Usage);
            assert!(f.message.contains("outside the manifest's folder"), "{f}");
            let f = expand(&manifest(r#"[{"path":"out/*.apk"}]"#), &dir).unwrap_err();
            assert!(f.message.contains("outside the manifest's folder"), "{f}");
        }
    }

    #[test]
    fn a_file_matched_twice_is_refused() {
        let (_t, dir) = tree();
        let f = expand(
            &manifest(r#"[{"path":"out/*.apk"},{"path":"out/a.apk"}]"#),
            &dir,
        )
        .unwrap_err();
        assert!(
            f.message.contains("also matched by artifacts[0].path"),
            "{f}"
        );
    }

    #[test]
    fn manifest_loading_errors_are_exit_2_and_clear() {
        let t = tempfile::tempdir().unwrap();
        let missing = load_manifest(&t.path().join("dist.json")).unwrap_err();
        assert_eq!(
            (missing.exit, missing.code.as_str()),
            (Exit::Usage, "invalid_manifest")
        );
        assert!(
            missing.message.contains("cannot read manifest"),
            "{missing}"
        );
        let p = t.path().join("bad.json");
        std::fs::write(&p, "{not json").unwrap();
        let f = load_manifest(&p).unwrap_err();
        assert!(f.message.contains("not valid JSON"), "{f}");
        std::fs::write(
            &p,
            r#"{"schema_version":2,"app":"acme","version":"1","build":"1","artifacts":[]}"#,
        )
        .unwrap();
        let f = load_manifest(&p).unwrap_err();
        assert!(f.message.contains("schema_version"), "{f}");
        assert!(f.message.contains("reads schema_version 1"), "{f}");
    }

    #[test]
    fn publish_document_has_the_contract_fields() {
        let doc = PublishDoc {
            schema_version: 1,
            app: "acme".parse().unwrap(),
            release: Some(ReleaseDoc {
                id: "rel_1".into(),
                version: "1.4.0".parse().unwrap(),
                build: "1234".parse().unwrap(),
                status: ReleaseStatus::Published,
                created: true,
                url: "https://d.example/api/v1/releases/rel_1".into(),
            }),
            artifacts: vec![ArtifactDoc {
                id: Some("art_1".into()),
                platform: Some("android".parse().unwrap()),
                kind: Some("apk".parse().unwrap()),
                file_name: Some("app.apk".parse().unwrap()),
                sha256: Some(Sha256::digest(b"x")),
                size: Some(123),
                uploaded: true,
                download_url: Some("https://d.example/api/v1/artifacts/art_1/download".into()),
                install_url: None,
                findings: vec![Finding::warning("android.x", "m")],
            }],
            channel: Some(ChannelDoc {
                name: "beta".parse().unwrap(),
                release_id: "rel_1".into(),
                previous_release_id: None,
            }),
            error: None,
        };
        let v = serde_json::to_value(&doc).unwrap();
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(&v),
            ["app", "artifacts", "channel", "release", "schema_version"]
        );
        assert_eq!(
            keys(&v["release"]),
            ["build", "created", "id", "status", "url", "version"]
        );
        assert_eq!(
            keys(&v["artifacts"][0]),
            [
                "download_url",
                "file_name",
                "findings",
                "id",
                "install_url",
                "kind",
                "platform",
                "sha256",
                "size",
                "uploaded"
            ]
        );
        assert_eq!(
            keys(&v["channel"]),
            ["name", "previous_release_id", "release_id"]
        );
        assert_eq!(v["release"]["status"], "published");
        assert_eq!(v["artifacts"][0]["sha256"], Sha256::digest(b"x").hex());
        assert!(v["artifacts"][0]["install_url"].is_null());
        assert!(v["channel"]["previous_release_id"].is_null());
        let back: PublishDoc = serde_json::from_value(v).unwrap();
        assert_eq!(back, doc);

        let mut blocked = doc;
        blocked.channel = None;
        blocked.error = Some(ErrorDoc {
            code: "forbidden".into(),
            message: "no".into(),
            findings: vec![],
        });
        let v = serde_json::to_value(&blocked).unwrap();
        assert!(v["channel"].is_null());
        assert_eq!(v["error"]["code"], "forbidden");
    }
}
