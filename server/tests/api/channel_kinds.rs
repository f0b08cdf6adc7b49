//! Issue 14, item 4: a channel URL chooses among a release's files by the target's preferred
//! kinds, takes `?kind=`, and offers the choice (409 with URLs, or a page for a browser) only
//! when the order does not decide; a target's channel document follows the channel. The toy
//! target declares two kinds (`toy`, preferred, and `toybox`) and a `latest` document.

use super::*;

use dist_targets::toy;

/// Uploads each file, creates one release holding them all, attaches and publishes it.
async fn release_of(s: &Server, build: &str, files: &[(&str, &[u8])]) -> String {
    for (_, bytes) in files {
        let (st, v) = s.put_blob("toyapp", &s.admin, bytes.to_vec()).await;
        assert!(st.is_success(), "{st}: {v}");
    }
    let v = s
        .create_release("toyapp", release_body("1.0", build, files))
        .await;
    let rid = v["release"]["id"].as_str().unwrap().to_owned();
    for a in v["release"]["artifacts"].as_array().unwrap() {
        let (st, v) = s
            .post_empty(
                &format!("/artifacts/{}/attach", a["id"].as_str().unwrap()),
                &s.admin,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    rid
}

async fn get_with(s: &Server, path: &str, accept: &str) -> reqwest::Response {
    s.client
        .get(s.url(path))
        .bearer_auth(&s.admin)
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_urls_choose_by_kind_and_offer_the_choice_when_the_order_does_not_decide() {
    let (_dir, s) = Server::fresh(&["toyapp"]).await;
    let plain = toy::file("com.example.toy", "1.0", "1");
    let boxed = toy::toybox("com.example.toy", "1.0", "1");
    let r1 = release_of(&s, "1", &[("a.box", &boxed), ("a.toy", &plain)]).await;
    promote(&s, "toyapp", "beta", &r1).await;

    // The preferred kind wins, whatever the order of the release's files.
    let res = download(&s, "/d/toyapp/beta/toy", &s.admin, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), plain.as_slice());
    // `?kind=` names the other one.
    let res = download(&s, "/d/toyapp/beta/toy?kind=toybox", &s.admin, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), boxed.as_slice());
    // An unknown kind: 400 naming the known ones.
    let (st, v) = s.get("/d/toyapp/beta/toy?kind=deb", &s.admin).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(err_msg(&v).contains("use one of: toy, toybox"), "{v}");
    // Nothing matches: 404 saying what the channel holds.
    let (st, v) = s.get("/d/toyapp/beta/toy/arm64?kind=toy", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert!(
        err_msg(&v).contains("has no toy toy for arm64 file; it holds toy toybox, toy toy")
            || err_msg(&v).contains("it holds toy toy, toy toybox"),
        "{v}"
    );
    // A platform this server does not link: 404 naming the ones it does.
    let (st, v) = s.get("/d/toyapp/beta/plan9", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert!(err_msg(&v).contains("toy"), "{v}");

    // Two files of the same kind and arch: the order cannot decide.
    let one = toy::toybox("com.example.toy", "1.0", "2");
    let two = toy::toybox("com.example.toy", "1.0", "2\nflavour: b");
    let r2 = release_of(&s, "2", &[("one.box", &one), ("two.box", &two)]).await;
    promote(&s, "toyapp", "beta", &r2).await;
    let res = get_with(&s, "/d/toyapp/beta/toy", "application/json").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let v: Value = res.json().await.unwrap();
    assert_eq!(err_code(&v), "conflict", "{v}");
    let choices = v["choices"].as_array().expect("choices");
    let names: Vec<&str> = choices
        .iter()
        .map(|c| c["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one.box", "two.box"], "{v}");
    // Kind and arch cannot tell them apart, so each is named by its artifact id (a URL that
    // stays with this release), and that URL serves exactly that file.
    for (c, bytes) in choices.iter().zip([&one, &two]) {
        assert_eq!(c["kind"], "toybox", "{c}");
        let id = c["artifact_id"].as_str().unwrap();
        let url = format!("{}/api/v1/artifacts/{id}/download", s.base);
        assert_eq!(c["url"], url, "{c}");
        assert_eq!(c["follows_channel"], false, "{c}");
        let res = s
            .client
            .get(&url)
            .bearer_auth(&s.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        assert!(
            res.bytes().await.unwrap().as_ref() == bytes.as_slice(),
            "{url}"
        );
        assert!(
            c["install_url"]
                .as_str()
                .unwrap()
                .ends_with(c["artifact_id"].as_str().unwrap()),
            "{c}"
        );
    }
    // A browser gets the list as a page. The channel is not public: each file is linked with
    // a grant (the browser may hold no other credential), and the page is not kept.
    let res = get_with(&s, "/d/toyapp/beta/toy", "text/html,*/*;q=0.8").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(
        html.contains(">one.box</a>") && html.contains(">two.box</a>"),
        "{html}"
    );
    let link = html
        .split("href=\"")
        .filter_map(|p| p.split('"').next())
        .find(|h| h.contains("/download?grant="))
        .unwrap_or_else(|| panic!("no grant link: {html}"))
        .replace("&#38;", "&");
    let res = s.client.get(&link).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{link}");
    let got = res.bytes().await.unwrap();
    assert!(got.as_ref() == one.as_slice() || got.as_ref() == two.as_slice());
    // A public channel's page links each file without a grant (by artifact id, since kind
    // and arch do not tell these two apart), and the link opens without a credential.
    set_access(&s, "/apps/toyapp/channels/beta/access", "public").await;
    let res = s
        .client
        .get(s.url("/d/toyapp/beta/toy"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let html = res.text().await.unwrap();
    let ids: Vec<&str> = choices
        .iter()
        .map(|c| c["artifact_id"].as_str().unwrap())
        .collect();
    for id in &ids {
        let link = format!("{}/i/{id}/download", s.base);
        assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
        let res = s.client.get(&link).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{link}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_document_follows_the_channel() {
    let (_dir, s) = Server::fresh(&["toyapp"]).await;
    let r1 = release_of(
        &s,
        "1",
        &[("a.toy", &toy::file("com.example.toy", "1.0", "1"))],
    )
    .await;
    promote(&s, "toyapp", "beta", &r1).await;
    let feed = "/d/toyapp/beta/toy/feed/latest";
    let res = download(&s, feed, &s.admin, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let body = res.text().await.unwrap();
    assert!(body.contains(&format!("release: {r1}\n")), "{body}");
    assert!(body.contains("build: 1\n"), "{body}");
    assert!(
        body.contains(&format!("{}/d/toyapp/beta/toy?kind=toy\n", s.base)),
        "{body}"
    );

    // After a promote the same URL describes the new release.
    let r2 = release_of(
        &s,
        "2",
        &[("b.toy", &toy::file("com.example.toy", "1.0", "2"))],
    )
    .await;
    promote(&s, "toyapp", "beta", &r2).await;
    let body = download(&s, feed, &s.admin, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains(&format!("release: {r2}\n")), "{body}");
    assert!(!body.contains(&r1), "{body}");

    // A name the target does not serve, a channel that does not exist, no credential.
    let (st, v) = s.get("/d/toyapp/beta/toy/feed/appcast.xml", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert!(err_msg(&v).contains("serves no channel document"), "{v}");
    let (st, v) = s.get("/d/toyapp/nightly/toy/feed/latest", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    let st = get_status(&s, s.url(feed), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Android declares no document: the route answers 404 for it, not 500.
    let (st, _) = s.get("/d/toyapp/beta/android/feed/latest", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
