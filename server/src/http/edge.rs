//! What every request and response goes through at the edge, whatever the route, in one
//! middleware ([`edge`]: one layer, where five cost a boxed service and future each per
//! request on the read path, issue 20):
//! - who the client is (the TCP peer, or the `X-Forwarded-For` hop a trusted proxy vouches
//!   for), as a request extension and for the rest of the request's task ([`current_client`]);
//! - one `data_version` check for the request's cache lookups
//!   ([`crate::db::one_check_per_request`]);
//! - the request's log line ([`crate::logfile::REQUEST_TARGET`]: method, path without the
//!   query, which may carry `?token=`, status and time), and at debug level a span around the
//!   request for the lines logged inside it;
//! - gzip for HTML and JSON ([`super::compress`]);
//! - a person's browser gets an HTML error page, API clients the JSON error shape;
//! - `nosniff`, `no-referrer` and `frame-ancestors 'none'` on every response.
//!
//! Answers hyper writes itself (a malformed request line, headers over its limit) never reach
//! these and carry none of it.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use tracing::Instrument;

use platform::api::ErrorCode;
use ui::Template;

use crate::services::AppState;

/// The client's address as distd believes it (see [`edge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

tokio::task_local! {
    static CLIENT: ClientAddr;
}

/// The client of the request this task serves, when it came through [`edge`] (not in
/// tests that drive the router without a socket).
pub fn current_client() -> Option<IpAddr> {
    CLIENT.try_with(|c| c.0).ok()
}

/// The middleware every request goes through (see the module's introduction). The client
/// address comes from the peer address (`ConnectInfo`, set by the accept loop) and
/// `X-Forwarded-For`, which counts only when the peer is a trusted proxy.
pub async fn edge(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let accepts_gzip = super::compress::accepts_gzip(req.headers());
    let wants_html = !is_api(&path) && accepts_html(req.headers());
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| ClientAddr(resolve(c.0.ip(), req.headers(), &st.cfg.trusted_proxies)));
    if let Some(client) = client {
        req.extensions_mut().insert(client);
    }
    let span = tracing::debug_span!("http", method = %method, path = %path);
    let run = crate::db::one_check_per_request(next.run(req)).instrument(span);
    let res = match client {
        Some(client) => CLIENT.scope(client, run).await,
        None => run.await,
    };
    crate::logfile::request_line(
        method.as_str(),
        &path,
        res.status().as_u16(),
        started.elapsed(),
    );
    // The page first, so that it is what gets compressed.
    let res = if wants_html {
        html_error_page(res)
    } else {
        res
    };
    let mut res = super::compress::gzip(accepts_gzip, res).await;
    add_security_headers(res.headers_mut());
    res
}

/// The client address: `X-Forwarded-For` is read from the right, skipping hops that are
/// trusted proxies, and only while the hop that sent it to us is trusted; the first
/// untrusted hop is the client. A hop that does not parse stops the walk at the last good
/// one, so garbage cannot choose the address.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(&ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// `::ffff:10.0.0.1` is `10.0.0.1` (a dual-stack socket reports IPv4 peers that way).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// What `impl IntoResponse for AppError` leaves on its response, so that [`edge`] can
/// say the same thing in HTML.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: ErrorCode,
    pub message: String,
}

/// The error page a person's browser gets for an error answer (the caller asks only when the
/// request's `Accept` names `text/html` and the path is not under `/api/v1`).
fn html_error_page(res: Response) -> Response {
    let Some(info) = res.extensions().get::<ErrorInfo>().cloned() else {
        return res;
    };
    let (mut parts, _json) = res.into_parts();
    let page = ui::ErrorPage {
        status: parts.status.as_u16(),
        title: title(parts.status),
        code: info.code.as_str(),
        message: &info.message,
        next: None,
    };
    let html = match page.render() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("render error page: {e}");
            return (parts.status, axum::Json(error_json(&info))).into_response();
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(html))
}

fn error_json(info: &ErrorInfo) -> serde_json::Value {
    serde_json::json!({"error": {"code": info.code, "message": info.message}})
}

fn title(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

fn is_api(path: &str) -> bool {
    path == "/api/v1" || path.starts_with("/api/v1/")
}

/// Whether `Accept` names `text/html` (with a non-zero quality). `*/*` does not count: curl
/// and most HTTP libraries send it, and they want JSON.
pub fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim();
            let zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            media.eq_ignore_ascii_case("text/html") && !zero
        })
}

/// `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (unless the handler
/// chose one) and `frame-ancestors 'none'`, merged into the handler's Content-Security-Policy
/// (replacing any `frame-ancestors` it had) or on its own.
pub fn add_security_headers(h: &mut HeaderMap) {
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    const FRAME: &str = "frame-ancestors 'none'";
    let merged =
        h.get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .map(|csp| {
                let mut directives: Vec<&str> =
                    csp.split(';')
                        .map(str::trim)
                        .filter(|d| {
                            !d.is_empty()
                                && !d.split_whitespace().next().is_some_and(|name| {
                                    name.eq_ignore_ascii_case("frame-ancestors")
                                })
                        })
                        .collect();
                directives.push(FRAME);
                directives.join("; ")
            });
    let value = merged
        .and_then(|m| HeaderValue::from_str(&m).ok())
        .unwrap_or(HeaderValue::from_static(FRAME));
    h.insert(header::CONTENT_SECURITY_POLICY, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &str) -> Vec<IpNet> {
        crate::config::parse_proxies(s).unwrap()
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_peers() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let trusted = nets("10.0.0.0/8, ::1");
        // Untrusted peer: its header is ignored.
        assert_eq!(
            resolve(ip("203.0.113.9"), &xff("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        // Trusted peer: the rightmost untrusted hop, skipping trusted ones.
        assert_eq!(
            resolve(ip("10.0.0.2"), &xff("6.6.6.6, 1.2.3.4, 10.0.0.7"), &trusted),
            ip("1.2.3.4")
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            resolve(ip("::1"), &xff("10.1.1.1"), &trusted),
            ip("10.1.1.1")
        );
        // Garbage stops the walk at the last good hop.
        assert_eq!(
            resolve(ip("10.0.0.2"), &xff("1.2.3.4, nonsense"), &trusted),
            ip("10.0.0.2")
        );
        // No header: the peer; mapped IPv4 is IPv4.
        assert_eq!(
            resolve(ip("::ffff:10.0.0.3"), &HeaderMap::new(), &trusted),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn accept_must_name_html() {
        let h = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(accepts_html(&h(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!accepts_html(&h("*/*")));
        assert!(!accepts_html(&h("application/json")));
        assert!(!accepts_html(&h("text/html;q=0, application/json")));
        assert!(!accepts_html(&HeaderMap::new()));
    }

    #[test]
    fn frame_ancestors_merges_into_an_existing_policy() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; frame-ancestors *"),
        );
        add_security_headers(&mut h);
        assert_eq!(
            h[header::CONTENT_SECURITY_POLICY],
            "default-src 'self'; frame-ancestors 'none'"
        );
        let mut h = HeaderMap::new();
        add_security_headers(&mut h);
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], "frame-ancestors 'none'");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    }
}
