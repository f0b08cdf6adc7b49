//! Content-addressed blob storage. [`BlobStore`] is the seam for an object store later; the
//! local implementation keeps `DATA/blobs/sha256/<2 hex>/<hex>`.
//!
//! An upload streams into `DATA/uploads/`, hashed as it goes: the request's task gathers the
//! body into blocks, a blocking thread hashes them and a writer thread writes them
//! (`block_writer` says why three stages; a bounded pool of blocks keeps memory flat, and a
//! dropped request cannot leave a write half-done). Only a file whose size and digest
//! match is fsynced, renamed into place and its folder fsynced: a crash leaves either nothing
//! in `blobs/` or a complete blob. Uploads that declare `Upload-Length` are resumable: their
//! bytes live in `uploads/<hex>.partial` until they complete, under a per-digest lock; a second
//! concurrent upload of the same digest writes its own temporary file instead, and whichever
//! finishes second finds the blob present.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::Digest;

use platform::Sha256;
use platform::api::ErrorCode;

use crate::error::{AppError, AppResult};

mod block_writer;
pub use block_writer::WriteStrategy;
use block_writer::{BLOCK, Block, BlockPool, BlockWriter, POOL};

/// What a `put` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created(u64),
    Present(u64),
}

/// One upload as the HTTP layer understood it.
#[derive(Debug, Clone, Copy)]
pub struct UploadRequest {
    pub digest: Sha256,
    /// The declared total size (`Upload-Length`, else `Content-Length`).
    pub total: Option<u64>,
    /// Where these bytes start (`Upload-Offset`, default 0).
    pub offset: u64,
    /// Keep the bytes received so far when the upload stops short (`Upload-Length` given).
    pub resumable: bool,
    pub max_bytes: u64,
    /// When the blob is already stored, hash the whole body and compare it with the digest
    /// instead of discarding it: the caller proves it holds the bytes (see `access`).
    pub prove_present: bool,
    /// Nothing received for this long closes the upload (its bytes kept when resumable), and
    /// a resume of the digest waits this long (plus a second) for a stalled holder to let go.
    pub stall: Duration,
}

/// What fsck sees in the store.
#[derive(Debug, Default)]
pub struct Scan {
    pub blobs: Vec<(Sha256, PathBuf)>,
    pub stray: Vec<PathBuf>,
}

/// The storage seam. Everything else reaches blob bytes through this.
pub trait BlobStore: Send + Sync + 'static {
    /// Size of a stored blob, `None` when absent.
    fn stat(&self, digest: &Sha256) -> io::Result<Option<u64>>;
    /// Bytes held of an unfinished resumable upload.
    fn partial_offset(&self, digest: &Sha256) -> Option<u64>;
    /// Streams a body into the store, checking size and digest.
    fn put<S, E>(
        &self,
        req: UploadRequest,
        body: S,
    ) -> impl Future<Output = AppResult<PutOutcome>> + Send
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: std::fmt::Display + Send + 'static;
    /// Stores small bytes (an icon) and returns their digest. Blocking.
    fn put_bytes(&self, bytes: &[u8]) -> io::Result<Sha256>;
    /// Opens a blob for reading. Blocking.
    fn open(&self, digest: &Sha256) -> io::Result<File>;
    /// Lists every blob and every file that has no business in the store.
    fn scan(&self) -> io::Result<Scan>;
    /// Removes a blob (`distd gc`, for blobs nothing refers to). Blocking.
    fn remove(&self, digest: &Sha256) -> io::Result<()>;
}

/// Reads and drops what is left of a request body, so a client still sending it gets the
/// answer instead of a connection reset (closing a socket with unread bytes resets it). A
/// client that stops sending is not waited for past `stall`, and at most `cap` bytes are read.
async fn drain<S, E>(body: &mut S, stall: Duration, cap: u64)
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut read = 0u64;
    while read <= cap {
        match tokio::time::timeout(stall, body.next()).await {
            Ok(Some(Ok(chunk))) => read += chunk.len() as u64,
            _ => break,
        }
    }
}

pub struct LocalBlobStore {
    blobs: PathBuf,
    uploads: PathBuf,
    /// One lock per digest with a resumable upload in progress.
    slots: Mutex<HashMap<Sha256, Arc<tokio::sync::Mutex<()>>>>,
    /// Serialises the exists-check and rename of `commit`, so one upload reports `Created`.
    commit_lock: Mutex<()>,
    /// How upload blocks reach the disk.
    writes: WriteStrategy,
}

impl LocalBlobStore {
    /// Creates the folders; with `clean_uploads`, removes leftovers of a previous run except
    /// the resumable partials (`<hex>.partial`): `partials::reconcile` decides about those.
    pub fn open(data: &Path, clean_uploads: bool) -> io::Result<Self> {
        let blobs = data.join("blobs");
        let uploads = data.join("uploads");
        crate::perms::create_dir_all(&blobs.join("sha256"))?;
        crate::perms::create_dir_all(&uploads)?;
        if clean_uploads {
            for entry in std::fs::read_dir(&uploads)? {
                let p = entry?.path();
                if p.is_dir() {
                    std::fs::remove_dir_all(&p)?;
                } else if partial_digest(&p).is_none() {
                    std::fs::remove_file(&p)?;
                }
            }
        }
        Ok(Self {
            blobs,
            uploads,
            slots: Mutex::new(HashMap::new()),
            commit_lock: Mutex::new(()),
            writes: WriteStrategy::default(),
        })
    }

    /// Uploads write their blocks this way (`DIST_UPLOAD_WRITES`).
    pub fn with_writes(mut self, writes: WriteStrategy) -> Self {
        self.writes = writes;
        self
    }

    pub fn path(&self, digest: &Sha256) -> PathBuf {
        let hex = digest.hex();
        self.blobs.join("sha256").join(&hex[..2]).join(hex)
    }

    fn partial_path(&self, digest: &Sha256) -> PathBuf {
        self.uploads.join(format!("{}.partial", digest.hex()))
    }

    /// Every resumable partial in `uploads/`: digest, bytes held, last write.
    pub fn partials(&self) -> io::Result<Vec<(Sha256, u64, std::time::SystemTime)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.uploads)? {
            let p = entry?.path();
            if let Some(d) = partial_digest(&p) {
                let m = std::fs::metadata(&p)?;
                out.push((d, m.len(), m.modified()?));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes a partial nobody is writing (an upload in progress keeps its file).
    pub fn remove_partial(&self, digest: &Sha256) -> io::Result<bool> {
        if self.in_progress(digest) {
            return Ok(false);
        }
        match std::fs::remove_file(self.partial_path(digest)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether an upload of this digest holds its lock now.
    pub fn in_progress(&self, digest: &Sha256) -> bool {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.get(digest).is_some_and(|s| s.try_lock().is_err())
    }

    fn temp_path(&self) -> PathBuf {
        self.uploads.join(format!(
            "tmp-{}",
            crate::util::new_id("up").trim_start_matches("up_")
        ))
    }

    fn slot(&self, digest: &Sha256) -> Arc<tokio::sync::Mutex<()>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(*digest).or_default().clone()
    }

    fn release_slot(&self, digest: &Sha256) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.get(digest).is_some_and(|s| Arc::strong_count(s) == 1) {
            slots.remove(digest);
        }
    }

    /// Moves a verified, fsynced temp file into place; `Present` if another upload won.
    fn commit(&self, tmp: &Path, digest: &Sha256, size: u64) -> io::Result<PutOutcome> {
        let dest = self.path(digest);
        let dir = dest.parent().unwrap_or(&self.blobs).to_path_buf();
        let new_dir = !dir.exists();
        crate::perms::create_dir_all(&dir)?;
        let _guard = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
        if dest.exists() {
            std::fs::remove_file(tmp)?;
            return Ok(PutOutcome::Present(size));
        }
        std::fs::rename(tmp, &dest)?;
        sync_dir(&dir)?;
        if new_dir {
            sync_dir(&self.blobs.join("sha256"))?;
        }
        sync_dir(&self.uploads)?;
        Ok(PutOutcome::Created(size))
    }
}

/// Hashes a whole body against a stored blob's digest and size, storing nothing.
async fn prove_possession<S, E>(req: &UploadRequest, size: u64, body: &mut S) -> AppResult<()>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    if req.offset != 0 {
        return Err(AppError::conflict(
            "these bytes are stored but not yet for this app: send the whole file from offset 0 to prove it holds them",
        )
        .with_offset(0));
    }
    let mut hasher = sha2::Sha256::new();
    let mut received: u64 = 0;
    loop {
        let frame = match tokio::time::timeout(req.stall, body.next()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => {
                return Err(AppError::new(
                    ErrorCode::UploadStalled,
                    format!(
                        "nothing arrived for {} s after {received} bytes, so the upload was closed; send the whole file again",
                        req.stall.as_secs()
                    ),
                ));
            }
        };
        let chunk = frame.map_err(|e| {
            AppError::bad_request(format!("upload interrupted after {received} bytes: {e}"))
        })?;
        received += chunk.len() as u64;
        if received > size {
            return Err(AppError::new(
                ErrorCode::SizeMismatch,
                format!(
                    "received more than the {size} bytes of sha256 {}",
                    req.digest
                ),
            ));
        }
        hasher.update(&chunk);
    }
    let got = Sha256::from_bytes(hasher.finalize().into());
    if received != size || got != req.digest {
        return Err(AppError::new(
            ErrorCode::DigestMismatch,
            format!(
                "the {received} bytes received hash to sha256 {got}, not {}",
                req.digest
            ),
        ));
    }
    Ok(())
}

/// The digest of `uploads/<hex>.partial`, `None` for any other file.
fn partial_digest(p: &Path) -> Option<Sha256> {
    p.file_name()?
        .to_str()?
        .strip_suffix(".partial")?
        .parse()
        .ok()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

enum Msg {
    Data(Block),
    Done,
}

struct Job {
    req: UploadRequest,
    path: PathBuf,
    keep_partial: bool,
}

/// ENOSPC, or EDQUOT (a quota is as full as a disk to the user).
pub fn is_disk_full(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(28) | Some(122))
}

fn io_err(context: &str, e: io::Error) -> AppError {
    if is_disk_full(&e) {
        tracing::warn!("{context}: the data folder's disk is full");
        return AppError::new(
            ErrorCode::InsufficientStorage,
            "the server's disk is full: the upload could not be stored; an admin frees space (distd gc removes unreferenced files)",
        );
    }
    AppError::internal(context, e)
}

/// The blocking half of an upload: writes and hashes what the channel brings.
fn write_upload(
    store: &LocalBlobStore,
    job: Job,
    mut rx: tokio::sync::mpsc::Receiver<Msg>,
    returns: tokio::sync::mpsc::Sender<Block>,
) -> AppResult<PutOutcome> {
    let Job {
        req,
        path,
        keep_partial,
    } = job;
    let discard = |p: &Path| {
        let _ = std::fs::remove_file(p);
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(crate::perms::FILE_MODE)
        .open(&path)
        .map_err(|e| io_err("open upload file", e))?;
    let mut hasher = sha2::Sha256::new();
    if req.offset > 0 {
        // Resume: re-hash what is already held (the handler checked its length).
        file.set_len(req.offset)
            .map_err(|e| io_err("truncate partial", e))?;
        let mut buf = vec![0u8; BLOCK];
        let mut left = req.offset;
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let n = file
                .read(&mut buf[..want])
                .map_err(|e| io_err("read partial", e))?;
            if n == 0 {
                discard(&path);
                return Err(
                    AppError::conflict("the partial upload shrank; start again").with_offset(0)
                );
            }
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
    } else {
        file.set_len(0).map_err(|e| io_err("truncate upload", e))?;
    }
    let limit = req.total.unwrap_or(req.max_bytes);
    let mut w = BlockWriter::open(&path, req.offset, store.writes, returns)
        .map_err(|e| io_err("open upload file", e))?;
    let mut received = req.offset;
    // Where this thread's time goes: hashing is the upload's floor on a small machine.
    let started = Instant::now();
    let mut hashing = Duration::ZERO;
    loop {
        match rx.blocking_recv() {
            Some(Msg::Data(block)) => {
                received = received.saturating_add(block.bytes().len() as u64);
                if received > limit {
                    drop(w);
                    discard(&path);
                    return Err(match req.total {
                        Some(t) => AppError::new(
                            ErrorCode::SizeMismatch,
                            format!("more bytes than the declared size of {t}; nothing was stored"),
                        ),
                        None => AppError::new(
                            ErrorCode::PayloadTooLarge,
                            format!("upload larger than the limit of {} bytes", req.max_bytes),
                        ),
                    });
                }
                let t = Instant::now();
                hasher.update(block.bytes());
                hashing += t.elapsed();
                if let Err(e) = w.write(block) {
                    drop(w);
                    discard(&path);
                    return Err(io_err("write upload", e));
                }
            }
            Some(Msg::Done) => break,
            None => {
                // The request went away mid-body: keep what arrived, if it may be resumed.
                let kept = keep_partial && w.finish().and_then(|end| file.set_len(end)).is_ok();
                if !kept {
                    discard(&path);
                }
                return Err(AppError::bad_request(format!(
                    "upload interrupted after {received} bytes"
                )));
            }
        }
    }
    if let Err(e) = w.finish().and_then(|end| file.set_len(end)) {
        discard(&path);
        return Err(io_err("write upload", e));
    }
    tracing::debug!(
        bytes = received - req.offset,
        hashing_s = hashing.as_secs_f64(),
        body_s = started.elapsed().as_secs_f64(),
        "upload body received"
    );
    if let Some(total) = req.total
        && received != total
    {
        drop(file);
        if keep_partial {
            return Err(AppError::new(
                ErrorCode::SizeMismatch,
                format!(
                    "received {received} of {total} bytes; send the rest with Upload-Offset: {received}"
                ),
            )
            .with_offset(received));
        }
        discard(&path);
        return Err(AppError::new(
            ErrorCode::SizeMismatch,
            format!(
                "received {received} bytes, but the declared size is {total}; nothing was stored"
            ),
        ));
    }
    let got = Sha256::from_bytes(hasher.finalize().into());
    if got != req.digest {
        drop(file);
        discard(&path);
        return Err(AppError::new(
            ErrorCode::DigestMismatch,
            format!(
                "the {received} bytes received hash to sha256 {got}, not {}; nothing was stored",
                req.digest
            ),
        ));
    }
    if let Err(e) = file.sync_all() {
        discard(&path);
        return Err(io_err("fsync upload", e));
    }
    drop(file);
    store.commit(&path, &req.digest, received).map_err(|e| {
        discard(&path);
        io_err("commit blob", e)
    })
}

impl BlobStore for Arc<LocalBlobStore> {
    fn stat(&self, digest: &Sha256) -> io::Result<Option<u64>> {
        match std::fs::metadata(self.path(digest)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn partial_offset(&self, digest: &Sha256) -> Option<u64> {
        std::fs::metadata(self.partial_path(digest))
            .ok()
            .map(|m| m.len())
    }

    fn put<S, E>(
        &self,
        req: UploadRequest,
        mut body: S,
    ) -> impl Future<Output = AppResult<PutOutcome>> + Send
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let store = self.clone();
        async move {
            if let Some(size) = store
                .stat(&req.digest)
                .map_err(|e| io_err("stat blob", e))?
            {
                if req.total.is_some_and(|t| t != size) {
                    return Err(AppError::new(
                        ErrorCode::SizeMismatch,
                        format!(
                            "the server has sha256 {} with {size} bytes, not the declared {}",
                            req.digest,
                            req.total.unwrap_or_default()
                        ),
                    ));
                }
                if req.prove_present {
                    prove_possession(&req, size, &mut body).await?;
                    return Ok(PutOutcome::Present(size));
                }
                drain(&mut body, req.stall, req.max_bytes).await;
                return Ok(PutOutcome::Present(size));
            }
            if let Some(t) = req.total
                && t > req.max_bytes
            {
                return Err(AppError::new(
                    ErrorCode::PayloadTooLarge,
                    format!(
                        "declared size {t} is over the limit of {} bytes",
                        req.max_bytes
                    ),
                ));
            }
            if req.offset > 0 && !req.resumable {
                return Err(AppError::bad_request(
                    "Upload-Offset needs Upload-Length (the total size)",
                ));
            }
            // The resumable slot, if free; else a private temp file. A resume waits for the
            // slot: a stalled holder lets go within the stall timeout, and the resume takes over.
            let slot = store.slot(&req.digest);
            let guard = match (req.resumable, slot.clone().try_lock_owned()) {
                (false, _) => None,
                (true, Ok(g)) => Some(g),
                (true, Err(_)) if req.offset > 0 => {
                    let wait = req.stall + Duration::from_secs(1);
                    match tokio::time::timeout(wait, slot.clone().lock_owned()).await {
                        Ok(g) => Some(g),
                        Err(_) => {
                            drop(slot);
                            store.release_slot(&req.digest);
                            let held = store.partial_offset(&req.digest).unwrap_or(0);
                            return Err(AppError::unavailable(format!(
                                "another upload of sha256 {} is still receiving bytes; retry in a moment",
                                req.digest
                            ))
                            .with_offset(held));
                        }
                    }
                }
                (true, Err(_)) => None,
            };
            drop(slot);
            let (path, keep_partial) = match &guard {
                Some(_) => {
                    let path = store.partial_path(&req.digest);
                    let held = store.partial_offset(&req.digest).unwrap_or(0);
                    if req.offset != 0 && req.offset != held {
                        drop(guard);
                        store.release_slot(&req.digest);
                        return Err(AppError::conflict(format!(
                            "wrong Upload-Offset {}: the server holds {held} bytes of this upload",
                            req.offset
                        ))
                        .with_offset(held));
                    }
                    (path, true)
                }
                None if req.offset > 0 => {
                    return Err(AppError::bad_request(
                        "Upload-Offset needs Upload-Length (the total size)",
                    ));
                }
                None => (store.temp_path(), false),
            };
            let (tx, rx) = tokio::sync::mpsc::channel(POOL);
            let (mut pool, returns) = BlockPool::new();
            let writer_store = store.clone();
            let digest = req.digest;
            let writer = tokio::task::spawn_blocking(move || {
                let out = write_upload(
                    &writer_store,
                    Job {
                        req,
                        path,
                        keep_partial,
                    },
                    rx,
                    returns,
                );
                drop(guard);
                writer_store.release_slot(&digest);
                out
            });
            // The body is gathered into blocks here, so the hashing thread only hashes.
            let mut failed: Option<AppError> = None;
            let mut block = pool.take().await;
            let mut stalled = false;
            'body: loop {
                let frame = match tokio::time::timeout(req.stall, body.next()).await {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(_) => {
                        stalled = true;
                        break;
                    }
                };
                match frame {
                    Ok(chunk) => {
                        let mut data = &chunk[..];
                        while !data.is_empty() {
                            let Some(b) = block.as_mut() else {
                                break 'body; // the writer stopped; its result says why
                            };
                            let n = b.push(data);
                            data = &data[n..];
                            if let Some(full) = block.take_if(|b| b.is_full()) {
                                if tx.send(Msg::Data(full)).await.is_err() {
                                    break 'body;
                                }
                                block = pool.take().await;
                            }
                        }
                    }
                    Err(e) => {
                        failed = Some(AppError::bad_request(format!("upload interrupted: {e}")));
                        break;
                    }
                }
            }
            // What arrived is written even when the body broke off: a resumable upload keeps it.
            if let Some(b) = block.take().filter(|b| !b.is_empty()) {
                let _ = tx.send(Msg::Data(b)).await;
            }
            if failed.is_none() && !stalled {
                let _ = tx.send(Msg::Done).await;
            }
            drop(tx);
            let out = writer
                .await
                .map_err(|e| AppError::internal("upload writer", e))?;
            if stalled {
                let held = store.partial_offset(&digest).filter(|_| req.resumable);
                tracing::info!(
                    sha256 = %digest,
                    kept = held.unwrap_or(0),
                    "upload stalled: nothing received for {} s; closed",
                    req.stall.as_secs()
                );
                let kept = match held {
                    Some(n) => {
                        format!("the {n} bytes received are kept: resume with Upload-Offset: {n}")
                    }
                    None => "nothing was kept (send Upload-Length to make an upload resumable)"
                        .to_owned(),
                };
                let e = AppError::new(
                    ErrorCode::UploadStalled,
                    format!(
                        "nothing arrived for {} s, so the upload was closed; {kept}",
                        req.stall.as_secs()
                    ),
                );
                return Err(match held {
                    Some(n) => e.with_offset(n),
                    None => e,
                });
            }
            match (out, failed) {
                (Ok(o), _) => Ok(o),
                (Err(e), None) => {
                    // The writer stopped (a full disk, a digest that cannot match) while the
                    // client may still be sending.
                    drain(&mut body, req.stall, req.max_bytes).await;
                    Err(e)
                }
                (Err(_), Some(f)) => Err(f),
            }
        }
    }

    fn put_bytes(&self, bytes: &[u8]) -> io::Result<Sha256> {
        let digest = Sha256::digest(bytes);
        if self.stat(&digest)?.is_some() {
            return Ok(digest);
        }
        let tmp = self.temp_path();
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(crate::perms::FILE_MODE)
            .open(&tmp)?;
        let res = f.write_all(bytes).and_then(|_| f.sync_all());
        drop(f);
        if let Err(e) = res {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.commit(&tmp, &digest, bytes.len() as u64)?;
        Ok(digest)
    }

    fn open(&self, digest: &Sha256) -> io::Result<File> {
        File::open(self.path(digest))
    }

    fn remove(&self, digest: &Sha256) -> io::Result<()> {
        let path = self.path(digest);
        std::fs::remove_file(&path)?;
        sync_dir(path.parent().unwrap_or(&self.blobs))
    }

    fn scan(&self) -> io::Result<Scan> {
        let mut scan = Scan::default();
        for entry in std::fs::read_dir(&self.blobs)? {
            let p = entry?.path();
            if p.file_name().and_then(|n| n.to_str()) != Some("sha256") {
                scan.stray.push(p);
            }
        }
        for entry in std::fs::read_dir(self.blobs.join("sha256"))? {
            let dir = entry?.path();
            let prefix = dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            let prefix_ok = prefix.len() == 2
                && prefix
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
            if !prefix_ok || !dir.is_dir() {
                scan.stray.push(dir);
                continue;
            }
            for f in std::fs::read_dir(&dir)? {
                let p = f?.path();
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with(crate::startup::PROBE_PREFIX) {
                    continue; // a start-up write probe a killed run left; the next run removes it
                }
                match name.parse::<Sha256>() {
                    Ok(d) if name.starts_with(&prefix) && p.is_file() => scan.blobs.push((d, p)),
                    _ => scan.stray.push(p),
                }
            }
        }
        scan.blobs.sort();
        Ok(scan)
    }
}
