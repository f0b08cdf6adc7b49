//! A target linked only through `targets-all` (the test-only toy target, turned on by this
//! package's dev-dependencies) is detected and inspected by `dist inspect` with no edit to
//! the CLI.

mod common;

#[test]
fn dist_inspects_a_target_it_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("output.bin");
    std::fs::write(
        &file,
        dist_targets::toy::file("com.example.toy", "1.2", "7"),
    )
    .unwrap();
    let run = common::dist_offline(&["inspect", "--json", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(v["platform"], "toy", "{v}");
    assert_eq!(v["identity"], "com.example.toy", "{v}");
    assert_eq!(v["build"], "7", "{v}");
}
