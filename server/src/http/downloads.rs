//! Downloads and install pages: `GET /api/v1/artifacts/{id}/download` (Range, Content-
//! Disposition, streamed from disk), the stable channel URLs `/d/{app}/{channel}/{platform}[/{arch}]`,
//! and the install page `/i/{artifact_id}` with its documents. These also take `?token=`,
//! because devices follow links without headers.

use std::io::SeekFrom;

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use platform::api::{SHA256_HEADER, Scope};
use platform::{
    AppSlug, Arch, ArtifactView, ChannelName, Client, ClientOs, Links, PlatformId, Sha256,
};

use super::{ApiPath, ApiQuery, Need, authorize, check_id, parse_seg};
use crate::auth::Principal;
use crate::blobs::BlobStore;
use crate::db::{self, ArtifactRow, ReleaseRow};
use crate::error::{AppError, AppResult};
use crate::services::{self, AppState, releases};
use ui::Template;

/// Bytes read from disk per body frame.
const READ_CHUNK: usize = 1024 * 1024;
/// Chunks read ahead of the socket.
const READ_AHEAD: usize = 4;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/d/{app}/{channel}/{platform}", get(channel_download))
        .route(
            "/d/{app}/{channel}/{platform}/{arch}",
            get(channel_download_arch),
        )
        .route("/i/{id}", get(install_page))
        .route(ui::STYLESHEET_PATH, get(stylesheet))
        .route("/i/{id}/{doc}", get(install_document))
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

async fn caller(
    st: &AppState,
    h: &HeaderMap,
    q: &TokenQuery,
    app: Option<&str>,
) -> AppResult<Principal> {
    let mut need = Need::read(Scope::Download);
    need.app = app;
    need.query_token = q.token.as_deref();
    authorize(st, h, need).await
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
async fn serve_blob(
    st: &AppState,
    digest: Sha256,
    file_name: &str,
    h: &HeaderMap,
) -> AppResult<Response> {
    let blobs = st.blobs.clone();
    let (file, size) = tokio::task::spawn_blocking(move || {
        let file = blobs.open(&digest)?;
        let size = file.metadata()?.len();
        Ok::<_, std::io::Error>((file, size))
    })
    .await
    .map_err(|e| AppError::internal("open task", e))?
    .map_err(|e| AppError::internal("open blob for download", e))?;
    let range = parse_range(h.get(header::RANGE), size);
    let mut res = Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_DISPOSITION, content_disposition(file_name))
        .header(SHA256_HEADER, digest.hex())
        .header(header::ETAG, format!("\"{}\"", digest.hex()))
        .header(
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        );
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
    if r.status == "revoked" {
        return Err(AppError::gone(format!(
            "release {} was revoked ({}); its artifacts are no longer served",
            r.id,
            r.revoke_reason.as_deref().unwrap_or("no reason given")
        )));
    }
    let d: Sha256 = a
        .sha256
        .as_deref()
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| AppError::not_found(format!("artifact {} is a link, not a file", a.id)))?;
    if !a.attached {
        return Err(AppError::conflict(format!(
            "artifact {} is not attached yet; attach it before downloading",
            a.id
        )));
    }
    Ok(d)
}

pub async fn artifact_download(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> AppResult<Response> {
    let p = caller(&st, &h, &q, None).await?;
    check_id("artifact", "art_", &id)?;
    let (a, r) = releases::artifact_and_release(&st, &p, id).await?;
    let d = downloadable(&a, &r)?;
    serve_blob(&st, d, a.file_name.as_deref().unwrap_or("artifact"), &h).await
}

async fn channel_download_inner(
    st: AppState,
    h: HeaderMap,
    q: TokenQuery,
    app: String,
    channel: String,
    platform: String,
    arch: Option<String>,
) -> AppResult<Response> {
    let app: AppSlug = parse_seg(&app)?;
    let channel: ChannelName = parse_seg(&channel)?;
    let platform: PlatformId = parse_seg(&platform)?;
    let arch: Option<Arch> = arch.as_deref().map(parse_seg).transpose()?;
    caller(&st, &h, &q, Some(app.as_str())).await?;
    let (a, r) = services::channels::resolve(
        &st,
        app.to_string(),
        channel.to_string(),
        platform.to_string(),
        arch.map(|a| a.to_string()),
    )
    .await?;
    let d = downloadable(&a, &r)?;
    serve_blob(&st, d, a.file_name.as_deref().unwrap_or("artifact"), &h).await
}

async fn channel_download(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((app, channel, platform)): ApiPath<(String, String, String)>,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> AppResult<Response> {
    channel_download_inner(st, h, q, app, channel, platform, None).await
}

async fn channel_download_arch(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((app, channel, platform, arch)): ApiPath<(String, String, String, String)>,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> AppResult<Response> {
    channel_download_inner(st, h, q, app, channel, platform, Some(arch)).await
}

struct PageData {
    art: ArtifactRow,
    rel: ReleaseRow,
    app_name: String,
}

async fn page_data(st: &AppState, p: &Principal, id: String) -> AppResult<PageData> {
    let (art, rel) = releases::artifact_and_release(st, p, id).await?;
    if rel.status == "revoked" {
        return Err(AppError::gone(format!("release {} was revoked", rel.id)));
    }
    if !art.attached {
        return Err(AppError::conflict(format!(
            "artifact {} is not attached yet",
            art.id
        )));
    }
    let app = rel.app.clone();
    let app_name = st
        .db
        .read(move |c| Ok(db::get_app(c, &app)?.map(|a| a.name).unwrap_or(app)))
        .await?;
    Ok(PageData { art, rel, app_name })
}

/// The install page's name for an artifact's icon (a blob like any other).
const ICON_DOC: &str = "icon.png";

fn links(st: &AppState, id: &str, token: Option<&str>, has_icon: bool) -> Links {
    let base = st.base().to_owned();
    // The page was opened with ?token=; the links a device follows without headers (the
    // download, the OTA manifest, its icons) must work the same way. The request log never
    // records query strings.
    let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
    let links = Links {
        documents: format!("{base}/i/{id}{query}"),
        download: format!("{}{query}", services::download_url(&base, id)),
        icon: None,
        base,
    };
    Links {
        icon: has_icon.then(|| links.document(ICON_DOC)),
        ..links
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
        let (Some(platform), Some(kind)) = (d.art.platform.as_deref(), d.art.kind.as_ref()) else {
            return Err(AppError::not_found(format!(
                "artifact {} {missing}",
                d.art.id
            )));
        };
        Ok(Self {
            target: services::target_for(st.registry, platform)?,
            inspection: services::inspection_of(&d.art),
            kind: parse_seg(kind)?,
            file_name: d.art.file_name.as_deref().and_then(|f| f.parse().ok()),
            sha: d.art.sha256.as_deref().and_then(|s| s.parse().ok()),
            arch: d.art.arch.as_deref().and_then(|s| s.parse().ok()),
        })
    }

    fn view<'a>(&'a self, d: &'a PageData) -> ArtifactView<'a> {
        ArtifactView {
            id: &d.art.id,
            file_name: self.file_name.as_ref(),
            kind: &self.kind,
            size: d.art.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
            sha256: self.sha.as_ref(),
            arch: self.arch.as_ref(),
            install_mode: services::parse_install(d.art.install_mode.as_deref()),
            testflight_url: d.art.testflight_url.as_deref(),
            inspection: self.inspection.as_ref(),
            app_name: &d.app_name,
        }
    }
}

async fn install_page(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> AppResult<Response> {
    let p = caller(&st, &h, &q, None).await?;
    check_id("artifact", "art_", &id)?;
    let d = page_data(&st, &p, id.clone()).await?;
    let parts = ViewParts::of(&st, &d, "has no install page")?;
    let target = parts.target;
    let view = parts.view(&d);
    let links = links(&st, &id, q.token.as_deref(), d.art.icon_sha256.is_some());
    let ua = h
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let client = Client {
        os: ClientOs::from_user_agent(ua),
    };
    let mut actions = target.install_actions(&view, &links, &client);
    actions.sort_by_key(|a| !a.primary);
    let snippet = target.page_snippet(&view, &actions);
    let page = ui::InstallPage {
        app_name: &d.app_name,
        version: &d.rel.version,
        build: &d.rel.build,
        file_name: d.art.file_name.as_deref().unwrap_or(""),
        size: view.size,
        sha256: d.art.sha256.as_deref().unwrap_or(""),
        icon_url: links.icon.as_deref(),
        snippet: &snippet,
    };
    let html = page
        .render()
        .map_err(|e| AppError::internal("render install page", e))?;
    let mut res = Html(html).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; style-src 'self'"),
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

async fn install_document(
    State(st): State<AppState>,
    h: HeaderMap,
    ApiPath((id, doc)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> AppResult<Response> {
    let p = caller(&st, &h, &q, None).await?;
    check_id("artifact", "art_", &id)?;
    if doc.len() > 128 || doc.contains(['/', '\\']) || doc.starts_with('.') {
        return Err(AppError::not_found("no such document"));
    }
    let d = page_data(&st, &p, id.clone()).await?;
    if doc == ICON_DOC
        && let Some(icon) = d
            .art
            .icon_sha256
            .as_deref()
            .and_then(|h| h.parse::<Sha256>().ok())
    {
        let mut res = serve_blob(&st, icon, ICON_DOC, &h).await?;
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        res.headers_mut().remove(header::CONTENT_DISPOSITION);
        return Ok(res);
    }
    let parts = ViewParts::of(&st, &d, "has no such document")?;
    let target = parts.target;
    let view = parts.view(&d);
    let links = links(&st, &id, q.token.as_deref(), d.art.icon_sha256.is_some());
    let doc = target
        .document(&doc, &view, &links)
        .ok_or_else(|| AppError::not_found(format!("artifact {id} has no document {doc:?}")))?;
    Ok(([(header::CONTENT_TYPE, doc.content_type)], doc.body).into_response())
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
