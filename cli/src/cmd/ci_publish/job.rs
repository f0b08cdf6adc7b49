//! One run of `dist ci publish`: what it read, what it has done so far, and its one failure
//! path. Every step after the local checks is a method; any failure goes through
//! [`Job::fail`], which prints the publish JSON as far as the job got (with an `error` object)
//! and marks the failure printed.

use std::collections::BTreeMap;

use platform::api::{
    App, AppCreate, Artifact, PublishResult, Release, ReleaseCreate, ReleaseCreated, ReleaseStatus,
};
use platform::manifest::Manifest;
use platform::versions::{MismatchPolicy, VERSION_MISMATCH};
use platform::{ChannelName, IdentityRules, SCHEMA_VERSION, Sha256};

use super::doc::{ArtifactDoc, ChannelDoc, ErrorDoc, PublishDoc, ReleaseDoc};
use super::plan::{Planned, blocking_findings, check_identity, check_versions, find_artifact};
use super::promote::promote;
use super::upload::{Upload, upload_checked};
use crate::client::{Api, ApiError, BlobState, Retry};
use crate::exit::{Exit, Failure};
use crate::ui::{Tone, Ui};

/// Whether the server has the manifest's app, as far as this token can tell.
pub(super) enum AppState {
    /// Found and read: its identity rules and version policy were applied locally.
    Read,
    /// It exists (or may) but this token may not read it: the server checks at publish.
    Unreadable,
    /// It does not exist (a dry run reports that it would create it).
    Missing,
}

pub(super) struct Job<'a> {
    pub(super) api: &'a Api,
    pub(super) ui: Ui,
    pub(super) manifest: Manifest,
    pub(super) planned: Vec<Planned>,
    pub(super) channel: Option<ChannelName>,
    /// `--strict-versions`: a version mismatch is an error whatever the app says.
    strict_versions: bool,
    /// The server's view of the release, once it answered.
    release: Option<Release>,
    /// False when the release already existed (a re-run).
    created: bool,
    /// Per digest: whether this run uploaded it (false: the server had it).
    uploaded: BTreeMap<Sha256, bool>,
}

impl<'a> Job<'a> {
    pub(super) fn new(
        api: &'a Api,
        ui: Ui,
        manifest: Manifest,
        planned: Vec<Planned>,
        channel: Option<ChannelName>,
        strict_versions: bool,
    ) -> Self {
        Self {
            api,
            ui,
            manifest,
            planned,
            channel,
            strict_versions,
            release: None,
            created: false,
            uploaded: BTreeMap::new(),
        }
    }

    // ---- the one failure path ----

    /// Prints the document as far as the job got, with `failure` in its `error`, and returns
    /// the failure marked printed (main prints only its message on stderr).
    pub(super) fn fail(&self, failure: impl Into<Failure>) -> anyhow::Error {
        let failure = failure.into();
        super::doc::print_doc(&self.doc(None, Some(&failure)));
        failure.with_printed().into()
    }

    /// Stops before any upload: prints each blocking finding once, then fails.
    pub(super) fn stop_local(&self, why: &str) -> anyhow::Error {
        let findings = blocking_findings(&self.planned);
        for f in &findings {
            self.ui.error(&format!("{} {}", f.code, f.message));
        }
        self.fail(Failure::validation(
            format!("{why}; nothing was uploaded"),
            findings,
        ))
    }

    // ---- step 2 (server side): the app ----

    /// Reads the app and applies its identity rules and version policy locally; creates the
    /// app when it is missing and `create` is set (a dry run only reports it).
    pub(super) async fn check_app(&mut self, create: bool) -> anyhow::Result<AppState> {
        let slug = self.manifest.app.clone();
        let (state, policy) = match self.api.get::<App>(&["apps", slug.as_str()]).await {
            Ok(app) => {
                check_identity(&app, &mut self.planned);
                (AppState::Read, app.version_mismatch)
            }
            Err(ApiError::Status { status: 403, .. }) => {
                self.ui.warn(
                    "this token may not read the app, so its identity rules were not checked locally, nor its version policy; the server checks the rules when attaching and both when publishing",
                );
                (AppState::Unreadable, MismatchPolicy::Warning)
            }
            Err(ApiError::Status { status: 404, .. }) if !create => {
                (AppState::Missing, MismatchPolicy::Warning)
            }
            Err(ApiError::Status { status: 404, .. }) => {
                self.create_app().await.map_err(|f| self.fail(f))?;
                (AppState::Read, MismatchPolicy::Warning)
            }
            Err(e) => return Err(self.fail(e)),
        };
        let policy = if self.strict_versions {
            MismatchPolicy::Error
        } else {
            policy
        };
        check_versions(&self.manifest, &mut self.planned, policy, &self.ui);
        if self.planned.iter().any(Planned::blocked) {
            return Err(self.stop_local("the app's rules refuse a file"));
        }
        Ok(state)
    }

    /// Creates the manifest's app, which does not exist yet: allowed to a token with the
    /// create-app scope for that app (or an admin token without limits). Another job creating
    /// it first is fine.
    async fn create_app(&self) -> Result<(), Failure> {
        let slug = &self.manifest.app;
        let body = AppCreate {
            slug: slug.clone(),
            name: self
                .manifest
                .app_name
                .clone()
                .unwrap_or_else(|| slug.to_string()),
            platforms: Vec::new(),
            identity: IdentityRules::new(),
        };
        match self
            .api
            .post::<_, App>(&["apps"], Some(&body), Retry::ConnectOnly)
            .await
        {
            Ok(_) => {
                self.ui.note(&format!("created app {slug}"));
                Ok(())
            }
            Err(ApiError::Status { status: 409, .. }) => Ok(()),
            Err(ApiError::Status { status: 403, .. }) => Err(Failure::usage(format!(
                "app {slug} does not exist on {} and this token may not create it; an admin creates it with `dist app create {slug} --name NAME`, or gives CI a token with the create-app scope for {slug}",
                self.api.base()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    // ---- step 3: the draft and its blobs ----

    /// Creates the draft release, or finds the one an earlier run of this job created.
    pub(super) async fn create_release(&mut self) -> anyhow::Result<()> {
        let m = &self.manifest;
        let app = m.app.clone();
        let create = ReleaseCreate {
            version: m.version.clone(),
            build: m.build.clone(),
            notes: m.notes.clone(),
            source: m.source.clone(),
            artifacts: self.planned.iter().map(|p| p.spec.clone()).collect(),
        };
        let created: ReleaseCreated = match self
            .api
            .post(
                &["apps", app.as_str(), "releases"],
                Some(&create),
                Retry::Idempotent,
            )
            .await
        {
            Ok((_, c)) => c,
            Err(e @ ApiError::Status { status: 409, .. }) => {
                let mut f = Failure::from(e);
                f.message = format!(
                    "release {} ({}) of {app} already exists with different artifacts: {}; publish a new build number",
                    m.version, m.build, f.message
                );
                return Err(self.fail(f));
            }
            Err(e) => return Err(self.fail(e)),
        };
        let release = created.release;
        self.created = created.created;
        self.ui.note(&format!(
            "{} release {} {} ({}) {}",
            if self.created { "created" } else { "found" },
            app,
            release.version,
            release.build,
            release.id
        ));
        let revoked = (release.status == ReleaseStatus::Revoked).then(|| {
            format!(
                "release {} ({}) of {app} is revoked ({}); publish a new build number",
                release.version,
                release.build,
                release
                    .revoke_reason
                    .as_deref()
                    .unwrap_or("no reason given")
            )
        });
        self.release = Some(release);
        if let Some(why) = revoked {
            return Err(self.fail(Failure::new(Exit::Conflict, "conflict", why)));
        }
        // Match the server's artifacts to ours before any upload, so a server that answers
        // with another list stops the job early.
        for p in &self.planned {
            if let Err(f) = find_artifact(self.release(), &p.spec) {
                return Err(self.fail(f));
            }
        }
        Ok(())
    }

    fn release(&self) -> &Release {
        self.release
            .as_ref()
            .expect("the job's steps run in order: the release exists")
    }

    /// Uploads every blob the server lacks, each once, resuming where an earlier try stopped.
    pub(super) async fn upload(&mut self) -> anyhow::Result<()> {
        let app = self.manifest.app.clone();
        for n in 0..self.planned.len() {
            let p = &self.planned[n];
            let (Some(path), Some(sha), Some(size)) = (&p.path, p.spec.sha256, p.spec.size) else {
                continue;
            };
            if self.uploaded.contains_key(&sha) {
                continue;
            }
            let state = match self.api.blob_head(app.as_str(), &sha).await {
                Ok(s) => s,
                Err(e) => return Err(self.fail(e)),
            };
            let did = match state {
                BlobState::Present => false,
                BlobState::Missing { offset } => {
                    let file = Upload {
                        app: app.as_str(),
                        path,
                        label: &p.label(),
                        sha: &sha,
                        size,
                    };
                    match upload_checked(self.api, &self.ui, &file, offset).await {
                        Ok(did) => did,
                        Err(f) => {
                            if f.code == "file_changed" && self.created {
                                self.delete_draft().await;
                            }
                            return Err(self.fail(f));
                        }
                    }
                }
            };
            self.uploaded.insert(sha, did);
        }
        Ok(())
    }

    /// The draft names a digest no file has any more; a re-run would conflict with it, so
    /// this run removes the draft it created.
    async fn delete_draft(&self) {
        let id = &self.release().id;
        match self.api.delete(&["releases", id]).await {
            Ok(()) => self.ui.note(&format!("deleted the draft {id}")),
            Err(e) => self
                .ui
                .warn(&format!("could not delete the draft {id}: {e}")),
        }
    }

    // ---- step 4: attach, publish, promote ----

    pub(super) async fn attach(&mut self) -> anyhow::Result<()> {
        for n in 0..self.planned.len() {
            let art = match find_artifact(self.release(), &self.planned[n].spec) {
                Ok(a) => a,
                Err(f) => return Err(self.fail(f)),
            };
            if art.attached {
                continue;
            }
            let id = art.id.clone();
            let attached = self
                .api
                .post::<(), Artifact>(&["artifacts", &id, "attach"], None, Retry::Idempotent)
                .await;
            match attached {
                Ok((_, a)) => {
                    let release = self.release.as_mut().expect("created before attach");
                    if let Some(slot) = release.artifacts.iter_mut().find(|x| x.id == id) {
                        *slot = a;
                    }
                }
                Err(e) => {
                    // The server's admission refused the file (its identity rules, which this
                    // token could not read): its findings belong under the artifact.
                    let mut f = Failure::from(e);
                    for finding in &f.findings {
                        self.ui
                            .error(&format!("{} {}", finding.code, finding.message));
                        if !self.planned[n].findings.contains(finding) {
                            self.planned[n].findings.push(finding.clone());
                        }
                    }
                    if !f.findings.is_empty() {
                        // Each finding was printed once, above; the summary is not repeated.
                        let rid = self.release().id.clone();
                        f.message = format!(
                            "the server refused to attach {} for the finding(s) above; release {rid} stays a draft: fix them and publish a new build, or remove it with `dist release delete-draft {rid}`",
                            self.planned[n].label()
                        );
                    }
                    return Err(self.fail(f));
                }
            }
        }
        Ok(())
    }

    pub(super) async fn publish(&mut self) -> anyhow::Result<()> {
        let id = self.release().id.clone();
        if self.release().status != ReleaseStatus::Draft {
            self.ui.note(&format!("{id} is already published"));
            return Ok(());
        }
        let published = self
            .api
            .post::<(), PublishResult>(&["releases", &id, "publish"], None, Retry::Idempotent)
            .await;
        match published {
            Ok((_, r)) => {
                self.release = Some(r.release);
                self.ui.note_lead(Tone::Green, "published", &id);
                Ok(())
            }
            Err(e) => {
                let mut f = Failure::from(e);
                if f.exit == Exit::Validation {
                    // Each finding is printed once, here; the server's summary of them is not
                    // repeated after them.
                    for finding in &f.findings {
                        self.ui
                            .error(&format!("{} {}", finding.code, finding.message));
                    }
                    f.message = if f.findings.is_empty() {
                        format!(
                            "publishing {id} was refused: {}; the release stays a draft",
                            f.message
                        )
                    } else {
                        format!(
                            "the server refused to publish {id} for the finding(s) above; it stays a draft: fix them and publish a new build, or remove it with `dist release delete-draft {id}`"
                        )
                    };
                }
                Err(self.fail(f))
            }
        }
    }

    /// Points the job's channel (if any) at the release.
    pub(super) async fn promote(
        &self,
        allow_downgrade: bool,
    ) -> anyhow::Result<Option<ChannelDoc>> {
        let Some(ch) = &self.channel else {
            return Ok(None);
        };
        let id = &self.release().id;
        let share_url = self.channel_url(ch);
        match promote(
            self.api,
            &self.manifest.app,
            ch,
            id,
            allow_downgrade,
            share_url,
            &self.ui,
        )
        .await
        {
            Ok((c, moved)) => {
                if moved {
                    self.ui.note_lead(
                        Tone::Green,
                        "promoted",
                        &format!(
                            "{ch}: {} -> {}",
                            c.previous_release_id.as_deref().unwrap_or("(none)"),
                            c.release_id
                        ),
                    );
                } else {
                    self.ui
                        .note(&format!("{ch} already points at {}", c.release_id));
                }
                Ok(Some(c))
            }
            Err(e) => {
                let mut f = Failure::from(e);
                f.message = format!(
                    "release {id} is published, but promoting it to {ch} failed: {}",
                    f.message
                );
                Err(self.fail(f))
            }
        }
    }

    /// The channel's address on the server, built on the base the server writes into the
    /// release's `url` (its public URL, which may differ from the one this job reached).
    /// The channel's page, `/apps/{app}/channels/{channel}`, beside the release page the
    /// server named (`/apps/{app}/releases/{id}`).
    fn channel_url(&self, ch: &ChannelName) -> String {
        let release = self.release();
        let app = self.manifest.app.as_str();
        let url = &release.url;
        let base = url
            .strip_suffix(&format!("/apps/{app}/releases/{}", release.id))
            .or_else(|| url.find("/api/v1/").map(|i| &url[..i]))
            .unwrap_or(url.as_str());
        format!("{base}/apps/{app}/channels/{ch}")
    }

    // ---- the document ----

    /// The publish document: the server's view of the release in manifest order once it
    /// answered, else what the local checks found.
    pub(super) fn doc(&self, channel: Option<ChannelDoc>, failure: Option<&Failure>) -> PublishDoc {
        let Some(release) = &self.release else {
            return PublishDoc {
                schema_version: SCHEMA_VERSION,
                app: self.manifest.app.clone(),
                release: None,
                artifacts: self.planned.iter().map(Planned::local_doc).collect(),
                channel: None,
                error: failure.map(ErrorDoc::of),
            };
        };
        let artifacts = self
            .planned
            .iter()
            .map(|p| match find_artifact(release, &p.spec) {
                Ok(a) => self.artifact_doc(p, a, failure),
                Err(_) => p.local_doc(),
            })
            .collect();
        PublishDoc {
            schema_version: SCHEMA_VERSION,
            app: self.manifest.app.clone(),
            release: Some(ReleaseDoc {
                id: release.id.to_string(),
                version: release.version.clone(),
                build: release.build.clone(),
                status: release.status,
                created: self.created,
                url: release.url.clone(),
            }),
            artifacts,
            channel,
            error: failure.map(ErrorDoc::of),
        }
    }

    fn artifact_doc(&self, p: &Planned, a: &Artifact, failure: Option<&Failure>) -> ArtifactDoc {
        let mut findings = a
            .inspection
            .as_ref()
            .map(|i| i.findings.clone())
            .unwrap_or_else(|| p.findings.clone());
        // The version check relates the file to its release: the server's stored inspection
        // of the file alone does not carry it, so keep the local finding.
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
            id: Some(a.id.to_string()),
            platform: a.platform.clone().or_else(|| p.spec.platform.clone()),
            kind: a.kind.clone().or_else(|| p.kind.clone()),
            file_name: a.file_name.clone(),
            sha256: a.sha256,
            size: a.size,
            uploaded: a
                .sha256
                .and_then(|s| self.uploaded.get(&s).copied())
                .unwrap_or(false),
            download_url: a.download_url.clone(),
            install_url: a.install_url.clone(),
            findings,
        }
    }
}
