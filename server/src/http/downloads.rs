//! Downloads and install pages. API: `GET /api/v1/artifacts/{id}/download` (bearer token or
//! `?token=`). Page side, which people and devices use: the stable channel URLs
//! `/d/{app}/{channel}/{platform}[/{arch}][?kind=]` and the documents that follow a channel
//! `/d/{app}/{channel}/{platform}/feed/{name}`, the install page `/i/{artifact_id}`, its file
//! `/i/{id}/download` and its documents `/i/{id}/{doc}` (an OTA manifest, the icon).
//!
//! Page-side access follows the README's security model: a public release needs nothing; else
//! a grant for this artifact and purpose (links inside pages), a page or admin session cookie,
//! a bearer token, or `?token=` (which the install page exchanges for a page session and then
//! drops from the address). Only published, not revoked, releases are served here. Links inside
//! pages carry grants, never a token.

use std::io::SeekFrom;

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use rusqlite::Connection;
use serde::Deserialize;

use platform::api::{SHA256_HEADER, Scope};
use platform::channel::{self, Candidate, ChannelArtifact, ChannelContext, Pick};
use platform::{
    AppSlug, Arch, ArtifactId, ArtifactView, ChannelName, Client, Links, PlatformId, Sha256,
};

use super::auth::{Auth, need};
use super::{ApiPath, ApiQuery, page_id, parse_seg};
use crate::access::{self, Use};
use crate::auth::{self, Principal};
use crate::blobs::BlobStore;
use crate::db::{self, ArtifactRow, ReleaseRow};
use crate::error::{AppError, AppResult};
use crate::grants::Purpose;
use crate::services::{self, AppState, releases};
use crate::sessions::{self, Kind};
use crate::util;
use ui::Template;

/// Bytes read from disk per body frame. 256 KiB downloaded as fast as 1 and 2 MiB on loopback
/// (medians within 5%, bench of issue 15) with a quarter of the memory per download.
const READ_CHUNK: usize = 256 * 1024;
/// Chunks read ahead of the socket.
const READ_AHEAD: usize = 4;
/// A file addressed by artifact id never changes (releases are immutable).
const CACHE_IMMUTABLE: &str = "private, max-age=31536000, immutable";
/// A channel URL moves on promote: revalidate every time (the ETag is the digest).
pub(super) const CACHE_REVALIDATE: &str = "no-cache";
/// HTML and documents whose links carry grants must not be kept.
pub(super) const CACHE_NONE: &str = "no-store";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/d/{app}/{channel}/{platform}", get(channel_download))
        .route(
            "/d/{app}/{channel}/{platform}/{arch}",
            get(channel_download_arch),
        )
        .route(
            "/d/{app}/{channel}/{platform}/feed/{name}",
            get(channel_feed),
        )
        .route("/i/{id}", get(install_page))
        .route(ui::STYLESHEET_PATH, get(stylesheet))
        .route(ui::SCRIPT_PATH, get(script))
        .route("/i/{id}/download", get(page_download))
        .route("/i/{id}/{doc}", get(install_document))
}

/// What page-side routes read from the query.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub(super) token: Option<String>,
    pub(super) grant: Option<String>,
}

/// How a page-side request got in.
pub(super) enum Entry {
    /// The release is public: links need nothing either.
    Public,
    /// A grant for this artifact and purpose.
    Grant,
    /// A token: by header, `?token=` or a session cookie.
    Caller,
}

/// How a caller presented its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Via {
    Link,
    Bearer,
    AdminSession,
    PageSession,
}

/// The token behind a page-side request, if any: `?token=`, then the bearer header, then the
/// admin session, then the page session. A revoked or expired token is a 401 saying so.
pub(super) fn page_caller(
    c: &Connection,
    h: &HeaderMap,
    query_token: Option<&str>,
) -> AppResult<Option<(Principal, Via)>> {
    if let Some(t) = query_token {
        return auth::authenticate(c, t).map(|p| Some((p, Via::Link)));
    }
    if let Some(secret) = bearer_of(h)? {
        return auth::authenticate(c, secret).map(|p| Some((p, Via::Bearer)));
    }
    for (kind, via) in [
        (Kind::Admin, Via::AdminSession),
        (Kind::Page, Via::PageSession),
    ] {
        if let Some(v) = sessions::cookie(h, kind.cookie())
            && let Some(p) = sessions::principal(c, kind, v)?
        {
            return Ok(Some((p, via)));
        }
    }
    Ok(None)
}

/// The secret of an `Authorization: Bearer` header, if one came; a header of another shape
/// is a 401 saying what to send.
fn bearer_of(h: &HeaderMap) -> AppResult<Option<&str>> {
    let Some(v) = h.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .and_then(|s| auth::bearer(Some(s)))
        .map(Some)
        .ok_or_else(|| {
            AppError::unauthorized(
                "malformed Authorization header: send Authorization: Bearer <token>",
            )
        })
}

/// [`page_caller`] for a request without `?token=`, from the read-path caches: a known bearer
/// token or session costs no database read (`http::auth`'s `authenticate_cached` and
/// `session_cached` say when they read it).
pub(super) async fn page_caller_cached(
    st: &AppState,
    h: &HeaderMap,
) -> AppResult<Option<(Principal, Via)>> {
    if let Some(secret) = bearer_of(h)? {
        let (p, first_use) = super::auth::authenticate_cached(st, secret.to_owned()).await?;
        super::auth::note_use(st, &p, first_use);
        return Ok(Some((p, Via::Bearer)));
    }
    for (kind, via) in [
        (Kind::Admin, Via::AdminSession),
        (Kind::Page, Via::PageSession),
    ] {
        if let Some(v) = sessions::cookie(h, kind.cookie())
            && let Some(p) = super::auth::session_cached(st, kind, v).await?
        {
            return Ok(Some((p, via)));
        }
    }
    Ok(None)
}

/// Pages and their files need the download scope; an admin session's read scope opens them too
/// (a release manager checking what testers get).
pub(super) fn page_scope(p: &Principal, via: Via) -> AppResult<()> {
    if p.has(Scope::Download) || (via == Via::AdminSession && p.has(Scope::Read)) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "token {} has no download scope; ask for a download link",
            p.name
        )))
    }
}

pub(super) fn no_credential() -> AppError {
    AppError::unauthorized(
        "this page needs a download link: open the link you were sent (it carries ?token=), or ask for a new one; links inside pages expire after a while, so reload the page you came from",
    )
}

/// Decides a page-side request for one artifact of one release.
fn page_entry(
    st: &AppState,
    c: &Connection,
    h: &HeaderMap,
    q: &PageQuery,
    art: &ArtifactRow,
    rel: &ReleaseRow,
    purpose: Option<Purpose>,
) -> AppResult<Entry> {
    if let (Some(g), Some(purpose)) = (q.grant.as_deref(), purpose)
        && rel.status == platform::api::ReleaseStatus::Published
        && st
            .grants
            .verify(g, art.id.as_str(), purpose, util::now_unix())
    {
        return Ok(Entry::Grant);
    }
    if access::release_is_public(c, rel)? {
        return Ok(Entry::Public);
    }
    let (p, via) = page_caller(c, h, q.token.as_deref())?.ok_or_else(no_credential)?;
    page_scope(&p, via)?;
    access::check_release(c, &p, rel, Use::Page)?;
    Ok(Entry::Caller)
}

/// Loads an artifact and its release and decides who gets in.
async fn page_artifact(
    st: &AppState,
    h: &HeaderMap,
    q: PageQuery,
    id: String,
    purpose: Option<Purpose>,
) -> AppResult<(ArtifactRow, ReleaseRow, Entry)> {
    let id: ArtifactId = page_id(&id)?;
    let (st2, h) = (st.clone(), h.clone());
    st.db
        .read(move |c| {
            let (art, rel) = releases::artifact_row(c, &id)?;
            let entry = page_entry(&st2, c, &h, &q, &art, &rel, purpose)?;
            Ok((art, rel, entry))
        })
        .await
}

/// The single range a `Range` header asks for.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    Full,
    Part(u64, u64),
    Unsatisfiable,
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n`. Several ranges or a malformed header get the whole
/// file (a server may ignore Range).
fn parse_range(h: Option<&HeaderValue>, size: u64) -> Range {
    let Some(spec) = h
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().strip_prefix("bytes="))
    else {
        return Range::Full;
    };
    if spec.contains(',') {
        return Range::Full;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Range::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    match (a.is_empty(), b.is_empty()) {
        (true, false) => match b.parse::<u64>() {
            Ok(0) => Range::Unsatisfiable,
            Ok(_) if size == 0 => Range::Unsatisfiable,
            Ok(n) => Range::Part(size - n.min(size), size - 1),
            Err(_) => Range::Full,
        },
        (false, _) => {
            let Ok(start) = a.parse::<u64>() else {
                return Range::Full;
            };
            let end = if b.is_empty() {
                size.saturating_sub(1)
            } else {
                match b.parse::<u64>() {
                    Ok(e) if e >= start => e.min(size.saturating_sub(1)),
                    _ => return Range::Full,
                }
            };
            if start >= size {
                Range::Unsatisfiable
            } else {
                Range::Part(start, end)
            }
        }
        (true, true) => Range::Full,
    }
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded`.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut enc = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{enc}")
}

/// Streams a blob with Range support; never reads it whole into memory.
/// How a blob is presented.
struct Served<'a> {
    /// The artifact the file belongs to, for the answer when the file is missing.
    artifact: &'a str,
    file_name: &'a str,
    media_type: &'static str,
    cache: &'static str,
    /// `Content-Disposition: attachment` (files) or none (an icon shown in a page).
    attachment: bool,
}

/// `If-None-Match` names this entity tag (or `*`).
pub(super) fn not_modified(h: &HeaderMap, etag: &str) -> bool {
    h.get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

async fn serve_blob(
    st: &AppState,
    digest: Sha256,
    served: &Served<'_>,
    h: &HeaderMap,
) -> AppResult<Response> {
    let etag = format!("\"{}\"", digest.hex());
    if not_modified(h, &etag) {
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(header::ETAG, etag)
            .header(header::CACHE_CONTROL, served.cache)
            .body(Body::empty())
            .map_err(|e| AppError::internal("response", e));
    }
    if let Some(prefix) = st.cfg.accel_redirect.as_deref() {
        return accel_redirect(st, prefix, digest, served, etag).await;
    }
    let blobs = st.blobs.clone();
    let (file, size) = tokio::task::spawn_blocking(move || {
        let file = blobs.open(&digest)?;
        let size = file.metadata()?.len();
        Ok::<_, std::io::Error>((file, size))
    })
    .await
    .map_err(|e| AppError::internal("open task", e))?
    .map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            st.blob_missing(&digest, served.artifact, served.file_name)
        } else {
            AppError::internal("open blob for download", e)
        }
    })?;
    let range = parse_range(h.get(header::RANGE), size);
    let mut res = Response::builder()
        .header(header::CONTENT_TYPE, served.media_type)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(SHA256_HEADER, digest.hex())
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, served.cache);
    if served.attachment {
        res = res.header(
            header::CONTENT_DISPOSITION,
            content_disposition(served.file_name),
        );
    }
    let (status, start, len) = match range {
        Range::Full => (StatusCode::OK, 0, size),
        Range::Part(a, b) => {
            res = res.header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{size}"));
            (StatusCode::PARTIAL_CONTENT, a, b - a + 1)
        }
        Range::Unsatisfiable => {
            let mut r = AppError::new(
                platform::api::ErrorCode::BadRequest,
                format!("range not satisfiable: the file has {size} bytes"),
            )
            .into_response();
            *r.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}"))
                    .map_err(|e| AppError::internal("header", e))?,
            );
            return Ok(r);
        }
    };
    let body = Body::from_stream(read_ahead(file, start, len));
    res.status(status)
        .header(header::CONTENT_LENGTH, len)
        .body(body)
        .map_err(|e| AppError::internal("response", e))
}

/// Behind nginx (`DIST_ACCEL_REDIRECT`): the caller is authorised by now, so the answer names
/// the blob's path under the prefix and nginx serves the file itself (sendfile, Range,
/// `If-None-Match`) from an `internal` location no client can reach directly. The file must
/// exist: a missing blob still answers 503 naming the artifact.
async fn accel_redirect(
    st: &AppState,
    prefix: &str,
    digest: Sha256,
    served: &Served<'_>,
    etag: String,
) -> AppResult<Response> {
    let blobs = st.blobs.clone();
    let present = tokio::task::spawn_blocking(move || blobs.stat(&digest))
        .await
        .map_err(|e| AppError::internal("stat task", e))?
        .map_err(|e| AppError::internal("stat blob for download", e))?;
    if present.is_none() {
        return Err(st.blob_missing(&digest, served.artifact, served.file_name));
    }
    let hex = digest.hex();
    let mut res = Response::builder()
        .header(
            "x-accel-redirect",
            format!("{prefix}sha256/{}/{hex}", &hex[..2]),
        )
        .header(header::CONTENT_TYPE, served.media_type)
        .header(SHA256_HEADER, &hex)
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, served.cache);
    if served.attachment {
        res = res.header(
            header::CONTENT_DISPOSITION,
            content_disposition(served.file_name),
        );
    }
    res.body(Body::empty())
        .map_err(|e| AppError::internal("response", e))
}

/// Streams `len` bytes from `start` of a file. A blocking thread reads ahead into a short
/// queue while the socket drains the previous chunk; the thread stops as soon as the client
/// goes away (the queue's receiver is dropped).
fn read_ahead(
    mut file: std::fs::File,
    start: u64,
    len: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        if let Err(e) = file.seek(SeekFrom::Start(start)) {
            let _ = tx.blocking_send(Err(e));
            return;
        }
        let (home, returned) = std::sync::mpsc::sync_channel(READ_AHEAD + 2);
        let mut left = len;
        while left > 0 {
            let want = usize::try_from(left.min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
            let mut buf = returned
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(READ_CHUNK));
            buf.clear();
            // Filled through `read_to_end` so the buffer is never zeroed first: a memset of
            // every chunk cost a visible share of download throughput.
            let chunk = match (&mut file).take(want as u64).read_to_end(&mut buf) {
                Ok(0) => Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "blob shorter than its size",
                )),
                Ok(n) => {
                    left -= n as u64;
                    Ok(Bytes::from_owner(Recycled {
                        buf,
                        home: home.clone(),
                    }))
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            if tx.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) })
}

/// A read buffer that goes back to its reader once the socket has sent it: a download cycles
/// through a few warm buffers instead of faulting in fresh pages for every chunk.
struct Recycled {
    buf: Vec<u8>,
    home: std::sync::mpsc::SyncSender<Vec<u8>>,
}

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        // A full queue or a finished reader: the buffer is simply freed.
        let _ = self.home.try_send(std::mem::take(&mut self.buf));
    }
}

fn downloadable(a: &ArtifactRow, r: &ReleaseRow) -> AppResult<Sha256> {
    if r.status == platform::api::ReleaseStatus::Revoked {
        return Err(AppError::gone(format!(
            "release {} was revoked ({}); its artifacts are no longer served",
            r.id,
            r.revoke_reason.as_deref().unwrap_or("no reason given")
        )));
    }
    let d: Sha256 = a
        .sha256
        .ok_or_else(|| AppError::not_found(format!("artifact {} is a link, not a file", a.id)))?;
    if !a.attached {
        return Err(AppError::conflict(format!(
            "artifact {} is not attached yet; attach it before downloading",
            a.id
        )));
    }
    Ok(d)
}

/// The media type of an artifact's file, as its target declares it.
fn media_type(st: &AppState, a: &ArtifactRow) -> &'static str {
    match (&a.platform, &a.kind) {
        (Some(platform), Some(kind)) => st
            .registry
            .get(platform.as_str())
            .map_or("application/octet-stream", |t| t.media_type(kind)),
        _ => "application/octet-stream",
    }
}

/// Serves an artifact's file.
async fn serve_artifact(
    st: &AppState,
    a: &ArtifactRow,
    r: &ReleaseRow,
    h: &HeaderMap,
    cache: &'static str,
) -> AppResult<Response> {
    let d = downloadable(a, r)?;
    let file = Served {
        artifact: a.id.as_str(),
        file_name: a.file_name.as_ref().map_or("artifact", |f| f.as_str()),
        media_type: media_type(st, a),
        cache,
        attachment: true,
    };
    serve_blob(st, d, &file, h).await
}

#[utoipa::path(get, path = "/artifacts/{id}/download", tag = "artifacts",
    params(("id" = ArtifactId, Path, description = "the artifact's id"),
           ("token" = Option<String>, Query, description = "a token, for links followed by devices without headers")),
    security(("bearer" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "the file", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("x-dist-sha256" = platform::Sha256, description = "the file's SHA-256, to check what was saved"),
                    ("content-disposition" = String, description = "attachment; filename=... (the artifact's file name)"))),
        (status = 206, description = "the range asked for", content_type = "application/octet-stream", body = Vec<u8>),
        super::openapi::ApiErrors))]
pub async fn artifact_download(
    State(st): State<AppState>,
    Auth(p, ..): Auth<need::Download>,
    h: HeaderMap,
    ApiPath(id): ApiPath<ArtifactId>,
) -> AppResult<Response> {
    let (a, r) = releases::artifact_and_release(&st, &p, id, Use::Download).await?;
    serve_artifact(&st, &a, &r, &h, CACHE_IMMUTABLE).await
}

/// `/i/{id}/download`: the file behind an install page's download link.
async fn page_download(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> AppResult<Response> {
    let (a, r, _) = page_artifact(&st, &h, q, id, Some(Purpose::Download)).await?;
    serve_artifact(&st, &a, &r, &h, CACHE_IMMUTABLE).await
}

/// What a channel URL reads from the query.
#[derive(Debug, Deserialize)]
pub struct ChannelQuery {
    token: Option<String>,
    /// One of the platform's kinds, when the release holds several.
    kind: Option<String>,
}

/// A channel URL's app, channel and platform, checked.
struct ChannelAddress {
    app: AppSlug,
    channel: ChannelName,
    platform: PlatformId,
    target: &'static dyn platform::Target,
}

impl ChannelAddress {
    fn parse(st: &AppState, app: &str, channel: &str, platform: &str) -> AppResult<Self> {
        let platform: PlatformId = parse_seg(platform)?;
        let target = st.registry.get(platform.as_str()).map_err(|_| {
            AppError::not_found(format!(
                "no platform {platform}; this server serves {}",
                st.registry.ids().join(", ")
            ))
        })?;
        Ok(Self {
            app: parse_seg(app)?,
            channel: parse_seg(channel)?,
            platform,
            target,
        })
    }

    /// The channel URL that names one file: its arch and kind.
    fn url(&self, st: &AppState, arch: Option<&str>, kind: &str) -> String {
        let arch = arch.map(|a| format!("/{a}")).unwrap_or_default();
        format!(
            "{}/d/{}/{}/{}{arch}?kind={kind}",
            st.base(),
            self.app,
            self.channel,
            self.platform
        )
    }

    /// The release the channel points at, once the caller may see it: a public channel, or
    /// a token (`?token=`, header, session) with the download scope for this channel. True
    /// with it for a public channel.
    async fn pointed(
        &self,
        st: &AppState,
        h: &HeaderMap,
        token: Option<String>,
    ) -> AppResult<(services::channels::Pointed, bool)> {
        let pointed =
            services::channels::pointed(st, self.app.to_string(), self.channel.to_string()).await?;
        let (rel, h2) = (pointed.release.clone(), h.clone());
        let (app, channel) = (self.app.clone(), self.channel.clone());
        let public = st
            .db
            .read(move |c| {
                if access::channel_is_public(c, app.as_str(), channel.as_str())? {
                    return Ok(true);
                }
                let (p, via) = page_caller(c, &h2, token.as_deref())?.ok_or_else(no_credential)?;
                page_scope(&p, via)?;
                p.require_channel(channel.as_str())?;
                access::check_release(c, &p, &rel, Use::Page).map(|()| false)
            })
            .await?;
        Ok((pointed, public))
    }
}

/// `?kind=`: one of the kinds the platform's target publishes, else 400 naming them.
fn asked_kind(addr: &ChannelAddress, kind: Option<&str>) -> AppResult<Option<String>> {
    let Some(kind) = kind else { return Ok(None) };
    let known: Vec<&str> = addr
        .target
        .kinds()
        .iter()
        .filter(|k| k.publishable)
        .map(|k| k.kind)
        .collect();
    if known.contains(&kind) {
        return Ok(Some(kind.to_owned()));
    }
    Err(AppError::bad_request(format!(
        "kind {kind:?} is not a {} kind; use one of: {}",
        addr.target.display_name(),
        known.join(", ")
    )))
}

/// "{platform} {kind} ({arch}), ...": what a release holds, for a 404.
fn holdings(files: &[ArtifactRow]) -> String {
    if files.is_empty() {
        return "no files".to_owned();
    }
    files
        .iter()
        .map(|a| {
            let arch = a
                .arch
                .as_deref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default();
            format!(
                "{} {}{arch}",
                a.platform.as_deref().unwrap_or("?"),
                a.kind.as_deref().unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The answer when the preferred kinds do not decide: a page listing the files for a
/// browser, 409 with the choices for an API client. On a channel that is not public the
/// page links each file with a grant, as install pages do (a browser that came with
/// `?token=` has no other credential to follow a link with).
fn choices_response(
    st: &AppState,
    h: &HeaderMap,
    addr: &ChannelAddress,
    (pointed, public): (&services::channels::Pointed, bool),
    files: &[&ArtifactRow],
) -> AppResult<Response> {
    let rel = &pointed.release;
    // A channel URL names a file by kind and arch; files that share both can only be named
    // by their artifact id (a URL that stays with this release, `follows_channel: false`).
    let unique = |a: &ArtifactRow| {
        files
            .iter()
            .filter(|b| b.kind == a.kind && b.arch == a.arch)
            .count()
            == 1
    };
    let urls: Vec<(String, bool)> = files
        .iter()
        .map(|a| {
            if unique(a) {
                let kind = a.kind.as_deref().unwrap_or("");
                (addr.url(st, a.arch.as_deref(), kind), true)
            } else {
                let url = format!("{}/api/v1/artifacts/{}/download", st.base(), a.id);
                (url, false)
            }
        })
        .collect();
    if super::edge::accepts_html(h) {
        let links: Vec<String> = if public {
            files
                .iter()
                .zip(&urls)
                .map(|(a, (url, follows))| match follows {
                    true => url.clone(),
                    false => format!("{}/i/{}/download", st.base(), a.id),
                })
                .collect()
        } else {
            files
                .iter()
                .map(|a| {
                    let grant = st.grants.mint(&a.id, Purpose::Download, util::now_unix());
                    format!("{}/i/{}/download?grant={grant}", st.base(), a.id)
                })
                .collect()
        };
        let page = ui::ChannelChoices {
            app_name: &pointed.app.name,
            channel: addr.channel.as_str(),
            version: &rel.version,
            build: &rel.build,
            platform: addr.target.display_name(),
            choices: files
                .iter()
                .zip(&links)
                .map(|(a, url)| ui::Choice {
                    file_name: a.file_name.as_deref().unwrap_or("artifact"),
                    kind: a.kind.as_deref().unwrap_or(""),
                    arch: a.arch.as_deref(),
                    size: a.size.unwrap_or(0),
                    url,
                })
                .collect(),
        };
        let html = page
            .render()
            .map_err(|e| AppError::internal("render channel choices", e))?;
        let cache = if public { CACHE_REVALIDATE } else { CACHE_NONE };
        return Ok(([(header::CACHE_CONTROL, cache)], Html(html)).into_response());
    }
    let choices: Vec<serde_json::Value> = files
        .iter()
        .zip(&urls)
        .map(|(a, (url, follows))| {
            serde_json::json!({
                "artifact_id": a.id,
                "file_name": a.file_name,
                "kind": a.kind,
                "arch": a.arch,
                "size": a.size,
                "sha256": a.sha256,
                "url": url,
                "follows_channel": follows,
                "install_url": services::install_url(st.base(), &a.id),
            })
        })
        .collect();
    let body = serde_json::json!({
        "schema_version": platform::SCHEMA_VERSION,
        "error": {
            "code": "conflict",
            "message": format!(
                "release {} on channel {} holds {} {} files that {}'s preferred kinds do not choose between: {}; ask for one by kind and arch (each choice's url; files sharing both are named by their artifact id, a URL that stays with this release)",
                rel.id,
                addr.channel,
                files.len(),
                addr.platform,
                addr.target.display_name(),
                files
                    .iter()
                    .map(|a| {
                        let arch = a.arch.as_deref().map(|x| format!(", {x}")).unwrap_or_default();
                        format!(
                            "{} ({}{arch})",
                            a.file_name.as_deref().unwrap_or("artifact"),
                            a.kind.as_deref().unwrap_or("?")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        "choices": choices,
    });
    Ok((
        StatusCode::CONFLICT,
        [(header::CACHE_CONTROL, CACHE_REVALIDATE)],
        axum::Json(body),
    )
        .into_response())
}

async fn channel_download_inner(
    st: AppState,
    h: HeaderMap,
    q: ChannelQuery,
    (app, channel, platform): (String, String, String),
    arch: Option<String>,
) -> AppResult<Response> {
    let addr = ChannelAddress::parse(&st, &app, &channel, &platform)?;
    let arch: Option<Arch> = arch.as_deref().map(parse_seg).transpose()?;
    let kind = asked_kind(&addr, q.kind.as_deref())?;
    let (pointed, public) = addr.pointed(&st, &h, q.token).await?;
    let files: Vec<&ArtifactRow> = pointed
        .files
        .iter()
        .filter(|a| a.platform.as_deref() == Some(addr.platform.as_str()))
        .collect();
    let cands: Vec<Candidate<'_>> = files
        .iter()
        .map(|a| Candidate {
            kind: a.kind.as_deref().unwrap_or(""),
            arch: a.arch.as_deref(),
        })
        .collect();
    let arch_text = arch.as_ref().map(|a| a.to_string());
    match channel::pick(
        &cands,
        arch_text.as_deref(),
        kind.as_deref(),
        addr.target.preferred_kinds(),
    ) {
        Pick::One(i) => serve_artifact(&st, files[i], &pointed.release, &h, CACHE_REVALIDATE).await,
        Pick::Choice(idx) => {
            let chosen: Vec<&ArtifactRow> = idx.iter().map(|&i| files[i]).collect();
            choices_response(&st, &h, &addr, (&pointed, public), &chosen)
        }
        Pick::None => {
            let mut what = addr.platform.to_string();
            if let Some(k) = &kind {
                what.push_str(&format!(" {k}"));
            }
            if let Some(a) = &arch_text {
                what.push_str(&format!(" for {a}"));
            }
            Err(AppError::not_found(format!(
                "release {} on channel {} has no {what} file; it holds {}",
                pointed.release.id,
                addr.channel,
                holdings(&pointed.files)
            )))
        }
    }
}

async fn channel_download(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(seg): ApiPath<(String, String, String)>,
    ApiQuery(q): ApiQuery<ChannelQuery>,
) -> AppResult<Response> {
    channel_download_inner(st, h, q, seg, None).await
}

async fn channel_download_arch(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((app, channel, platform, arch)): ApiPath<(String, String, String, String)>,
    ApiQuery(q): ApiQuery<ChannelQuery>,
) -> AppResult<Response> {
    channel_download_inner(st, h, q, (app, channel, platform), Some(arch)).await
}

/// `/d/{app}/{channel}/{platform}/feed/{name}`: a document the platform's target builds from
/// the release the channel points at now (an update feed follows the channel this way).
async fn channel_feed(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((app, channel, platform, name)): ApiPath<(String, String, String, String)>,
    ApiQuery(q): ApiQuery<ChannelQuery>,
) -> AppResult<Response> {
    let addr = ChannelAddress::parse(&st, &app, &channel, &platform)?;
    if name.is_empty() || name.len() > 128 || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(AppError::not_found("no such channel document"));
    }
    let (pointed, _) = addr.pointed(&st, &h, q.token).await?;
    let rel = &pointed.release;
    let mut inspections = Vec::new();
    for a in pointed
        .files
        .iter()
        .filter(|a| a.platform.as_deref() == Some(addr.platform.as_str()))
    {
        // A stored inspection that no longer parses is an error naming the artifact.
        if let Some(i) = services::stored_inspection(a)? {
            inspections.push((a, i));
        }
    }
    let digests: Vec<String> = inspections
        .iter()
        .map(|(a, _)| a.sha256.map(|d| d.hex()).unwrap_or_default())
        .collect();
    let ctx = ChannelContext {
        name: &name,
        app: addr.app.as_str(),
        app_name: &pointed.app.name,
        channel: addr.channel.as_str(),
        release_id: &rel.id,
        version: &rel.version,
        build: &rel.build,
        notes: rel.notes.as_deref(),
        published_at: rel.published_at.as_deref(),
        url: format!(
            "{}/d/{}/{}/{}/feed/{name}",
            st.base(),
            addr.app,
            addr.channel,
            addr.platform
        ),
        artifacts: inspections
            .iter()
            .zip(&digests)
            .map(|((a, i), sha256)| ChannelArtifact {
                inspection: i,
                arch: a.arch.as_deref(),
                size: a.size.unwrap_or(0),
                sha256,
                url: addr.url(&st, a.arch.as_deref(), i.kind.as_str()),
            })
            .collect(),
    };
    let doc = addr.target.channel_document(&ctx).ok_or_else(|| {
        AppError::not_found(format!(
            "the {} target serves no channel document {name:?}",
            addr.target.display_name()
        ))
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, doc.content_type),
            (header::CACHE_CONTROL, CACHE_REVALIDATE),
        ],
        doc.body,
    )
        .into_response())
}

struct PageData {
    art: ArtifactRow,
    rel: ReleaseRow,
    app_name: String,
    entry: Entry,
}

async fn page_data(
    st: &AppState,
    h: &HeaderMap,
    q: PageQuery,
    id: String,
    purpose: Option<Purpose>,
) -> AppResult<PageData> {
    let (art, rel, entry) = page_artifact(st, h, q, id, purpose).await?;
    if rel.status == platform::api::ReleaseStatus::Revoked {
        return Err(AppError::gone(format!("release {} was revoked", rel.id)));
    }
    if !art.attached {
        return Err(AppError::conflict(format!(
            "artifact {} is not attached yet",
            art.id
        )));
    }
    let app = rel.app.to_string();
    let app_name = st
        .db
        .read(move |c| Ok(db::get_app(c, &app)?.map(|a| a.name).unwrap_or(app)))
        .await?;
    Ok(PageData {
        art,
        rel,
        app_name,
        entry,
    })
}

/// The install page's name for an artifact's icon (a blob like any other).
pub(super) const ICON_DOC: &str = "icon.png";

/// Links for one artifact's page and documents. A public release's links are plain; any
/// other's carry fresh grants (one per purpose), never the viewer's token.
pub(super) fn links(st: &AppState, id: &str, entry: &Entry, has_icon: bool) -> Links {
    let base = st.base().to_owned();
    let grant = |purpose| match entry {
        Entry::Public => String::new(),
        Entry::Grant | Entry::Caller => {
            format!("?grant={}", st.grants.mint(id, purpose, util::now_unix()))
        }
    };
    let links = Links {
        documents: format!("{base}/i/{id}{}", grant(Purpose::Document)),
        download: format!("{base}/i/{id}/download{}", grant(Purpose::Download)),
        icon: None,
        base,
    };
    Links {
        icon: has_icon.then(|| links.document(ICON_DOC)),
        ..links
    }
}

fn cache_for(entry: &Entry) -> &'static str {
    match entry {
        Entry::Public => CACHE_REVALIDATE,
        Entry::Grant | Entry::Caller => CACHE_NONE,
    }
}

/// The parsed, owned pieces an [`ArtifactView`] borrows, read once from an artifact row.
struct ViewParts {
    target: &'static dyn platform::Target,
    inspection: Option<platform::Inspection>,
    kind: platform::Kind,
    file_name: Option<platform::FileName>,
    sha: Option<Sha256>,
    arch: Option<Arch>,
}

impl ViewParts {
    /// `missing` finishes the 404 message for an artifact without platform or kind.
    fn of(st: &AppState, d: &PageData, missing: &str) -> AppResult<Self> {
        let (Some(platform), Some(kind)) = (&d.art.platform, &d.art.kind) else {
            return Err(AppError::not_found(format!(
                "artifact {} {missing}",
                d.art.id
            )));
        };
        Ok(Self {
            target: services::target_for(st.registry, platform.as_str())?,
            inspection: services::stored_inspection(&d.art)?,
            kind: kind.clone(),
            file_name: d.art.file_name.clone(),
            sha: d.art.sha256,
            arch: d.art.arch.clone(),
        })
    }

    fn view<'a>(&'a self, d: &'a PageData) -> ArtifactView<'a> {
        ArtifactView {
            id: d.art.id.as_str(),
            file_name: self.file_name.as_ref(),
            kind: &self.kind,
            size: d.art.size.unwrap_or(0),
            sha256: self.sha.as_ref(),
            arch: self.arch.as_ref(),
            install_mode: d.art.install_mode.clone(),
            link: d.art.link.as_deref(),
            inspection: self.inspection.as_ref(),
            notarization: d.art.notarization.as_ref(),
            app_name: &d.app_name,
        }
    }
}

/// `?token=` on an install page: checks the token may open this page, starts a page session
/// and redirects to the same address without the token, so it leaves the address bar, the
/// history and any shared screenshot.
async fn exchange_link(st: &AppState, uri: &Uri, id: String, token: String) -> AppResult<Response> {
    let id: ArtifactId = page_id(&id)?;
    let (value, max_age) = st
        .db
        .write(move |tx| {
            let (_, rel) = releases::artifact_row(tx, &id)?;
            let p = auth::authenticate(tx, &token)?;
            page_scope(&p, Via::Link)?;
            access::check_release(tx, &p, &rel, Use::Page)?;
            sessions::create(tx, Kind::Page, &p, sessions::PAGE_SESSION_SECS)
        })
        .await?;
    session_redirect(st, uri, &value, max_age)
}

/// The answer to a link whose `?token=` became the page session `value`: the cookie, and a
/// redirect to the same address without the token, so it leaves the address bar, the history
/// and any shared screenshot. The install page and the release, channel and app pages use it.
pub(super) fn session_redirect(
    st: &AppState,
    uri: &Uri,
    value: &str,
    max_age: i64,
) -> AppResult<Response> {
    let rest: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty() && *kv != "token" && !kv.starts_with("token="))
        .collect();
    let location = if rest.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{}", uri.path(), rest.join("&"))
    };
    let cookie = sessions::set_cookie(Kind::Page, value, max_age, st.secure_cookies());
    let mut res = StatusCode::SEE_OTHER.into_response();
    let hs = res.headers_mut();
    hs.insert(
        header::LOCATION,
        HeaderValue::from_str(&location).map_err(|e| AppError::internal("location", e))?,
    );
    hs.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| AppError::internal("cookie", e))?,
    );
    hs.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_NONE));
    Ok(res)
}

async fn install_page(
    State(st): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> AppResult<Response> {
    if let Some(token) = q.token {
        return exchange_link(&st, &uri, id, token).await;
    }
    let d = page_data(&st, &h, q, id.clone(), None).await?;
    let parts = ViewParts::of(&st, &d, "has no install page")?;
    let target = parts.target;
    let view = parts.view(&d);
    let links = links(&st, &id, &d.entry, d.art.icon_sha256.is_some());
    let ua = h
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let client = Client::new(ua);
    let mut actions = target.install_actions(&view, &links, &client);
    actions.sort_by_key(|a| !a.primary);
    let facts = target.page_facts(&view);
    // The words about the platform are what GET /api/v1/platforms says of it.
    let platform = platform::api::PlatformList::from_registry(st.registry)
        .platforms
        .into_iter()
        .find(|p| p.id.as_str() == target.id())
        .ok_or_else(|| {
            AppError::internal(
                "install page",
                format!("target {} is not in the platform list", target.id()),
            )
        })?;
    let sha256 = d.art.sha256.map(|d| d.hex());
    let release_page = services::release_url(st.base(), &d.rel.app, &d.rel.id);
    let page = ui::InstallPage {
        app_name: &d.app_name,
        version: d.rel.version.as_str(),
        build: d.rel.build.as_str(),
        file: sha256.as_deref().map(|sha256| ui::FileFacts {
            name: d.art.file_name.as_ref().map_or("", |f| f.as_str()),
            size: view.size,
            sha256,
        }),
        icon_url: links.icon.as_deref(),
        notes: d.rel.notes.as_deref().filter(|n| !n.trim().is_empty()),
        release_page: Some(&release_page),
        target: ui::TargetPart {
            platform: &platform,
            kind: view.kind,
            mode: view.install_mode.as_ref(),
            facts: &facts,
            actions: &actions,
        },
    };
    let html = page
        .render()
        .map_err(|e| AppError::internal("render install page", e))?;
    let mut res = Html(html).into_response();
    let hs = res.headers_mut();
    hs.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; style-src 'self'"),
    );
    hs.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_for(&d.entry)),
    );
    Ok(res)
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        ui::STYLESHEET,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        ui::SCRIPT,
    )
        .into_response()
}

async fn install_document(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((id, doc)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> AppResult<Response> {
    if doc.len() > 128 || doc.contains(['/', '\\']) || doc.starts_with('.') {
        return Err(AppError::not_found("no such document"));
    }
    let d = page_data(&st, &h, q, id.clone(), Some(Purpose::Document)).await?;
    if doc == ICON_DOC
        && let Some(icon) = d.art.icon_sha256
    {
        let file = Served {
            artifact: d.art.id.as_str(),
            file_name: ICON_DOC,
            media_type: "image/png",
            cache: CACHE_IMMUTABLE,
            attachment: false,
        };
        return serve_blob(&st, icon, &file, &h).await;
    }
    let parts = ViewParts::of(&st, &d, "has no such document")?;
    let target = parts.target;
    let view = parts.view(&d);
    let links = links(&st, &id, &d.entry, d.art.icon_sha256.is_some());
    let body = target
        .document(&doc, &view, &links)
        .ok_or_else(|| AppError::not_found(format!("artifact {id} has no document {doc:?}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, body.content_type),
            (header::CACHE_CONTROL, cache_for(&d.entry)),
        ],
        body.body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hv(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).unwrap()
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), Range::Full);
        assert_eq!(parse_range(Some(&hv("bytes=0-3")), 10), Range::Part(0, 3));
        assert_eq!(parse_range(Some(&hv("bytes=5-")), 10), Range::Part(5, 9));
        assert_eq!(parse_range(Some(&hv("bytes=-4")), 10), Range::Part(6, 9));
        assert_eq!(parse_range(Some(&hv("bytes=-40")), 10), Range::Part(0, 9));
        assert_eq!(parse_range(Some(&hv("bytes=2-100")), 10), Range::Part(2, 9));
        assert_eq!(
            parse_range(Some(&hv("bytes=10-")), 10),
            Range::Unsatisfiable
        );
        assert_eq!(parse_range(Some(&hv("bytes=0-1,4-5")), 10), Range::Full);
        assert_eq!(parse_range(Some(&hv("bytes=5-2")), 10), Range::Full);
        assert_eq!(parse_range(Some(&hv("items=0-1")), 10), Range::Full);
    }

    #[test]
    fn disposition_escapes() {
        assert_eq!(
            content_disposition("app 1.apk"),
            "attachment; filename=\"app 1.apk\"; filename*=UTF-8''app%201.apk"
        );
        assert_eq!(
            content_disposition("été.ipa"),
            "attachment; filename=\"_t_.ipa\"; filename*=UTF-8''%C3%A9t%C3%A9.ipa"
        );
    }
}
