//! Issue 14, item 6: rows are read into typed values, and a row that no longer reads back is
//! an error naming it (500 with the id; the log has the column and value), never a field
//! silently shown as null or a placeholder.

use super::*;

/// Writes `sql` (one `?1` for the id) straight into the database distd uses.
fn corrupt(dir: &tempfile::TempDir, sql: &str, id: &str) {
    let c = rusqlite::Connection::open(dir.path().join("data/distd.sqlite3")).unwrap();
    assert_eq!(c.execute(sql, [id]).unwrap(), 1, "{sql}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_artifact_column_is_an_error_naming_the_artifact() {
    let (dir, s) = Server::fresh(&["toyapp"]).await;
    let bytes = dist_targets::toy::file("com.example.toy", "1.0", "1");
    let (rid, aid, _) = s.upload_and_attach("toyapp", "1", "a.bin", &bytes).await;
    // Before: shown in full.
    let (st, v) = s.get(&format!("/artifacts/{aid}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64, "{v}");

    corrupt(
        &dir,
        "UPDATE artifacts SET sha256 = 'not-hex' WHERE id = ?1",
        &aid,
    );
    for path in [
        format!("/artifacts/{aid}"),
        format!("/releases/{rid}"),
        "/apps/toyapp/releases".to_owned(),
    ] {
        let (st, v) = s.get(&path, &s.admin).await;
        assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(&format!("artifact {aid}")), "{path}: {v}");
        assert!(msg.contains("sha256"), "{path}: {v}");
        // The stored value stays in the log, not in the answer.
        assert!(!msg.contains("not-hex"), "{path}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_release_or_channel_is_an_error_naming_it() {
    let (dir, s) = Server::fresh(&["toyapp"]).await;
    let bytes = dist_targets::toy::file("com.example.toy", "1.0", "1");
    let (rid, _, _) = s.upload_and_attach("toyapp", "1", "a.bin", &bytes).await;
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s
        .post(
            "/apps/toyapp/channels/beta/promote",
            &s.admin,
            serde_json::json!({"release_id": rid}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // A channel policy that no longer parses would let blocked warnings through if read as
    // empty: an error naming the channel instead.
    let c = rusqlite::Connection::open(dir.path().join("data/distd.sqlite3")).unwrap();
    c.execute(
        "UPDATE channels SET policy = 'nope' WHERE app = 'toyapp' AND name = ?1",
        ["beta"],
    )
    .unwrap();
    let (st, v) = s.get("/apps/toyapp/channels/beta", &s.admin).await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("channel toyapp/beta"),
        "{v}"
    );

    // The immutability triggers keep published rows as they are; a draft's version is not
    // guarded, so a corrupt one is made on a second release.
    let (rid2, _, _) = s.upload_and_attach("toyapp", "2", "b.bin", &bytes).await;
    corrupt(
        &dir,
        "UPDATE releases SET version = '../x' WHERE id = ?1",
        &rid2,
    );
    let (st, v) = s.get(&format!("/releases/{rid2}"), &s.admin).await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&format!("release {rid2}")), "{v}");
    assert!(msg.contains("version"), "{v}");
    // The other release still reads.
    let (st, v) = s.get(&format!("/releases/{rid}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
}
