//! `dist ci publish --dry-run`: asks the server what it has and prints what a real run would
//! do and what is already done, writing nothing.

use std::collections::BTreeMap;

use platform::api::{Channel, Release, ReleaseList, ReleaseStatus};
use platform::{SCHEMA_VERSION, Sha256};

use super::doc::{DryRunArtifact, DryRunDoc, ExistingRelease, print_doc};
use super::job::Job;
use crate::client::{ApiError, BlobState};
use crate::exit::{Exit, Failure};
use crate::ui::{self, human_size};

pub(super) async fn dry_run(
    job: &Job<'_>,
    app_exists: bool,
    allow_downgrade: bool,
) -> anyhow::Result<()> {
    let (api, ui, manifest, planned) = (job.api, job.ui, &job.manifest, &job.planned);
    let channel = job.channel.clone();
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
                    .or_else(|| a.link.clone())
                    .unwrap_or_default()
            })
            .collect();
        let mut ours: Vec<String> = planned
            .iter()
            .map(|p| {
                p.spec
                    .sha256
                    .map(|s| s.hex())
                    .or_else(|| p.spec.link.clone())
                    .unwrap_or_default()
            })
            .collect();
        theirs.sort();
        ours.sort();
        ExistingRelease {
            id: r.id.to_string(),
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
