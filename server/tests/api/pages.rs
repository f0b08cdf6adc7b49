//! Channel policy, link artifacts and the iOS install page.

use super::*;

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
        {"platform": "ios", "link": "https://testflight.apple.com/join/ABCDEFGH"}]});
    let (st, v) = s.post("/apps/acme/releases", &s.admin, link.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let art = &v["release"]["artifacts"][0];
    assert_eq!(
        art["link"], "https://testflight.apple.com/join/ABCDEFGH",
        "{v}"
    );
    assert!(art.get("testflight_url").is_none(), "{v}");
    assert_eq!(art["attached"], true, "{v}");
    assert_eq!(art["platform"], "ios");
    assert_eq!(art["install_mode"], "testflight");
    assert_eq!(art["download_url"], Value::Null);
    let rid = v["release"]["id"].as_str().unwrap().to_owned();
    let (st, v) = s.post("/apps/acme/releases", &s.admin, link).await;
    assert_eq!(st, StatusCode::OK, "same link, same release: {v}");

    // Issue 14, item 2: the old field name is still read, for one version, and the answer
    // says it is deprecated (RFC 9745) and where to read why.
    let old = json!({"version": "2.0", "build": "7", "artifacts": [
        {"platform": "ios", "testflight_url": "https://testflight.apple.com/join/ABCDEFGH"}]});
    let res = s
        .client
        .post(s.url("/apps/acme/releases"))
        .bearer_auth(&s.admin)
        .json(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "same release under the old name"
    );
    assert_eq!(res.headers()["deprecation"], "true");
    let link_header = res.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link_header.contains("#deprecated-api-fields")
            && link_header.contains("rel=\"deprecation\""),
        "{link_header}"
    );
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["release"]["id"], rid.as_str(), "{v}");
    let both = json!({"version": "2.0", "build": "9", "artifacts": [
        {"platform": "ios", "link": "https://testflight.apple.com/join/ABCDEFGH",
         "testflight_url": "https://testflight.apple.com/join/ABCDEFGH"}]});
    let (st, v) = s.post("/apps/acme/releases", &s.admin, both).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(err_msg(&v).contains("not both"), "{v}");
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let bad = json!({"version": "2.0", "build": "8", "artifacts": [
        {"platform": "ios", "link": "https://evil.example/join/ABCDEFGH"}]});
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
    if !errors.is_empty() {
        // The publish gate: a draft that publishing refused has no page.
        let st = s
            .client
            .get(format!("{}/i/{aid}", s.base))
            .bearer_auth(&s.admin)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
    // The page and its documents, on a publishable IPA: the project's own fixture, not
    // Apple-signed, so published as a file (artifact-only); its OTA manifest is still served.
    let tiny = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/ios/tiny-adhoc.ipa"),
    )
    .unwrap();
    let (st, v) = s.put_blob("acme", &s.admin, tiny.clone()).await;
    assert!(st.is_success(), "{v}");
    let v = s
        .create_release(
            "acme",
            json!({"version": "1.0", "build": "31", "artifacts": [{
                "file_name": "Tiny.ipa", "sha256": sha256_hex(&tiny), "size": tiny.len(),
                "install": "artifact-only"}]}),
        )
        .await;
    let (rid, aid) = release_ids(&v);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{aid}/attach"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let res = s
        .client
        .get(format!("{}/i/{aid}", s.base))
        .bearer_auth(&s.admin)
        .header(
            "user-agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("ACME 1.0 (31)"), "{html}");
    // An iPhone fetches the OTA manifest and the IPA with no header and no cookie: the
    // itms-services link carries a grant for the manifest (never the viewer's token), and the
    // manifest a grant for the file.
    assert!(
        !html.contains(&s.admin),
        "the admin token leaked into the page"
    );
    let grant = if html.contains("itms-services://") {
        let at = html
            .find("manifest.plist%3Fgrant%3D")
            .expect("a grant in the OTA link")
            + "manifest.plist%3Fgrant%3D".len();
        html[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect::<String>()
    } else {
        crate::rights::query_value(&html, "icon.png?grant").expect("a document grant in the page")
    };
    let res = s
        .client
        .get(format!("{}/i/{aid}/manifest.plist?grant={grant}", s.base))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.contains(&s.admin), "{body}");
    let prefix = format!("https://dist.example.test/i/{aid}/download?grant=");
    let at = body
        .find(&prefix)
        .unwrap_or_else(|| panic!("the manifest's software-package URL carries a grant: {body}"));
    let file_grant: String = body[at + prefix.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    let res = s
        .client
        .get(format!("{}/i/{aid}/download?grant={file_grant}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the IPA downloads with the manifest's grant alone"
    );
    let (st, _) = s.get(&format!("/i/{aid}/no-such-doc"), &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// Issue 14, item 4: an architecture is stored under one name and a channel URL may use any of
/// its aliases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_urls_take_any_alias_of_an_architecture() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let apk = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/android/signed-v1v2v3.apk"),
    )
    .unwrap();
    let (st, v) = s.put_blob("acme", &s.admin, apk.clone()).await;
    assert!(st.is_success(), "{st}: {v}");
    let v = s
        .create_release(
            "acme",
            json!({"version": "1.0", "build": "1", "artifacts": [{
                "file_name": "acme.apk", "sha256": sha256_hex(&apk), "size": apk.len(),
                "arch": "amd64"}]}),
        )
        .await;
    assert_eq!(v["release"]["artifacts"][0]["arch"], "x86_64", "{v}");
    let (rid, aid) = release_ids(&v);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{aid}/attach"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    promote(&s, "acme", "beta", &rid).await;
    for alias in ["x86_64", "amd64", "x64", "X86-64"] {
        let res = download(&s, &format!("/d/acme/beta/android/{alias}"), &s.admin, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{alias}");
        assert_eq!(res.bytes().await.unwrap().len(), apk.len(), "{alias}");
    }
    let res = download(&s, "/d/acme/beta/android/arm64", &s.admin, None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
