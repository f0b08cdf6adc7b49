//! `dist token create|list|revoke|whoami`.

use clap::{Args, Subcommand};
use platform::api::{Scope, TokenCreate, TokenCreated, TokenInfo, TokenList, WhoAmI};
use platform::{AppSlug, ChannelName};

use crate::Ctx;
use crate::client::Retry;
use crate::ui::{self, or_dash};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token (admin); the secret is shown once
    #[command(after_help = "\
Scopes: admin, publish, promote, read, download, create-app. --app limits the token to one app;
--channel limits it to the named channels (promote, channel reads, and downloads of what those
channels point or pointed at). A token never gets more than the token that creates it: an
app-limited admin makes tokens for its app only, within its channels and expiry. create-app
lets a token limited to an app that does not exist yet create that one app.

Examples:
  dist token create --name ci-acme --scope publish --scope promote --scope read \\
      --app acme --channel nightly --channel beta
  dist token create --name ci-newapp --scope create-app --scope publish --scope read --app newapp
  dist token create --name testers-beta --scope download --app acme --channel beta")]
    Create(CreateArgs),
    /// List tokens (admin)
    #[command(after_help = "Example:\n  dist token list --json")]
    List,
    /// Revoke a token (admin)
    #[command(after_help = "Example:\n  dist token revoke tok_01J...")]
    Revoke { id: String },
    /// Show the token in use
    #[command(after_help = "Example:\n  dist token whoami")]
    Whoami,
}

#[derive(Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub name: String,
    /// Repeatable
    #[arg(long = "scope", required = true, value_name = "SCOPE")]
    pub scopes: Vec<Scope>,
    /// Limit the token to one app
    #[arg(long)]
    pub app: Option<AppSlug>,
    /// Limit promote rights to this channel; repeatable
    #[arg(long = "channel", value_name = "NAME")]
    pub channels: Vec<ChannelName>,
    /// Expiry, RFC 3339 (2027-01-01T00:00:00Z)
    #[arg(long, value_name = "TIME")]
    pub expires_at: Option<String>,
}

pub async fn run(cmd: TokenCommand, ctx: &Ctx) -> anyhow::Result<()> {
    let api = ctx.api()?;
    match cmd {
        TokenCommand::Create(a) => {
            let body = TokenCreate {
                name: a.name,
                scopes: a.scopes,
                app: a.app,
                channels: a.channels,
                expires_at: a.expires_at,
            };
            let (_, t): (_, TokenCreated) = api
                .post(&["tokens"], Some(&body), Retry::ConnectOnly)
                .await?;
            if ctx.json() {
                return ui::print_json(&t);
            }
            ctx.ui.note(&format!(
                "created {} ({}); the secret is shown once:",
                t.token.id, t.token.name
            ));
            ctx.ui.line(&t.secret);
            Ok(())
        }
        TokenCommand::List => {
            // Every page: a list of tokens is short, and an admin needs all of it.
            let list: TokenList = api
                .get_pages(&["tokens"], &[("limit", "1000".to_owned())], true)
                .await?;
            if ctx.json() {
                return ui::print_json(&list);
            }
            let mut rows = vec![
                [
                    "ID",
                    "NAME",
                    "SCOPES",
                    "APP",
                    "CHANNELS",
                    "EXPIRES",
                    "REVOKED",
                    "LAST USED",
                ]
                .map(str::to_owned)
                .to_vec(),
            ];
            for t in &list.tokens {
                rows.push(row(t));
            }
            ctx.ui.table(&rows);
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            let (_, t): (_, TokenInfo) = api
                .post::<(), _>(&["tokens", &id, "revoke"], None, Retry::Idempotent)
                .await?;
            ctx.ui.note(&format!("revoked {}", t.id));
            if ctx.json() {
                return ui::print_json(&t);
            }
            Ok(())
        }
        TokenCommand::Whoami => {
            let w: WhoAmI = api.get(&["token"]).await?;
            if ctx.json() {
                return ui::print_json(&w);
            }
            let t = &w.token;
            let ui = &ctx.ui;
            ui.line(&format!("id:       {}", t.id));
            ui.line(&format!("name:     {}", t.name));
            ui.line(&format!("scopes:   {}", scopes(&t.scopes)));
            ui.line(&format!(
                "app:      {}",
                or_dash(t.app.as_ref().map(|a| a.as_str()))
            ));
            ui.line(&format!("channels: {}", channels(&t.channels)));
            ui.line(&format!("expires:  {}", or_dash(t.expires_at.as_deref())));
            Ok(())
        }
    }
}

fn scopes(s: &[Scope]) -> String {
    s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

fn channels(c: &[ChannelName]) -> String {
    if c.is_empty() {
        "any".into()
    } else {
        c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
    }
}

fn row(t: &TokenInfo) -> Vec<String> {
    vec![
        t.id.to_string(),
        t.name.clone(),
        scopes(&t.scopes),
        or_dash(t.app.as_ref().map(|a| a.as_str())),
        channels(&t.channels),
        or_dash(t.expires_at.as_deref()),
        or_dash(t.revoked_at.as_deref()),
        or_dash(t.last_used_at.as_deref()),
    ]
}
