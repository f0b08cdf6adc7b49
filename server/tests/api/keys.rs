//! Keys an app's admin adds (issue 18): the platform's target reads them, distd stores them,
//! and attach verifies signatures with them: the same signed rpm reads `unknown` before its
//! key is added and `signed` after.

use crate::common::*;
use crate::err_msg;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    project_fixture("linux", name)
}

/// Attaches `bytes` to a new draft of acme and answers the artifact's signature state.
async fn signature_of(s: &Server, build: &str, name: &str, bytes: &[u8]) -> Value {
    s.attached_inspection("acme", "1.0", build, name, bytes)
        .await["signature"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_key_makes_its_signatures_read_signed() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let rpm = fixture("hello-1.0-1.x86_64-rsa.rpm");
    let sig = signature_of(&s, "1", "hello.rpm", &rpm).await;
    assert_eq!(sig["state"], "unknown", "{sig}");

    let key = String::from_utf8(fixture("keys/rsa.pub")).unwrap();
    let fpr = String::from_utf8(fixture("keys/rsa.fpr"))
        .unwrap()
        .trim()
        .to_ascii_lowercase();
    let body = json!({"platform": "linux", "key": key});
    let (st, v) = s.post("/apps/acme/keys", &s.admin, body.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["fingerprint"], fpr.as_str(), "{v}");
    assert_eq!(v["platform"], "linux", "{v}");
    // The same key again: 200, nothing added.
    let (st, v) = s.post("/apps/acme/keys", &s.admin, body).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s.get("/apps/acme/keys", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["keys"].as_array().unwrap().len(), 1, "{v}");

    let sig = signature_of(&s, "2", "hello.rpm", &rpm).await;
    assert_eq!(sig["state"], "signed", "{sig}");

    // Removed, it no longer verifies what is attached later; the audit log has both.
    let (st, v) = s
        .call(
            Method::DELETE,
            &format!("/apps/acme/keys/{fpr}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    let sig = signature_of(&s, "3", "hello.rpm", &rpm).await;
    assert_eq!(sig["state"], "unknown", "{sig}");
    let (st, v) = s.get("/audit?app=acme", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let actions: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"app.key.add"), "{actions:?}");
    assert!(actions.contains(&"app.key.remove"), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_refused_with_the_reason() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let key = String::from_utf8(fixture("keys/rsa.pub")).unwrap();
    // Not a key.
    let (st, v) = s
        .post(
            "/apps/acme/keys",
            &s.admin,
            json!({"platform": "linux", "key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnope\n"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(err_msg(&v).contains("not an OpenPGP public key"), "{v}");
    // A platform that takes no keys.
    let (st, v) = s
        .post(
            "/apps/acme/keys",
            &s.admin,
            json!({"platform": "android", "key": key}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(err_msg(&v).contains("verifies no signatures"), "{v}");
    // Not an admin.
    let publish = s
        .token(json!({"name": "ci", "scopes": ["publish"], "app": "acme"}))
        .await;
    let (st, v) = s
        .post(
            "/apps/acme/keys",
            &publish,
            json!({"platform": "linux", "key": key}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    // A fingerprint that cannot be one; one the app does not have.
    let (st, v) = s
        .call(Method::DELETE, "/apps/acme/keys/XYZ", Some(&s.admin), None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (st, v) = s
        .call(
            Method::DELETE,
            "/apps/acme/keys/0123456789abcdef",
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
}
