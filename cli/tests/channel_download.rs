//! `dist download` and the channel URL's choice (issue 14, item 4): two APKs for two
//! architectures are a choice the server will not make alone; `--arch` and `--kind` make it,
//! and a kind the release does not hold says what it holds. A mixed Linux release (issue 18)
//! is fetched back by kind and arch.

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

/// A mixed Linux release end to end (issue 18's evidence): the fixtures' debs for two
/// architectures, an rpm, an AppImage and a tarball published with `dist ci publish`,
/// promoted to beta, and each fetched back through the channel URL by kind and
/// architecture, compared byte for byte.
#[test]
fn a_mixed_linux_release_is_published_promoted_and_fetched_by_kind_and_arch() {
    let d = Distd::start();
    let f = workspace_root().join("fixtures/linux");
    let files = [
        ("hello_amd64.deb", f.join("hello-dist_1.2.3-4_amd64.xz.deb")),
        ("hello_arm64.deb", f.join("hello-dist_1.2.3-4_arm64.deb")),
        ("hello.x86_64.rpm", f.join("hello-1.0-1.x86_64-rsa.rpm")),
        ("Hello-x86_64.AppImage", f.join("Hello-x86_64.AppImage")),
        ("app-x86_64.tar.gz", f.join("app-1.0-x86_64.tar.gz")),
    ];
    let job = Job::new(
        &json!({
            "schema_version": 2, "app": "hello", "version": "1.2.3", "build": "1",
            "channel": "beta",
            "artifacts": [
                {"path": "hello_amd64.deb", "arch": "amd64"},
                {"path": "hello_arm64.deb", "arch": "arm64"},
                {"path": "hello.x86_64.rpm", "arch": "x86_64"},
                {"path": "Hello-x86_64.AppImage", "arch": "x86_64"},
                {"path": "app-x86_64.tar.gz", "arch": "x86_64"},
            ],
        }),
        &files
            .iter()
            .map(|(n, p)| (*n, p.as_path()))
            .collect::<Vec<_>>(),
    );
    let r = d.dist(&d.admin, &["app", "create", "hello", "--name", "Hello"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v = r.json();
    let kinds: Vec<&str> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(kinds, ["deb", "deb", "rpm", "appimage", "tarball"], "{v}");
    // The deb (1:1.2.3-4) and the AppImage (1.2.3) fit release 1.2.3; only the rpm (1.0-1)
    // is a version warning.
    let warned: Vec<&str> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["findings"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["code"] == "release.version_mismatch"))
        })
        .map(|a| a["file_name"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(warned, ["hello.x86_64.rpm"], "{v}");

    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("got");
    let dest_s = dest.to_str().unwrap();
    // `dist download` of the beta channel's Linux file of one kind and architecture.
    let download = |kind: &str, arch: &str| {
        d.dist(
            &d.admin,
            &[
                "download",
                "--app",
                "hello",
                "--channel",
                "beta",
                "--platform",
                "linux",
                "--kind",
                kind,
                "--arch",
                arch,
                "-o",
                dest_s,
            ],
        )
    };
    for (kind, arch, want) in [
        ("deb", "amd64", 0),
        ("deb", "arm64", 1),
        ("deb", "aarch64", 1),
        ("rpm", "x86_64", 2),
        ("appimage", "x86_64", 3),
        ("tarball", "x64", 4),
    ] {
        let r = download(kind, arch);
        assert_eq!(r.code, 0, "{kind} {arch}: {}", r.stderr);
        assert_eq!(
            sha256_hex(&dest),
            sha256_hex(&files[want].1),
            "{kind} {arch} is {}",
            files[want].0
        );
    }
    // No rpm for arm64: nothing is served in its place.
    let r = download("rpm", "arm64");
    assert_ne!(r.code, 0, "{}", r.stdout);
}
