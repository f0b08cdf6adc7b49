//! `distd reinspect` (issue 10, item 7) on a data folder written by main before issue 10
//! (`tests/data/main-before-issue10`, made by `tests/data/make-main-data.sh` with the distd
//! of commit 3f7639e): that distd published `v2-cd-copy-before-eocd.apk` as signed and
//! `changed-icon.ipa` as untrusted with `digest_ok: true`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn fixture_copy() -> tempfile::TempDir {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/main-before-issue10");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Runs `distd reinspect --json` with extra flags; returns the exit code and the report.
fn reinspect(data: &Path, extra: &[&str]) -> (i32, Value) {
    let out = Command::new(common::DISTD)
        .arg("reinspect")
        .arg("--data")
        .arg(data)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn db(data: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        data.join("distd.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
}

fn count(c: &rusqlite::Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn attach_time_states(c: &rusqlite::Connection) -> Vec<String> {
    let mut st = c
        .prepare("SELECT inspection FROM artifacts ORDER BY file_name")
        .unwrap();
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|j| {
            let v: Value = serde_json::from_str(&j.unwrap()).unwrap();
            v["signature"]["state"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn check_report(report: &Value) {
    assert_eq!(report["inspector_version"], platform::INSPECTOR_VERSION);
    assert_eq!(report["checked"], 3, "{report:#}");
    let changes = report["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{report:#}");
    let change = |file: &str| {
        changes
            .iter()
            .find(|c| c["file"] == file)
            .unwrap_or_else(|| panic!("no change for {file}: {report:#}"))
    };
    // Main read the APK with a second central directory as signed.
    let c = change("v2-cd-copy-before-eocd.apk");
    assert_eq!(c["release_status"], "published");
    assert_eq!(c["before"]["state"], "signed");
    assert_eq!(c["before"]["digest_ok"], true);
    assert_ne!(c["after"]["state"], "signed");
    assert_eq!(c["after"]["parse"], "reject");
    assert!(
        c["after"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "android.zip.malformed"),
        "{c:#}"
    );
    assert_eq!(c["worse"], true);
    // And the IPA with a changed icon as untrusted with its digests verified.
    let c = change("changed-icon.ipa");
    assert_eq!(c["before"]["state"], "untrusted");
    assert_eq!(c["before"]["digest_ok"], true);
    assert_eq!(c["after"]["state"], "invalid");
    assert_eq!(c["after"]["digest_ok"], false);
    assert!(
        c["after"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "ios.signature.invalid"),
        "{c:#}"
    );
    assert_eq!(c["worse"], true);
    let worse = report["worse_published"].as_array().unwrap();
    let mut builds: Vec<&str> = worse.iter().map(|w| w["build"].as_str().unwrap()).collect();
    builds.sort();
    assert_eq!(builds, ["2", "3"], "{report:#}");
    assert!(worse.iter().all(|w| w["app"] == "acme"));
    assert_eq!(report["failed"], serde_json::json!([]));
}

#[test]
fn dry_run_reports_the_crafted_file_and_changes_nothing() {
    let dir = fixture_copy();
    let data = dir.path();
    let before = std::fs::read(data.join("distd.sqlite3")).unwrap();
    let audit_before = count(&db(data), "SELECT COUNT(*) FROM audit_events");
    let (code, report) = reinspect(data, &["--dry-run"]);
    assert_eq!(code, 1, "a published release got worse: exit 1");
    assert_eq!(report["dry_run"], true);
    check_report(&report);
    assert_eq!(
        std::fs::read(data.join("distd.sqlite3")).unwrap(),
        before,
        "--dry-run changed the database file"
    );
    let c = db(data);
    assert_eq!(count(&c, "SELECT COUNT(*) FROM audit_events"), audit_before);
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'reinspections'"
        ),
        0,
        "a dry run does not even migrate"
    );
}

#[test]
fn a_real_run_stores_beside_audits_and_is_idempotent() {
    let dir = fixture_copy();
    let data = dir.path();
    let audit_before = count(&db(data), "SELECT COUNT(*) FROM audit_events");
    let (code, report) = reinspect(data, &[]);
    assert_eq!(code, 1);
    check_report(&report);
    let c = db(data);
    assert_eq!(count(&c, "SELECT COUNT(*) FROM reinspections"), 2);
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM reinspections WHERE worse = 1 AND previous_state = 'signed'"
        ),
        1
    );
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM audit_events"),
        audit_before + 2
    );
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'artifact.reinspect'"
        ),
        2
    );
    // The attach-time verdicts are as main stored them.
    assert_eq!(attach_time_states(&c), ["untrusted", "signed", "signed"]);
    assert_eq!(count(&c, "SELECT COUNT(*) FROM reinspect_runs"), 1);
    drop(c);
    let verify = Command::new(common::DISTD)
        .args(["audit", "verify", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    // Again: compared with the stored re-inspection, nothing changed; still one row.
    let (code, report) = reinspect(data, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["changes"], serde_json::json!([]));
    assert_eq!(count(&db(data), "SELECT COUNT(*) FROM reinspections"), 2);
}

/// At start-up under a new inspector version, distd re-inspects in the background and
/// `/healthz` shows the result.
#[tokio::test]
async fn serve_reinspects_in_the_background_and_healthz_shows_it() {
    let dir = fixture_copy();
    let data = dir.path();
    let port = common::free_port();
    let mut child = Command::new(common::DISTD)
        .arg("serve")
        .arg("--data")
        .arg(data)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env_remove("DIST_PUBLIC_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = common::http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = Value::Null;
    let found = loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            && let Ok(v) = r.json::<Value>().await
        {
            last = v.clone();
            if v["reinspect"]["running"] == false && !v["reinspect"]["last_run"].is_null() {
                break Some(v);
            }
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    let v = found.unwrap_or_else(|| panic!("no finished re-inspection in /healthz: {last:#}"));
    let run = &v["reinspect"]["last_run"];
    assert_eq!(run["inspector_version"], platform::INSPECTOR_VERSION);
    assert_eq!(run["trigger"], "startup");
    assert_eq!(run["checked"], 3);
    assert_eq!(run["changed"], 2);
    assert_eq!(run["worse_published"], 2);
    assert_eq!(v["status"], "ok");
    let c = db(data);
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'artifact.reinspect' AND actor = 'system:reinspect-startup'"
        ),
        2
    );
}
