//! gzip for pages, JSON, the stylesheet and the script, through the workspace's one deflate
//! stack (flate2 over zlib-rs, docs/CRATES.md). Files are never compressed: they are packed
//! already, and a Range or a digest refers to their bytes as stored. Only answers whose length
//! is known and small are compressed, so a streamed answer (an export, a download) is never
//! held in memory.

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::io::Write;

/// Answers above this many bytes go out as they are (pages and JSON pages stay far below).
const MAX_COMPRESSED_BODY: u64 = 4 << 20;
/// Below this, gzip's header costs more than it saves.
const MIN_COMPRESSED_BODY: u64 = 256;
const COMPRESSIBLE_TYPES: [&str; 4] = [
    "text/html",
    "application/json",
    "text/css",
    "text/javascript",
];

/// Gzips a compressible answer when its request accepted gzip (`accepts`, from
/// [`accepts_gzip`]); says `Vary: Accept-Encoding` on every compressible one.
pub async fn gzip(accepts: bool, res: Response) -> Response {
    if !compressible(&res) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let varies = parts
        .headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding"));
    if !varies {
        parts
            .headers
            .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if !accepts {
        return Response::from_parts(parts, body);
    }
    // The length is known and bounded (checked in `compressible`), so this cannot grow.
    let bytes = match to_bytes(body, MAX_COMPRESSED_BODY as usize).await {
        Ok(b) => b,
        // The answer broke off before its end (its producer failed): what it would have been
        // is gone and its headers promise a length, so the client is told it failed.
        Err(e) => {
            return crate::error::AppError::internal("an answer's body, read to compress it", e)
                .into_response();
        }
    };
    let zipped = match gzip_bytes(&bytes) {
        Ok(z) => z,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    Response::from_parts(parts, Body::from(zipped))
}

/// `bytes` gzipped at the default level (what the middleware sends; the pages keep a
/// public page's once).
pub(super) fn gzip_bytes(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::default(),
    );
    enc.write_all(bytes)?;
    enc.finish()
}

/// Whether `Accept-Encoding` names gzip (or `*`) with a weight above zero.
pub(super) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !zero
        })
}

/// A successful or error answer of a compressible type, not encoded yet, not partial, with a
/// known length between the bounds.
fn compressible(res: &Response) -> bool {
    use axum::body::HttpBody;
    let status = res.status();
    if status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || status == StatusCode::PARTIAL_CONTENT
        || status.is_informational()
    {
        return false;
    }
    let h = res.headers();
    if h.contains_key(header::CONTENT_ENCODING) || h.contains_key(header::CONTENT_RANGE) {
        return false;
    }
    let typed = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| COMPRESSIBLE_TYPES.iter().any(|m| t.starts_with(m)));
    let hint = res.body().size_hint();
    typed
        && hint.upper() == Some(hint.lower())
        && (MIN_COMPRESSED_BODY..=MAX_COMPRESSED_BODY).contains(&hint.lower())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::Request;
    use axum::middleware::Next;

    /// [`gzip`] as a layer of its own, as `edge::edge` applies it.
    async fn gzip_layer(req: Request, next: Next) -> Response {
        let accepts = accepts_gzip(req.headers());
        gzip(accepts, next.run(req).await).await
    }

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn reads_accept_encoding_weights() {
        assert!(accepts_gzip(&with("gzip, deflate, br")));
        assert!(accepts_gzip(&with("br;q=1.0, gzip;q=0.8")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("br, identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[tokio::test]
    async fn compresses_pages_not_files() {
        use axum::Router;
        use axum::routing::get;
        use tower::ServiceExt;
        let page = "<p>dist</p>".repeat(200);
        let app =
            Router::new()
                .route(
                    "/page",
                    get(move || async move {
                        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page)
                    }),
                )
                .route(
                    "/file",
                    get(|| async {
                        (
                            [(header::CONTENT_TYPE, "application/octet-stream")],
                            vec![0u8; 4096],
                        )
                    }),
                )
                .layer(axum::middleware::from_fn(gzip_layer));
        let ask = |path: &str| {
            Request::builder()
                .uri(path)
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap()
        };
        let res = app.clone().oneshot(ask("/page")).await.unwrap();
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
        let zipped = to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut text)
            .unwrap();
        assert_eq!(text, "<p>dist</p>".repeat(200));
        let res = app.oneshot(ask("/file")).await.unwrap();
        assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
    }

    /// A body that promises `len` bytes, gives half of them and fails.
    struct Broken {
        len: u64,
        sent: bool,
    }

    impl http_body::Body for Broken {
        type Data = axum::body::Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            std::task::Poll::Ready(Some(if self.sent {
                Err(std::io::Error::other("the page's producer failed"))
            } else {
                self.sent = true;
                Ok(http_body::Frame::data(
                    vec![b'x'; self.len as usize / 2].into(),
                ))
            }))
        }
        fn size_hint(&self) -> http_body::SizeHint {
            http_body::SizeHint::with_exact(self.len)
        }
    }

    #[tokio::test]
    async fn a_body_that_fails_midway_is_a_500_not_an_empty_200() {
        use axum::Router;
        use axum::routing::get;
        use tower::ServiceExt;
        let app = Router::new()
            .route(
                "/page",
                get(|| async {
                    (
                        [
                            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                            (header::CONTENT_LENGTH, "4096"),
                        ],
                        Body::new(Broken {
                            len: 4096,
                            sent: false,
                        }),
                    )
                }),
            )
            .layer(axum::middleware::from_fn(gzip_layer));
        let req = Request::builder()
            .uri("/page")
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
        let declared = res
            .headers()
            .get(header::CONTENT_LENGTH)
            .map(|v| v.to_str().unwrap().parse::<usize>().unwrap());
        let body = to_bytes(res.into_body(), usize::MAX).await.unwrap();
        assert!(!body.is_empty(), "the 500 says what happened");
        assert!(
            declared.is_none_or(|n| n == body.len()),
            "the length sent is the body's: {declared:?} vs {}",
            body.len()
        );
    }
}
