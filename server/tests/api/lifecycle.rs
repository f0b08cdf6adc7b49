//! The release cycle: publish, promote, roll back, revoke, download; refused files; racing creates; signer continuity.

use super::*;

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
    // Release URLs are absolute and name a route that exists (issue 12, item 4): the
    // release page (issue 20).
    let (_, rel) = s.get(&format!("/releases/{r1}"), &s.admin).await;
    assert_eq!(rel["url"], format!("{}/apps/acme/releases/{r1}", s.base));
    let page = s
        .client
        .get(rel["url"].as_str().unwrap())
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("tiny app.apk"));
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
        .get(format!("{}/i/{a1}", s.base))
        .bearer_auth(&s.admin)
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

    // Identity rules refuse the file at attach (the admission `dist ci publish` runs too),
    // and block a publish of a file attached before the rules said so, listing the findings;
    // the release stays a draft.
    let (r9, _, _) = s.upload_and_attach("acme", "9", "a.apk", &apk1).await;
    let (st, v) = s
        .call(
            Method::PUT,
            "/apps/acme/identity",
            Some(&s.admin),
            Some(json!({"android": {"identities": ["com.acme.*"]}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let v = s
        .create_release("acme", release_body("1.0", "10", &[("a.apk", &apk1)]))
        .await;
    let (_, refused) = release_ids(&v);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{refused}/attach"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["error"]["findings"][0]["code"], "identity.mismatch",
        "{v}"
    );
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
    let (st, v) = s.put_blob("acme", &s.admin, zip.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["created"], true);
    let (st, v) = s.put_blob("acme", &s.admin, zip.clone()).await;
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
