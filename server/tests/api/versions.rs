//! Issue 12, item 6: a file whose declared version or build differs from its release's is a
//! finding when the release is published: a warning by default, an error that blocks the
//! publish when the app's `version_mismatch` setting says so. The fixture APK declares
//! 1.2.3 (42).

use super::*;

fn fixture_apk() -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/android/signed-v1v2v3.apk");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const CODE: &str = "release.version_mismatch";

fn mismatch(v: &Value) -> Vec<Value> {
    v["findings"]
        .as_array()
        .or_else(|| v["error"]["findings"].as_array())
        .into_iter()
        .flatten()
        .filter(|f| f["code"] == CODE)
        .cloned()
        .collect()
}

async fn settings(s: &Server, token: &str, body: Value) -> (StatusCode, Value) {
    s.call(Method::PUT, "/apps/acme/settings", Some(token), Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mismatch_is_a_warning_until_the_app_makes_it_an_error() {
    let apk = fixture_apk();
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let (st, v) = s.get("/apps/acme", &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["version_mismatch"], "warning", "{v}");

    // 1.0 (7) holds a file that says 1.2.3 (42): published, with a warning naming both.
    let (rid, _, _) = s.upload_and_attach("acme", "7", "app.apk", &apk).await;
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let f = mismatch(&v);
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["severity"], "warning");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("declares version 1.2.3 (42), the release is 1.0 (7)"),
        "{msg}"
    );

    // Only an admin changes settings; unknown fields and values are refused.
    let ci = s
        .token(json!({"name": "ci", "scopes": ["publish", "read"], "app": "acme"}))
        .await;
    let (st, _) = settings(&s, &ci, json!({"version_mismatch": "error"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, v) = settings(&s, &s.admin, json!({"version_mismatch": "fatal"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (st, v) = settings(&s, &s.admin, json!({"retention": 3})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (st, v) = s
        .call(
            Method::PUT,
            "/apps/nope/settings",
            Some(&s.admin),
            Some(json!({"version_mismatch": "error"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");

    let (st, v) = settings(&s, &s.admin, json!({"version_mismatch": "error"})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["version_mismatch"], "error");

    // Now the same mismatch blocks the publish and the release stays a draft.
    let (rid, _, _) = s.upload_and_attach("acme", "8", "app.apk", &apk).await;
    let (st, v) = s.post_empty(&format!("/releases/{rid}/publish"), &ci).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let f = mismatch(&v);
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["severity"], "error");
    let (_, r) = s.get(&format!("/releases/{rid}"), &s.admin).await;
    assert_eq!(r["status"], "draft", "{r}");

    // A release whose version and build agree with the file publishes cleanly.
    let body = release_body("1.2.3", "42", &[("app.apk", &apk)]);
    let (rid, aid) = release_ids(&s.create_release("acme", body).await);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{aid}/attach"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s.post_empty(&format!("/releases/{rid}/publish"), &ci).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(mismatch(&v).is_empty(), "{v}");

    // The change is audited with what changed.
    let (_, a) = s.get("/audit?action=app.settings", &s.admin).await;
    let rows = a["events"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{a}");
    assert_eq!(rows[0]["details"]["version_mismatch"], "error");
}
