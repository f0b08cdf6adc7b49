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

/// The distd binary the other tests use: DIST_DISTD_BIN, else the workspace's debug build.
fn distd_path() -> std::path::PathBuf {
    std::env::var_os("DIST_DISTD_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/distd"))
}

fn spawn_distd(data: &std::path::Path, port: u16) -> std::process::Child {
    std::process::Command::new(distd_path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .env_remove("DIST_PUBLIC_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start distd (build it first, or set DIST_DISTD_BIN)")
}

fn wait_up(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "distd did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Issue 11, item 9: with the default schedule (1, 2, 4, 8, 15 s) a command rides through a
/// distd restart: here distd comes back 2.5 s after the command started.
#[test]
fn the_default_retries_ride_through_a_restart() {
    let _ = Distd::start(); // builds distd when DIST_DISTD_BIN is not set
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut first = spawn_distd(&data, port);
    wait_up(port);
    let token = std::fs::read_to_string(data.join("initial-admin-token"))
        .unwrap()
        .trim()
        .to_owned();
    first.kill().unwrap();
    first.wait().unwrap();
    let cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dist"))
        .args(["app", "list", "--json"])
        .env("DIST_SERVER", format!("http://127.0.0.1:{port}"))
        .env("DIST_TOKEN", &token)
        .env_remove("DIST_RETRY_DELAYS_MS")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let mut second = spawn_distd(&data, port);
    let out = cmd.wait_with_output().unwrap();
    let _ = second.kill();
    let _ = second.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("retrying in 1.0 s (retry 1 of 5)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("retrying in 2.0 s (retry 2 of 5)"),
        "{stderr}"
    );
}
