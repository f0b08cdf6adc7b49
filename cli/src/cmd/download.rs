//! `dist download`: fetches a channel's artifact through
//! `/d/{app}/{channel}/{platform}[/{arch}][?kind=]`,
//! streams it to a temporary file beside the target while hashing, checks the digest the
//! server announces in `X-Dist-Sha256`, and only then renames it into place.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use platform::{AppSlug, Arch, ChannelName, FileName, Kind, PlatformId};
use sha2::Digest;

use crate::Ctx;
use crate::client::{error_chain, sha256_header};
use crate::exit::{Exit, Failure};
use crate::ui::{self, human_size};

pub const AFTER_HELP: &str = "\
Without -o the file is saved in the current folder under the name the server gives. The
download is verified against the SHA-256 the server announces before it is renamed into
place; a mismatch leaves nothing behind and exits 6. When the release holds several files of
the platform and its preferred kinds do not choose, the command exits 5 listing them: choose
with --kind and --arch.

Examples:
  dist download --app acme --channel stable --platform {platform} --arch arm64 -o acme.{kind}
  dist download --app acme --channel beta --platform {platform2} --json";

#[derive(Args)]
pub struct DownloadArgs {
    #[arg(long)]
    pub app: AppSlug,
    #[arg(long)]
    pub channel: ChannelName,
    #[arg(long)]
    pub platform: PlatformId,
    #[arg(long)]
    pub arch: Option<Arch>,
    /// One of the platform's kinds, when the release holds several (`dist inspect` names a
    /// file's kind)
    #[arg(long)]
    pub kind: Option<Kind>,
    /// Where to save the file
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub async fn run(args: DownloadArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let api = ctx.api()?;
    let mut segments = vec![
        "d",
        args.app.as_str(),
        args.channel.as_str(),
        args.platform.as_str(),
    ];
    if let Some(arch) = &args.arch {
        segments.push(arch.as_str());
    }
    let mut url = api.url(&segments);
    if let Some(kind) = &args.kind {
        url.query_pairs_mut().append_pair("kind", kind.as_str());
    }
    let mut resp = match api.get_raw(url.clone()).await {
        Ok(r) => r,
        Err(e) => {
            let mut f = Failure::from(e);
            if f.exit == Exit::Conflict {
                f.message.push_str(
                    "; choose one with --kind and --arch (a file sharing both with another is fetched by its artifact id: GET /api/v1/artifacts/ID/download)",
                );
            }
            return Err(f.into());
        }
    };
    let expected = match sha256_header(&resp) {
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            return Err(Failure::new(
                Exit::Server,
                "protocol",
                format!("{url}: the X-Dist-Sha256 header is not a SHA-256: {e}"),
            )
            .into());
        }
        None => {
            return Err(Failure::new(
                Exit::Server,
                "protocol",
                format!("{url}: the server sent no X-Dist-Sha256 header, so the download cannot be verified"),
            )
            .into());
        }
    };
    let target = match &args.output {
        Some(p) => p.clone(),
        None => PathBuf::from(
            disposition_name(&resp)
                .map(|n| n.to_string())
                .unwrap_or_else(|| format!("{}-{}-{}", args.app, args.channel, args.platform)),
        ),
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let local = |e: std::io::Error| Failure::usage(format!("{}: {e}", target.display()));
    let mut tmp = tempfile::Builder::new()
        .prefix(".dist-download-")
        .tempfile_in(&dir)
        .map_err(local)?;
    let bar = ctx
        .ui
        .bar(resp.content_length().unwrap_or(0), &label(&target));
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    loop {
        let chunk = resp.chunk().await.map_err(|e| {
            Failure::network(format!("{url}: download interrupted: {}", error_chain(&e)))
        })?;
        let Some(chunk) = chunk else { break };
        hasher.update(&chunk);
        tmp.write_all(&chunk).map_err(local)?;
        size += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let got = platform::Sha256::from_bytes(hasher.finalize().into());
    if got != expected {
        // `tmp` is removed when dropped.
        return Err(Failure::new(
            Exit::Server,
            "digest_mismatch",
            format!(
                "{url}: downloaded {size} bytes hash to {got}, not the announced {expected}; nothing was saved"
            ),
        )
        .into());
    }
    tmp.as_file().sync_all().map_err(local)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(&target).map_err(|e| local(e.error))?;
    ctx.ui.note(&format!(
        "saved {} ({}), sha256 {got} verified",
        target.display(),
        human_size(size)
    ));
    if ctx.json() {
        ui::print_json(&serde_json::json!({
            "schema_version": platform::SCHEMA_VERSION,
            "file": target,
            "sha256": got,
            "size": size,
            "verified": true,
        }))?;
    }
    Ok(())
}

fn label(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The file name of `Content-Disposition: attachment; filename="x.bin"`, when it is a plain,
/// safe name (no folders, no leading dot).
fn disposition_name(resp: &reqwest::Response) -> Option<FileName> {
    let v = resp
        .headers()
        .get(reqwest::header::CONTENT_DISPOSITION)?
        .to_str()
        .ok()?;
    parse_disposition(v)
}

fn parse_disposition(v: &str) -> Option<FileName> {
    v.split(';').find_map(|part| {
        let part = part.trim();
        let value = part.strip_prefix("filename=")?;
        let value = value.trim().trim_matches('"');
        FileName::try_from(value.to_owned()).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_names_are_sanitised() {
        assert_eq!(
            parse_disposition("attachment; filename=\"app-release.apk\"").map(|f| f.to_string()),
            Some("app-release.apk".into())
        );
        assert_eq!(
            parse_disposition("attachment; filename=App.ipa").map(|f| f.to_string()),
            Some("App.ipa".into())
        );
        assert!(parse_disposition("attachment; filename=\"../../etc/passwd\"").is_none());
        assert!(parse_disposition("attachment; filename=\".bashrc\"").is_none());
        assert!(parse_disposition("attachment").is_none());
        // Issue 9, item 10: a name with a bidi override is not used; the default name is.
        assert!(parse_disposition("attachment; filename=\"a\u{202e}kpa.exe\"").is_none());
    }
}
