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

mod doc;
mod dry_run;
mod job;
mod plan;
mod promote;
mod upload;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use platform::ChannelName;

pub use plan::{Entry, expand, load_manifest};

use crate::Ctx;
use job::{AppState, Job};
use plan::{Planned, local_checks};

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
    /// from the manifest's; without it the app's setting decides (`dist app settings
    /// --version-mismatch`), a warning by default
    #[arg(long)]
    pub strict_versions: bool,
}

pub async fn run(cmd: CiCommand, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        CiCommand::Publish(args) => publish(args, ctx).await,
    }
}

// ---- the whole job ----

async fn publish(args: PublishArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let ui = ctx.ui;
    // Server and token first: a job without them stops before reading a single file.
    let api = ctx.api()?;
    api.require_token()?;
    let (manifest, dir, migrated) = load_manifest(&args.manifest)?;
    if let Some(w) = &migrated {
        ui.warn(w);
    }
    let entries = expand(&manifest, &dir)?;
    let planned = local_checks(&manifest, &entries, &ui)?;
    let channel = args.channel.clone().or_else(|| manifest.channel.clone());
    let mut job = Job::new(&api, ui, manifest, planned, channel, args.strict_versions);

    // Step 2: stop before any upload on a refused file or an error finding.
    if job.planned.iter().any(Planned::blocked) {
        return Err(job.stop_local("local inspection found errors"));
    }
    // A dry run writes nothing: the app it would create is one of its actions.
    let app = job.check_app(!args.dry_run).await?;
    if args.dry_run {
        let app_exists = !matches!(app, AppState::Missing);
        return dry_run::dry_run(&job, app_exists, args.allow_downgrade).await;
    }

    // Steps 3 and 4.
    job.create_release().await?;
    job.upload().await?;
    job.attach().await?;
    job.publish().await?;
    let channel = job.promote(args.allow_downgrade).await?;

    // Step 5.
    let doc = job.doc(channel, None);
    doc::summary(&ui, &doc);
    doc::print_doc(&doc);
    Ok(())
}
