//! Drives the real `distd` over HTTP, one module per feature: the release cycle, bad input,
//! token scopes and the access model's rights matrix, uploads, the audit chain, pages and
//! operations. The helpers here are shared by every module.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod audit;
mod bad_input;
mod caller;
mod channel_kinds;
mod downgrade;
mod install_page;
mod keys;
mod lifecycle;
mod linux;
mod macos;
mod ops;
mod pages;
mod paging;
mod platforms;
mod release_diff;
mod release_pages;
mod retention;
mod rights;
mod rows;
mod scopes;
mod state;
mod toy_target;
mod transfer;
mod uploads;
mod versions;
mod windows_keys;

use std::io::Write;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use common::{Rng, Server, corpus, release_body, release_ids, sha256_hex, tiny_zip};

const APK1: &str = "android/apksig-golden-aligned-v1v2v3-out.apk";
const APK2: &str = "android/apksig-golden-aligned-v1-out.apk";
const APK_OTHER_KEY: &str = "android/apksig-v3-only-with-ecdsa-sha256-p256.apk";

/// Every finding with `code` in an answer (a publish's `findings`, an error's, or an
/// artifact's inspection's).
fn with_code(v: &Value, code: &str) -> Vec<Value> {
    [
        &v["findings"],
        &v["error"]["findings"],
        &v["inspection"]["findings"],
    ]
    .into_iter()
    .filter_map(|f| f.as_array())
    .flatten()
    .filter(|f| f["code"] == code)
    .cloned()
    .collect()
}

/// Uploads `bytes`, creates a draft of acme listing it with the spec fields of `listed` (an
/// object: `{"arch": "arm64"}`, say) and attaches it; answers the release id, the artifact
/// id, and the attach answer.
async fn attach_listed(
    s: &Server,
    version: &str,
    build: &str,
    name: &str,
    bytes: &[u8],
    listed: Value,
) -> (String, String, StatusCode, Value) {
    let (st, v) = s.put_blob("acme", &s.admin, bytes.to_vec()).await;
    assert!(st.is_success(), "{st}: {v}");
    let mut body = release_body(version, build, &[(name, bytes)]);
    for (k, v) in listed.as_object().into_iter().flatten() {
        body["artifacts"][0][k] = v.clone();
    }
    let (rid, aid) = release_ids(&s.create_release("acme", body).await);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{aid}/attach"), &s.admin)
        .await;
    (rid, aid, st, v)
}

fn err_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

fn err_msg(v: &Value) -> &str {
    v["error"]["message"].as_str().unwrap_or("")
}

/// Uploads, creates, attaches and publishes; returns (release id, artifact id).
async fn publish(s: &Server, app: &str, build: &str, name: &str, bytes: &[u8]) -> (String, String) {
    let (rid, aid, v) = s.upload_and_attach(app, build, name, bytes).await;
    assert_eq!(v["attached"], true);
    assert_eq!(v["inspection"]["sha256"], sha256_hex(bytes));
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["release"]["status"], "published");
    (rid, aid)
}

/// Points a channel at a release as the admin; expects 200.
async fn promote(s: &Server, app: &str, channel: &str, rel: &str) {
    let (st, v) = s
        .post(
            &format!("/apps/{app}/channels/{channel}/promote"),
            &s.admin,
            json!({"release_id": rel}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// Sets page access (`public` or `token`) at an `.../access` path as the admin; expects 200.
async fn set_access(s: &Server, path: &str, access: &str) -> Value {
    let (st, v) = s
        .call(
            Method::PUT,
            path,
            Some(&s.admin),
            Some(json!({"access": access})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v
}

/// The status of a GET of `url` (a full URL), with a bearer token or none.
async fn get_status(s: &Server, url: impl reqwest::IntoUrl, token: Option<&str>) -> StatusCode {
    let mut rb = s.client.get(url);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    rb.send().await.unwrap().status()
}

async fn download(s: &Server, path: &str, token: &str, range: Option<&str>) -> reqwest::Response {
    let mut rb = s.client.get(s.url(path)).bearer_auth(token);
    if let Some(r) = range {
        rb = rb.header("range", r);
    }
    rb.send().await.unwrap()
}

/// Sends raw bytes and closes the connection: a client that died mid-upload.
fn raw_truncated_put(port: u16, path: &str, token: &str, headers: &str, body: &[u8]) {
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        sock,
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n{headers}\r\n"
    )
    .unwrap();
    sock.write_all(body).unwrap();
    sock.flush().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    drop(sock);
}

/// A resumable upload of `total` bytes to app `acme` whose client dies after sending `sent`.
fn cut_upload(s: &Server, hex: &str, total: impl std::fmt::Display, sent: &[u8]) {
    raw_truncated_put(
        s.port,
        &format!("/api/v1/blobs/sha256/{hex}?app=acme"),
        &s.admin,
        &format!("Upload-Length: {total}\r\nContent-Length: {total}\r\n"),
        sent,
    );
}

fn dir_files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(dir_files(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

fn distd(args: &[&str]) -> (i32, Value) {
    let out = std::process::Command::new(common::DISTD)
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

/// Copies a data folder, edits its audit table past the trigger that guards it (as an
/// attacker with the file would), and runs `distd audit verify --json` on the copy.
fn tamper_and_verify(
    from: &std::path::Path,
    to: &std::path::Path,
    trigger: &str,
    sql: &str,
) -> (i32, Value) {
    copy_dir(from, to);
    let c = rusqlite::Connection::open(to.join("distd.sqlite3")).unwrap();
    c.execute_batch(&format!("DROP TRIGGER {trigger}")).unwrap();
    c.execute(sql, []).unwrap();
    drop(c);
    distd(&["audit", "verify", "--data", to.to_str().unwrap(), "--json"])
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

async fn head_blob(s: &Server, hex: &str) -> StatusCode {
    s.client
        .head(s.url(&format!("/blobs/sha256/{hex}?app=acme")))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap()
        .status()
}
