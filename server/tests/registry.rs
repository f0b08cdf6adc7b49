//! The `distd` binary links every target crate: the registry it reports holds every expected
//! platform id. A target dropped from `targets-all` (its `use target_xxx as _;` line), or
//! `dist-targets` dropped from `main.rs`, fails here.

mod common;

use common::Server;

#[tokio::test]
async fn distd_links_every_target() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("data")).await;
    let health: serde_json::Value = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Test builds also link the toy target (the `toy` feature of dist-targets).
    assert_eq!(
        health["platforms"],
        serde_json::json!(["android", "ios", "toy"]),
        "{health}"
    );
    server.stop();
}
