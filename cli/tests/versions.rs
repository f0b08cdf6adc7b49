//! Issue 12, item 6: a file whose declared version or build differs from the release's is a
//! warning (in the JSON under its artifact), or with `--strict-versions` an error that stops
//! the job before any upload. The fixture APKs declare 1.2.3 (42).

mod common;

use common::*;
use serde_json::json;

const CODE: &str = "release.version_mismatch";

fn job(version: &str, build: &str) -> Job {
    let apk = workspace_root().join("fixtures/android/signed-v1v2v3.apk");
    Job::new(
        &json!({"schema_version": 2, "app": "acme", "version": version, "build": build,
                "artifacts": [{"path": "app.apk"}]}),
        &[("app.apk", apk.as_path())],
    )
}

fn setup() -> Distd {
    let d = Distd::start();
    let r = d.dist(&d.admin, &["app", "create", "acme", "--name", "Acme"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    d
}

#[test]
fn a_version_mismatch_is_a_warning_by_default() {
    let d = setup();
    let j = job("2.1.0", "10");
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &j.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let f: Vec<_> = v["artifacts"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == CODE)
        .collect();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["severity"], "warning");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("declares version 1.2.3 (42), the release is 2.1.0 (10)"),
        "{}",
        f[0]
    );
    assert_eq!(
        r.stderr.matches(CODE).count(),
        1,
        "printed once: {}",
        r.stderr
    );
}

#[test]
fn strict_versions_stops_the_job_before_upload() {
    let d = setup();
    let j = job("2.1.0", "10");
    let r = d.dist(
        &d.admin,
        &[
            "ci",
            "publish",
            "--manifest",
            &j.manifest_str(),
            "--strict-versions",
            "--json",
        ],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v = r.json();
    assert!(v["release"].is_null(), "{v}");
    assert_eq!(v["error"]["findings"][0]["code"], CODE);
    assert_eq!(v["artifacts"][0]["uploaded"], false);
}

#[test]
fn matching_versions_say_nothing() {
    let d = setup();
    let j = job("1.2.3", "42");
    let r = d.dist(
        &d.admin,
        &[
            "ci",
            "publish",
            "--manifest",
            &j.manifest_str(),
            "--strict-versions",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains(CODE), "{}", r.stdout);
}

#[test]
fn the_apps_setting_makes_a_mismatch_an_error_here_and_on_the_server() {
    let d = setup();
    let r = d.dist(
        &d.admin,
        &["app", "settings", "acme", "--version-mismatch", "error"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = d.dist(&d.admin, &["app", "settings", "acme"]);
    assert_eq!(
        r.code, 2,
        "nothing to change is a usage error: {}",
        r.stderr
    );
    assert!(r.stderr.contains("--version-mismatch"), "{}", r.stderr);

    // A token that reads the app stops before any upload, as --strict-versions does.
    let j = job("2.1.0", "10");
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &j.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v = r.json();
    assert!(v["release"].is_null(), "{v}");
    assert_eq!(v["error"]["findings"][0]["code"], CODE);
    assert_eq!(v["artifacts"][0]["uploaded"], false);

    // A token that may not read the app cannot check locally: the server refuses the
    // publish with the same finding, and the release stays a draft.
    let ci = d.token(&["--name", "ci", "--scope", "publish", "--app", "acme"]);
    let r = d.dist(
        &ci,
        &["ci", "publish", "--manifest", &j.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["release"]["status"], "draft", "{v}");
    assert_eq!(v["error"]["findings"][0]["code"], CODE, "{v}");
    assert_eq!(v["error"]["findings"][0]["severity"], "error", "{v}");
}
