//! Settings and health: public URL, version, storage use (files and bytes the database refers
//! to, partial uploads, missing files, free space) and the last maintenance runs, read from
//! what they recorded (backup, gc, retention, restore and acknowledge in the audit log,
//! re-inspection in its table), since they may run outside the server. For an admin without limits: the
//! figures span every app.

use axum::extract::State;

use platform::units::human_size;
use ui::admin::{Fact, SettingsPage};

use super::session::Session;
use super::{OrPage, PageResult, ok};
use crate::db::{self, AuditQuery};
use crate::error::AppError;
use crate::services::AppState;

fn fact(label: &str, value: impl Into<String>) -> Fact {
    Fact {
        label: label.to_owned(),
        value: value.into(),
    }
}

/// The newest audit event of `action` (and `actor`, when given), as "time (summary)".
fn last_event(
    c: &rusqlite::Connection,
    action: &str,
    actor: Option<&str>,
) -> Result<String, AppError> {
    let q = AuditQuery {
        action: Some(action.to_owned()),
        actor: actor.map(str::to_owned),
        newest_first: true,
        limit: 1,
        ..Default::default()
    };
    Ok(match db::query_audit(c, &q)?.into_iter().next() {
        Some(e) => format!(
            "{} by {}{}",
            e.at,
            e.actor,
            e.subject.map(|s| format!(" ({s})")).unwrap_or_default()
        ),
        None => "none recorded".to_owned(),
    })
}

pub async fn show(State(st): State<AppState>, s: Session) -> PageResult {
    if !s.p.is_unrestricted_admin() {
        return Err(AppError::forbidden(format!(
            "token {} is limited or not an admin: the server's settings and storage span every app, so they are for admin tokens without limits",
            s.p.name
        )))
        .or_page(&s);
    }
    let (files, partials, maintenance) = st
        .db
        .read(|c| {
            let files = db::stored_files(c)?;
            let partials = db::list_partials(c)?;
            let reinspect = crate::reinspect::last_run(c)?;
            let maintenance = vec![
                fact(
                    "Last gc removal",
                    last_event(c, "blob.remove", Some("system:gc"))?,
                ),
                fact(
                    "Last retention removal",
                    last_event(c, "release.remove", Some("system:retention"))?,
                ),
                fact("Last restore", last_event(c, "audit.restore", None)?),
                fact(
                    "Last audit acknowledge",
                    last_event(c, "audit.acknowledge", None)?,
                ),
                fact(
                    "Last re-inspection",
                    match reinspect {
                        Some(r) => format!(
                            "{} ({}): {} checked, {} changed, {} failed",
                            r.finished_at, r.trigger, r.checked, r.changed, r.failed
                        ),
                        None => "none recorded".to_owned(),
                    },
                ),
                fact(
                    "Last backup",
                    last_event(c, "backup.create", Some("system:backup"))?,
                ),
            ];
            Ok((files, partials, maintenance))
        })
        .await
        .or_page(&s)?;
    let missing = st
        .missing_blobs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .len();
    let mut storage = vec![
        fact(
            "Stored files",
            format!(
                "{} file(s), {} referred to by artifacts",
                files.0,
                human_size(files.1.max(0) as u64)
            ),
        ),
        fact(
            "Partial uploads",
            format!(
                "{} ({} declared)",
                partials.len(),
                human_size(partials.iter().map(|p| p.total.max(0) as u64).sum())
            ),
        ),
        fact(
            "Missing files",
            format!("{missing} found missing since start (distd fsck lists them)"),
        ),
    ];
    match rustix::fs::statvfs(&st.cfg.data) {
        Ok(v) => storage.push(fact(
            "Free space",
            format!(
                "{} free of {} (warning below {})",
                human_size(v.f_bavail.saturating_mul(v.f_frsize)),
                human_size(v.f_blocks.saturating_mul(v.f_frsize)),
                human_size(st.cfg.min_free_bytes)
            ),
        )),
        Err(e) => storage.push(fact("Free space", format!("unknown: {e}"))),
    }
    let server = vec![
        fact("Public URL", st.cfg.public_url.clone()),
        fact("Version", env!("DIST_VERSION_LONG")),
        fact("Data folder", st.cfg.data.display().to_string()),
        fact("Platforms", st.registry.ids().join(", ")),
        fact(
            "Read-only",
            st.db
                .read_only()
                .unwrap_or_else(|| "no: writes are accepted".to_owned()),
        ),
    ];
    Ok(ok(&SettingsPage {
        nav: s.nav("settings"),
        server,
        storage,
        maintenance,
    }))
}
