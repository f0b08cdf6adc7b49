//! Issue 12, item 8: messages that say what to do next, each said once.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::{Value, json};

fn manifest(version: &str, channel: Option<&str>) -> Value {
    let mut m = json!({"schema_version": 2, "app": "acme", "version": version, "build": "1",
                       "artifacts": [{"path": "app.apk"}]});
    if let Some(c) = channel {
        m["channel"] = json!(c);
    }
    m
}

fn apk() -> Option<PathBuf> {
    let apk = clean_apks().into_iter().next();
    if apk.is_none() {
        eprintln!("note: needs an APK without error findings; skipping");
    }
    apk
}

fn setup() -> Distd {
    let d = Distd::start();
    let r = d.dist(
        &d.admin,
        &["app", "create", "acme", "--name", "Acme", "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    d
}

/// No token (or an empty DIST_TOKEN, as a CI secret missing on a branch gives): exit 4 with
/// what to do, before any file is read (the manifest names a file that does not exist).
#[test]
fn a_missing_token_is_named_before_any_file_is_read() {
    let job = Job::new(&manifest("1.0.0", None), &[]);
    for token in ["", "   "] {
        let r = dist_at(
            "http://127.0.0.1:9",
            token.trim(),
            &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
        );
        assert_eq!(r.code, 4, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("no token given: pass --token or set DIST_TOKEN"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("checked"), "{}", r.stderr);
        assert!(!r.stderr.contains("app.apk"), "{}", r.stderr);
        assert_eq!(r.json()["error"]["code"], "unauthorized");
    }
}

#[test]
fn other_commands_without_a_token_say_how_to_give_one() {
    let d = setup();
    let r = d.dist("", &["app", "list"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "error: no token given: pass --token or set DIST_TOKEN"
    );
}

#[test]
fn an_unknown_token_says_it_may_be_revoked_and_who_makes_a_new_one() {
    let Some(apk) = apk() else { return };
    let d = setup();
    let job = Job::new(&manifest("1.0.0", None), &[("app.apk", &apk)]);
    let r = d.dist(
        "dist_not-a-real-token",
        &["ci", "publish", "--manifest", &job.manifest_str()],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "error: the server does not know this token: it may have been revoked; ask an admin for a new one"
        ),
        "{}",
        r.stderr
    );
    // A revoked token: the server names it, the CLI says what to do.
    let t = d.token(&["--name", "old", "--scope", "read"]);
    let who = d.dist(&t, &["token", "whoami", "--json"]);
    let id = who.json()["token"]["id"].as_str().unwrap().to_owned();
    let rv = d.dist(&d.admin, &["token", "revoke", &id]);
    assert_eq!(rv.code, 0, "{}", rv.stderr);
    let r = d.dist(&t, &["app", "list"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("was revoked"), "{}", r.stderr);
    assert!(
        r.stderr.contains("ask an admin for a new one"),
        "{}",
        r.stderr
    );
}

/// A publish the server refuses for a finding: the finding is printed once and the closing
/// error says what to do, without repeating the server's summary.
#[test]
fn a_refused_publish_prints_each_finding_once() {
    let Some(apk) = apk() else { return };
    let d = setup();
    let set = d.dist(
        &d.admin,
        &[
            "app",
            "set-identity",
            "acme",
            "--platform",
            "android",
            "--identity",
            "com.acme.app",
        ],
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
    let publisher = d.token(&["--name", "p", "--scope", "publish", "--app", "acme"]);
    let job = Job::new(&manifest("1.0.0", None), &[("app.apk", &apk)]);
    let r = d.dist(
        &publisher,
        &["ci", "publish", "--manifest", &job.manifest_str()],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("is not one the app allows").count(),
        1,
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches("stays a draft").count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("dist release delete-draft rel_"),
        "{}",
        r.stderr
    );
}

/// `--dry-run` after the same job ran: everything is reported as done, nothing to do.
#[test]
fn a_dry_run_reports_what_is_done_as_done() {
    let Some(apk) = apk() else { return };
    let d = setup();
    let job = Job::new(&manifest("1.0.0", Some("beta")), &[("app.apk", &apk)]);
    let m = job.manifest_str();
    let before = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &m, "--dry-run", "--json"],
    );
    assert_eq!(before.code, 0, "{}", before.stderr);
    let v = before.json();
    assert_eq!(v["done"], json!([]), "{v}");
    assert_eq!(v["actions"].as_array().unwrap().len(), 4, "{v}");

    let r = d.dist(&d.admin, &["ci", "publish", "--manifest", &m, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rel = r.json()["release"]["id"].as_str().unwrap().to_owned();

    let after = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &m, "--dry-run", "--json"],
    );
    assert_eq!(after.code, 0, "{}", after.stderr);
    let v = after.json();
    assert_eq!(v["actions"], json!([]), "{v}");
    let done: Vec<&str> = v["done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(
        done.contains(&format!("release {rel} is published").as_str()),
        "{done:?}"
    );
    assert!(
        done.contains(&format!("beta points at {rel}").as_str()),
        "{done:?}"
    );
    assert!(!after.stderr.contains("would "), "{}", after.stderr);
    assert!(after.stderr.contains("nothing to do"), "{}", after.stderr);
}

/// A dry run for an app that does not exist yet lists creating it and creates nothing.
#[test]
fn a_dry_run_does_not_create_the_app() {
    let Some(apk) = apk() else { return };
    let d = Distd::start();
    let job = Job::new(&manifest("1.0.0", None), &[("app.apk", &apk)]);
    let r = d.dist(
        &d.admin,
        &[
            "ci",
            "publish",
            "--manifest",
            &job.manifest_str(),
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["actions"][0], "create app acme");
    let show = d.dist(&d.admin, &["app", "show", "acme"]);
    assert_eq!(show.code, 2, "the dry run created the app: {}", show.stdout);
}
