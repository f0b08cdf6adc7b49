//! Uploading one blob, resuming where the server's partial ends, with one retry after the
//! file was hashed again when the server refused the bytes.

use std::path::Path;

use platform::Sha256;
use platform::api::ErrorCode;

use crate::client::{Api, ApiError, BlobState};
use crate::exit::{Exit, Failure};
use crate::ui::Ui;

/// One file to upload, for the app that will own the blob.
pub(super) struct Upload<'a> {
    pub(super) app: &'a str,
    pub(super) path: &'a Path,
    pub(super) label: &'a str,
    pub(super) sha: &'a Sha256,
    pub(super) size: u64,
}

/// Uploads one blob; on a digest or size mismatch re-hashes the file: if it changed, fails
/// saying so; if not, retries once, then fails. True when this call stored the blob.
pub(super) async fn upload_checked(
    api: &Api,
    ui: &Ui,
    file: &Upload<'_>,
    offset: u64,
) -> Result<bool, Failure> {
    let &Upload {
        app,
        path,
        label,
        sha,
        size,
    } = file;
    let is_mismatch = |e: &ApiError| {
        matches!(
            e.code(),
            Some(ErrorCode::DigestMismatch | ErrorCode::SizeMismatch)
        )
    };
    let bar = ui.bar(size, label);
    let first = api.blob_put(app, path, sha, size, offset, &bar).await;
    let err = match first {
        Ok(o) => {
            bar.finish_and_clear();
            return Ok(o.created);
        }
        Err(e) if is_mismatch(&e) => e,
        Err(e) => {
            bar.abandon();
            return Err(e.into());
        }
    };
    let changed = |now: &str| {
        Failure::new(
            Exit::Server,
            "file_changed",
            format!(
                "{label} changed while it was uploaded (sha256 was {sha}, {now}); nothing was published"
            ),
        )
    };
    ui.warn(&format!(
        "{label}: the server refused the bytes it received ({err}); hashing the file again"
    ));
    let (now, now_size) = hash_file(path)?;
    if now != *sha || now_size != size {
        bar.abandon();
        return Err(changed(&format!("now {now}, {now_size} bytes")));
    }
    ui.note(&format!(
        "{label}: unchanged on disk; retrying the upload once"
    ));
    let offset = match api.blob_head(app, sha).await? {
        BlobState::Present => {
            bar.finish_and_clear();
            return Ok(true);
        }
        BlobState::Missing { offset } => offset,
    };
    match api.blob_put(app, path, sha, size, offset, &bar).await {
        Ok(o) => {
            bar.finish_and_clear();
            Ok(o.created)
        }
        Err(e) if is_mismatch(&e) => {
            bar.abandon();
            Err(Failure::new(
                Exit::Server,
                "digest_mismatch",
                format!(
                    "{label}: the server twice received bytes that do not hash to {sha} ({e}); the file changed while it was uploaded or the transfer damages data; nothing was published"
                ),
            ))
        }
        Err(e) => {
            bar.abandon();
            Err(e.into())
        }
    }
}

fn hash_file(path: &Path) -> Result<(Sha256, u64), Failure> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| Failure::usage(format!("{}: cannot read: {e}", path.display())))?;
    Sha256::of_reader(&mut f)
        .map_err(|e| Failure::usage(format!("{}: cannot read: {e}", path.display())))
}
