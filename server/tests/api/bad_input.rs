//! Malformed requests, paths and uploads are refused cleanly and leave nothing behind.

use super::*;

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
    // Ids are validated newtypes (issue 14, item 6): a bad one is a 400 naming it, as a bad
    // app slug or channel name is.
    let (st, v) = s.get("/releases/..%2F..%2Fetc%2Fpasswd", &s.admin).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(err_msg(&v).contains("release id"), "{v}");
    let (st, _) = s.get("/d/acme/..%2F..%2Fetc/android", &s.admin).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let mut traversal = body.clone();
    traversal["artifacts"][0]["file_name"] = json!("../../etc/passwd");
    let (st, v) = s.post("/apps/acme/releases", &s.admin, traversal).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(err_msg(&v).contains("file name"), "{v}");
    let res = s
        .client
        .put(s.url("/blobs/sha256/..%2F..%2Fdistd.sqlite3?app=acme"))
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
        .put(s.url(&format!("/blobs/sha256/{wrong}?app=acme")))
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
        .head(s.url(&format!("/blobs/sha256/{wrong}?app=acme")))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let hex = sha256_hex(&good);
    let res = s
        .client
        .put(s.url(&format!("/blobs/sha256/{hex}?app=acme")))
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
        .put(s.url(&format!("/blobs/sha256/{hex}?app=acme")))
        .bearer_auth(&s.admin)
        .header("upload-length", "99999999999999")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    raw_truncated_put(
        s.port,
        &format!("/api/v1/blobs/sha256/{hex}?app=acme"),
        &s.admin,
        "Content-Length: 1000\r\n",
        &good,
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let res = s
        .client
        .head(s.url(&format!("/blobs/sha256/{hex}?app=acme")))
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
    // Refusals by a known token are written at once (those without one are counted per
    // client and minute and written later: tests/edge.rs).
    let denied = v["events"].as_array().unwrap();
    assert!(denied.len() >= 3, "{v}");
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
