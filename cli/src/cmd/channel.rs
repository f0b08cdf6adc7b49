//! `dist channel list|promote|rollback|history|access`.

use clap::Subcommand;
use platform::api::{
    Access, AccessRequest, Channel, ChannelHistory, ChannelList, ChannelMove, PromoteRequest,
    Release, ReleaseList,
};
use platform::{AppSlug, ChannelName};

use crate::Ctx;
use crate::client::Retry;
use crate::exit::{Exit, Failure};
use crate::ui::{self, or_dash};

#[derive(Subcommand)]
pub enum ChannelCommand {
    /// List an app's channels and where they point
    #[command(after_help = "Example:\n  dist channel list --app acme")]
    List {
        #[arg(long)]
        app: AppSlug,
    },
    /// Point a channel at a published release
    #[command(after_help = "\
A release created before the one the channel points at is refused (exit 5) unless
--allow-downgrade is given; `dist channel rollback` moves back one step without it.

Example:
  dist channel promote --app acme stable rel_01J...")]
    Promote {
        #[arg(long)]
        app: AppSlug,
        channel: ChannelName,
        release_id: platform::ReleaseId,
        /// Move the channel to a release created before the one it points at
        #[arg(long)]
        allow_downgrade: bool,
    },
    /// Move a channel back to the release it pointed at before
    #[command(after_help = "Example:\n  dist channel rollback --app acme stable")]
    Rollback {
        #[arg(long)]
        app: AppSlug,
        channel: ChannelName,
    },
    /// Show a channel's moves, newest first
    #[command(after_help = "Example:\n  dist channel history --app acme stable --json")]
    History {
        #[arg(long)]
        app: AppSlug,
        channel: ChannelName,
    },
    /// Make a channel's pages public or token-only (admin)
    #[command(after_help = "\
`public`: the channel URL (/d/APP/CHANNEL/...) and the pages of every release the channel
points or pointed at open without a download link. `token` (the default) needs one.

Example:
  dist channel access --app acme beta public")]
    Access {
        #[arg(long)]
        app: AppSlug,
        channel: ChannelName,
        access: Access,
    },
}

pub async fn run(cmd: ChannelCommand, ctx: &Ctx) -> anyhow::Result<()> {
    let api = ctx.api()?;
    match cmd {
        ChannelCommand::Access {
            app,
            channel,
            access,
        } => {
            let ch: Channel = api
                .put_json(
                    &["apps", app.as_str(), "channels", channel.as_str(), "access"],
                    &AccessRequest { access },
                )
                .await?;
            if ctx.json() {
                return ui::print_json(&ch);
            }
            ctx.ui.note(&format!(
                "channel {} of {} is now {}",
                ch.name, ch.app, ch.access
            ));
            Ok(())
        }
        ChannelCommand::List { app } => {
            let list: ChannelList = api.get(&["apps", app.as_str(), "channels"]).await?;
            if ctx.json() {
                return ui::print_json(&list);
            }
            // Version and build come from the app's releases; a token that may read the
            // channels but not list releases sees dashes.
            let releases: Vec<Release> = api
                .get::<ReleaseList>(&["apps", app.as_str(), "releases"])
                .await
                .map(|l| l.releases)
                .unwrap_or_default();
            let now = crate::cmd::now_unix();
            let mut rows = vec![
                [
                    "CHANNEL", "RELEASE", "VERSION", "BUILD", "AGE", "ACCESS", "UPDATED",
                ]
                .map(str::to_owned)
                .to_vec(),
            ];
            for c in &list.channels {
                let r = c
                    .release_id
                    .as_deref()
                    .and_then(|id| releases.iter().find(|r| r.id == id));
                rows.push(vec![
                    c.name.to_string(),
                    or_dash(c.release_id.as_deref()),
                    r.map(|r| r.version.to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.map(|r| r.build.to_string()).unwrap_or_else(|| "-".into()),
                    r.map(|r| ui::age(r.published_at.as_deref().unwrap_or(&r.created_at), now))
                        .unwrap_or_else(|| "-".into()),
                    c.access.to_string(),
                    c.updated_at.clone(),
                ]);
            }
            ctx.ui.table(&rows);
            Ok(())
        }
        ChannelCommand::Promote {
            app,
            channel,
            release_id,
            allow_downgrade,
        } => {
            let mv = promote(&api, &app, &channel, release_id, allow_downgrade).await?;
            moved(ctx, "promoted", &mv)
        }
        ChannelCommand::Rollback { app, channel } => {
            let (_, mv): (_, ChannelMove) = api
                .post::<(), _>(
                    &[
                        "apps",
                        app.as_str(),
                        "channels",
                        channel.as_str(),
                        "rollback",
                    ],
                    None,
                    Retry::ConnectOnly,
                )
                .await
                .map_err(|e| {
                    let mut f = Failure::from(e);
                    if f.exit == Exit::Conflict {
                        f.message = format!(
                            "{}; to move {channel} anyway, promote another release: `dist release list --app {app}` lists them, `dist channel promote --app {app} {channel} REL_ID` moves it (add --allow-downgrade for an older one)",
                            f.message
                        );
                    }
                    f
                })?;
            moved(ctx, "rolled back", &mv)
        }
        ChannelCommand::History { app, channel } => {
            // Every page, oldest first.
            let path = [
                "apps",
                app.as_str(),
                "channels",
                channel.as_str(),
                "history",
            ];
            let h: ChannelHistory = api
                .get_pages(&path, &[("limit", "1000".to_owned())], true)
                .await?;
            if ctx.json() {
                return ui::print_json(&h);
            }
            let mut rows = vec![
                ["SEQ", "AT", "ACTION", "FROM", "TO", "ACTOR"]
                    .map(str::to_owned)
                    .to_vec(),
            ];
            for e in &h.history {
                rows.push(vec![
                    e.seq.to_string(),
                    e.at.clone(),
                    e.action.clone(),
                    or_dash(e.from_release_id.as_deref()),
                    or_dash(e.to_release_id.as_deref()),
                    e.actor.clone(),
                ]);
            }
            ctx.ui.table(&rows);
            Ok(())
        }
    }
}

fn moved(ctx: &Ctx, verb: &str, mv: &ChannelMove) -> anyhow::Result<()> {
    for f in &mv.findings {
        ctx.ui.warn(&format!("{} {}", f.code, f.message));
    }
    if ctx.json() {
        return ui::print_json(mv);
    }
    ctx.ui.line(&format!(
        "{verb} {}: {} -> {}",
        mv.channel.name,
        mv.previous_release_id.as_deref().unwrap_or("(none)"),
        mv.channel.release_id.as_deref().unwrap_or("(none)")
    ));
    Ok(())
}

/// `POST .../channels/{name}/promote`: the one promote request, for `dist channel promote`
/// and `dist ci publish`. Not retried after the request was sent (a move is not idempotent
/// when another client moved the channel in between).
pub async fn promote(
    api: &crate::client::Api,
    app: &AppSlug,
    channel: &ChannelName,
    release_id: platform::ReleaseId,
    allow_downgrade: bool,
) -> Result<ChannelMove, crate::client::ApiError> {
    let (_, mv) = api
        .post(
            &[
                "apps",
                app.as_str(),
                "channels",
                channel.as_str(),
                "promote",
            ],
            Some(&PromoteRequest {
                release_id,
                allow_downgrade,
            }),
            Retry::ConnectOnly,
        )
        .await?;
    Ok(mv)
}
