//! Issue 12, item 9: the release manager's views say what a channel ships and what happened.

mod common;

use common::*;
use serde_json::json;

#[test]
fn channel_list_audit_detail_revoke_and_rollback_hints() {
    let Some(apk) = clean_apks().into_iter().next() else {
        eprintln!("note: needs an APK without error findings; skipping");
        return;
    };
    let d = Distd::start();
    let r = d.dist(&d.admin, &["app", "create", "acme", "--name", "Acme"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let job = Job::new(
        &json!({"schema_version": 2, "app": "acme", "version": "1.4.0", "build": "77",
                "channel": "beta", "artifacts": [{"path": "app.apk"}]}),
        &[("app.apk", &apk)],
    );
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rel = r.json()["release"]["id"].as_str().unwrap().to_owned();

    // channel list: version, build and age of what each channel ships.
    let r = d.dist(&d.admin, &["channel", "list", "--app", "acme"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut lines = r.stdout.lines();
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        head,
        [
            "CHANNEL", "RELEASE", "VERSION", "BUILD", "AGE", "ACCESS", "UPDATED"
        ]
    );
    let beta: Vec<&str> = lines
        .find(|l| l.starts_with("beta "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&beta[..4], ["beta", rel.as_str(), "1.4.0", "77"]);
    assert!(beta[4].ends_with('s') || beta[4].ends_with('m'), "{beta:?}");

    // Rollback with nowhere to go says how to move the channel instead.
    let r = d.dist(&d.admin, &["channel", "rollback", "--app", "acme", "beta"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("dist channel promote --app acme beta REL_ID"),
        "{}",
        r.stderr
    );

    // A refused promote, then the audit table's detail column.
    let limited = d.token(&[
        "--name",
        "nightly",
        "--scope",
        "promote",
        "--app",
        "acme",
        "--channel",
        "nightly",
    ]);
    let r = d.dist(
        &limited,
        &["channel", "promote", "--app", "acme", "stable", &rel],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    let r = d.dist(
        &d.admin,
        &["release", "revoke", &rel, "--reason", "crash on start"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Revoke names the channel still pointing at the release and what to do.
    assert!(
        r.stderr
            .contains(&format!("channel beta still points at {rel}")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("dist channel rollback --app acme beta"),
        "{}",
        r.stderr
    );
    let r = d.dist(&d.admin, &["audit", "list", "--app", "acme"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.lines().next().unwrap().ends_with("DETAIL"),
        "{}",
        r.stdout
    );
    let row = |action: &str| {
        r.stdout
            .lines()
            .find(|l| l.contains(action))
            .unwrap_or_else(|| panic!("no {action} row:\n{}", r.stdout))
            .to_owned()
    };
    assert!(row("channel.promote").ends_with(&format!("- -> {rel}")));
    assert!(row("release.revoke").ends_with("reason: crash on start"));
    assert!(
        row("auth.denied").contains("channel.promote refused (403)"),
        "{}",
        r.stdout
    );
}
