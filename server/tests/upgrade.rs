//! Upgrades and downgrades of the data folder: the committed `fixtures/data/v0.1.0` (made by an
//! older distd, see `fixtures/data/make.sh`) opens under this distd with every release, blob and
//! audit row intact, and a database migrated by a newer distd is refused with what to do.
//! `tests/docker/run.sh` checks the same folder under the image, over HTTP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use server::blobs::LocalBlobStore;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/v0.1.0")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

#[test]
fn the_v0_1_0_data_folder_opens_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    copy_dir(&fixture(), &data);
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixture().with_file_name("v0.1.0.expected.json")).unwrap(),
    )
    .unwrap();

    let db_path = server::config::db_file(&data);
    // Opening for writing applies any newer migrations, as `distd serve` does at start-up.
    drop(server::db::open_writer(&db_path).unwrap());
    let conn = server::db::open_reader(&db_path).unwrap();

    let mut releases: Vec<(String, String, String)> = conn
        .prepare("SELECT id, version, status FROM releases ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    releases.sort();
    let mut want: Vec<(String, String, String)> = expected["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["version"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    want.sort();
    assert_eq!(releases, want);

    let store = Arc::new(LocalBlobStore::open(&data, false).unwrap());
    let report = server::fsck::run(&conn, &store).unwrap();
    assert!(report.ok, "{report:?}");
    let digests = expected["releases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["artifacts"].as_array().unwrap().iter())
        .filter(|a| a["sha256"].is_string())
        .count() as u64;
    assert!(report.artifacts_checked >= digests, "{report:?}");

    let head = server::audit::read_head(&server::audit::head_path(&db_path));
    let v = server::audit::verify_with_head(&conn, head).unwrap();
    assert!(v.ok, "{}", v.message);
}

#[test]
fn a_database_from_a_newer_distd_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let db_path = tmp.path().join("distd.sqlite3");
    let conn = server::db::open_writer(&db_path).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, '9999_future.sql', '2030-01-01T00:00:00Z')",
        [],
    )
    .unwrap();
    drop(conn);
    let err = server::db::open_writer(&db_path).expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("schema version 9999") && msg.contains("restore the backup"),
        "{msg}"
    );
}
