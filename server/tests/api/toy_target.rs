//! A new platform needs its crate and one line in `targets-all`, nothing in `distd`: the
//! toy target (testkit/toy-target, linked only into test builds by the `toy` feature that
//! this package's dev-dependencies turn on) is detected, inspected, published, served
//! through `/d/` and listed by the registry of a real distd.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_linked_only_through_the_aggregator_works_end_to_end() {
    let (_dir, s) = Server::fresh(&["toyapp"]).await;

    // Listed by the registry distd reports.
    let (_, health) = s.get("/healthz", &s.admin).await;
    let platforms = health["platforms"].as_array().expect("platforms");
    assert!(platforms.contains(&json!("toy")), "{health}");

    // Detected and inspected by content (the name says nothing), published, promoted.
    let bytes = dist_targets::toy::file("com.example.toy", "1.2", "7");
    let (rid, aid) = publish(&s, "toyapp", "7", "build-output.bin", &bytes).await;
    let (st, v) = s.get(&format!("/artifacts/{aid}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["platform"], "toy", "{v}");
    assert_eq!(v["kind"], "toy", "{v}");
    assert_eq!(v["inspection"]["identity"], "com.example.toy", "{v}");
    assert_eq!(v["inspection"]["version"], "1.2", "{v}");
    promote(&s, "toyapp", "beta", &rid).await;

    // Served through the channel URL of its platform.
    let res = download(&s, "/d/toyapp/beta/toy", &s.admin, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-dist-sha256"], sha256_hex(&bytes).as_str());
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
}
