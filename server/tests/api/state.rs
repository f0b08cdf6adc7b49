//! Start-up state checks (issue 11, items 1 to 4): a missing or empty database beside a used
//! data folder, a truncated audit chain, a newer schema and a read-only database are refused
//! loudly instead of being accepted.

use std::process::Output;

use super::*;

/// Runs `distd ARGS`; returns the exit code and stderr.
fn distd_err(args: &[&str]) -> (i32, String) {
    let out: Output = std::process::Command::new(common::DISTD)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `distd serve` on `data` with a port nobody answers on: refusals happen before it listens.
fn serve_err(data: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let port = common::free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "serve",
        "--listen",
        &listen,
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    distd_err(&args)
}

/// A data folder that was used: an app, a blob, audit rows; distd stopped cleanly.
async fn used_folder() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Server::start(&data).await;
    s.create_app("acme").await;
    let (st, v) = s.put_blob("acme", &s.admin, b"some build".to_vec()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    s.stop();
    (dir, data)
}

fn remove_db(data: &std::path::Path) {
    for f in ["distd.sqlite3", "distd.sqlite3-wal", "distd.sqlite3-shm"] {
        let _ = std::fs::remove_file(data.join(f));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_empty_database_beside_used_data_is_refused() {
    let (_dir, data) = used_folder().await;
    let d = data.to_str().unwrap();
    let admin_before = std::fs::read_to_string(data.join("initial-admin-token")).unwrap();
    remove_db(&data);
    let (code, err) = serve_err(&data, &[]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("is missing")
            && err.contains("1 blob(s)")
            && err.contains("audit-head recording audit row")
            && err.contains("distd restore")
            && err.contains("--start-over"),
        "{err}"
    );
    assert!(!data.join("distd.sqlite3").exists(), "nothing was created");
    // The other commands refuse too: gc would delete every blob as an orphan.
    for cmd in ["gc", "fsck"] {
        let (code, err) = distd_err(&[cmd, "--data", d]);
        assert_ne!(code, 0, "{cmd}: {err}");
        assert!(err.contains("is missing"), "{cmd}: {err}");
    }
    // A 0-byte file (a failed copy) is the same.
    std::fs::write(data.join("distd.sqlite3"), b"").unwrap();
    let (code, err) = serve_err(&data, &[]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("is empty (0 bytes)"), "{err}");
    let (code, err) = distd_err(&["gc", "--data", d, "--min-age-hours", "0"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("is empty (0 bytes)"), "{err}");
    assert_eq!(
        dir_files(&data.join("blobs")).len(),
        1,
        "gc removed nothing"
    );

    // Starting over is deliberate: the flag starts an empty database, the old anchor is kept.
    std::fs::remove_file(data.join("initial-admin-token")).unwrap();
    let mut s = Server::start_args(&data, &["--start-over"], &[]).await;
    assert_ne!(s.admin, admin_before.trim());
    let (st, v) = s.get("/apps", &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["apps"], json!([]), "{v}");
    assert!(
        std::fs::read_dir(&data).unwrap().flatten().any(|e| e
            .file_name()
            .to_string_lossy()
            .starts_with("audit-head.before-start-over-")),
        "the old anchor is kept"
    );
    s.stop();
    let (code, err) = distd_err(&["audit", "verify", "--data", d]);
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_audit_chain_is_served_read_only_until_acknowledged() {
    let (_dir, data) = used_folder().await;
    let d = data.to_str().unwrap();
    let head_before = std::fs::read_to_string(data.join("audit-head")).unwrap();
    let head_seq: i64 = head_before.split(' ').next().unwrap().parse().unwrap();
    // Cut the last two rows off, as someone with the file could.
    {
        let c = rusqlite::Connection::open(data.join("distd.sqlite3")).unwrap();
        c.execute_batch("DROP TRIGGER audit_events_no_delete")
            .unwrap();
        c.execute("DELETE FROM audit_events WHERE seq > ?1", [head_seq - 2])
            .unwrap();
    }
    let end = head_seq - 2;
    let mut s = Server::start(&data).await;
    let (st, v) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "degraded", "{v}");
    let read_only = v["read_only"].as_str().unwrap_or_default().to_owned();
    assert!(read_only.contains(&format!("row {end}")), "{v}");
    // Reads work; a write is refused naming both positions, and leaves the anchor alone.
    let (st, v) = s.get("/apps/acme", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s
        .post("/apps", &s.admin, json!({"slug": "other", "name": "Other"}))
        .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    let msg = err_msg(&v);
    assert!(
        msg.contains(&format!("the chain ends at row {end}"))
            && msg.contains(&format!("the anchor records row {head_seq}"))
            && msg.contains("distd audit acknowledge"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("audit-head")).unwrap(),
        head_before,
        "the evidence survives a write attempt"
    );
    let st = head_blob(&s, &sha256_hex(b"some build")).await;
    assert_eq!(st, StatusCode::OK);
    // Writing commands refuse too.
    let (code, err) = distd_err(&["gc", "--data", d]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(&format!("anchor records row {head_seq}")),
        "{err}"
    );
    s.stop();
    assert_eq!(
        std::fs::read_to_string(data.join("audit-head")).unwrap(),
        head_before
    );

    // The acknowledgement is a row of the chain; then distd writes again.
    let (code, err) = distd_err(&["audit", "acknowledge", "--data", d, "--reason", "test cut"]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = distd_err(&["audit", "verify", "--data", d]);
    assert_eq!(code, 0, "{err}");
    let s = Server::start(&data).await;
    let (st, v) = s
        .post("/apps", &s.admin, json!({"slug": "other", "name": "Other"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, v) = s.get("/audit?action=audit.acknowledge", &s.admin).await;
    let ev = &v["events"][0];
    assert_eq!(ev["details"]["anchor_seq"], head_seq, "{v}");
    assert_eq!(ev["details"]["chain_end_seq"], end, "{v}");
    assert_eq!(ev["details"]["reason"], "test cut", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_distd_is_refused_by_every_command() {
    let (_dir, data) = used_folder().await;
    let d = data.to_str().unwrap();
    {
        let c = rusqlite::Connection::open(data.join("distd.sqlite3")).unwrap();
        c.execute(
            "INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, '9999_future.sql', '2030-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
    }
    let (code, err) = serve_err(&data, &[]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("written by a newer distd (migration 9999") && err.contains("restore"),
        "{err}"
    );
    for args in [
        vec!["fsck", "--data", d],
        vec!["backup", "--data", d, "--out", "/nonexistent-x"],
    ] {
        let (code, err) = distd_err(&args);
        assert_ne!(code, 0, "{args:?}: {err}");
        assert!(err.contains("migration 9999"), "{args:?}: {err}");
    }
}

/// As root, permissions do not stop a write: a read-only bind mount of the database file does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_is_refused_with_the_fix() {
    let (_dir, data) = used_folder().await;
    let db = data.join("distd.sqlite3");
    let root = common::is_root();
    let _mount = if root {
        Some(common::ReadOnlyBind::new(&db))
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o400)).unwrap();
        None
    };
    let (code, err) = serve_err(&data, &[]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("distd.sqlite3"), "{err}");
    if root {
        assert!(err.contains("read-only file system"), "{err}");
    } else {
        assert!(err.contains("chown"), "{err}");
    }
    let (code, err) = distd_err(&["gc", "--data", data.to_str().unwrap()]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("distd.sqlite3"), "{err}");
}
