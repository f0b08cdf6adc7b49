//! Upgrades and downgrades of the data folder: the committed `fixtures/data/v0.1.0` and
//! `fixtures/data/v0.2-pre-link` (made by older distds, see `fixtures/data/make.sh`) open under
//! this distd with every release, link, blob and audit row intact, and a database migrated by a
//! newer distd is refused with what to do.
//! `tests/docker/run.sh` checks the same folder under the image, over HTTP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use server::blobs::LocalBlobStore;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/data")
        .join(name)
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
    opens_intact("v0.1.0");
}

/// Issue 14, item 2: made before `testflight_url` became `link` (migration 0006 renames the
/// column of published releases' artifacts, around their immutability triggers).
#[test]
fn the_v0_2_pre_link_data_folder_opens_intact() {
    opens_intact("v0.2-pre-link");
}

fn opens_intact(name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    copy_dir(&fixture(name), &data);
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture(&format!("{name}.expected.json"))).unwrap())
            .unwrap();

    let db_path = server::config::db_file(&data);
    // Old distds stored an architecture under whatever name it was given: give the published
    // APK and IPA two aliases (the trigger that freezes them is lifted for this set-up only).
    let old = rusqlite_open(&db_path);
    old.execute_batch(
        "DROP TRIGGER artifacts_frozen_update;
         UPDATE artifacts SET arch = 'amd64' WHERE file_name = 'acme.apk';
         UPDATE artifacts SET arch = 'AArch64' WHERE file_name = 'Acme.ipa';
         CREATE TRIGGER artifacts_frozen_update BEFORE UPDATE ON artifacts
         WHEN (SELECT status FROM releases WHERE id = OLD.release_id) <> 'draft'
         BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;",
    )
    .unwrap();
    drop(old);
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

    // The TestFlight link each fixture holds is the artifact's `link` now, and the published
    // release's artifacts are still frozen (the triggers came back).
    let links: Vec<String> = conn
        .prepare("SELECT link FROM artifacts WHERE link IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(links, ["https://testflight.apple.com/join/ABCDEFGH"]);
    let archs: Vec<(String, String)> = conn
        .prepare("SELECT DISTINCT file_name, arch FROM artifacts WHERE arch IS NOT NULL ORDER BY 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        archs,
        [
            ("Acme.ipa".to_owned(), "arm64".to_owned()),
            ("acme.apk".to_owned(), "x86_64".to_owned())
        ],
        "migration 0006 stores one name per architecture"
    );
    drop(conn);
    let writer = server::db::open_writer(&db_path).unwrap();
    let frozen = writer
        .execute(
            "UPDATE artifacts SET link = 'https://x.example/' WHERE link IS NOT NULL",
            [],
        )
        .expect_err("a published release's artifact stays frozen");
    assert!(frozen.to_string().contains("immutable"), "{frozen}");
    drop(writer);

    // What an operator runs after an upgrade.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_distd"))
        .args(["audit", "verify", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "distd audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A plain connection to the fixture copy as an older distd left it (no migration applied).
fn rusqlite_open(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
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
