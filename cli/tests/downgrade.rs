//! Issue 12, item 5, through the real binaries: a CI job re-run after a newer release was
//! promoted exits 5 and leaves the channel; the same job as the current release stays a
//! no-op with exit 0; `--allow-downgrade` moves back on purpose.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::{Value, json};

fn manifest(version: &str, build: &str) -> Value {
    json!({"schema_version": 2, "app": "acme", "version": version, "build": build,
           "channel": "beta", "artifacts": [{"path": "app.apk"}]})
}

fn apk() -> Option<PathBuf> {
    let apk = clean_apks().into_iter().next();
    if apk.is_none() {
        eprintln!("note: needs an APK without error findings; skipping");
    }
    apk
}

fn beta(d: &Distd) -> Value {
    let r = d.dist(&d.admin, &["channel", "list", "--app", "acme", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json()["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "beta")
        .map(|c| c["release_id"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn a_stale_ci_rerun_exits_5_and_leaves_the_channel() {
    let Some(apk) = apk() else { return };
    let d = Distd::start();
    let r = d.dist(&d.admin, &["app", "create", "acme", "--name", "Acme"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ci = d.token(&[
        "--name", "ci", "--scope", "publish", "--scope", "promote", "--scope", "read", "--app",
        "acme",
    ]);
    let old_job = Job::new(&manifest("1.0.0", "1"), &[("app.apk", &apk)]);
    let new_job = Job::new(&manifest("1.0.1", "2"), &[("app.apk", &apk)]);
    let run = |job: &Job, extra: &[&str]| {
        let m = job.manifest_str();
        let mut args = vec!["ci", "publish", "--manifest", m.as_str(), "--json"];
        args.extend_from_slice(extra);
        d.dist(&ci, &args)
    };
    let r = run(&old_job, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let old = r.json()["release"]["id"].as_str().unwrap().to_owned();
    let r = run(&new_job, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let new = r.json()["release"]["id"].as_str().unwrap().to_owned();

    // The job that made the current release, again: a no-op.
    let r = run(&new_job, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["channel"]["release_id"], new.as_str());

    // Its dry run says so first, and exits 5 too.
    let r = run(&old_job, &["--dry-run"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    let v = r.json();
    assert!(
        v["actions"].as_array().unwrap().iter().any(|a| a
            .as_str()
            .unwrap()
            .starts_with(&format!("stop: beta points at {new}"))),
        "{v}"
    );
    let r = run(&old_job, &["--dry-run", "--allow-downgrade"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The older job, retried: exit 5, the release stays published, the channel stays.
    let r = run(&old_job, &[]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["error"]["code"], "conflict");
    assert_eq!(v["release"]["id"], old.as_str());
    assert_eq!(v["release"]["status"], "published");
    assert!(v["channel"].is_null(), "{v}");
    assert!(
        r.stderr.contains(&format!("channel beta points at {new}")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--allow-downgrade"), "{}", r.stderr);
    assert_eq!(beta(&d), new.as_str());

    // On purpose.
    let r = run(&old_job, &["--allow-downgrade"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["channel"]["previous_release_id"], new.as_str());
    assert_eq!(beta(&d), old.as_str());

    // dist channel promote: forward is fine, back needs the flag.
    let r = d.dist(&ci, &["channel", "promote", "--app", "acme", "beta", &new]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = d.dist(&ci, &["channel", "promote", "--app", "acme", "beta", &old]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert_eq!(beta(&d), new.as_str());
    let r = d.dist(
        &ci,
        &[
            "channel",
            "promote",
            "--app",
            "acme",
            "beta",
            &old,
            "--allow-downgrade",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(beta(&d), old.as_str());
}
