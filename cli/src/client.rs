//! The HTTP client of distd's API v1: bearer auth, error bodies decoded into [`ApiError`],
//! retries with backoff, and resumable streaming blob uploads.
//!
//! Retries: a connection that could not be opened is retried for any call (nothing reached
//! the server); a 5xx answer, a timeout or a connection lost mid-request is retried only for
//! calls the caller marks idempotent. The default delays (1, 2, 4, 8, 15 s, 30 s in all) ride
//! through a distd restart; each retry is said on stderr. A full disk (507) is retried once
//! only: waiting does not free space.

use std::path::Path;
use std::time::Duration;

use futures_util::TryStreamExt;
use indicatif::ProgressBar;
use platform::Finding;
use platform::Sha256;
use platform::api::{
    API_PREFIX, BlobInfo, ErrorBody, ErrorCode, SHA256_HEADER, UPLOAD_LENGTH, UPLOAD_OFFSET,
};
use reqwest::{Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::exit::{Exit, Failure};

/// Largest error body read from the server; the rest is ignored.
const MAX_ERROR_BODY: usize = 1024 * 1024;
/// Largest JSON answer read from the server (a long release list, an audit page).
const MAX_JSON_BODY: usize = 64 * 1024 * 1024;
/// Retries of an answer that says the server's disk is full (507).
const DISK_FULL_RETRIES: usize = 1;
/// What the CLI says about a 507, whatever the server or a proxy wrote.
pub const DISK_FULL: &str = "the server's disk is full";

/// A failed API call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status.
    #[error("{message}")]
    Status {
        status: u16,
        code: Option<ErrorCode>,
        message: String,
        findings: Vec<Finding>,
        /// The `Upload-Offset` header of the answer, when there is one.
        upload_offset: Option<u64>,
    },
    /// No answer after retries.
    #[error("{0}")]
    Network(String),
    /// An answer that is not what API v1 promises.
    #[error("{0}")]
    Protocol(String),
    /// A local file could not be read.
    #[error("{0}")]
    Local(String),
}

impl ApiError {
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Status { code, .. } => *code,
            _ => None,
        }
    }
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// What the CLI says when the server does not know the token it sent.
pub const UNKNOWN_TOKEN: &str =
    "the server does not know this token: it may have been revoked; ask an admin for a new one";

/// No `--token` and no (or an empty) `DIST_TOKEN`.
pub fn no_token() -> Failure {
    Failure::new(
        Exit::Auth,
        "unauthorized",
        "no token given: pass --token or set DIST_TOKEN",
    )
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Status {
                status,
                code,
                message,
                findings,
                ..
            } => Failure::from_server(status, code, message, findings),
            ApiError::Network(m) => Failure::network(m),
            ApiError::Protocol(m) => Failure::new(Exit::Server, "protocol", m),
            ApiError::Local(m) => Failure::usage(m),
        }
    }
}

/// Whether a call may be repeated after a 5xx or a lost connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Idempotent,
    /// Only when the connection could not be opened (the request never left).
    ConnectOnly,
}

/// What the server holds of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobState {
    Present,
    /// Absent; `offset` bytes of an interrupted upload are held (0 when none).
    Missing {
        offset: u64,
    },
}

/// How an upload went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadOutcome {
    /// False when the blob turned out to be present already (another job uploaded it).
    pub created: bool,
    /// Offsets the upload resumed from after an interruption.
    pub resumed_from: Vec<u64>,
}

pub struct Api {
    http: reqwest::Client,
    base: url::Url,
    token: Option<String>,
    /// Delays between attempts; its length is the number of retries.
    backoff: Vec<Duration>,
    /// Prints notes (resumes, retries) to stderr.
    pub verbose_notes: bool,
}

impl Api {
    pub fn new(server: Option<&str>, token: Option<&str>) -> Result<Self, Failure> {
        let server = server.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            Failure::usage("no server given: pass --server URL or set DIST_SERVER")
        })?;
        let base = url::Url::parse(server.trim())
            .map_err(|e| Failure::usage(format!("--server {server:?} is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(Failure::usage(format!(
                "--server {server:?} must be an http:// or https:// URL"
            )));
        }
        // An empty DIST_TOKEN (a CI secret that is not set for this branch) is no token.
        let token = token.filter(|t| !t.is_empty());
        if let Some(t) = token
            && t.chars().any(|c| c.is_control() || c == ' ')
        {
            return Err(Failure::usage(
                "the token holds spaces or control characters; pass it as it was printed by `dist token create`",
            ));
        }
        // Only the ring provider is compiled in; install it before the first client is built.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("dist/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(300))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| Failure::usage(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            token: token.map(str::to_owned),
            backoff: backoff_from_env(),
            verbose_notes: true,
        })
    }

    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// The refusal for a command that cannot work without a token, given before any work.
    pub fn require_token(&self) -> Result<(), Failure> {
        match self.token {
            Some(_) => Ok(()),
            None => Err(no_token()),
        }
    }

    /// A 401 said in terms of what to do next: the server's words name what is wrong with
    /// the token; the CLI knows whether one was sent and where it came from.
    fn explain(&self, e: ApiError) -> ApiError {
        match e {
            ApiError::Status {
                status: 507,
                code,
                message,
                findings,
                upload_offset,
            } if !message.contains(DISK_FULL) => ApiError::Status {
                status: 507,
                code,
                message: format!("{DISK_FULL}: {message}; ask the server's admin to free space"),
                findings,
                upload_offset,
            },
            ApiError::Status {
                status: 401,
                code,
                message,
                findings,
                upload_offset,
            } => {
                let message = if self.token.is_none() {
                    no_token().message
                } else if message == "unknown token" {
                    UNKNOWN_TOKEN.to_owned()
                } else if message.contains("revoked") || message.contains("expired") {
                    format!("{message}; ask an admin for a new one")
                } else {
                    message
                };
                ApiError::Status {
                    status: 401,
                    code,
                    message,
                    findings,
                    upload_offset,
                }
            }
            other => other,
        }
    }

    /// `{base}/api/v1/{segments...}`, each segment percent-encoded.
    pub fn api_url(&self, segments: &[&str]) -> url::Url {
        let mut all = API_PREFIX.trim_matches('/').split('/').collect::<Vec<_>>();
        all.extend_from_slice(segments);
        self.url(&all)
    }

    /// `{base}/{segments...}` (routes outside the API prefix, such as `/d/...`).
    pub fn url(&self, segments: &[&str]) -> url::Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut p) = url.path_segments_mut() {
            p.pop_if_empty().extend(segments);
        }
        url
    }

    fn note(&self, msg: &str) {
        if self.verbose_notes {
            crate::ui::note_line(msg);
        }
    }

    /// Says on stderr, whatever the verbosity, that attempt `n` failed and when the next is.
    fn retry_note(&self, what: &str, why: &str, n: usize) {
        let delay = self.delay(n);
        crate::ui::note_line(&format!(
            "{what}: {why}; retrying in {:.1} s (retry {} of {})",
            delay.as_secs_f64(),
            n + 1,
            self.backoff.len()
        ));
    }

    /// The pause before retry `n` (0-based).
    fn delay(&self, n: usize) -> Duration {
        self.backoff
            .get(n)
            .or(self.backoff.last())
            .copied()
            .unwrap_or(Duration::from_millis(200))
    }

    fn builder(&self, method: Method, url: url::Url) -> reqwest::RequestBuilder {
        let b = self.http.request(method, url);
        match &self.token {
            Some(t) => b.bearer_auth(t),
            None => b,
        }
    }

    /// Sends a request built by `build` (called once per attempt), retrying per `retry`.
    /// Answers with a success status come back; error statuses become [`ApiError::Status`].
    pub async fn send(
        &self,
        retry: Retry,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Response, ApiError> {
        let mut attempt = 0usize;
        loop {
            let last = attempt >= self.backoff.len();
            match build().send().await {
                Ok(resp) if resp.status() == StatusCode::INSUFFICIENT_STORAGE => {
                    if attempt >= DISK_FULL_RETRIES.min(self.backoff.len()) {
                        return Err(self.explain(error_from(resp).await));
                    }
                    self.retry_note(what, DISK_FULL, attempt);
                }
                Ok(resp) if resp.status().is_server_error() && retry == Retry::Idempotent => {
                    if last {
                        return Err(self.explain(error_from(resp).await));
                    }
                    self.retry_note(what, &format!("server answered {}", resp.status()), attempt);
                }
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => return Err(self.explain(error_from(resp).await)),
                Err(e) => {
                    let retriable = e.is_connect()
                        || (retry == Retry::Idempotent && (e.is_timeout() || e.is_request()));
                    if last || !retriable {
                        return Err(ApiError::Network(format!(
                            "{what}: cannot reach {} after {} attempt(s): {}",
                            self.base,
                            attempt + 1,
                            error_chain(&e)
                        )));
                    }
                    self.retry_note(what, &error_chain(&e), attempt);
                }
            }
            tokio::time::sleep(self.delay(attempt)).await;
            attempt += 1;
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ApiError> {
        self.get_query(segments, &[]).await
    }

    /// GETs a cursor-paged list: the first page, then (when `all`) every next page appended to
    /// it. The result's `next_cursor` is set only when pages were left unread.
    pub async fn get_pages<T: Paged + DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
        all: bool,
    ) -> Result<T, ApiError> {
        let mut list: T = self.get_query(segments, query).await?;
        while all && let Some(cursor) = list.next_cursor().take() {
            let mut next = query.to_vec();
            next.push(("cursor", cursor));
            let page: T = self.get_query(segments, &next).await?;
            list.append(page);
        }
        Ok(list)
    }

    pub async fn get_query<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        let url = self.api_url(segments);
        let what = format!("GET {}", url.path());
        let resp = self
            .send(Retry::Idempotent, &what, || {
                self.builder(Method::GET, url.clone()).query(query)
            })
            .await?;
        read_json(resp, &what).await
    }

    /// POSTs a JSON body (or none); returns the status and the decoded answer.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: Option<&B>,
        retry: Retry,
    ) -> Result<(StatusCode, T), ApiError> {
        let url = self.api_url(segments);
        let what = format!("POST {}", url.path());
        let resp = self
            .send(retry, &what, || {
                let b = self.builder(Method::POST, url.clone());
                match body {
                    Some(body) => b.json(body),
                    None => b,
                }
            })
            .await?;
        let status = resp.status();
        Ok((status, read_json(resp, &what).await?))
    }

    pub async fn put_json<B: Serialize, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T, ApiError> {
        let url = self.api_url(segments);
        let what = format!("PUT {}", url.path());
        let resp = self
            .send(Retry::Idempotent, &what, || {
                self.builder(Method::PUT, url.clone()).json(body)
            })
            .await?;
        read_json(resp, &what).await
    }

    pub async fn delete(&self, segments: &[&str]) -> Result<(), ApiError> {
        let url = self.api_url(segments);
        let what = format!("DELETE {}", url.path());
        self.send(Retry::Idempotent, &what, || {
            self.builder(Method::DELETE, url.clone())
        })
        .await?;
        Ok(())
    }

    /// A GET whose body the caller streams (downloads).
    pub async fn get_raw(&self, url: url::Url) -> Result<Response, ApiError> {
        let what = format!("GET {}", url.path());
        self.send(Retry::Idempotent, &what, || {
            self.builder(Method::GET, url.clone())
        })
        .await
    }

    /// `{base}/api/v1/blobs/sha256/{hex}?app=APP`: blobs are owned per app.
    fn blob_url(&self, app: &str, sha: &Sha256) -> url::Url {
        let mut url = self.api_url(&["blobs", "sha256", &sha.hex()]);
        url.query_pairs_mut().append_pair("app", app);
        url
    }

    /// `HEAD /blobs/sha256/{hex}?app=`: whether `app` holds the blob.
    pub async fn blob_head(&self, app: &str, sha: &Sha256) -> Result<BlobState, ApiError> {
        let url = self.blob_url(app, sha);
        let what = format!("HEAD {}", url.path());
        let resp = match self
            .send(Retry::Idempotent, &what, || {
                self.builder(Method::HEAD, url.clone())
            })
            .await
        {
            Ok(resp) => resp,
            Err(ApiError::Status {
                status: 404,
                upload_offset,
                ..
            }) => {
                return Ok(BlobState::Missing {
                    offset: upload_offset.unwrap_or(0),
                });
            }
            Err(e) => return Err(e),
        };
        match resp.status() {
            StatusCode::OK => Ok(BlobState::Present),
            s => Err(ApiError::Protocol(format!(
                "{what}: unexpected status {s} (API v1 answers 200 or 404)"
            ))),
        }
    }

    /// Uploads `path` as blob `sha` of `size` bytes, starting at `offset` (what the server
    /// already holds), with a streaming `PUT`. A lost connection or a 5xx is followed by a
    /// `HEAD` for the server's offset and a resumed `PUT` of the rest.
    pub async fn blob_put(
        &self,
        app: &str,
        path: &Path,
        sha: &Sha256,
        size: u64,
        mut offset: u64,
        progress: &ProgressBar,
    ) -> Result<UploadOutcome, ApiError> {
        let url = self.blob_url(app, sha);
        let what = format!("PUT {}", url.path());
        let mut outcome = UploadOutcome::default();
        // Attempts that failed; after `backoff.len()` retries the upload gives up (exit 6).
        let mut failures = 0usize;
        let mut disk_full = 0usize;
        let mut last_error: String;
        loop {
            if offset > size {
                offset = 0;
            }
            if offset > 0 {
                outcome.resumed_from.push(offset);
            }
            progress.set_position(offset);
            let body = file_body(path, offset, size, progress.clone()).await?;
            let mut req = self
                .builder(Method::PUT, url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .header(reqwest::header::CONTENT_LENGTH, size - offset)
                .header(UPLOAD_LENGTH, size);
            if offset > 0 {
                req = req.header(UPLOAD_OFFSET, offset);
            }
            let result = req.body(body).send().await;
            let failure = match result {
                Ok(resp) if resp.status().is_success() => {
                    let status = resp.status();
                    let info: Option<BlobInfo> = read_json(resp, &what).await.ok();
                    outcome.created = info
                        .map(|i| i.created)
                        .unwrap_or(status == StatusCode::CREATED);
                    progress.set_position(size);
                    return Ok(outcome);
                }
                Ok(resp) => match error_from(resp).await {
                    // The server holds another amount than we thought: continue from there.
                    // Never a conflict to report: the bytes are the same, only the offset moved.
                    ApiError::Status {
                        status: 409,
                        upload_offset: Some(o),
                        message,
                        ..
                    } => {
                        if failures < self.backoff.len() {
                            self.note(&format!(
                                "{}: the server holds {o} bytes; continuing from there",
                                file_label(path)
                            ));
                            failures += 1;
                            offset = o;
                            continue;
                        }
                        last_error = message;
                        break;
                    }
                    // A full disk: one more try (an admin may be freeing space), not six.
                    e @ ApiError::Status { status: 507, .. } => {
                        disk_full += 1;
                        if disk_full > DISK_FULL_RETRIES {
                            return Err(self.explain(e));
                        }
                        DISK_FULL.to_owned()
                    }
                    // A stalled upload closed by the server, a restart, a busy digest lock:
                    // all transient, all resumed.
                    e @ ApiError::Status {
                        status: 408 | 500..,
                        ..
                    } => e.to_string(),
                    e => return Err(self.explain(e)),
                },
                Err(e) => error_chain(&e),
            };
            last_error = failure;
            if failures >= self.backoff.len() {
                failures += 1;
                break;
            }
            self.retry_note(
                &format!("{}: upload interrupted", file_label(path)),
                &last_error,
                failures,
            );
            tokio::time::sleep(self.delay(failures)).await;
            failures += 1;
            match self.blob_head(app, sha).await? {
                BlobState::Present => {
                    // Our last attempt did arrive in full; the answer was lost.
                    outcome.created = true;
                    progress.set_position(size);
                    return Ok(outcome);
                }
                BlobState::Missing { offset: o } => {
                    self.note(&format!(
                        "{}: resuming at byte {o} of {size}",
                        file_label(path)
                    ));
                    offset = o;
                }
            }
        }
        Err(ApiError::Network(format!(
            "{what}: upload of {} failed {failures} times; last error: {last_error}",
            file_label(path)
        )))
    }
}

fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The file from `offset`, at most `size - offset` bytes (a file that grew is not sent past
/// its declared size; one that shrank ends short and the server refuses the size).
async fn file_body(
    path: &Path,
    offset: u64,
    size: u64,
    progress: ProgressBar,
) -> Result<reqwest::Body, ApiError> {
    let local = |e: std::io::Error| ApiError::Local(format!("{}: {e}", path.display()));
    let mut file = tokio::fs::File::open(path).await.map_err(local)?;
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(local)?;
    let reader = file.take(size - offset);
    let stream = tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024)
        .inspect_ok(move |chunk| progress.inc(chunk.len() as u64));
    Ok(reqwest::Body::wrap_stream(stream))
}

/// `DIST_RETRY_DELAYS_MS=200,600,1800` overrides the retry schedule (tests use short ones).
/// The default waits 1, 2, 4, 8 and 15 s (30 s in all): longer than a distd restart.
fn backoff_from_env() -> Vec<Duration> {
    let default = [1000, 2000, 4000, 8000, 15000]
        .map(Duration::from_millis)
        .to_vec();
    match std::env::var("DIST_RETRY_DELAYS_MS") {
        Ok(v) if !v.trim().is_empty() => {
            let parsed: Option<Vec<Duration>> = v
                .split(',')
                .map(|s| s.trim().parse::<u64>().ok().map(Duration::from_millis))
                .collect();
            match parsed {
                Some(d) if d.len() <= 20 => d,
                _ => default,
            }
        }
        _ => default,
    }
}

/// The error and its causes on one line: reqwest's top-level text alone hides the reason.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

async fn read_limited(mut resp: Response, limit: usize) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = limit.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

async fn read_json<T: DeserializeOwned>(resp: Response, what: &str) -> Result<T, ApiError> {
    let bytes = read_limited(resp, MAX_JSON_BODY).await.map_err(|e| {
        ApiError::Network(format!("{what}: reading the answer: {}", error_chain(&e)))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::Protocol(format!(
            "{what}: the answer is not the JSON API v1 promises: {e}"
        ))
    })
}

fn header_u64(resp: &Response, name: &str) -> Option<u64> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The digest a download answer announces in `X-Dist-Sha256`.
pub fn sha256_header(resp: &Response) -> Option<Result<Sha256, String>> {
    let v = resp.headers().get(SHA256_HEADER)?;
    Some(
        v.to_str()
            .map_err(|e| e.to_string())
            .and_then(|s| s.trim().parse::<Sha256>().map_err(|e| e.to_string())),
    )
}

/// Decodes an error answer: the API's `{"error":{...}}` body when there is one, else the
/// status line and the start of whatever came back (a proxy's HTML page, say).
async fn error_from(resp: Response) -> ApiError {
    let status = resp.status();
    let upload_offset = header_u64(&resp, UPLOAD_OFFSET);
    let url_path = resp.url().path().to_owned();
    let body = read_limited(resp, MAX_ERROR_BODY).await.unwrap_or_default();
    match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(b) => ApiError::Status {
            status: status.as_u16(),
            code: Some(b.error.code),
            message: b.error.message,
            findings: b.error.findings,
            upload_offset,
        },
        Err(_) => {
            let text: String = String::from_utf8_lossy(&body)
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect();
            let hint = match status.as_u16() {
                401 => " (no token, or an unknown, expired or revoked one)",
                403 => " (the token lacks the scope, app or channel)",
                _ => "",
            };
            ApiError::Status {
                status: status.as_u16(),
                code: None,
                message: if text.trim().is_empty() {
                    format!("{url_path}: HTTP {status}{hint}")
                } else {
                    format!("{url_path}: HTTP {status}{hint}: {}", text.trim())
                },
                findings: Vec::new(),
                upload_offset,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_a_base_path_and_encode_segments() {
        let api = Api::new(Some("https://x.example/dist/"), None).unwrap();
        assert_eq!(
            api.api_url(&["apps", "acme", "releases"]).as_str(),
            "https://x.example/dist/api/v1/apps/acme/releases"
        );
        assert_eq!(
            api.api_url(&["releases", "rel_1/../x"]).as_str(),
            "https://x.example/dist/api/v1/releases/rel_1%2F..%2Fx"
        );
        let api = Api::new(Some("http://127.0.0.1:8080"), None).unwrap();
        assert_eq!(
            api.url(&["d", "acme", "beta", "android"]).as_str(),
            "http://127.0.0.1:8080/d/acme/beta/android"
        );
    }

    #[test]
    fn bad_servers_and_tokens_are_usage_errors() {
        assert_eq!(Api::new(None, None).err().unwrap().exit, Exit::Usage);
        assert_eq!(
            Api::new(Some("ftp://x"), None).err().unwrap().exit,
            Exit::Usage
        );
        assert_eq!(
            Api::new(Some("not a url"), None).err().unwrap().exit,
            Exit::Usage
        );
        assert_eq!(
            Api::new(Some("http://x"), Some("a b")).err().unwrap().exit,
            Exit::Usage
        );
    }

    /// Issue 12, item 8: an empty DIST_TOKEN is no token, and no token is an auth failure
    /// that says what to do.
    #[test]
    fn an_empty_token_is_no_token() {
        let api = Api::new(Some("http://x"), Some("")).unwrap();
        let f = api.require_token().unwrap_err();
        assert_eq!(f.exit, Exit::Auth);
        assert_eq!(f.message, "no token given: pass --token or set DIST_TOKEN");
        assert!(
            Api::new(Some("http://x"), Some("dist_a"))
                .unwrap()
                .require_token()
                .is_ok()
        );
    }

    /// Issue 11, item 9: the default schedule rides through a distd restart (30 s in all).
    #[test]
    fn the_default_retries_span_a_restart() {
        if std::env::var_os("DIST_RETRY_DELAYS_MS").is_some() {
            return;
        }
        let d = backoff_from_env();
        let secs: Vec<u64> = d.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 15]);
    }

    #[test]
    fn api_errors_map_to_failures() {
        let f: Failure = ApiError::Status {
            status: 409,
            code: Some(ErrorCode::Conflict),
            message: "exists".into(),
            findings: vec![],
            upload_offset: None,
        }
        .into();
        assert_eq!((f.exit, f.code.as_str()), (Exit::Conflict, "conflict"));
        let f: Failure = ApiError::Network("down".into()).into();
        assert_eq!((f.exit, f.code.as_str()), (Exit::Server, "network"));
    }
}

/// A list the API pages by cursor (`next_cursor`).
pub trait Paged {
    fn next_cursor(&mut self) -> &mut Option<String>;
    /// Appends `page`'s items and takes its cursor.
    fn append(&mut self, page: Self);
}

macro_rules! paged {
    ($($list:ty => $items:ident),* $(,)?) => {$(
        impl Paged for $list {
            fn next_cursor(&mut self) -> &mut Option<String> {
                &mut self.next_cursor
            }
            fn append(&mut self, page: Self) {
                self.$items.extend(page.$items);
                self.next_cursor = page.next_cursor;
            }
        }
    )*};
}

paged!(
    platform::api::ReleaseList => releases,
    platform::api::AuditList => events,
    platform::api::TokenList => tokens,
    platform::api::ChannelHistory => history,
);
