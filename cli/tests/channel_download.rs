//! `dist download` and the channel URL's choice (issue 14, item 4): two APKs for two
//! architectures are a choice the server will not make alone; `--arch` and `--kind` make it,
//! and a kind the release does not hold says what it holds.

mod common;

use common::*;
use serde_json::json;

#[test]
fn download_chooses_by_arch_and_kind_and_names_the_choices() {
    let d = Distd::start();
    let fixtures = workspace_root().join("fixtures/android");
    let (a, b) = (
        fixtures.join("signed-v1v2v3.apk"),
        fixtures.join("rotated.apk"),
    );
    let job = Job::new(
        &json!({
            "schema_version": 2, "app": "acme", "version": "1.2.3", "build": "42",
            "channel": "beta",
            "artifacts": [
                {"path": "a.apk", "arch": "arm64"},
                {"path": "b.apk", "arch": "amd64"},
            ],
        }),
        &[("a.apk", &a), ("b.apk", &b)],
    );
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("got.apk");
    let dest_s = dest.to_str().unwrap();
    let base = [
        "download",
        "--app",
        "acme",
        "--channel",
        "beta",
        "--platform",
        "android",
        "-o",
        dest_s,
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        d.dist(&d.admin, &args)
    };

    // Two architectures and none asked for: exit 5, the choices named, what to add said.
    let r = with(&[]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains("a.apk (apk, arm64), b.apk (apk, x86_64)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("choose one with --kind and --arch"),
        "{}",
        r.stderr
    );
    assert!(!dest.exists());

    // `--arch` decides (any alias), and `--kind` may say the same.
    let r = with(&["--arch", "x64", "--kind", "apk"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sha256_hex(&dest), sha256_hex(&b));
    let r = with(&["--arch", "arm64"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sha256_hex(&dest), sha256_hex(&a));

    // A kind the release does not hold: what it holds. One the platform has not: its kinds.
    let r = with(&["--kind", "aab"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "has no android aab file; it holds android apk (arm64), android apk (x86_64)"
        ),
        "{}",
        r.stderr
    );
    let r = with(&["--kind", "deb"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("use one of: apk, apks, xapk, aab"),
        "{}",
        r.stderr
    );
}
