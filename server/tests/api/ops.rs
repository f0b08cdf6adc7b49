//! Health, start-up refusals and gc.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_an_unusable_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    let (st, v) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["status"], "ok");
    assert!(
        v["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "android"),
        "{v}"
    );
    // The uploads folder turns into a file: nothing can be written any more.
    let uploads = data.join("uploads");
    std::fs::remove_dir_all(&uploads).unwrap();
    std::fs::write(&uploads, b"not a folder").unwrap();
    let (st, v) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(
        v["status"].as_str().unwrap().contains("not writable"),
        "{v}"
    );
    std::fs::remove_file(&uploads).unwrap();
    std::fs::create_dir(&uploads).unwrap();
    let (st, _) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
}

#[test]
fn serve_refuses_a_data_folder_it_cannot_make() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/parent/data");
    let out = std::process::Command::new(common::DISTD)
        .args(["serve", "--listen", "127.0.0.1:1", "--data"])
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not exist") && err.contains("mkdir -p"),
        "{err}"
    );
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = std::process::Command::new(common::DISTD)
        .args(["serve", "--listen", "127.0.0.1:1", "--data"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a folder"));
}

/// Android refuses an update signed by another key: promoting an APK whose signer differs
/// from the one on the channel (with no v3 lineage showing a rotation) is refused with
/// `android.signer.changed`, and the channel keeps its release.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_removes_only_unreferenced_blobs_past_their_age() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    s.create_app("acme").await;
    let orphan = b"uploaded, then its release never came".to_vec();
    let kept = b"referenced by a draft".to_vec();
    for b in [&orphan, &kept] {
        let (st, v) = s.put_blob("acme", &s.admin, b.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    s.create_release("acme", release_body("1.0", "1", &[("kept.bin", &kept)]))
        .await;
    let d = data.to_str().unwrap();
    let orphan_hex = sha256_hex(&orphan);

    // With the default age both are young: nothing goes.
    let (code, v) = distd(&["gc", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["removed"], json!([]), "{v}");
    assert_eq!(v["kept_young"], 1, "{v}");
    // A dry run names the orphan and removes nothing.
    let (code, v) = distd(&[
        "gc",
        "--data",
        d,
        "--min-age-hours",
        "0",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["removed"][0]["sha256"], orphan_hex.as_str(), "{v}");
    assert_eq!(v["removed"].as_array().unwrap().len(), 1, "{v}");
    let st = head_blob(&s, &orphan_hex).await;
    assert_eq!(st, StatusCode::OK);
    // For real, while distd runs: the orphan goes, the draft's blob stays, all on record.
    let (code, v) = distd(&["gc", "--data", d, "--min-age-hours", "0", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["removed"][0]["sha256"], orphan_hex.as_str(), "{v}");
    assert_eq!(v["bytes_freed"], orphan.len(), "{v}");
    let st = head_blob(&s, &orphan_hex).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let st = head_blob(&s, &sha256_hex(&kept)).await;
    assert_eq!(st, StatusCode::OK);
    let (_, audit) = s.get("/audit?action=blob.remove", &s.admin).await;
    assert_eq!(
        audit["events"][0]["subject"],
        orphan_hex.as_str(),
        "{audit}"
    );
    let (code, v) = distd(&["audit", "verify", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = distd(&["fsck", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["orphans"], json!([]), "{v}");
}

/// Issue 11, item 10: a full disk answers 507 (not 503), /healthz says degraded, `distd gc`
/// works on the full disk (it only deletes; its audit rows use the space reserve) and then a
/// publish goes through. Needs a small tmpfs, so root (as in CI); skipped otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_507_and_gc_frees_it() {
    if !common::is_root() {
        eprintln!("note: not root, so no tmpfs can be mounted; skipping the full-disk test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = common::Tmpfs::new(&dir.path().join("data"), 20 * 1024 * 1024);
    let data = mnt.0.clone();
    let s = Server::start_with(&data, &[("DIST_MIN_FREE_BYTES", "2000000")]).await;
    s.create_app("acme").await;
    let mut rng = Rng(77);
    let mut stored = 0;
    let full = loop {
        let (st, v) = s.put_blob("acme", &s.admin, rng.bytes(1024 * 1024)).await;
        match st {
            StatusCode::CREATED => stored += 1,
            other => break (other, v),
        }
        assert!(stored < 40, "the 20 MiB disk never filled");
    };
    assert_eq!(full.0, StatusCode::INSUFFICIENT_STORAGE, "{}", full.1);
    assert_eq!(err_code(&full.1), "insufficient_storage", "{}", full.1);
    assert!(
        err_msg(&full.1).contains("the server's disk is full"),
        "{}",
        full.1
    );
    let (st, v) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK, "downloads still work: {v}");
    assert_eq!(v["status"], "degraded", "{v}");
    assert!(v["disk"]["free_bytes"].as_u64().unwrap() < 2_000_000, "{v}");

    let out = std::process::Command::new(common::DISTD)
        .args(["gc", "--min-age-hours", "0", "--json", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gc failed on the full disk: {err}");
    assert!(!err.contains("chown"), "gc blamed ownership: {err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["removed"].as_array().unwrap().len() >= stored, "{v}");
    assert!(
        data.join("space-reserve").exists(),
        "gc sets the reserve aside again"
    );

    let build = b"the next nightly".to_vec();
    let (st, v) = s.put_blob("acme", &s.admin, build.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    s.create_release("acme", release_body("1.0", "2", &[("n.bin", &build)]))
        .await;
    let (st, v) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (st, v["status"].as_str()),
        (StatusCode::OK, Some("ok")),
        "{v}"
    );
    drop(s);
}

/// Issue 11, item 5: a blob deleted behind distd's back answered 500 `internal` with no digest
/// in the log. Now 503 naming the artifact, the digest and path in the log, a count in
/// /healthz, and `distd fsck` lists it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_blob_answers_503_naming_the_artifact() {
    let Some(apk) = corpus(APK1) else { return };
    let (dir, s) = Server::fresh(&["acme"]).await;
    let data = dir.path().join("data");
    let (_, aid) = publish(&s, "acme", "1", "app.apk", &apk).await;
    let hex = sha256_hex(&apk);
    let path = data.join("blobs/sha256").join(&hex[..2]).join(&hex);
    std::fs::remove_file(&path).unwrap();
    let res = download(&s, &format!("/artifacts/{aid}/download"), &s.admin, None).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let v: Value = res.json().await.unwrap();
    assert!(
        err_msg(&v).contains(&aid) && err_msg(&v).contains("app.apk"),
        "{v}"
    );
    let log = std::fs::read_to_string(data.with_extension("log")).unwrap();
    assert!(
        log.contains(&hex) && log.contains(path.to_str().unwrap()),
        "the log names digest and path: {log}"
    );
    let (st, v) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["status"], "degraded", "{v}");
    assert_eq!(v["missing_blobs"], 1, "{v}");
    let (code, v) = distd(&["fsck", "--data", data.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "{v}");
    assert!(v["missing"][0].as_str().unwrap().contains(&aid), "{v}");
}

/// Issue 11, item 13: a clean stop checkpoints the WAL, so the database file alone is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_checkpoints_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Server::start(&data).await;
    for i in 0..5 {
        s.create_app(&format!("app{i}")).await;
    }
    let wal = data.join("distd.sqlite3-wal");
    assert!(
        wal.metadata().unwrap().len() > 0,
        "the writes went to the WAL"
    );
    s.stop();
    assert_eq!(
        wal.metadata().map(|m| m.len()).unwrap_or(0),
        0,
        "the WAL is empty after a clean stop"
    );
    let log = std::fs::read_to_string(data.with_extension("log")).unwrap();
    assert!(log.contains("checkpointed the WAL"), "{log}");
    // Only the main file, copied alone, holds every app.
    let copy = dir.path().join("copy.sqlite3");
    std::fs::copy(data.join("distd.sqlite3"), &copy).unwrap();
    let c = rusqlite::Connection::open(&copy).unwrap();
    let n: i64 = c
        .query_row("SELECT COUNT(*) FROM apps", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 5);
}

/// Issue 11, item 6: backup, more changes, restore: the backup's state comes back, the restore
/// is on the record, and a backup that fails a check replaces nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let mut s = Server::start(&data).await;
    s.create_app("acme").await;
    let kept = b"in the backup".to_vec();
    let (st, _) = s.put_blob("acme", &s.admin, kept.clone()).await;
    assert_eq!(st, StatusCode::CREATED);
    s.create_release("acme", release_body("1.0", "1", &[("a.bin", &kept)]))
        .await;
    let backup = dir.path().join("backup.sqlite3");
    let b = backup.to_str().unwrap();
    let out = std::process::Command::new(common::DISTD)
        .args(["backup", "--data", d, "--out", b])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.create_app("later").await;
    // While distd runs, restore refuses.
    let (code, v) = distd(&["restore", b, "--data", d, "--json"]);
    assert_eq!(code, 2, "{v}");
    s.stop();

    // A backup whose file is gone from blobs/ fails its check, and nothing is replaced.
    let hex = sha256_hex(&kept);
    let blob = data.join("blobs/sha256").join(&hex[..2]).join(&hex);
    let aside = dir.path().join("blob-aside");
    std::fs::rename(&blob, &aside).unwrap();
    let (code, v) = distd(&["restore", b, "--data", d, "--json"]);
    assert_eq!(code, 1, "{v}");
    assert!(v["problems"][0].as_str().unwrap().contains(&hex), "{v}");
    assert_eq!(v["restored"], false);
    std::fs::rename(&aside, &blob).unwrap();
    // A damaged copy fails too.
    let bad = dir.path().join("bad.sqlite3");
    let bytes = std::fs::read(&backup).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let (code, _) = distd(&["restore", bad.to_str().unwrap(), "--data", d, "--json"]);
    assert_ne!(code, 0);

    let (code, v) = distd(&["restore", b, "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["restored"], true, "{v}");
    assert!(v["blobs_checked"].as_u64().unwrap() >= 1, "{v}");
    assert!(
        std::path::Path::new(v["previous"].as_str().unwrap()).exists(),
        "{v}"
    );
    let s = Server::start(&data).await;
    let (st, _) = s.get("/apps/acme", &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.get("/apps/later", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "the restored state predates it");
    let (_, a) = s.get("/audit?action=audit.restore", &s.admin).await;
    assert_eq!(a["events"].as_array().unwrap().len(), 1, "{a}");
    let (code, v) = distd(&["audit", "verify", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = distd(&["fsck", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
}
