//! `dist manifest check`: validates a `dist.json` the way `dist ci publish` reads it, without a
//! server or a token, so a CI job (or a person editing the file) learns about a bad field or a
//! glob that matches nothing before the build is handed over. `dist manifest init` writes a
//! first one for the artifacts it finds, and explains each field.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use platform::manifest::Manifest;
use platform::{AppSlug, ChannelName};
use serde::Serialize;
use serde_json::json;

use super::ci_publish::{Entry, expand, load_manifest};
use super::inspect::{Local, inspect_path};
use crate::Ctx;
use crate::exit::Failure;
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
    /// Write a dist.json for the artifacts found under a folder
    #[command(after_help = "\
Looks for files a linked target can publish (the publishable kinds `dist inspect` knows) under
--dir, up to 4 folders deep (skipping hidden folders, target/ and node_modules/), inspects
them, and writes DIR/dist.json with their paths, and the version and build the first one
declares. Each field is explained on stderr. It never overwrites a dist.json unless --force is given; check the
result with `dist manifest check`.

Example:
  dist manifest init --dir . --app acme --channel beta")]
    Init {
        /// The folder to search and write dist.json in
        #[arg(long, default_value = ".", value_name = "DIR")]
        dir: PathBuf,
        /// The app's slug (default: from the first file's identity)
        #[arg(long)]
        app: Option<AppSlug>,
        /// A channel to promote to
        #[arg(long)]
        channel: Option<ChannelName>,
        /// Replace an existing dist.json
        #[arg(long)]
        force: bool,
    },
}

/// Files under `dir` whose extension is a kind a linked target publishes, sorted.
fn candidates(dir: &Path) -> Vec<PathBuf> {
    let kinds: Vec<&str> = platform::registry()
        .targets()
        .iter()
        .flat_map(|t| t.kinds().iter())
        .filter(|k| k.publishable)
        .map(|k| k.kind)
        .collect();
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if depth < 4 && !name.starts_with('.') && name != "target" && name != "node_modules"
                {
                    stack.push((p, depth + 1));
                }
            } else if ft.is_file()
                && p.extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| kinds.contains(&x.to_ascii_lowercase().as_str()))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A slug from an identity: `com.acme.App` becomes `app`.
fn slug_of(identity: &str) -> Option<AppSlug> {
    let last = identity.rsplit('.').next()?.to_ascii_lowercase();
    let s: String = last
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.trim_matches('-').parse().ok()
}

fn init(
    ctx: &Ctx,
    dir: &Path,
    app: Option<AppSlug>,
    channel: Option<ChannelName>,
    force: bool,
) -> anyhow::Result<()> {
    let target = dir.join("dist.json");
    if target.exists() && !force {
        return Err(Failure::usage(format!(
            "{} exists; check it with `dist manifest check {}`, or pass --force to replace it",
            target.display(),
            target.display()
        ))
        .into());
    }
    let mut artifacts = Vec::new();
    let mut first: Option<platform::Inspection> = None;
    for path in candidates(dir) {
        let rel = path.strip_prefix(dir).unwrap_or(&path);
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Local::Inspected(i) = inspect_path(&path, &name, None, None)? {
            artifacts.push(json!({"path": rel, "platform": i.platform}));
            first.get_or_insert(*i);
        }
    }
    let Some(first) = first else {
        return Err(Failure::usage(format!(
            "no artifact found under {} (looked for files a linked target publishes, up to 4 folders deep); build first, or write dist.json by hand (README: dist.json reference)",
            dir.display()
        ))
        .into());
    };
    let app = app
        .or_else(|| first.identity.as_deref().and_then(slug_of))
        .ok_or_else(|| Failure::usage("cannot guess the app's slug; pass --app SLUG"))?;
    let mut m = json!({
        "schema_version": platform::manifest::MANIFEST_SCHEMA_VERSION,
        "app": app,
        "version": first.version.clone().unwrap_or_else(|| "1.0.0".into()),
        "build": first.build.clone().unwrap_or_else(|| "1".into()),
        "artifacts": artifacts,
    });
    if let Some(c) = &channel {
        m["channel"] = json!(c);
    }
    // What is written must be what `dist ci publish` reads; written in the types' field order.
    let parsed = Manifest::from_json(m.to_string().as_bytes()).map_err(|e| {
        Failure::manifest(format!(
            "the manifest made for {} is refused: {e}",
            dir.display()
        ))
    })?;
    let text = serde_json::to_string_pretty(&parsed)?;
    std::fs::write(&target, format!("{text}\n"))
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", target.display())))?;
    let ui = &ctx.ui;
    ui.note_lead(Tone::Green, "wrote", &target.display().to_string());
    ui.note(&format!(
        "  app: {app}: the app's slug on the server (--app to choose another)"
    ));
    ui.note(&format!(
        "  version, build: {} ({}), as {} declares them; CI usually sets them per build",
        m["version"].as_str().unwrap_or(""),
        m["build"].as_str().unwrap_or(""),
        first.file
    ));
    ui.note(&format!(
        "  artifacts: each file found, by path relative to dist.json (globs such as out/*.{} work too)",
        first.kind
    ));
    if channel.is_none() {
        ui.note(
            "  channel: none; add \"channel\": \"beta\" (or --channel) to promote after publishing",
        );
    }
    ui.note("  more fields (notes, source, install, arch): README, dist.json reference");
    if ctx.json() {
        return ui::print_json(&InitDoc {
            schema_version: platform::SCHEMA_VERSION,
            written: target.display().to_string(),
            manifest: m,
        });
    }
    Ok(())
}

#[derive(Serialize)]
struct InitDoc {
    schema_version: u32,
    written: String,
    manifest: serde_json::Value,
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
    /// How an older `schema_version` was read, with the edit that updates the file.
    warnings: Vec<String>,
}

pub fn run(cmd: ManifestCommand, ctx: &Ctx) -> anyhow::Result<()> {
    let (file, no_files) = match cmd {
        ManifestCommand::Check { file, no_files } => (file, no_files),
        ManifestCommand::Init {
            dir,
            app,
            channel,
            force,
        } => return init(ctx, &dir, app, channel, force),
    };
    let (manifest, dir, migrated) = load_manifest(&file)?;
    if let Some(w) = &migrated {
        ctx.ui.warn(w);
    }
    let mut links: Vec<String> = manifest
        .artifacts
        .iter()
        .filter_map(|a| a.link.clone())
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
        warnings: migrated.into_iter().collect(),
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
