//! Drives the real `distd` over HTTP: the release cycle, bad input, the token scope matrix,
//! resumable and concurrent uploads, racing creates, and the audit chain against tampering.

mod common;

use std::io::Write;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use common::{Rng, Server, corpus, release_body, release_ids, sha256_hex, tiny_zip};

const APK1: &str = "android/apksig-golden-aligned-v1v2v3-out.apk";
const APK2: &str = "android/apksig-golden-aligned-v1-out.apk";
const APK_OTHER_KEY: &str = "android/apksig-v3-only-with-ecdsa-sha256-p256.apk";

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

async fn download(s: &Server, path: &str, token: &str, range: Option<&str>) -> reqwest::Response {
    let mut rb = s.client.get(s.url(path)).bearer_auth(token);
    if let Some(r) = range {
        rb = rb.header("range", r);
    }
    rb.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_promote_rollback_revoke_download_cycle() {
    let (Some(apk1), Some(apk2), Some(apk3)) = (corpus(APK1), corpus(APK2), corpus(APK_OTHER_KEY))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    s.create_app("acme").await;

    let (r1, a1) = publish(&s, "acme", "1", "tiny app.apk", &apk1).await;
    // Release URLs are absolute.
    let (_, rel) = s.get(&format!("/releases/{r1}"), &s.admin).await;
    assert_eq!(rel["url"], format!("{}/apps/acme/releases/{r1}", s.base));
    assert_eq!(
        rel["artifacts"][0]["download_url"],
        format!("{}/api/v1/artifacts/{a1}/download", s.base)
    );
    assert_eq!(
        rel["artifacts"][0]["install_url"],
        format!("{}/i/{a1}", s.base)
    );
    assert_eq!(rel["artifacts"][0]["platform"], "android");
    assert_eq!(rel["artifacts"][0]["kind"], "apk");

    // Idempotent create; other digests conflict.
    let (st, v) = s
        .post(
            "/apps/acme/releases",
            &s.admin,
            release_body("1.0", "1", &[("tiny app.apk", &apk1)]),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["created"], false);
    assert_eq!(v["release"]["id"], r1.as_str());
    let (st, v) = s
        .post(
            "/apps/acme/releases",
            &s.admin,
            release_body("1.0", "1", &[("x.apk", &apk2)]),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    // Publishing again is fine.
    let (st, _) = s
        .post_empty(&format!("/releases/{r1}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK);

    // Promote and download through the stable channel URL.
    let (st, v) = s
        .post(
            "/apps/acme/channels/beta/promote",
            &s.admin,
            json!({"release_id": r1}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["previous_release_id"], Value::Null);
    let res = download(&s, "/d/acme/beta/android", &s.admin, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-dist-sha256"], sha256_hex(&apk1).as_str());
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"tiny app.apk\"; filename*=UTF-8''tiny%20app.apk"
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), apk1.as_slice());
    // Range: a slice, the tail, and past the end.
    let res = download(
        &s,
        &format!("/api/v1/artifacts/{a1}/download"),
        &s.admin,
        Some("bytes=10-109"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 10-109/{}", apk1.len()).as_str()
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), &apk1[10..110]);
    let res = download(
        &s,
        &format!("/api/v1/artifacts/{a1}/download"),
        &s.admin,
        Some("bytes=-16"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.bytes().await.unwrap().as_ref(),
        &apk1[apk1.len() - 16..]
    );
    let res = download(
        &s,
        &format!("/api/v1/artifacts/{a1}/download"),
        &s.admin,
        Some("bytes=99999999-"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes */{}", apk1.len()).as_str()
    );
    // Devices follow links without headers: ?token= works, nothing without it.
    let res = s
        .client
        .get(format!("{}/d/acme/beta/android?token={}", s.base, s.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = s
        .client
        .get(format!("{}/d/acme/beta/android", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (st, _) = s.get("/d/acme/beta/ios", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = s.get("/d/acme/nightly/android", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(err_msg(&v).contains("nightly"), "{v}");
    // Install page: plain HTML, escaped.
    let res = s
        .client
        .get(format!("{}/i/{a1}?token={}", s.base, s.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>ACME 1.0 (1)</h1>"), "{html}");
    assert!(!html.contains("<script"));
    // Its stylesheet is served to anyone (no token: it holds nothing).
    assert!(html.contains("href=\"/static/dist.css\""), "{html}");
    let res = s
        .client
        .get(format!("{}/static/dist.css", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/css; charset=utf-8");
    assert!(res.text().await.unwrap().contains("ul.actions"));

    // Same key: continuity holds.
    let (r2, _) = publish(&s, "acme", "2", "tiny-v2.apk", &apk2).await;
    let (st, v) = s
        .post(
            "/apps/acme/channels/beta/promote",
            &s.admin,
            json!({"release_id": r2}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["previous_release_id"], r1.as_str());
    let res = download(&s, "/d/acme/beta/android", &s.admin, None).await;
    assert_eq!(res.bytes().await.unwrap().as_ref(), apk2.as_slice());

    // Another signing key for the same package: Android refuses the update, so does promote.
    let (r3, _) = publish(&s, "acme", "3", "other-key.apk", &apk3).await;
    let (st, v) = s
        .post(
            "/apps/acme/channels/beta/promote",
            &s.admin,
            json!({"release_id": r3}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        !v["error"]["findings"].as_array().unwrap().is_empty(),
        "{v}"
    );
    let (_, ch) = s.get("/apps/acme/channels/beta", &s.admin).await;
    assert_eq!(ch["release_id"], r2.as_str());

    // Rollback walks back one move at a time, then refuses.
    let (st, v) = s
        .post_empty("/apps/acme/channels/beta/rollback", &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["channel"]["release_id"], r1.as_str());
    let (st, v) = s
        .post_empty("/apps/acme/channels/beta/rollback", &s.admin)
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let (_, h) = s.get("/apps/acme/channels/beta/history", &s.admin).await;
    let actions: Vec<&str> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["promote", "promote", "rollback"]);

    // Revoke the channel's release: 410 saying to roll back; rollback restores downloads.
    let (st, _) = s
        .post(
            "/apps/acme/channels/beta/promote",
            &s.admin,
            json!({"release_id": r2}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = s
        .post(
            &format!("/releases/{r2}/revoke"),
            &s.admin,
            json!({"reason": "crashes on start"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "revoked");
    assert_eq!(v["revoke_reason"], "crashes on start");
    let (st, v) = s.get("/d/acme/beta/android", &s.admin).await;
    assert_eq!(st, StatusCode::GONE, "{v}");
    assert!(err_msg(&v).contains("roll"), "{v}");
    let (st, v) = s
        .post_empty("/apps/acme/channels/beta/rollback", &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["channel"]["release_id"], r1.as_str());
    let res = download(&s, "/d/acme/beta/android", &s.admin, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    // A revoked release cannot be promoted or published again; published cannot be deleted.
    let (st, _) = s
        .post(
            "/apps/acme/channels/beta/promote",
            &s.admin,
            json!({"release_id": r2}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/releases/{r1}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);

    // Identity rules block a publish, listing the findings; the release stays a draft.
    let (st, v) = s
        .call(
            Method::PUT,
            "/apps/acme/identity",
            Some(&s.admin),
            Some(json!({"android": {"identities": ["com.acme.*"]}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (r9, _, _) = s.upload_and_attach("acme", "9", "a.apk", &apk1).await;
    let (st, v) = s
        .post_empty(&format!("/releases/{r9}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["error"]["findings"][0]["code"], "identity.mismatch",
        "{v}"
    );
    let (_, v) = s.get(&format!("/releases/{r9}"), &s.admin).await;
    assert_eq!(v["status"], "draft");
    // Drafts: revoke refuses, delete works.
    let (st, _) = s
        .post(
            &format!("/releases/{r9}/revoke"),
            &s.admin,
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/releases/{r9}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s.get(&format!("/releases/{r9}"), &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The audit log recorded it all and verifies.
    let (_, a) = s.get("/audit?limit=1000", &s.admin).await;
    let seen: Vec<&str> = a["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for want in [
        "token.create",
        "app.create",
        "app.update",
        "blob.upload",
        "release.create",
        "artifact.attach",
        "release.publish",
        "channel.promote",
        "channel.rollback",
        "release.revoke",
        "release.delete",
    ] {
        assert!(seen.contains(&want), "no {want} in {seen:?}");
    }
    let (_, a) = s.get("/audit?action=release.revoke", &s.admin).await;
    assert_eq!(a["events"].as_array().unwrap().len(), 1);
    let (st, v) = s.get("/audit/verify", &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrecognised_file_is_refused_and_stays_unattached() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    let zip = tiny_zip();
    let (st, v) = s.put_blob(&s.admin, zip.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["created"], true);
    let (st, v) = s.put_blob(&s.admin, zip.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["created"], false);
    let v = s
        .create_release("acme", release_body("1.0", "1", &[("thing.apk", &zip)]))
        .await;
    let (rid, aid) = release_ids(&v);
    assert_eq!(v["release"]["artifacts"][0]["install_url"], Value::Null);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{aid}/attach"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(err_msg(&v).contains("supported kinds"), "{v}");
    let (_, h) = s.call(Method::GET, "/healthz", None, None).await;
    for p in h["platforms"].as_array().unwrap() {
        assert!(
            err_msg(&v).contains(p.as_str().unwrap()),
            "{v} lists no {p}"
        );
    }
    let (_, a) = s.get(&format!("/artifacts/{aid}"), &s.admin).await;
    assert_eq!(a["attached"], false);
    assert_eq!(a["inspection"], Value::Null);
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(err_msg(&v).contains("not attached"), "{v}");
    // A download of an unattached artifact is refused too.
    let (st, _) = s
        .get(&format!("/api/v1/artifacts/{aid}/download"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    s.create_app("acme").await;
    s.create_app("other").await;
    let body = release_body("1.0", "1", &[("a.bin", b"abc")]);

    // A method the route does not have: 405, the JSON error shape, and the Allow header.
    let (st, v) = s.call(Method::DELETE, "/apps", Some(&s.admin), None).await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED, "{v}");
    assert_eq!(err_code(&v), "method_not_allowed", "{v}");
    let res = s.client.delete(s.url("/apps")).send().await.unwrap();
    let allow = res.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");

    // Missing, malformed, unknown tokens.
    let (st, v) = s
        .call(
            Method::POST,
            "/apps/acme/releases",
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(err_msg(&v).contains("missing token"), "{v}");
    let res = s
        .client
        .get(s.url("/apps"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let bogus = "dist_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (st, v) = s
        .call(
            Method::POST,
            "/apps/acme/releases",
            Some(bogus),
            Some(body.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(err_code(&v), "unauthorized");
    let (st, _) = s
        .call(Method::GET, "/apps", Some("not-a-dist-token"), None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Expired and revoked tokens.
    let (st, v) = s
        .post(
            "/tokens",
            &s.admin,
            json!({"name": "old", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let soon = soon
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let short = s
        .token(json!({"name": "short", "scopes": ["publish"], "expires_at": soon}))
        .await;
    let (st, _) = s.get("/token", &short).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = s
        .post(
            "/tokens",
            &s.admin,
            json!({"name": "rev", "scopes": ["publish"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let revoked = v["secret"].as_str().unwrap().to_owned();
    let rev_id = v["token"]["id"].as_str().unwrap().to_owned();
    let (st, v) = s
        .post_empty(&format!("/tokens/{rev_id}/revoke"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(v["revoked_at"].is_string());
    let (st, v) = s.post("/apps/acme/releases", &revoked, body.clone()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(err_msg(&v).contains("revoked"), "{v}");
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let (st, v) = s.post("/apps/acme/releases", &short, body.clone()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(err_msg(&v).contains("expired"), "{v}");

    // Wrong scope, app, channel.
    let reader = s.token(json!({"name": "reader", "scopes": ["read"]})).await;
    let (st, v) = s.post("/apps/acme/releases", &reader, body.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(err_msg(&v).contains("publish"), "{v}");
    let other_only = s
        .token(json!({"name": "other-ci", "scopes": ["publish"], "app": "other"}))
        .await;
    let (st, v) = s
        .post("/apps/acme/releases", &other_only, body.clone())
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(err_msg(&v).contains("limited to app other"), "{v}");
    let (_, v) = s.get("/apps", &other_only).await;
    // A publish token cannot list apps; a read token limited to `other` sees only it.
    assert_eq!(err_code(&v), "forbidden");
    let other_reader = s
        .token(json!({"name": "other-r", "scopes": ["read"], "app": "other"}))
        .await;
    // A token limited to an app that does not exist is refused (a typo, most likely).
    let (st, v) = s
        .post(
            "/tokens",
            &s.admin,
            json!({"name": "typo", "scopes": ["read"], "app": "acmee"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert!(err_msg(&v).contains("no app acmee"), "{v}");
    let (_, v) = s.get("/apps", &other_reader).await;
    assert_eq!(v["apps"].as_array().unwrap().len(), 1);
    let nightly = s
        .token(json!({"name": "nightly", "scopes": ["promote"], "channels": ["nightly"]}))
        .await;
    let (st, v) = s
        .post(
            "/apps/acme/channels/stable/promote",
            &nightly,
            json!({"release_id": "rel_0000"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(err_msg(&v).contains("nightly"), "{v}");
    let (st, _) = s
        .post(
            "/apps/acme/channels/nightly/promote",
            &nightly,
            json!({"release_id": "rel_0000"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Malformed JSON, unknown fields, wrong content type, oversized bodies.
    let post_raw = |path: &str, ct: &str, body: Vec<u8>| {
        s.client
            .post(s.url(path))
            .bearer_auth(&s.admin)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let res = post_raw("/apps", "application/json", b"{\"slug\": ".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: Value = res.json().await.unwrap();
    assert_eq!(err_code(&v), "bad_request");
    let (st, v) = s
        .post(
            "/apps",
            &s.admin,
            json!({"slug": "x", "name": "X", "evil": true}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(err_msg(&v).contains("unknown field"), "{v}");
    let mut with_extra = body.clone();
    with_extra["artifacts"][0]["path"] = json!("/etc/passwd");
    let (st, v) = s.post("/apps/acme/releases", &s.admin, with_extra).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let res = post_raw("/apps", "text/plain", b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let huge = format!(
        "{{\"slug\":\"big\",\"name\":\"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let res = post_raw("/apps", "application/json", huge.into_bytes())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = res.json().await.unwrap();
    assert_eq!(err_code(&v), "payload_too_large");

    // Path traversal in names and ids.
    let (st, v) = s.get("/apps/..%2F..%2Fetc", &s.admin).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (st, _) = s.get("/apps/acme/channels/..%2Fx", &s.admin).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s.get("/releases/..%2F..%2Fetc%2Fpasswd", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get("/d/acme/..%2F..%2Fetc/android", &s.admin).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let mut traversal = body.clone();
    traversal["artifacts"][0]["file_name"] = json!("../../etc/passwd");
    let (st, v) = s.post("/apps/acme/releases", &s.admin, traversal).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(err_msg(&v).contains("file name"), "{v}");
    let res = s
        .client
        .put(s.url("/blobs/sha256/..%2F..%2Fdistd.sqlite3"))
        .bearer_auth(&s.admin)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Unknown ids.
    for (m, p) in [
        (Method::GET, "/releases/rel_0123456789abcdef0123"),
        (Method::POST, "/releases/rel_0123456789abcdef0123/publish"),
        (Method::POST, "/artifacts/art_0123456789abcdef0123/attach"),
        (Method::GET, "/artifacts/art_0123456789abcdef0123/download"),
        (Method::POST, "/tokens/tok_0123456789abcdef0123/revoke"),
        (Method::GET, "/apps/nope"),
        (Method::GET, "/apps/acme/channels/nope"),
        (Method::POST, "/apps/nope/releases"),
        (Method::GET, "/i/art_0123456789abcdef0123"),
        (Method::GET, "/api/v1/no/such/route"),
    ] {
        let b = (m == Method::POST && p.ends_with("releases")).then(|| body.clone());
        let (st, v) = s.call(m.clone(), p, Some(&s.admin), b).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{m} {p}: {v}");
        assert_eq!(err_code(&v), "not_found", "{m} {p}: {v}");
        assert!(!err_msg(&v).is_empty());
    }
    let (st, _) = s
        .post(
            "/apps/acme/channels/beta/promote",
            &s.admin,
            json!({"release_id": "rel_0123456789abcdef0123"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Digest and size mismatches, truncated uploads, oversized declared size: nothing stored.
    let good = b"the real bytes".to_vec();
    let wrong = sha256_hex(b"other bytes");
    let res = s
        .client
        .put(s.url(&format!("/blobs/sha256/{wrong}")))
        .bearer_auth(&s.admin)
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: Value = res.json().await.unwrap();
    assert_eq!(err_code(&v), "digest_mismatch", "{v}");
    let res = s
        .client
        .head(s.url(&format!("/blobs/sha256/{wrong}")))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let hex = sha256_hex(&good);
    let res = s
        .client
        .put(s.url(&format!("/blobs/sha256/{hex}")))
        .bearer_auth(&s.admin)
        .header("upload-length", "5")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        err_code(&res.json::<Value>().await.unwrap()),
        "size_mismatch"
    );
    let res = s
        .client
        .put(s.url(&format!("/blobs/sha256/{hex}")))
        .bearer_auth(&s.admin)
        .header("upload-length", "99999999999999")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    raw_truncated_put(
        s.port,
        &format!("/api/v1/blobs/sha256/{hex}"),
        &s.admin,
        "Content-Length: 1000\r\n",
        &good,
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let res = s
        .client
        .head(s.url(&format!("/blobs/sha256/{hex}")))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers().get("upload-offset").is_none());
    assert!(
        dir_files(&data.join("blobs")).is_empty(),
        "{:?}",
        dir_files(&data.join("blobs"))
    );
    assert!(
        dir_files(&data.join("uploads")).is_empty(),
        "{:?}",
        dir_files(&data.join("uploads"))
    );

    // Nothing half-written: no release exists, and refusals on write endpoints were audited
    // without any secret in them.
    let (_, v) = s.get("/apps/acme/releases", &s.admin).await;
    assert_eq!(v["releases"].as_array().unwrap().len(), 0, "{v}");
    let (_, v) = s
        .get("/audit?action=auth.denied&limit=1000", &s.admin)
        .await;
    let denied = v["events"].as_array().unwrap();
    assert!(denied.len() >= 6, "{v}");
    let text = v.to_string();
    for secret in [
        bogus,
        revoked.as_str(),
        short.as_str(),
        reader.as_str(),
        s.admin.as_str(),
    ] {
        assert!(!text.contains(secret), "a secret leaked into the audit log");
    }
    let log = std::fs::read_to_string(data.with_extension("log")).unwrap();
    for secret in [bogus, revoked.as_str(), short.as_str(), reader.as_str()] {
        assert!(!log.contains(secret), "a secret leaked into the log");
    }
    assert!(!log.contains("token="), "a query string reached the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_scope_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    let scopes = ["admin", "publish", "promote", "read", "download"];
    // (name, scope needed)
    let endpoints = [
        ("POST /tokens", "admin"),
        ("POST /tokens/{id}/revoke", "admin"),
        ("POST /apps", "admin"),
        ("PUT /apps/{app}/identity", "admin"),
        ("POST /apps/{app}/releases", "publish"),
        ("POST /releases/{id}/publish", "publish"),
        ("POST /releases/{id}/revoke", "admin"),
        ("DELETE /releases/{id}", "publish"),
        ("PUT /blobs/sha256/{hex}", "publish"),
        ("POST /artifacts/{id}/attach", "publish"),
        ("POST /apps/{app}/channels/{name}/promote", "promote"),
        ("POST /apps/{app}/channels/{name}/rollback", "promote"),
        ("PUT /apps/{app}/channels/{name}/policy", "admin"),
    ];
    let mut rng = Rng(0x5eed);
    let mut denials = 0;
    for (i, scope) in scopes.iter().enumerate() {
        let tok = s
            .token(json!({"name": format!("t-{scope}"), "scopes": [scope]}))
            .await;
        for (j, (ep, needs)) in endpoints.iter().enumerate() {
            // Fresh objects for each call, made with the admin token.
            let victim = s
                .post(
                    "/tokens",
                    &s.admin,
                    json!({"name": "victim", "scopes": ["read"]}),
                )
                .await
                .1;
            let victim_id = victim["token"]["id"].as_str().unwrap().to_owned();
            let blob = rng.bytes(64);
            let draft = s
                .post(
                    "/apps/acme/releases",
                    &s.admin,
                    release_body("1.0", &format!("m{i}-{j}"), &[("x.bin", &blob)]),
                )
                .await
                .1;
            let rid = draft["release"]["id"].as_str().unwrap().to_owned();
            let aid = draft["release"]["artifacts"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let (st, v) = match *ep {
                "POST /tokens" => {
                    s.post("/tokens", &tok, json!({"name": "n", "scopes": ["read"]}))
                        .await
                }
                "POST /tokens/{id}/revoke" => {
                    s.post_empty(&format!("/tokens/{victim_id}/revoke"), &tok)
                        .await
                }
                "POST /apps" => {
                    s.post(
                        "/apps",
                        &tok,
                        json!({"slug": format!("app-{i}-{j}"), "name": "N"}),
                    )
                    .await
                }
                "PUT /apps/{app}/identity" => {
                    s.call(
                        Method::PUT,
                        "/apps/acme/identity",
                        Some(&tok),
                        Some(json!({})),
                    )
                    .await
                }
                "POST /apps/{app}/releases" => {
                    s.post(
                        "/apps/acme/releases",
                        &tok,
                        release_body("2.0", &format!("m{i}-{j}"), &[("y.bin", &blob)]),
                    )
                    .await
                }
                "POST /releases/{id}/publish" => {
                    s.post_empty(&format!("/releases/{rid}/publish"), &tok)
                        .await
                }
                "POST /releases/{id}/revoke" => {
                    s.post(
                        &format!("/releases/{rid}/revoke"),
                        &tok,
                        json!({"reason": "r"}),
                    )
                    .await
                }
                "DELETE /releases/{id}" => {
                    s.call(
                        Method::DELETE,
                        &format!("/releases/{rid}"),
                        Some(&tok),
                        None,
                    )
                    .await
                }
                "PUT /blobs/sha256/{hex}" => s.put_blob(&tok, blob.clone()).await,
                "POST /artifacts/{id}/attach" => {
                    s.post_empty(&format!("/artifacts/{aid}/attach"), &tok)
                        .await
                }
                "POST /apps/{app}/channels/{name}/promote" => {
                    s.post(
                        "/apps/acme/channels/beta/promote",
                        &tok,
                        json!({"release_id": rid}),
                    )
                    .await
                }
                "POST /apps/{app}/channels/{name}/rollback" => {
                    s.post_empty("/apps/acme/channels/beta/rollback", &tok)
                        .await
                }
                "PUT /apps/{app}/channels/{name}/policy" => {
                    s.call(
                        Method::PUT,
                        "/apps/acme/channels/beta/policy",
                        Some(&tok),
                        Some(json!({"blocking_warnings": ["*"]})),
                    )
                    .await
                }
                other => unreachable!("{other}"),
            };
            let allowed = *scope == "admin" || scope == needs;
            if allowed {
                assert!(
                    st != StatusCode::FORBIDDEN
                        && st != StatusCode::UNAUTHORIZED
                        && st.is_success()
                        || matches!(st.as_u16(), 404 | 409 | 422),
                    "{scope} on {ep}: {st} {v}"
                );
            } else {
                assert_eq!(st, StatusCode::FORBIDDEN, "{scope} on {ep}: {v}");
                assert_eq!(err_code(&v), "forbidden");
                denials += 1;
            }
        }
    }
    let (_, v) = s
        .get("/audit?action=auth.denied&limit=1000", &s.admin)
        .await;
    assert_eq!(
        v["events"].as_array().unwrap().len(),
        denials,
        "every refusal on a write endpoint is audited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_upload_continues_from_the_server_offset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    let bytes = Rng(42).bytes(3 * 1024 * 1024 + 17);
    let hex = sha256_hex(&bytes);
    let url = s.url(&format!("/blobs/sha256/{hex}"));
    let total = bytes.len().to_string();

    // A client dies after 1 MiB of a declared 3 MiB.
    let cut = 1024 * 1024;
    raw_truncated_put(
        s.port,
        &format!("/api/v1/blobs/sha256/{hex}"),
        &s.admin,
        &format!("Upload-Length: {total}\r\nContent-Length: {total}\r\n"),
        &bytes[..cut],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = s
        .client
        .head(&url)
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let held: usize = res.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(held, cut, "the partial survives the dropped connection");

    // A wrong offset is a 409 naming the right one. The body is small: the
    // server answers before reading it and closes, so a large body could meet
    // a broken pipe while still being sent.
    let res = s
        .client
        .put(&url)
        .bearer_auth(&s.admin)
        .header("upload-length", &total)
        .header("upload-offset", "7")
        .body(bytes[7..7 + 1024].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.headers()["upload-offset"], held.to_string().as_str());

    // Another short piece: kept, and the answer says where to go on.
    let mid = 2 * 1024 * 1024;
    let res = s
        .client
        .put(&url)
        .bearer_auth(&s.admin)
        .header("upload-length", &total)
        .header("upload-offset", held.to_string())
        .body(bytes[held..mid].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["upload-offset"], mid.to_string().as_str());
    let res = s
        .client
        .put(&url)
        .bearer_auth(&s.admin)
        .header("upload-length", &total)
        .header("upload-offset", mid.to_string())
        .body(bytes[mid..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["size"], bytes.len());
    let res = s
        .client
        .head(&url)
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-length"], total.as_str());
    let stored = std::fs::read(data.join("blobs/sha256").join(&hex[..2]).join(&hex)).unwrap();
    assert!(stored == bytes, "stored bytes differ");
    assert!(dir_files(&data.join("uploads")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_of_one_digest_store_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = std::sync::Arc::new(Server::start(&data).await);
    let bytes = std::sync::Arc::new(Rng(7).bytes(4 * 1024 * 1024));
    let hex = sha256_hex(&bytes);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, bytes, hex) = (s.clone(), bytes.clone(), hex.clone());
        tasks.push(tokio::spawn(async move {
            let mut rb = s
                .client
                .put(s.url(&format!("/blobs/sha256/{hex}")))
                .bearer_auth(&s.admin);
            if i % 2 == 0 {
                rb = rb.header("upload-length", bytes.len().to_string());
            }
            let res = rb.body(bytes.to_vec()).send().await.unwrap();
            res.status()
        }));
    }
    let mut created = 0;
    for t in tasks {
        let st = t.await.unwrap();
        assert!(st == StatusCode::CREATED || st == StatusCode::OK, "{st}");
        created += usize::from(st == StatusCode::CREATED);
    }
    assert_eq!(created, 1, "exactly one upload creates the blob");
    let stored = std::fs::read(data.join("blobs/sha256").join(&hex[..2]).join(&hex)).unwrap();
    assert!(stored == *bytes);
    assert!(
        dir_files(&data.join("uploads")).is_empty(),
        "{:?}",
        dir_files(&data.join("uploads"))
    );
    let (_, v) = s.get("/audit?action=blob.upload", &s.admin).await;
    assert_eq!(v["events"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_release_creates_end_with_one_release() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(Server::start(&dir.path().join("data")).await);
    s.create_app("acme").await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            // Half the racers bring other bytes: they must get 409, never a second release.
            let bytes: &[u8] = if i % 3 == 2 { b"other" } else { b"same" };
            s.post(
                "/apps/acme/releases",
                &s.admin,
                release_body("1.0", "42", &[("a.bin", bytes)]),
            )
            .await
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    let (mut created, mut conflicts) = (0, 0);
    for t in tasks {
        let (st, v) = t.await.unwrap();
        match st {
            StatusCode::CREATED => {
                created += 1;
                ids.insert(v["release"]["id"].as_str().unwrap().to_owned());
            }
            StatusCode::OK => {
                ids.insert(v["release"]["id"].as_str().unwrap().to_owned());
            }
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("{other}: {v}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(conflicts >= 4 || conflicts == 8, "conflicts {conflicts}");
    let (_, v) = s.get("/apps/acme/releases", &s.admin).await;
    assert_eq!(v["releases"].as_array().unwrap().len(), 1);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_chain_detects_edited_and_deleted_rows() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Server::start(&data).await;
    for slug in ["a1", "a2", "a3", "a4"] {
        s.create_app(slug).await;
    }
    let (_, v) = s.get("/audit/verify", &s.admin).await;
    assert_eq!(v["ok"], true);
    assert_eq!(v["checked"], 5);
    s.stop(); // SIGTERM: a clean exit

    let d = data.to_str().unwrap();
    let (code, v) = distd(&["audit", "verify", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    let (code, v) = distd(&["fsck", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");

    // The database itself refuses the edit...
    let db = data.join("distd.sqlite3");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        assert!(
            c.execute("UPDATE audit_events SET actor = 'me' WHERE seq = 3", [])
                .is_err()
        );
        assert!(
            c.execute("DELETE FROM audit_events WHERE seq = 3", [])
                .is_err()
        );
    }
    // ...so an attacker drops the trigger first. Edited row:
    let edited = dir.path().join("edited");
    let (code, v) = tamper_and_verify(
        &data,
        &edited,
        "audit_events_no_update",
        "UPDATE audit_events SET details = '{\"name\":\"A3\",\"platforms\":[\"x\"]}' WHERE seq = 3",
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_seq"], 3, "{v}");
    // Deleted row:
    let deleted = dir.path().join("deleted");
    let (code, v) = tamper_and_verify(
        &data,
        &deleted,
        "audit_events_no_delete",
        "DELETE FROM audit_events WHERE seq = 2",
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["first_bad_seq"], 3, "{v}");
    assert!(v["message"].as_str().unwrap().contains("missing"), "{v}");
    // A deleted row that is renumbered to hide the gap breaks the prev link instead.
    let renumbered = dir.path().join("renumbered");
    let (code, v) = tamper_and_verify(
        &deleted,
        &renumbered,
        "audit_events_no_update",
        "UPDATE audit_events SET seq = seq - 1 WHERE seq > 2",
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["first_bad_seq"], 2, "{v}");
    // The newest row cut from the end leaves an intact but shorter chain: the head anchor
    // (DATA/audit-head) catches it.
    assert!(data.join("audit-head").is_file());
    let truncated = dir.path().join("truncated");
    let (code, v) = tamper_and_verify(
        &data,
        &truncated,
        "audit_events_no_delete",
        "DELETE FROM audit_events WHERE seq = 5",
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("newest rows were removed"),
        "{v}"
    );

    // The API says the same on a tampered database.
    let s2 = Server::start(&edited).await;
    let (_, v) = s2.get("/audit/verify", &s2.admin).await;
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_seq"], 3);

    // And fsck notices a corrupted blob and a stray file.
    let bytes = b"blob to corrupt".to_vec();
    let (st, _) = s2.put_blob(&s2.admin, bytes.clone()).await;
    assert_eq!(st, StatusCode::CREATED);
    let hex = sha256_hex(&bytes);
    std::fs::write(
        edited.join("blobs/sha256").join(&hex[..2]).join(&hex),
        b"tampered",
    )
    .unwrap();
    let (code, v) = distd(&["fsck", "--data", edited.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["corrupt"].as_array().unwrap().len(), 1, "{v}");
    std::fs::write(edited.join("blobs/sha256/stray.txt"), b"x").unwrap();
    let (_, v) = distd(&["fsck", "--data", edited.to_str().unwrap(), "--json"]);
    assert_eq!(v["stray"].as_array().unwrap().len(), 1, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_token_create_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    s.create_app("acme").await;
    let d = data.to_str().unwrap();
    let (code, v) = distd(&[
        "token",
        "create",
        "--name",
        "ci",
        "--scope",
        "publish",
        "--scope",
        "promote",
        "--app",
        "acme",
        "--channel",
        "beta",
        "--data",
        d,
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    let secret = v["secret"].as_str().unwrap();
    assert!(secret.starts_with("dist_"));
    let (st, who) = s.get("/token", secret).await;
    assert_eq!(st, StatusCode::OK, "{who}");
    assert_eq!(who["token"]["name"], "ci");
    assert_eq!(who["token"]["app"], "acme");
    assert_eq!(who["token"]["scopes"], json!(["publish", "promote"]));
    // The CLI's event joins the same chain as the server's.
    let (_, v) = s.get("/audit/verify", &s.admin).await;
    assert_eq!(v["ok"], true, "{v}");
    let out = dir.path().join("backup.sqlite3");
    let (code, _) = distd(&["backup", "--data", d, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    let c = rusqlite::Connection::open(&out).unwrap();
    let n: i64 = c
        .query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    let help = std::process::Command::new(common::DISTD)
        .args(["token", "create", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("Example"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_policy_link_artifacts_and_ios_install_page() {
    let dir = tempfile::tempdir().unwrap();
    // iOS installs over https only: links come from the public URL, not the listen address.
    let s = Server::start_with(
        &dir.path().join("data"),
        &[("DIST_PUBLIC_URL", "https://dist.example.test/")],
    )
    .await;
    s.create_app("acme").await;

    // A TestFlight link goes through the iOS target at create time and needs no upload.
    let link = json!({"version": "2.0", "build": "7", "artifacts": [
        {"platform": "ios", "testflight_url": "https://testflight.apple.com/join/ABCDEFGH"}]});
    let (st, v) = s.post("/apps/acme/releases", &s.admin, link.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let art = &v["release"]["artifacts"][0];
    assert_eq!(art["attached"], true, "{v}");
    assert_eq!(art["platform"], "ios");
    assert_eq!(art["install_mode"], "testflight");
    assert_eq!(art["download_url"], Value::Null);
    let rid = v["release"]["id"].as_str().unwrap().to_owned();
    let (st, v) = s.post("/apps/acme/releases", &s.admin, link).await;
    assert_eq!(st, StatusCode::OK, "same link, same release: {v}");
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let bad = json!({"version": "2.0", "build": "8", "artifacts": [
        {"platform": "ios", "testflight_url": "https://evil.example/join/ABCDEFGH"}]});
    let (st, v) = s.post("/apps/acme/releases", &s.admin, bad).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(err_msg(&v).contains("artifacts[0]"), "{v}");

    // Channel policy: a warning code made blocking refuses the promotion, with the finding.
    let Some(two) = corpus("android/apksig-two-signers.apk") else {
        return;
    };
    let (r2, _) = publish(&s, "acme", "20", "two.apk", &two).await;
    let (st, v) = s
        .call(
            Method::PUT,
            "/apps/acme/channels/internal/policy",
            Some(&s.admin),
            Some(json!({"blocking_warnings": ["android.signature.multiple_signers"]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["release_id"], Value::Null);
    let (st, v) = s
        .post(
            "/apps/acme/channels/internal/promote",
            &s.admin,
            json!({"release_id": r2}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["error"]["findings"][0]["code"], "android.signature.multiple_signers",
        "{v}"
    );
    let (st, _) = s
        .call(
            Method::PUT,
            "/apps/acme/channels/internal/policy",
            Some(&s.admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = s
        .post(
            "/apps/acme/channels/internal/promote",
            &s.admin,
            json!({"release_id": r2}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "android.signature.multiple_signers"),
        "{v}"
    );

    // An IPA: install page and OTA manifest document.
    let Some(ipa) = corpus("ios/icyleaf-embedded.ipa") else {
        return;
    };
    let (rid, aid, v) = s.upload_and_attach("acme", "30", "Demo.ipa", &ipa).await;
    // Publishing follows the inspection: refused listing exactly its error findings, if it
    // has any (its profile expired in 2022), else published.
    let errors: Vec<String> = v["inspection"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        v["inspection"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "ios.profile.expired"),
        "{v}"
    );
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    if errors.is_empty() {
        assert_eq!(st, StatusCode::OK, "{v}");
    } else {
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let codes: Vec<String> = v["error"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(codes, errors, "{v}");
    }
    let (_, a) = s.get(&format!("/artifacts/{aid}"), &s.admin).await;
    assert_eq!(a["platform"], "ios");
    assert_eq!(a["kind"], "ipa");
    assert!(a["install_mode"].is_string(), "{a}");
    let res = s
        .client
        .get(format!("{}/i/{aid}?token={}", s.base, s.admin))
        .header(
            "user-agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("ACME 1.0 (30)"), "{html}");
    // An iPhone fetches the OTA manifest with no Authorization header: the itms-services
    // link must carry the page's token to the manifest.
    if html.contains("itms-services://") {
        assert!(html.contains("manifest.plist%3Ftoken%3D"), "{html}");
    }
    let res = s
        .client
        .get(format!(
            "{}/i/{aid}/manifest.plist?token={}",
            s.base, s.admin
        ))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains(&format!(
            "https://dist.example.test/api/v1/artifacts/{aid}/download?token={}",
            s.admin
        )),
        "the manifest's software-package URL works without headers: {body}"
    );
    let (st, _) = s.get(&format!("/i/{aid}/no-such-doc"), &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_an_unusable_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    let (st, v) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["status"], "ok");
    assert!(
        v["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "android"),
        "{v}"
    );
    // The uploads folder turns into a file: nothing can be written any more.
    let uploads = data.join("uploads");
    std::fs::remove_dir_all(&uploads).unwrap();
    std::fs::write(&uploads, b"not a folder").unwrap();
    let (st, v) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(
        v["status"].as_str().unwrap().contains("not writable"),
        "{v}"
    );
    std::fs::remove_file(&uploads).unwrap();
    std::fs::create_dir(&uploads).unwrap();
    let (st, _) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
}

#[test]
fn serve_refuses_a_data_folder_it_cannot_make() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/parent/data");
    let out = std::process::Command::new(common::DISTD)
        .args(["serve", "--listen", "127.0.0.1:1", "--data"])
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not exist") && err.contains("mkdir -p"),
        "{err}"
    );
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = std::process::Command::new(common::DISTD)
        .args(["serve", "--listen", "127.0.0.1:1", "--data"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a folder"));
}

/// Android refuses an update signed by another key: promoting an APK whose signer differs
/// from the one on the channel (with no v3 lineage showing a rotation) is refused with
/// `android.signer.changed`, and the channel keeps its release.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promoting_an_apk_with_another_signer_is_refused() {
    let (Some(rsa), Some(ec)) = (
        corpus("android/apksig-golden-aligned-v1v2v3-out.apk"),
        corpus("android/apksig-v3-only-with-ecdsa-sha256-p256.apk"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(&dir.path().join("data")).await;
    s.create_app("tiny").await;
    let (first, _) = publish(&s, "tiny", "1", "tiny.apk", &rsa).await;
    let (st, v) = s
        .post(
            "/apps/tiny/channels/beta/promote",
            &s.admin,
            serde_json::json!({ "release_id": first }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // Same package, another key: publishable on its own, refused on the channel.
    let (second, _) = publish(&s, "tiny", "2", "tiny.apk", &ec).await;
    let (st, v) = s
        .post(
            "/apps/tiny/channels/beta/promote",
            &s.admin,
            serde_json::json!({ "release_id": second }),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(err_code(&v), "validation_failed");
    assert!(
        v["error"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "android.signer.changed"),
        "{v}"
    );
    let (_, ch) = s.get("/apps/tiny/channels/beta", &s.admin).await;
    assert_eq!(ch["release_id"], first.as_str(), "{ch}");
    // A new channel has no current signer to continue from.
    let (st, v) = s
        .post(
            "/apps/tiny/channels/nightly/promote",
            &s.admin,
            serde_json::json!({ "release_id": second }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_removes_only_unreferenced_blobs_past_their_age() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    s.create_app("acme").await;
    let orphan = b"uploaded, then its release never came".to_vec();
    let kept = b"referenced by a draft".to_vec();
    for b in [&orphan, &kept] {
        let (st, v) = s.put_blob(&s.admin, b.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    s.create_release("acme", release_body("1.0", "1", &[("kept.bin", &kept)]))
        .await;
    let d = data.to_str().unwrap();
    let orphan_hex = sha256_hex(&orphan);

    // With the default age both are young: nothing goes.
    let (code, v) = distd(&["gc", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["removed"], json!([]), "{v}");
    assert_eq!(v["kept_young"], 1, "{v}");
    // A dry run names the orphan and removes nothing.
    let (code, v) = distd(&[
        "gc",
        "--data",
        d,
        "--min-age-hours",
        "0",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["removed"][0]["sha256"], orphan_hex.as_str(), "{v}");
    assert_eq!(v["removed"].as_array().unwrap().len(), 1, "{v}");
    let st = head_blob(&s, &orphan_hex).await;
    assert_eq!(st, StatusCode::OK);
    // For real, while distd runs: the orphan goes, the draft's blob stays, all on record.
    let (code, v) = distd(&["gc", "--data", d, "--min-age-hours", "0", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["removed"][0]["sha256"], orphan_hex.as_str(), "{v}");
    assert_eq!(v["bytes_freed"], orphan.len(), "{v}");
    let st = head_blob(&s, &orphan_hex).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let st = head_blob(&s, &sha256_hex(&kept)).await;
    assert_eq!(st, StatusCode::OK);
    let (_, audit) = s.get("/audit?action=blob.remove", &s.admin).await;
    assert_eq!(
        audit["events"][0]["subject"],
        orphan_hex.as_str(),
        "{audit}"
    );
    let (code, v) = distd(&["audit", "verify", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = distd(&["fsck", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["orphans"], json!([]), "{v}");
}

async fn head_blob(s: &Server, hex: &str) -> StatusCode {
    s.client
        .head(s.url(&format!("/blobs/sha256/{hex}")))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap()
        .status()
}
