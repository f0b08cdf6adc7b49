//! `dist release list|show|revoke|delete-draft`.

use clap::Subcommand;
use platform::AppSlug;
use platform::api::{ChannelList, Release, ReleaseList, RevokeRequest};
use platform::diff::{ReleaseDiff, describe};

use crate::Ctx;
use crate::client::Retry;
use crate::ui::{self, human_size, or_dash};

#[derive(Subcommand)]
pub enum ReleaseCommand {
    /// List an app's releases, newest first, a page at a time
    #[command(
        after_help = "Examples:\n  dist release list --app acme\n  dist release list --app acme --limit 20\n  dist release list --app acme --all --json\n\nWithout --all, one page of --limit releases; a note on stderr says when more follow."
    )]
    List {
        #[arg(long)]
        app: AppSlug,
        /// Releases per page (1 to 500)
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: u32,
        /// Every release, page after page
        #[arg(long)]
        all: bool,
    },
    /// Show a release with its artifacts
    #[command(after_help = "Example:\n  dist release show rel_01J...")]
    Show { id: String },
    /// Revoke a published release (admin); it stays on record, downloads stop
    #[command(
        after_help = "Example:\n  dist release revoke rel_01J... --reason \"crash on start\""
    )]
    Revoke {
        id: String,
        /// Why, for the record
        #[arg(long)]
        reason: String,
    },
    /// What changed from release A to release B, per platform
    #[command(after_help = "\
Per platform (and arch): version, build, identity, min OS, signers, permissions and
entitlements added or removed, architectures, size delta, and findings B has that A had not.

Example:
  dist release diff rel_01J...A rel_01J...B --json")]
    Diff { from: String, to: String },
    /// Delete a draft release (published ones cannot be deleted)
    #[command(after_help = "Example:\n  dist release delete-draft rel_01J...")]
    DeleteDraft { id: String },
}

pub async fn run(cmd: ReleaseCommand, ctx: &Ctx) -> anyhow::Result<()> {
    let api = ctx.api()?;
    match cmd {
        ReleaseCommand::List { app, limit, all } => {
            let list: ReleaseList = api
                .get_pages(
                    &["apps", app.as_str(), "releases"],
                    &[("limit", limit.to_string())],
                    all,
                )
                .await?;
            if list.next_cursor.is_some() {
                ctx.ui.note(&format!(
                    "showing the newest {}; more releases follow: --all lists every one",
                    list.releases.len()
                ));
            }
            if ctx.json() {
                return ui::print_json(&list);
            }
            let mut rows = vec![
                ["ID", "VERSION", "BUILD", "STATUS", "ARTIFACTS", "CREATED"]
                    .map(str::to_owned)
                    .to_vec(),
            ];
            for r in &list.releases {
                rows.push(vec![
                    r.id.to_string(),
                    r.version.to_string(),
                    r.build.to_string(),
                    status(r),
                    r.artifacts.len().to_string(),
                    r.created_at.clone(),
                ]);
            }
            ctx.ui.table(&rows);
            Ok(())
        }
        ReleaseCommand::Show { id } => {
            let r: Release = api.get(&["releases", &id]).await?;
            show(ctx, &r)
        }
        ReleaseCommand::Revoke { id, reason } => {
            let (_, r): (_, Release) = api
                .post(
                    &["releases", &id, "revoke"],
                    Some(&RevokeRequest { reason }),
                    Retry::Idempotent,
                )
                .await?;
            ctx.ui.note(&format!("revoked {}", r.id));
            // Channels that still point at it now answer 410 for its files: say which, and
            // what to do about each.
            if let Ok(list) = api
                .get::<ChannelList>(&["apps", r.app.as_str(), "channels"])
                .await
            {
                for c in list
                    .channels
                    .iter()
                    .filter(|c| c.release_id.as_deref() == Some(r.id.as_str()))
                {
                    ctx.ui.warn(&format!(
                        "channel {} still points at {}, so its downloads now fail: `dist channel rollback --app {} {}` moves it back, or `dist channel promote --app {} {} REL_ID` moves it to another release",
                        c.name, r.id, r.app, c.name, r.app, c.name
                    ));
                }
            }
            show(ctx, &r)
        }
        ReleaseCommand::Diff { from, to } => {
            let d: ReleaseDiff = api.get(&["releases", &from, "diff", &to]).await?;
            if ctx.json() {
                return ui::print_json(&d);
            }
            let lines: Vec<String> = d.platforms.iter().flat_map(describe).collect();
            if lines.is_empty() {
                ctx.ui
                    .note(&format!("{} and {} do not differ", d.from, d.to));
            }
            ctx.ui.lines(&lines);
            Ok(())
        }
        ReleaseCommand::DeleteDraft { id } => {
            api.delete(&["releases", &id]).await?;
            ctx.ui.note(&format!("deleted draft {id}"));
            if ctx.json() {
                ui::print_json(&serde_json::json!({
                    "schema_version": platform::SCHEMA_VERSION,
                    "deleted": id,
                }))?;
            }
            Ok(())
        }
    }
}

fn status(r: &Release) -> String {
    format!("{:?}", r.status).to_lowercase()
}

fn show(ctx: &Ctx, r: &Release) -> anyhow::Result<()> {
    if ctx.json() {
        return ui::print_json(r);
    }
    let ui = &ctx.ui;
    ui.line(&format!("id:        {}", r.id));
    ui.line(&format!("app:       {}", r.app));
    ui.line(&format!("version:   {} ({})", r.version, r.build));
    ui.line(&format!("status:    {}", status(r)));
    ui.line(&format!("created:   {}", r.created_at));
    if let Some(p) = &r.published_at {
        ui.line(&format!("published: {p}"));
    }
    if let Some(v) = &r.revoked_at {
        ui.line(&format!(
            "revoked:   {v} ({})",
            r.revoke_reason.as_deref().unwrap_or("no reason")
        ));
    }
    ui.line(&format!("url:       {}", r.url));
    let mut rows = vec![
        [
            "ARTIFACT", "PLATFORM", "KIND", "FILE", "SIZE", "SHA256", "FINDINGS",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for a in &r.artifacts {
        rows.push(vec![
            a.id.to_string(),
            or_dash(a.platform.as_ref().map(|p| p.as_str())),
            or_dash(a.kind.as_ref().map(|k| k.as_str())),
            a.file_name
                .as_ref()
                .map(|f| f.to_string())
                .or_else(|| a.link.clone())
                .unwrap_or_else(|| "-".into()),
            a.size.map(human_size).unwrap_or_else(|| "-".into()),
            a.sha256
                .map(|s| s.hex()[..16].to_owned())
                .unwrap_or_else(|| "-".into()),
            a.inspection
                .as_ref()
                .map(|i| i.findings.len().to_string())
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    ui.line("");
    ui.table(&rows);
    Ok(())
}
