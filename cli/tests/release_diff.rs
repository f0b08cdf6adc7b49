//! Issue 12, item 10: `dist release diff A B` lists, per platform, what changed between two
//! releases' inspections; `dist ci publish` prints it before it moves a channel.

mod common;

use common::*;
use serde_json::{Value, json};

fn publish(
    d: &Distd,
    version: &str,
    apk: &std::path::Path,
    channel: Option<&str>,
) -> (String, Value) {
    let mut m = json!({"schema_version": 2, "app": "acme", "version": version, "build": "1",
                       "artifacts": [{"path": "app.apk"}]});
    if let Some(c) = channel {
        m["channel"] = json!(c);
    }
    let job = Job::new(&m, &[("app.apk", apk)]);
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    (
        v["release"]["id"].as_str().unwrap().to_owned(),
        json!({"stderr": r.stderr}),
    )
}

#[test]
fn a_signer_change_and_a_permission_added() {
    let fixtures = workspace_root().join("fixtures/android");
    let d = Distd::start();
    let r = d.dist(&d.admin, &["app", "create", "acme", "--name", "Acme"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (a, _) = publish(&d, "1.0.0", &fixtures.join("signed-v1v2v3.apk"), None);
    let (b, _) = publish(&d, "1.0.1", &fixtures.join("rotated.apk"), None);

    let r = d.dist(&d.admin, &["release", "diff", &a, &b, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["from"], a.as_str());
    assert_eq!(v["to"], b.as_str());
    let p = &v["platforms"][0];
    assert_eq!(p["platform"], "android");
    assert_eq!(p["status"], "changed");
    assert_eq!(p["signers"]["added"].as_array().unwrap().len(), 1, "{p}");
    // rotated.apk is signed by the same RSA key for older devices and rotates to an EC key
    // for newer ones (v3 lineage): every signer is reported, so the EC key is added and the
    // RSA key stays.
    assert_eq!(p["signers"]["removed"].as_array().unwrap().len(), 0, "{p}");
    assert!(p.get("permissions").is_none(), "same permissions: {p}");

    let human = d.dist(&d.admin, &["release", "diff", &a, &b]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human.stdout.contains("android: signer added: "),
        "{}",
        human.stdout
    );
    assert!(
        !human.stdout.contains("android: signer removed: "),
        "{}",
        human.stdout
    );

    // The same release against itself: nothing.
    let same = d.dist(&d.admin, &["release", "diff", &a, &a]);
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert!(same.stderr.contains("do not differ"), "{}", same.stderr);

    // A permission added (corpus APKs, when DIST_CORPUS is set); ci publish shows the
    // change before it promotes.
    let (Some(one), Some(two)) = (
        corpus_file("android/icyleaf-android.apk"),
        corpus_file("android/androguard-com.politedroid_4.apk"),
    ) else {
        eprintln!("note: DIST_CORPUS unset; skipping the permission case");
        return;
    };
    let (c, _) = publish(&d, "2.0.0", &one, Some("qa"));
    let (e, out) = publish(&d, "2.0.1", &two, Some("qa"));
    let r = d.dist(&d.admin, &["release", "diff", &c, &e, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p = &r.json()["platforms"][0];
    assert_eq!(
        p["permissions"]["added"],
        json!([
            "android.permission.READ_CALENDAR",
            "android.permission.RECEIVE_BOOT_COMPLETED"
        ]),
        "{p}"
    );
    assert_eq!(
        p["permissions"]["removed"],
        json!(["android.permission.ACCESS_NETWORK_STATE"])
    );
    let stderr = out["stderr"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("changes from {c} (now on qa):")),
        "{stderr}"
    );
    assert!(
        stderr.contains("android: permission added: android.permission.READ_CALENDAR"),
        "{stderr}"
    );
}

#[test]
fn releases_of_two_apps_are_not_compared() {
    let apk = workspace_root().join("fixtures/android/signed-v1v2v3.apk");
    let d = Distd::start();
    for app in ["acme", "other"] {
        let r = d.dist(&d.admin, &["app", "create", app, "--name", app]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let (a, _) = publish(&d, "1.0.0", &apk, None);
    let job = Job::new(
        &json!({"schema_version": 2, "app": "other", "version": "1.0.0", "build": "1",
                "artifacts": [{"path": "app.apk"}]}),
        &[("app.apk", &apk)],
    );
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b = r.json()["release"]["id"].as_str().unwrap().to_owned();
    let r = d.dist(&d.admin, &["release", "diff", &a, &b]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("compare releases of one app"),
        "{}",
        r.stderr
    );
}
