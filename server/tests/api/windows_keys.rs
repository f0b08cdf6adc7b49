//! A Windows root an app's admin adds (issue 19): the Windows target reads the certificate
//! (PEM), distd stores it, and attach chains Authenticode signatures to it: the same signed
//! exe reads `untrusted` before the root is added and `signed` after.

use crate::common::*;
use crate::err_msg;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    project_fixture("windows", name)
}

/// Attaches `bytes` to a new draft of acme and answers the artifact's inspection.
async fn inspection_of(s: &Server, build: &str, name: &str, bytes: &[u8]) -> Value {
    s.attached_inspection("acme", "1.2.3", build, name, bytes)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_root_makes_authenticode_read_signed() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let exe = fixture("hello-signed.exe");
    let i = inspection_of(&s, "1", "hello.exe", &exe).await;
    assert_eq!(i["kind"], "exe", "{i}");
    assert_eq!(i["signature"]["state"], "untrusted", "{i}");

    let pem = String::from_utf8(fixture("keys/ca.pem")).unwrap();
    let (st, v) = s
        .post(
            "/apps/acme/keys",
            &s.admin,
            json!({"platform": "windows", "key": pem}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let fpr = format_sha256(&fixture("keys/ca.cer"));
    assert_eq!(v["fingerprint"], fpr.as_str(), "{v}");
    assert_eq!(v["label"], "CN=Dist Fixtures Root", "{v}");

    let i = inspection_of(&s, "2", "hello.exe", &exe).await;
    assert_eq!(i["signature"]["state"], "signed", "{i}");
    // A tampered copy stays invalid whatever the app trusts.
    let i = inspection_of(&s, "3", "hello.exe", &fixture("hello-tampered.exe")).await;
    assert_eq!(i["signature"]["state"], "invalid", "{i}");

    let (st, v) = s
        .call(
            Method::DELETE,
            &format!("/apps/acme/keys/{fpr}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    let i = inspection_of(&s, "4", "hello.exe", &exe).await;
    assert_eq!(i["signature"]["state"], "untrusted", "{i}");

    // Text that is no certificate is refused with the reason.
    let (st, v) = s
        .post(
            "/apps/acme/keys",
            &s.admin,
            json!({"platform": "windows", "key": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(err_msg(&v).contains("not an X.509 certificate"), "{v}");
}

fn format_sha256(der: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, der))
}
