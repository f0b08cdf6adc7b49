//! The audit chain against tampering; `distd token create` and backup.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_chain_detects_edited_and_deleted_rows() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Server::start(&data).await;
    for slug in ["a1", "a2", "a3", "a4"] {
        s.create_app(slug).await;
    }
    let (_, v) = s.get("/audit/verify", &s.admin).await;
    assert_eq!(v["ok"], true);
    assert_eq!(v["checked"], 5);
    s.stop(); // SIGTERM: a clean exit

    let d = data.to_str().unwrap();
    let (code, v) = distd(&["audit", "verify", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    let (code, v) = distd(&["fsck", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");

    // The database itself refuses the edit...
    let db = data.join("distd.sqlite3");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        assert!(
            c.execute("UPDATE audit_events SET actor = 'me' WHERE seq = 3", [])
                .is_err()
        );
        assert!(
            c.execute("DELETE FROM audit_events WHERE seq = 3", [])
                .is_err()
        );
    }
    // ...so an attacker drops the trigger first. Edited row:
    let edited = dir.path().join("edited");
    let (code, v) = tamper_and_verify(
        &data,
        &edited,
        "audit_events_no_update",
        "UPDATE audit_events SET details = '{\"name\":\"A3\",\"platforms\":[\"x\"]}' WHERE seq = 3",
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_seq"], 3, "{v}");
    // Deleted row:
    let deleted = dir.path().join("deleted");
    let (code, v) = tamper_and_verify(
        &data,
        &deleted,
        "audit_events_no_delete",
        "DELETE FROM audit_events WHERE seq = 2",
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["first_bad_seq"], 3, "{v}");
    assert!(v["message"].as_str().unwrap().contains("missing"), "{v}");
    // A deleted row that is renumbered to hide the gap breaks the prev link instead.
    let renumbered = dir.path().join("renumbered");
    let (code, v) = tamper_and_verify(
        &deleted,
        &renumbered,
        "audit_events_no_update",
        "UPDATE audit_events SET seq = seq - 1 WHERE seq > 2",
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["first_bad_seq"], 2, "{v}");
    // The newest row cut from the end leaves an intact but shorter chain: the head anchor
    // (DATA/audit-head) catches it.
    assert!(data.join("audit-head").is_file());
    let truncated = dir.path().join("truncated");
    let (code, v) = tamper_and_verify(
        &data,
        &truncated,
        "audit_events_no_delete",
        "DELETE FROM audit_events WHERE seq = 5",
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("newest rows were removed"),
        "{v}"
    );

    // The API says the same on a tampered database.
    let s2 = Server::start(&edited).await;
    let (_, v) = s2.get("/audit/verify", &s2.admin).await;
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_seq"], 3);

    // And fsck notices a corrupted blob and a stray file.
    let bytes = b"blob to corrupt".to_vec();
    s2.create_app("acme").await;
    let (st, _) = s2.put_blob("acme", &s2.admin, bytes.clone()).await;
    assert_eq!(st, StatusCode::CREATED);
    let hex = sha256_hex(&bytes);
    std::fs::write(
        edited.join("blobs/sha256").join(&hex[..2]).join(&hex),
        b"tampered",
    )
    .unwrap();
    let (code, v) = distd(&["fsck", "--data", edited.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["corrupt"].as_array().unwrap().len(), 1, "{v}");
    std::fs::write(edited.join("blobs/sha256/stray.txt"), b"x").unwrap();
    let (_, v) = distd(&["fsck", "--data", edited.to_str().unwrap(), "--json"]);
    assert_eq!(v["stray"].as_array().unwrap().len(), 1, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_token_create_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    s.create_app("acme").await;
    let d = data.to_str().unwrap();
    let (code, v) = distd(&[
        "token",
        "create",
        "--name",
        "ci",
        "--scope",
        "publish",
        "--scope",
        "promote",
        "--app",
        "acme",
        "--channel",
        "beta",
        "--data",
        d,
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    let secret = v["secret"].as_str().unwrap();
    assert!(secret.starts_with("dist_"));
    let (st, who) = s.get("/token", secret).await;
    assert_eq!(st, StatusCode::OK, "{who}");
    assert_eq!(who["token"]["name"], "ci");
    assert_eq!(who["token"]["app"], "acme");
    assert_eq!(who["token"]["scopes"], json!(["publish", "promote"]));
    // The CLI's event joins the same chain as the server's.
    let (_, v) = s.get("/audit/verify", &s.admin).await;
    assert_eq!(v["ok"], true, "{v}");
    let out = dir.path().join("backup.sqlite3");
    let (code, _) = distd(&["backup", "--data", d, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    let c = rusqlite::Connection::open(&out).unwrap();
    let n: i64 = c
        .query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    let help = std::process::Command::new(common::DISTD)
        .args(["token", "create", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("Example"));
}
