//! The corpus rule, run in a child process so that each case has its own environment: with
//! neither `CI` nor `DIST_CORPUS` a corpus test skips; with `CI` alone it fails; with
//! `DIST_CORPUS` set, a file `truth.json` lists but the folder lacks fails the test.

use std::process::Command;

/// The child: walks the `ios` entries when asked to by the parent.
#[test]
fn child_walks_the_corpus() {
    if std::env::var_os("DIST_TESTKIT_CHILD").is_none() {
        return;
    }
    let mut seen = 0;
    dist_testkit::corpus::conformance("ios", |_, _| seen += 1);
    println!("walked {seen}");
}

/// Runs the child with `env` (and neither `CI` nor `DIST_CORPUS` unless given).
fn child(env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_walks_the_corpus", "--exact", "--nocapture"])
        .env("DIST_TESTKIT_CHILD", "1")
        .env_remove("CI")
        .env_remove("DIST_CORPUS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn without_ci_or_corpus_the_walk_skips() {
    let (ok, out) = child(&[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("walked 0") && out.contains("corpus checks skipped"),
        "{out}"
    );
}

#[test]
fn ci_without_a_corpus_fails() {
    let (ok, out) = child(&[("CI", "true")]);
    assert!(!ok, "{out}");
    assert!(out.contains("CI is set but DIST_CORPUS is not"), "{out}");
}

#[test]
fn a_listed_file_missing_from_the_corpus_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ios")).unwrap();
    std::fs::write(dir.path().join("ios/here.ipa"), b"x").unwrap();
    std::fs::write(
        dir.path().join("truth.json"),
        r#"[{"platform": "ios", "file": "ios/here.ipa"}, {"platform": "ios", "file": "ios/gone.ipa"}]"#,
    )
    .unwrap();
    let corpus = dir.path().to_str().unwrap();
    let (ok, out) = child(&[("DIST_CORPUS", corpus)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("gone.ipa is listed in truth.json but missing"),
        "{out}"
    );

    // With the file there, the walk runs every entry.
    std::fs::write(dir.path().join("ios/gone.ipa"), b"x").unwrap();
    let (ok, out) = child(&[("DIST_CORPUS", corpus)]);
    assert!(ok, "{out}");
    assert!(
        out.contains("walked 2") && out.contains("2 of 2 files"),
        "{out}"
    );
}
