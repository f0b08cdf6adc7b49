//! `distd reinspect`: inspections stored before an inspector change may say `signed` where
//! today's targets say `invalid` (issue 10, "Signature truth"). This re-runs inspection on
//! every stored artifact (or one app's), stores each changed result beside the old one in
//! `reinspections` (the attach-time inspection and the audit log are never rewritten), writes
//! one audit event per change, and lists the published releases whose verdict got worse.
//!
//! It also runs by itself, in the background, when distd starts under an inspector version
//! ([`platform::INSPECTOR_VERSION`]) that no finished run has recorded; `/healthz` shows the
//! last run. Each artifact commits in its own small transaction, so the server keeps writing
//! while it runs. The queries live here rather than in `db` while this is the only user.

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

use platform::api::ReinspectRun;
use platform::{INSPECTOR_VERSION, Inspection, Limits, Parse, Registry, Sha256, SignatureState};

use crate::audit::{self, Event};
use crate::blobs::{BlobStore, LocalBlobStore};
use crate::db::{self, ArtifactRow};
use crate::error::AppError;

/// Whether a background run is under way in this process (for `/healthz`).
static RUNNING: AtomicBool = AtomicBool::new(false);

pub fn running() -> bool {
    RUNNING.load(Ordering::Relaxed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Command,
    Startup,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Command => "command",
            Trigger::Startup => "startup",
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub dry_run: bool,
    pub inspector_version: u32,
    pub app: Option<String>,
    /// Artifacts re-inspected.
    pub checked: u64,
    /// Artifacts whose verdict changed (stored, unless `dry_run`).
    pub changes: Vec<Change>,
    /// Published releases with at least one artifact whose verdict got worse.
    pub worse_published: Vec<WorseRelease>,
    /// Artifacts that could not be re-inspected (blob missing, unreadable), with why.
    pub failed: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub parse: Parse,
    pub state: SignatureState,
    pub digest_ok: Option<bool>,
    /// Codes of the error findings.
    pub errors: Vec<String>,
}

impl Verdict {
    fn of(i: &Inspection) -> Self {
        let mut errors: Vec<String> = i.errors().map(|f| f.code.clone()).collect();
        errors.sort();
        errors.dedup();
        Self {
            parse: i.parse,
            state: i.signature.state,
            digest_ok: i.signature.digest_ok,
            errors,
        }
    }

    /// Signed is best, invalid worst.
    fn rank(s: SignatureState) -> u8 {
        match s {
            SignatureState::Signed => 0,
            SignatureState::Untrusted => 1,
            SignatureState::Unknown => 2,
            SignatureState::Unsigned => 3,
            SignatureState::Invalid => 4,
        }
    }

    fn same(&self, o: &Verdict) -> bool {
        self.parse == o.parse
            && self.state == o.state
            && self.digest_ok == o.digest_ok
            && self.errors == o.errors
    }

    /// Worse: a parse that now fails, a weaker signature state, or a new error.
    fn worse_than(&self, before: &Verdict) -> bool {
        (self.parse == Parse::Reject && before.parse == Parse::Ok)
            || Self::rank(self.state) > Self::rank(before.state)
            || self.errors.iter().any(|e| !before.errors.contains(e))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub artifact_id: platform::ArtifactId,
    pub release_id: platform::ReleaseId,
    pub app: platform::AppSlug,
    pub release_status: String,
    pub file: String,
    pub before: Verdict,
    pub after: Verdict,
    pub worse: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorseRelease {
    pub app: platform::AppSlug,
    pub release_id: platform::ReleaseId,
    pub version: platform::Version,
    pub build: platform::Build,
    pub artifacts: Vec<platform::ArtifactId>,
}

/// The last finished run, for `/healthz` and the start-up check.
pub fn last_run(c: &Connection) -> rusqlite::Result<Option<ReinspectRun>> {
    c.query_row(
        "SELECT inspector_version, finished_at, trigger, checked, changed, worse_published, failed \
         FROM reinspect_runs ORDER BY seq DESC LIMIT 1",
        [],
        |r| {
            Ok(ReinspectRun {
                inspector_version: r.get(0)?,
                finished_at: r.get(1)?,
                trigger: r.get(2)?,
                checked: r.get::<_, i64>(3)?.max(0) as u64,
                changed: r.get::<_, i64>(4)?.max(0) as u64,
                worse_published: r.get::<_, i64>(5)?.max(0) as u64,
                failed: r.get::<_, i64>(6)?.max(0) as u64,
            })
        },
    )
    .optional()
}

/// The newest stored verdict of an artifact: its latest re-inspection, else the attach-time
/// inspection.
fn latest_inspection(
    c: &Connection,
    a: &ArtifactRow,
    have_table: bool,
) -> rusqlite::Result<Option<String>> {
    if !have_table {
        return Ok(a.inspection.clone());
    }
    let re: Option<String> = c
        .query_row(
            "SELECT inspection FROM reinspections WHERE artifact_id = ?1 ORDER BY seq DESC LIMIT 1",
            [a.id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(re.or_else(|| a.inspection.clone()))
}

/// Inspects one stored artifact again, as attach did (detection with the stored platform as
/// a hint, the stored install mode's checks).
fn inspect_again(
    registry: &Registry,
    store: &Arc<LocalBlobStore>,
    a: &ArtifactRow,
    now: i64,
    trusted_keys: &[Vec<u8>],
) -> Result<Inspection, String> {
    let digest: Sha256 = a.sha256.ok_or("no blob")?;
    let hex = digest.hex();
    let file = store
        .open(&digest)
        .map_err(|e| format!("blob sha256 {hex}: {e}"))?;
    let name = a.file_name.as_ref().map_or("artifact", |f| f.as_str());
    let hint = a.platform.clone();
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let inspected = registry
        .inspect_trusting(
            name,
            &mut reader,
            hint.as_ref(),
            Limits::default(),
            now,
            trusted_keys,
        )
        .map_err(|e| e.to_string())?;
    let mut i = inspected.inspection;
    i.sha256 = Some(hex);
    if let Ok(target) = registry.get(i.platform.as_str()) {
        let asked = a.install_mode.clone().or_else(|| a.spec_install.clone());
        platform::apply_install_mode(target, &mut i, asked);
    }
    // The listed architecture, as attach checked it.
    if let Some(f) = a
        .arch
        .as_ref()
        .and_then(|arch| platform::arch::arch_mismatch(&i, arch))
    {
        i.findings.push(f);
    }
    // The listed notarization submission, as attach checked it.
    if let (Some(claim), Ok(target)) = (&a.notarization, registry.get(i.platform.as_str())) {
        platform::notarization::check(target, &mut i, claim);
    }
    Ok(i)
}

/// One pass over the stored artifacts. `app` limits it to one app; `dry_run` writes nothing.
pub fn run(
    conn: &mut Connection,
    db_path: &Path,
    store: &Arc<LocalBlobStore>,
    registry: &Registry,
    app: Option<&str>,
    dry_run: bool,
    trigger: Trigger,
) -> anyhow::Result<Report> {
    let started_at = crate::util::now();
    let now = crate::util::now_unix();
    let mut report = Report {
        schema_version: platform::SCHEMA_VERSION,
        dry_run,
        inspector_version: INSPECTOR_VERSION,
        app: app.map(str::to_owned),
        ..Report::default()
    };
    // A dry run may read a database that predates the reinspections table (it opens it
    // read-only, so that nothing changes, migrations included).
    let have_table: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reinspections')",
        [],
        |r| r.get(0),
    )?;
    let have_keys: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'app_keys')",
        [],
        |r| r.get(0),
    )?;
    if !dry_run && !have_table {
        anyhow::bail!("the database has no reinspections table; open it with migrations first");
    }
    let artifacts = db::list_all_artifacts(conn)?;
    let mut worse: std::collections::BTreeMap<platform::ReleaseId, WorseRelease> =
        Default::default();
    for a in artifacts {
        if !a.attached || a.sha256.is_none() {
            continue;
        }
        let Some(rel) = db::get_release(conn, a.release_id.as_str())? else {
            continue;
        };
        if app.is_some_and(|want| want != rel.app.as_str()) {
            continue;
        }
        report.checked += 1;
        let label = format!(
            "{} ({}, release {} {} {})",
            a.file_name.as_ref().map_or("artifact", |f| f.as_str()),
            a.id,
            rel.app,
            rel.version,
            rel.build
        );
        let before_json = latest_inspection(conn, &a, have_table)?;
        // One that no longer parses is a failure naming the artifact and the parse error
        // (issue 14, item 6), not an inspection silently missing.
        let before: Result<Inspection, String> = match before_json.as_deref() {
            Some(j) => serde_json::from_str(j)
                .map_err(|e| format!("the stored inspection does not parse ({e})")),
            None => Err("no stored inspection".to_owned()),
        };
        // The app's keys, as attach uses them (none in a folder from before migration 0007).
        let keys: Vec<Vec<u8>> = if have_keys {
            db::list_app_keys(conn, rel.app.as_str())?
                .into_iter()
                .map(|k| k.key)
                .collect()
        } else {
            Vec::new()
        };
        let after = match inspect_again(registry, store, &a, now, &keys) {
            Ok(i) => i,
            Err(e) => {
                report.failed.push(format!("{label}: {e}"));
                continue;
            }
        };
        let vb = match &before {
            Ok(b) => Verdict::of(b),
            Err(why) => {
                report.failed.push(format!("{label}: {why}"));
                continue;
            }
        };
        let va = Verdict::of(&after);
        if va.same(&vb) {
            continue;
        }
        let is_worse = va.worse_than(&vb);
        let change = Change {
            artifact_id: a.id.clone(),
            release_id: rel.id.clone(),
            app: rel.app.clone(),
            release_status: rel.status.as_str().to_owned(),
            file: a
                .file_name
                .as_ref()
                .map(|f| f.to_string())
                .unwrap_or_default(),
            before: vb,
            after: va,
            worse: is_worse,
        };
        if is_worse && rel.status == platform::api::ReleaseStatus::Published {
            worse
                .entry(rel.id.clone())
                .or_insert_with(|| WorseRelease {
                    app: rel.app.clone(),
                    release_id: rel.id.clone(),
                    version: rel.version.clone(),
                    build: rel.build.clone(),
                    artifacts: Vec::new(),
                })
                .artifacts
                .push(a.id.clone());
        }
        if !dry_run {
            let json = serde_json::to_string(&after)?;
            let c2 = change.clone();
            db::write_tx_anchored(conn, db_path, move |tx| {
                tx.execute(
                    "INSERT INTO reinspections(artifact_id, release_id, inspector_version, at, \
                     previous_state, state, worse, inspection) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                    params![
                        c2.artifact_id.as_str(),
                        c2.release_id.as_str(),
                        INSPECTOR_VERSION,
                        crate::util::now(),
                        state_str(c2.before.state),
                        state_str(c2.after.state),
                        c2.worse as i64,
                        json
                    ],
                )?;
                audit::append(
                    tx,
                    Event {
                        actor: match trigger {
                            Trigger::Command => "system:reinspect",
                            Trigger::Startup => "system:reinspect-startup",
                        },
                        action: "artifact.reinspect",
                        app: Some(c2.app.as_str()),
                        subject: Some(c2.artifact_id.as_str()),
                        details: json!({
                            "release_id": c2.release_id,
                            "release_status": c2.release_status,
                            "file": c2.file,
                            "inspector_version": INSPECTOR_VERSION,
                            "before": c2.before,
                            "after": c2.after,
                            "worse": c2.worse,
                        }),
                    },
                )?;
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("{label}: {}", e.message))?;
        }
        report.changes.push(change);
    }
    report.worse_published = worse.into_values().collect();
    if !dry_run && app.is_none() {
        let r = &report;
        let counts = (
            r.checked as i64,
            r.changes.len() as i64,
            r.worse_published.len() as i64,
            r.failed.len() as i64,
        );
        db::write_tx(conn, move |tx| {
            tx.execute(
                "INSERT INTO reinspect_runs(inspector_version, started_at, finished_at, trigger, \
                 checked, changed, worse_published, failed) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                params![
                    INSPECTOR_VERSION,
                    started_at,
                    crate::util::now(),
                    trigger.as_str(),
                    counts.0,
                    counts.1,
                    counts.2,
                    counts.3
                ],
            )
            .map_err(AppError::from)?;
            Ok(())
        })
        .map_err(|e| anyhow::anyhow!("record the run: {}", e.message))?;
    }
    Ok(report)
}

/// A signature state as its JSON word (`signed`, `invalid`, ...).
pub fn state_str(s: SignatureState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// At start-up: when no finished run has recorded this inspector version, re-inspect
/// everything on a background thread with its own connection. Returns at once.
pub fn spawn_if_inspector_changed(
    db_path: &Path,
    store: Arc<LocalBlobStore>,
    registry: &'static Registry,
) -> anyhow::Result<bool> {
    let conn = db::open_writer(db_path)?;
    if last_run(&conn)?.is_some_and(|r| r.inspector_version == INSPECTOR_VERSION) {
        return Ok(false);
    }
    drop(conn);
    let path = db_path.to_owned();
    RUNNING.store(true, Ordering::Relaxed);
    std::thread::Builder::new()
        .name("reinspect".into())
        .spawn(move || {
            let result = db::open_writer(&path)
                .map_err(anyhow::Error::from)
                .and_then(|mut c| run(&mut c, &path, &store, registry, None, false, Trigger::Startup));
            match result {
                Ok(r) => {
                    for w in &r.worse_published {
                        tracing::warn!(
                            "reinspect: published release {} {} {} ({}) now reads worse: {}",
                            w.app,
                            w.version,
                            w.build,
                            w.release_id,
                            w.artifacts.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
                        );
                    }
                    tracing::info!(
                    "reinspect (inspector version {INSPECTOR_VERSION}): {} artifact(s) checked, {} changed, {} published release(s) worse, {} failed",
                    r.checked,
                    r.changes.len(),
                    r.worse_published.len(),
                    r.failed.len()
                    )
                }
                Err(e) => tracing::error!("reinspect at start-up failed: {e:#}"),
            }
            RUNNING.store(false, Ordering::Relaxed);
        })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(parse: Parse, state: SignatureState, errors: &[&str]) -> Verdict {
        Verdict {
            parse,
            state,
            digest_ok: None,
            errors: errors.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn worse_means_a_weaker_state_a_new_error_or_a_new_reject() {
        let signed = v(Parse::Ok, SignatureState::Signed, &[]);
        assert!(v(Parse::Ok, SignatureState::Invalid, &[]).worse_than(&signed));
        assert!(v(Parse::Reject, SignatureState::Signed, &[]).worse_than(&signed));
        assert!(v(Parse::Ok, SignatureState::Signed, &["x.y"]).worse_than(&signed));
        assert!(!signed.worse_than(&v(Parse::Ok, SignatureState::Invalid, &["x.y"])));
        assert!(signed.same(&v(Parse::Ok, SignatureState::Signed, &[])));
    }
}
