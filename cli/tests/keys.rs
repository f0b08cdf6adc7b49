//! `dist app add-key`, `keys` and `remove-key` against a real distd (issue 18).

mod common;

use common::*;

#[test]
fn an_admin_adds_lists_and_removes_a_key() {
    let d = Distd::start();
    let r = d.dist(&d.admin, &["app", "create", "acme", "--name", "Acme"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let key = workspace_root().join("fixtures/linux/keys/rsa.pub");
    let key = key.to_str().unwrap();
    let r = d.dist(
        &d.admin,
        &[
            "app",
            "add-key",
            "acme",
            "--platform",
            "linux",
            key,
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fpr = r.json()["fingerprint"].as_str().unwrap().to_owned();
    // gpg's fingerprint of the key, which make.sh writes beside it (keys are made afresh
    // each time the fixtures are).
    let want = std::fs::read_to_string(workspace_root().join("fixtures/linux/keys/rsa.fpr"))
        .unwrap()
        .trim()
        .to_ascii_lowercase();
    assert_eq!(fpr, want);
    // What an identity rule pins to accept only this key: the SHA-256 of its key packet.
    let pin = r.json()["signer_sha256"].as_str().unwrap().to_owned();
    assert_eq!(pin.len(), 64);
    let again = d.dist(
        &d.admin,
        &["app", "add-key", "acme", "--platform", "linux", key],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains(&format!("--platform linux --signer-sha256 {pin}")),
        "{}",
        again.stderr
    );
    let r = d.dist(&d.admin, &["app", "keys", "acme", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["keys"][0]["fingerprint"], fpr.as_str());
    // A platform that takes no keys: the server's reason, exit 3.
    let r = d.dist(
        &d.admin,
        &["app", "add-key", "acme", "--platform", "android", key],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("verifies no signatures"), "{}", r.stderr);
    // Not a file of text: refused before anything is sent.
    let bin = workspace_root().join("fixtures/linux/hello-1.0-1.x86_64.rpm");
    let r = d.dist(
        &d.admin,
        &[
            "app",
            "add-key",
            "acme",
            "--platform",
            "linux",
            bin.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    // Removed by the fingerprint as gpg prints it (upper case).
    let r = d.dist(
        &d.admin,
        &["app", "remove-key", "acme", &fpr.to_ascii_uppercase()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = d.dist(&d.admin, &["app", "keys", "acme", "--json"]);
    assert_eq!(r.json()["keys"].as_array().unwrap().len(), 0);
}
