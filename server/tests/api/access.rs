//! The access model's fixes, one test per hole: token rights that cannot widen, blobs owned per
//! app, the publish gate on every serving route, no secrets in pages, caching and media types.

use super::*;
use crate::rights::{apk, page_session, query_value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_limited_admin_stays_inside_its_app() {
    let (_dir, s) = Server::fresh(&["a", "b"]).await;
    let b_token = s
        .token(json!({"name": "b-ci", "scopes": ["publish"], "app": "b"}))
        .await;
    let (_, v) = s.get("/token", &b_token).await;
    let b_id = v["token"]["id"].as_str().unwrap().to_owned();
    let a_admin = s
        .token(
            json!({"name": "a-admin", "scopes": ["admin"], "app": "a", "channels": ["beta"],
                      "expires_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    // No unrestricted token, no token for another app, no wider channels or expiry.
    for (body, why) in [
        (json!({"name": "x", "scopes": ["admin"]}), "no app limit"),
        (
            json!({"name": "x", "scopes": ["read"], "app": "b"}),
            "another app",
        ),
        (
            json!({"name": "x", "scopes": ["promote"], "app": "a"}),
            "no channel limit",
        ),
        (
            json!({"name": "x", "scopes": ["promote"], "app": "a", "channels": ["stable"]}),
            "another channel",
        ),
        (
            json!({"name": "x", "scopes": ["read"], "app": "a", "channels": ["beta"],
                "expires_at": "2100-01-01T00:00:00Z"}),
            "a later expiry",
        ),
    ] {
        let (st, v) = s.post("/tokens", &a_admin, body).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{why}: {v}");
    }
    let (st, v) = s
        .post(
            "/tokens",
            &a_admin,
            json!({"name": "ok", "scopes": ["promote"], "app": "a", "channels": ["beta"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["token"]["expires_at"], "2099-01-01T00:00:00Z",
        "the creator's expiry is inherited"
    );
    assert!(
        v["token"]["created_by"]
            .as_str()
            .unwrap()
            .ends_with(":a-admin"),
        "{v}"
    );
    // Lists only its app's tokens; another app's token is not found, and stays valid.
    let (_, v) = s.get("/tokens", &a_admin).await;
    let apps: Vec<&str> = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["app"].as_str().unwrap_or("-"))
        .collect();
    assert!(apps.iter().all(|a| *a == "a"), "{apps:?}");
    let (st, _) = s
        .post_empty(&format!("/tokens/{b_id}/revoke"), &a_admin)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get("/token", &b_token).await;
    assert_eq!(st, StatusCode::OK, "b's token was not revoked");
    // The audit log: its app's rows only; the chain and other apps are refused.
    let (st, v) = s.get("/audit?limit=1000", &a_admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["app"] == "a"),
        "{v}"
    );
    let (st, _) = s.get("/audit?app=b", &a_admin).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s.get("/audit/verify", &a_admin).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // No new apps.
    let (st, _) = s
        .post("/apps", &a_admin, json!({"slug": "c", "name": "C"}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_do_not_cross_apps_by_digest() {
    let (_dir, s) = Server::fresh(&["a", "b"]).await;
    let secret = apk("rotated.apk");
    let hex = sha256_hex(&secret);
    // App b uploads its build and keeps it a draft.
    let (_, _, _) = s.upload_and_attach("b", "1", "b.apk", &secret).await;
    let a_ci = s
        .token(json!({"name": "a-ci", "scopes": ["publish", "read", "download"], "app": "a"}))
        .await;
    let head = |app: &'static str| {
        s.client
            .head(s.url(&format!("/blobs/sha256/{hex}?app={app}")))
            .bearer_auth(&a_ci)
            .send()
    };
    assert_eq!(
        head("a").await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "existence answers for the caller's app only"
    );
    assert_eq!(head("b").await.unwrap().status(), StatusCode::FORBIDDEN);
    // Naming b's digest in a draft of a and attaching it is refused.
    let (st, v) = s
        .post(
            "/apps/a/releases",
            &a_ci,
            release_body("1.0", "1", &[("stolen.apk", &secret)]),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (rid, aid) = release_ids(&v);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{aid}/attach"), &a_ci)
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(err_msg(&v).contains("has not uploaded"), "{v}");
    let (st, _) = s
        .get(&format!("/api/v1/artifacts/{aid}/download"), &a_ci)
        .await;
    assert_ne!(st, StatusCode::OK);
    // Wrong bytes under b's digest prove nothing.
    let res = s
        .client
        .put(s.url(&format!("/blobs/sha256/{hex}?app=a")))
        .bearer_auth(&a_ci)
        .body(vec![0u8; secret.len()])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "digest_mismatch"
    );
    // The real bytes do: stored once, now usable by a too.
    let (st, v) = s.put_blob("a", &a_ci, secret.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["created"], false);
    assert_eq!(head("a").await.unwrap().status(), StatusCode::OK);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{aid}/attach"), &a_ci)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, v) = s.get("/audit?action=blob.claim", &s.admin).await;
    assert_eq!(v["events"][0]["app"], "a", "{v}");
    let _ = rid;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_upload_is_resumed_only_by_its_app() {
    let (_dir, s) = Server::fresh(&["a", "b"]).await;
    let bytes = Rng(7).bytes(256 * 1024);
    let hex = sha256_hex(&bytes);
    raw_truncated_put(
        s.port,
        &format!("/api/v1/blobs/sha256/{hex}?app=b"),
        &s.admin,
        &format!(
            "Upload-Length: {}\r\nContent-Length: {}\r\n",
            bytes.len(),
            bytes.len()
        ),
        &bytes[..100 * 1024],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    // What HEAD tells each app of the partial upload.
    let offset_for = |app: &'static str| {
        let req = s
            .client
            .head(s.url(&format!("/blobs/sha256/{hex}?app={app}")))
            .bearer_auth(&s.admin);
        async move {
            let res = req.send().await.unwrap();
            res.headers()
                .get("upload-offset")
                .map(|v| v.to_str().unwrap().parse::<usize>().unwrap())
        }
    };
    let off = offset_for("b").await.expect("b sees its partial upload");
    assert!(
        offset_for("a").await.is_none(),
        "a learns nothing of b's upload"
    );
    let res = s
        .client
        .put(s.url(&format!("/blobs/sha256/{hex}?app=a")))
        .bearer_auth(&s.admin)
        .header("upload-length", bytes.len())
        .header("upload-offset", off)
        .body(bytes[off..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::CONFLICT,
        "a cannot finish b's upload"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_are_never_served_to_pages_or_download_tokens() {
    let (_dir, s) = Server::fresh(&["a"]).await;
    let apk = apk("signed-v1v2v3.apk");
    let (_, aid, _) = s.upload_and_attach("a", "1", "app.apk", &apk).await;
    let dl = s
        .token(json!({"name": "dl", "scopes": ["download"], "app": "a"}))
        .await;
    let publisher = s
        .token(json!({"name": "ci", "scopes": ["publish", "download"], "app": "a"}))
        .await;
    for path in [
        format!("/api/v1/artifacts/{aid}/download"),
        format!("/i/{aid}"),
        format!("/i/{aid}/download"),
        format!("/i/{aid}/manifest.plist"),
        format!("/i/{aid}/icon.png"),
    ] {
        let st = get_status(&s, s.url(&path), Some(&dl)).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        let st = get_status(&s, format!("{}{path}?token={dl}", s.base), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}?token=");
    }
    // A page cannot be turned into a session for a draft either.
    let st = get_status(&s, format!("{}/i/{aid}?token={publisher}", s.base), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The publisher checks its build through the API before publishing.
    let st = get_status(
        &s,
        s.url(&format!("/api/v1/artifacts/{aid}/download")),
        Some(&publisher),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_never_carry_the_viewers_token() {
    let (_dir, s) = Server::fresh(&["a"]).await;
    let apk = apk("signed-v1v2v3.apk");
    let (rid, aid) = publish(&s, "a", "1", "app.apk", &apk).await;
    let dl = s
        .token(json!({"name": "dl", "scopes": ["download"], "app": "a"}))
        .await;
    // The link is exchanged for a session and the address loses the token.
    let cookie = page_session(&s, &aid, &dl).await;
    let res = s
        .client
        .get(format!("{}/i/{aid}", s.base))
        .header("cookie", format!("dist_page={cookie}"))
        .header("user-agent", "Mozilla/5.0 (Linux; Android 14; Pixel 8)")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["cache-control"],
        "no-store",
        "the page carries grants"
    );
    let html = res.text().await.unwrap();
    assert!(!html.contains(&dl) && !html.contains("token="), "{html}");
    // Even an admin's page view hands out grants, not the admin token.
    let html = s
        .client
        .get(format!("{}/i/{aid}", s.base))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(&s.admin), "admin token in the page");
    let grant = query_value(&html, "download?grant").expect("a grant in the page's links");
    // The grant opens this file, without any other credential, and nothing else.
    let res = s
        .client
        .get(format!("{}/i/{aid}/download?grant={grant}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.android.package-archive"
    );
    assert_eq!(res.bytes().await.unwrap().len(), apk.len());
    let st = get_status(
        &s,
        format!("{}/api/v1/artifacts/{aid}/download?grant={grant}", s.base),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "a grant is not a token");
    // One character of the MAC changed (the first after the expiry: every bit of it counts).
    let at = grant.find('.').unwrap() + 1;
    let flipped = if &grant[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &grant[..at], &grant[at + 1..]);
    let st = get_status(
        &s,
        format!("{}/i/{aid}/download?grant={tampered}", s.base),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Revoking the token ends its page session at once.
    let (_, v) = s.get("/tokens", &s.admin).await;
    let id = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "dl")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, _) = s
        .post_empty(&format!("/tokens/{id}/revoke"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK);
    let st = s
        .client
        .get(format!("{}/i/{aid}", s.base))
        .header("cookie", format!("dist_page={cookie}"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let _ = rid;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_urls_revalidate_and_files_by_id_are_immutable() {
    let (_dir, s) = Server::fresh(&["a"]).await;
    let apk = apk("signed-v1v2v3.apk");
    let (rid, aid) = publish(&s, "a", "1", "app.apk", &apk).await;
    promote(&s, "a", "beta", &rid).await;
    let res = download(&s, "/d/a/beta/android", &s.admin, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.android.package-archive"
    );
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", sha256_hex(&apk)));
    let res = s
        .client
        .get(s.url("/d/a/beta/android"))
        .bearer_auth(&s.admin)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = download(
        &s,
        &format!("/api/v1/artifacts/{aid}/download"),
        &s.admin,
        None,
    )
    .await;
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    // Access settings: a public channel opens its URL without a credential.
    let st = get_status(&s, s.url("/d/a/beta/android"), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let v = set_access(&s, "/apps/a/channels/beta/access", "public").await;
    assert_eq!(v["access"], "public");
    let st = get_status(&s, s.url("/d/a/beta/android"), None).await;
    assert_eq!(st, StatusCode::OK);
    let html = s
        .client
        .get(format!("{}/i/{aid}", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("grant="),
        "a public page needs no grants: {html}"
    );
}
