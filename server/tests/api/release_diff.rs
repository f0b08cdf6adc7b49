//! Issue 12, item 10: `GET /api/v1/releases/{a}/diff/{b}` follows the access model: read
//! scope on the releases' app; another app's token, or none, learns nothing.

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    crate::common::project_fixture("android", name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_diff_needs_read_on_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    s.create_app("other").await;
    let (a, _) = publish(&s, "acme", "1", "app.apk", &fixture("signed-v1v2v3.apk")).await;
    let (b, _) = publish(&s, "acme", "2", "app.apk", &fixture("rotated.apk")).await;
    let path = format!("/releases/{a}/diff/{b}");

    let reader = s
        .token(json!({"name": "r", "scopes": ["read"], "app": "acme"}))
        .await;
    let (st, v) = s.get(&path, &reader).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["from"], a.as_str());
    assert_eq!(
        v["platforms"][0]["signers"]["added"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let other = s
        .token(json!({"name": "o", "scopes": ["read"], "app": "other"}))
        .await;
    let (st, v) = s.get(&path, &other).await;
    assert!(
        st == StatusCode::FORBIDDEN || st == StatusCode::NOT_FOUND,
        "{st} {v}"
    );
    assert!(v.get("platforms").is_none(), "{v}");

    let downloader = s
        .token(json!({"name": "d", "scopes": ["download"], "app": "acme"}))
        .await;
    let (st, _) = s.get(&path, &downloader).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let res = s.client.get(s.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
