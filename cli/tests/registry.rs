//! The `dist` binary links every target crate: a file no target recognises is refused with a
//! message listing every linked platform's kinds.

mod common;

#[test]
fn dist_links_every_target() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"plain text, not an artifact").unwrap();
    let run = common::dist_offline(&["inspect", file.to_str().unwrap()]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    for expected in ["android: apk", "ios: ipa"] {
        assert!(
            run.stderr.contains(expected),
            "missing {expected:?} in: {}",
            run.stderr
        );
    }
}
