//! `dist`, the command-line client of distd: CI publishing, local inspection, and release,
//! channel, token and audit management.
//!
//! It talks to distd over HTTP only (API v1, types in `platform::api`), except `dist
//! inspect` and the local checks of `dist ci publish`, which run the linked targets through
//! `platform::registry()`. It never stores secrets and never writes outside the files it is
//! asked to write.
//!
//! Output leaves through `ui` only: human text there is escaped (controls and bidi characters
//! shown visibly), JSON is printed as serde writes it. Printing elsewhere is a lint error.

#![deny(clippy::print_stdout, clippy::print_stderr)]

// Links every platform target (through `dist-targets`, the one crate that names them).
use dist_targets as _;

mod client;
mod cmd;
mod exit;
mod help;
mod ui;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::exit::{EXIT_CODES_HELP, Exit, Failure};
use crate::ui::Ui;

const MAIN_AFTER_HELP: &str = "\
Examples:
  dist ci publish --server \"$DIST_SERVER\" --token \"$DIST_TOKEN\" --manifest dist.json --json
  dist inspect app-release.{kind} App.{kind2}
  dist channel promote --app acme stable rel_01J...
  dist download --app acme --channel stable --platform {platform} -o app.{kind}

Environment: DIST_SERVER and DIST_TOKEN stand for --server and --token; NO_COLOR turns colour
off. Human text goes to stderr; data (tables, JSON) to stdout.
";

#[derive(Parser)]
#[command(
    name = "dist",
    version = env!("DIST_VERSION_LONG"),
    about = "Publish, inspect and manage releases on a distd server",
    after_help = format!("{MAIN_AFTER_HELP}\n{EXIT_CODES_HELP}"),
    propagate_version = true
)]
struct Cli {
    /// Base URL of the distd server, for example https://dist.example.com
    #[arg(long, global = true, env = "DIST_SERVER", value_name = "URL")]
    server: Option<String>,
    /// API token (`dist_...`)
    #[arg(
        long,
        global = true,
        env = "DIST_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// Print machine-readable JSON on stdout (and failures as a JSON error document)
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Commands for CI jobs
    #[command(subcommand)]
    Ci(cmd::ci_publish::CiCommand),
    /// Check or write a dist.json without a server
    #[command(subcommand)]
    Manifest(cmd::manifest::ManifestCommand),
    /// Inspect artifacts locally with the linked targets (no server needed)
    #[command(after_help = cmd::inspect::AFTER_HELP)]
    Inspect(cmd::inspect::InspectArgs),
    /// Create, list and show apps; set identity rules
    #[command(subcommand)]
    App(cmd::app::AppCommand),
    /// List, show, revoke releases; delete drafts
    #[command(subcommand)]
    Release(cmd::release::ReleaseCommand),
    /// List channels, promote, roll back, show history
    #[command(subcommand)]
    Channel(cmd::channel::ChannelCommand),
    /// Create, list and revoke tokens; show the current token
    #[command(subcommand)]
    Token(cmd::token::TokenCommand),
    /// List audit events and verify the audit chain
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// Download a channel's artifact and verify its digest
    #[command(after_help = cmd::download::AFTER_HELP)]
    Download(cmd::download::DownloadArgs),
    /// Print a shell completion script
    #[command(after_help = "Example:\n  dist completions bash > /etc/bash_completion.d/dist")]
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
}

/// What every command gets: the global options and the terminal settings.
pub struct Ctx {
    pub server: Option<String>,
    pub token: Option<String>,
    pub ui: Ui,
}

impl Ctx {
    pub fn json(&self) -> bool {
        self.ui.json
    }
    pub fn api(&self) -> Result<client::Api, Failure> {
        client::Api::new(self.server.as_deref(), self.token.as_deref())
    }
}

fn main() {
    let json_requested = std::env::args_os().any(|a| a == "--json");
    let cli = match help::fill(Cli::command())
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let usage = !matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            if usage && json_requested {
                let f = Failure::usage(e.kind().to_string());
                ui::print_json_line(&f.json_document());
            }
            let _ = e.print();
            std::process::exit(if usage { Exit::Usage.code() } else { 0 });
        }
    };
    let ctx = Ctx {
        server: cli.server,
        token: cli.token,
        ui: Ui::new(cli.json),
    };
    let code = match run(cli.command, &ctx) {
        Ok(()) => Exit::Success.code(),
        Err(err) => {
            let f = exit::classify(&err);
            ctx.ui.error(&f.message);
            if ctx.json() && !f.printed {
                ui::print_json_line(&f.json_document());
            }
            f.exit.code()
        }
    };
    std::process::exit(code);
}

fn run(command: Command, ctx: &Ctx) -> anyhow::Result<()> {
    if let Command::Completions { shell } = command {
        // Generated into memory first: clap_complete panics on a write error, and a closed
        // stdout (`dist completions bash | head`) must end quietly (see `ui`).
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "dist", &mut script);
        ui::raw(&script);
        return Ok(());
    }
    if let Command::Inspect(args) = command {
        return cmd::inspect::run(args, ctx);
    }
    if let Command::Manifest(c) = command {
        return cmd::manifest::run(c, ctx);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match command {
            Command::Ci(c) => cmd::ci_publish::run(c, ctx).await,
            Command::App(c) => cmd::app::run(c, ctx).await,
            Command::Release(c) => cmd::release::run(c, ctx).await,
            Command::Channel(c) => cmd::channel::run(c, ctx).await,
            Command::Token(c) => cmd::token::run(c, ctx).await,
            Command::Audit(c) => cmd::audit::run(c, ctx).await,
            Command::Download(a) => cmd::download::run(a, ctx).await,
            Command::Inspect(_) | Command::Manifest(_) | Command::Completions { .. } => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str) {
            let path = format!("{path} {}", cmd.get_name());
            if cmd.has_subcommands() {
                for sub in cmd.get_subcommands() {
                    if sub.get_name() != "help" {
                        walk(sub, &path);
                    }
                }
            } else {
                let after = cmd
                    .get_after_help()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                assert!(
                    after.contains("dist "),
                    "{path} has no example in after_help"
                );
            }
        }
        walk(&Cli::command(), "");
    }

    #[test]
    fn help_documents_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        for code in [
            "0  success",
            "2  usage",
            "3  validation",
            "4  auth",
            "5  conflict",
            "6  server",
        ] {
            assert!(help.contains(code), "missing {code:?} in --help");
        }
    }
}
