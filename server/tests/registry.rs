//! The `distd` binary links every target crate: the registry it reports holds every expected
//! platform id. A target dropped from `targets-all` (its `use target_xxx as _;` line), or
//! `dist-targets` dropped from `main.rs`, fails here.

mod common;

use common::Server;
use dist_targets as _;

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
        serde_json::json!(["android", "ios", "linux", "macos", "toy", "windows"]),
        "{health}"
    );
    server.stop();
}

/// The start-up warning about a plain-http public URL names what stops working in the words
/// of the targets that need https (`Target::needs_https_for`), not words of distd's own.
#[tokio::test]
async fn the_plain_http_warning_names_what_targets_declare() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server =
        Server::start_with(&data, &[("DIST_PUBLIC_URL", "http://nas.local:8080")]).await;
    server.stop();
    let log = std::fs::read_to_string(data.with_extension("log")).unwrap();
    let needs: Vec<&str> = platform::registry()
        .targets()
        .iter()
        .filter_map(|t| t.needs_https_for())
        .collect();
    assert!(!needs.is_empty(), "a linked target needs https");
    assert!(
        log.contains(&format!(
            "is plain http (http://nas.local:8080): {} will not work",
            needs.join(", ")
        )),
        "{log}"
    );
}
