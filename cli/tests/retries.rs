//! Issue 11, items 9 and 10: each retry is said on stderr, and a full disk (507) is retried
//! once, then reported as "the server's disk is full" with exit 6.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use serde_json::json;

/// A server that answers every request with `status` and `body`; counts the requests.
fn counting_stub(status: u16, body: serde_json::Value) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let body = body.to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (format!("http://{addr}"), count)
}

#[test]
fn a_full_disk_is_retried_once_and_exits_6() {
    let (server, count) = counting_stub(
        507,
        json!({"error": {"code": "insufficient_storage", "message": "the server's disk is full: the upload could not be stored"}}),
    );
    let r = dist_at(&server, "dist_x", &["app", "list"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("the server's disk is full"),
        "{}",
        r.stderr
    );
    assert_eq!(count.load(Ordering::SeqCst), 2, "one try and one retry");
    assert!(r.stderr.contains("retry 1 of 3"), "{}", r.stderr);
    // A proxy's bare 507 reads the same.
    let (server, _) = counting_stub(507, json!({}));
    let r = dist_at(&server, "dist_x", &["app", "list", "--json"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("the server's disk is full"),
        "{}",
        r.stderr
    );
}

#[test]
fn each_retry_is_said_on_stderr() {
    let (server, count) = counting_stub(
        503,
        json!({"error": {"code": "unavailable", "message": "restarting"}}),
    );
    let r = dist_at(&server, "dist_x", &["app", "list", "--json"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert_eq!(count.load(Ordering::SeqCst), 4, "{}", r.stderr);
    for n in 1..=3 {
        assert!(
            r.stderr.contains(&format!("retry {n} of 3")),
            "{}",
            r.stderr
        );
    }
}
