//! Bad input that needs no server: each must exit with the documented code and a clear
//! message, and with --json print the error document on stdout.

mod common;

use common::*;
use serde_json::json;

fn publish(job: &Job) -> Run {
    // A server that is never reached: every case here fails before the network.
    dist_at(
        "http://127.0.0.1:9",
        "dist_x",
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    )
}

fn base(artifacts: serde_json::Value) -> serde_json::Value {
    json!({"schema_version": 2, "app": "acme", "version": "1.0.0", "build": "1", "artifacts": artifacts})
}

fn error_doc(r: &Run) -> (String, String) {
    let v = r.json();
    assert_eq!(v["schema_version"], 1, "{v}");
    (
        v["error"]["code"].as_str().unwrap().to_owned(),
        v["error"]["message"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn missing_manifest() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("dist.json");
    let r = dist_at(
        "http://127.0.0.1:9",
        "dist_x",
        &[
            "ci",
            "publish",
            "--manifest",
            path.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let (code, msg) = error_doc(&r);
    assert_eq!(code, "invalid_manifest");
    assert!(
        msg.contains("cannot read manifest") && msg.contains("dist.json"),
        "{msg}"
    );
}

#[test]
fn invalid_json_and_unknown_schema_version() {
    let job = Job::new(&base(json!([])), &[]);
    std::fs::write(job.manifest(), "{\"schema_version\": 2, ").unwrap();
    let r = publish(&job);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(error_doc(&r).1.contains("not valid JSON"), "{}", r.stdout);

    let mut m = base(json!([{"path": "a.apk"}]));
    m["schema_version"] = json!(7);
    job.write_manifest(&m);
    let r = publish(&job);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = error_doc(&r).1;
    assert!(
        msg.contains("schema_version") && msg.contains("reads schema_version 1"),
        "{msg}"
    );
}

#[test]
fn paths_escaping_the_manifest_folder() {
    let job = Job::new(&base(json!([{"path": "../outside.apk"}])), &[]);
    let r = publish(&job);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        error_doc(&r).1.contains("artifacts[0].path"),
        "{}",
        r.stdout
    );

    #[cfg(unix)]
    {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.apk");
        std::fs::write(&secret, "x").unwrap();
        let job = Job::new(&base(json!([{"path": "*.apk"}])), &[]);
        std::os::unix::fs::symlink(&secret, job.path("link.apk")).unwrap();
        let r = publish(&job);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            error_doc(&r).1.contains("outside the manifest's folder"),
            "{}",
            r.stdout
        );
    }
}

#[test]
fn a_glob_that_matches_nothing_names_the_entry() {
    let ipa = workspace_root().join("fixtures/ios/tiny-adhoc.ipa");
    let job = Job::new(
        &base(json!([{"path": "App.ipa"}, {"path": "build/*.apk"}])),
        &[("App.ipa", &ipa)],
    );
    let r = publish(&job);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = error_doc(&r).1;
    assert!(
        msg.contains("artifacts[1].path") && msg.contains("matches no file"),
        "{msg}"
    );
}

#[test]
fn a_file_that_is_not_what_its_platform_says() {
    let ipa = workspace_root().join("fixtures/ios/tiny-adhoc.ipa");
    let job = Job::new(
        &base(json!([{"path": "app.apk", "platform": "android"}])),
        &[("app.apk", &ipa)],
    );
    let r = publish(&job);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v = r.json();
    assert!(v["release"].is_null());
    assert_eq!(v["error"]["code"], "validation_failed");
    let f = &v["artifacts"][0]["findings"][0];
    assert_eq!(f["code"], "detect.platform_mismatch");
    assert!(f["message"].as_str().unwrap().contains("android"), "{f}");

    // Text renamed to .apk is refused for what it is.
    let job = Job::new(&base(json!([{"path": "app.apk"}])), &[]);
    std::fs::write(job.path("app.apk"), "definitely not a package").unwrap();
    let r = publish(&job);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.json()["artifacts"][0]["findings"][0]["code"],
        "detect.unrecognized"
    );
}

#[test]
fn inspect_exit_codes_and_shapes() {
    let fixtures = workspace_root().join("fixtures/ios");
    let one = fixtures.join("tiny-adhoc.ipa");
    let r = dist_offline(&["inspect", "--json", one.to_str().unwrap()]);
    let v = r.json();
    assert!(v.is_object(), "one file, one object");
    assert_eq!(v["platform"], "ios");
    assert_eq!(v["sha256"], sha256_hex(&one));
    assert_eq!(
        r.code,
        if v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "error")
        {
            3
        } else {
            0
        }
    );

    let two = fixtures.join("tiny-truncated.ipa");
    let r = dist_offline(&[
        "inspect",
        "--json",
        one.to_str().unwrap(),
        two.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 3, "a truncated file is rejected: {}", r.stderr);
    let v = r.json();
    assert_eq!(v.as_array().unwrap().len(), 2, "several files, an array");
    assert_eq!(v[1]["parse"], "reject");

    let r = dist_offline(&["inspect", "/nonexistent/file.apk"]);
    assert_eq!(r.code, 2, "{}", r.stderr);

    let r = dist_offline(&["inspect", one.to_str().unwrap()]);
    assert!(r.stdout.starts_with("FILE"), "a table: {}", r.stdout);
    assert!(!r.stdout.contains('\x1b'), "no colour codes on a pipe");
}

#[test]
fn usage_errors_help_and_completions() {
    let r = dist_offline(&["ci", "publish", "--bogus", "--json"]);
    assert_eq!(r.code, 2);
    assert_eq!(error_doc(&r).0, "usage");

    let r = dist_offline(&["--help"]);
    assert_eq!(r.code, 0);
    for line in [
        "Exit codes:",
        "0  success",
        "3  validation failed",
        "6  server or network",
    ] {
        assert!(r.stdout.contains(line), "--help lacks {line:?}");
    }
    let r = dist_offline(&["ci", "publish", "--help"]);
    assert!(r.stdout.contains("dist ci publish --server \"$DIST_SERVER\" --token \"$DIST_TOKEN\" --manifest dist.json --json"));

    let r = dist_offline(&["completions", "bash"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("_dist()") || r.stdout.contains("complete"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );

    // No server configured: a usage error, not a crash.
    let r = dist_offline(&["app", "list", "--json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(error_doc(&r).1.contains("DIST_SERVER"));
}
