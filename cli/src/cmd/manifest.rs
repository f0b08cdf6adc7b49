//! `dist manifest check`: validates a `dist.json` the way `dist ci publish` reads it, without a
//! server or a token, so a CI job (or a person editing the file) learns about a bad field or a
//! glob that matches nothing before the build is handed over.

use std::path::PathBuf;

use clap::Subcommand;
use serde::Serialize;

use super::ci_publish::{Entry, expand, load_manifest};
use crate::Ctx;
use crate::ui::{self, Tone};

#[derive(Subcommand)]
pub enum ManifestCommand {
    /// Check a dist.json: its fields, and (unless --no-files) that every path matches a file
    #[command(after_help = "\
Reads the file exactly as `dist ci publish` does: schema_version first, then every field
(unknown fields are refused), then the artifact paths, expanded as globs relative to the
file's folder. Exits 0 when it is valid, 2 with the field and what was expected when not.
The fields are described in the README (\"dist.json reference\") and in docs/dist.schema.json.

Examples:
  dist manifest check dist.json
  dist manifest check --no-files --json dist.json")]
    Check {
        /// The manifest to check
        #[arg(value_name = "FILE", default_value = "dist.json")]
        file: PathBuf,
        /// Check the fields only; do not look for the artifact files
        #[arg(long)]
        no_files: bool,
    },
}

#[derive(Serialize)]
struct CheckDoc {
    schema_version: u32,
    valid: bool,
    manifest: String,
    app: String,
    version: String,
    build: String,
    channel: Option<String>,
    /// The files the paths matched, relative to the manifest's folder (absent with
    /// `--no-files`).
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<Vec<String>>,
    links: Vec<String>,
}

pub fn run(cmd: ManifestCommand, ctx: &Ctx) -> anyhow::Result<()> {
    let ManifestCommand::Check { file, no_files } = cmd;
    let (manifest, dir) = load_manifest(&file)?;
    let mut links: Vec<String> = manifest
        .artifacts
        .iter()
        .filter_map(|a| a.testflight_url.clone())
        .collect();
    let files = if no_files {
        None
    } else {
        links.clear();
        let mut files = Vec::new();
        for e in expand(&manifest, &dir)? {
            match e {
                Entry::File { path, .. } => files.push(
                    path.strip_prefix(&dir)
                        .unwrap_or(&path)
                        .to_string_lossy()
                        .into_owned(),
                ),
                Entry::Link { url, .. } => links.push(url),
            }
        }
        Some(files)
    };
    let doc = CheckDoc {
        schema_version: platform::SCHEMA_VERSION,
        valid: true,
        manifest: file.display().to_string(),
        app: manifest.app.to_string(),
        version: manifest.version.to_string(),
        build: manifest.build.to_string(),
        channel: manifest.channel.as_ref().map(|c| c.to_string()),
        files,
        links,
    };
    if ctx.json() {
        return ui::print_json(&doc);
    }
    let what = match &doc.files {
        Some(f) => format!("{} file(s), {} link(s)", f.len(), doc.links.len()),
        None => format!(
            "{} artifact entr{} (files not looked for)",
            manifest.artifacts.len(),
            if manifest.artifacts.len() == 1 {
                "y"
            } else {
                "ies"
            }
        ),
    };
    ctx.ui.note_lead(
        Tone::Green,
        "valid",
        &format!(
            "{}: {} {} ({}){}, {what}",
            doc.manifest,
            doc.app,
            doc.version,
            doc.build,
            doc.channel
                .as_ref()
                .map(|c| format!(" for channel {c}"))
                .unwrap_or_default()
        ),
    );
    for f in doc.files.iter().flatten() {
        ctx.ui.line(f);
    }
    Ok(())
}
