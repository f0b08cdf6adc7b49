//! Cursor pagination shared by every list (releases, channel history, tokens, audit): a page
//! size (`limit`, clamped to the list's maximum), an opaque `cursor` taken from the previous
//! page's `next_cursor`, and a `Link: <...>; rel="next"` header with the same cursor.
//!
//! A cursor is the sort key of the last row of the page (base64url), so a page costs one index
//! range whatever its depth, and rows added meanwhile neither repeat nor shift the pages.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{AppError, AppResult};

/// The page size: `asked`, else `default`, kept within 1..=`max`.
pub fn limit(asked: Option<i64>, default: i64, max: i64) -> i64 {
    asked.unwrap_or(default).clamp(1, max)
}

/// An opaque cursor from a row's sort key.
pub fn encode(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(parts.join("\n"))
}

/// The sort key a cursor holds; 400 when it is not one of ours.
pub fn decode(cursor: &str, parts: usize) -> AppResult<Vec<String>> {
    let bad = || {
        AppError::bad_request("invalid cursor: pass the next_cursor of the previous page unchanged")
    };
    if cursor.len() > 512 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let out: Vec<String> = text.split('\n').map(str::to_owned).collect();
    if out.len() != parts || out.iter().any(String::is_empty) {
        return Err(bad());
    }
    Ok(out)
}

/// A cursor of two parts (`created_at`, `id`).
pub fn decode_pair(cursor: Option<&str>) -> AppResult<Option<(String, String)>> {
    cursor
        .map(|c| {
            let mut v = decode(c, 2)?;
            let id = v.pop().unwrap_or_default();
            let at = v.pop().unwrap_or_default();
            Ok((at, id))
        })
        .transpose()
}

/// A cursor holding one sequence number.
pub fn decode_seq(cursor: Option<&str>) -> AppResult<Option<i64>> {
    cursor
        .map(|c| {
            decode(c, 1)?[0].parse::<i64>().map_err(|_| {
                AppError::bad_request(
                    "invalid cursor: pass the next_cursor of the previous page unchanged",
                )
            })
        })
        .transpose()
}

fn encode_component(v: &str, out: &mut String) {
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Headers with `Link: <base+path?params&cursor=..>; rel="next"` when there is a next page.
pub fn link_headers(
    base: &str,
    path: &str,
    params: &[(&str, Option<String>)],
    next: Option<&str>,
) -> HeaderMap {
    let mut h = HeaderMap::new();
    let Some(next) = next else {
        return h;
    };
    let mut url = format!("{base}{path}?");
    for (k, v) in params
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    {
        url.push_str(k);
        url.push('=');
        encode_component(v, &mut url);
        url.push('&');
    }
    url.push_str("cursor=");
    encode_component(next, &mut url);
    if let Ok(v) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
        h.insert(header::LINK, v);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = encode(&["2026-01-01T00:00:00.000001Z", "rel_00ff"]);
        assert_eq!(
            decode_pair(Some(&c)).unwrap(),
            Some(("2026-01-01T00:00:00.000001Z".into(), "rel_00ff".into()))
        );
        assert_eq!(decode_seq(Some(&encode(&["42"]))).unwrap(), Some(42));
        assert!(decode_pair(Some("!!")).is_err());
        assert!(decode_pair(Some(&encode(&["one"]))).is_err());
        assert!(decode_seq(Some(&encode(&["x"]))).is_err());
        assert_eq!(limit(None, 100, 500), 100);
        assert_eq!(limit(Some(9999), 100, 500), 500);
        assert_eq!(limit(Some(0), 100, 500), 1);
    }

    #[test]
    fn link_carries_filters_and_cursor() {
        let h = link_headers(
            "http://x",
            "/api/v1/apps/a/releases",
            &[
                ("limit", Some("5".into())),
                ("version", Some("1.0+b".into())),
                ("status", None),
            ],
            Some("abc"),
        );
        assert_eq!(
            h[header::LINK],
            "<http://x/api/v1/apps/a/releases?limit=5&version=1.0%2Bb&cursor=abc>; rel=\"next\""
        );
        assert!(link_headers("http://x", "/p", &[], None).is_empty());
    }
}
