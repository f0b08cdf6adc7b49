//! Every target this crate depends on is linked: a dependency line without its `use` line
//! (or the reverse) leaves a platform out of `distd` and `dist` without a compile error.

use dist_targets as _;

/// The `target-*` (and, under `toy`, the toy) dependencies of this crate's Cargo.toml.
fn declared() -> Vec<String> {
    let toml = include_str!("../Cargo.toml");
    let deps = toml
        .split("[dependencies]")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .expect("a [dependencies] table");
    deps.lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
        .filter(|k| k.starts_with("target-") || (cfg!(feature = "toy") && k == "dist-toy-target"))
        .collect()
}

#[test]
fn each_declared_target_registers_once() {
    let declared = declared();
    let ids = platform::registry().ids();
    assert_eq!(
        ids.len(),
        declared.len(),
        "targets in the registry {ids:?}, crates declared {declared:?}"
    );
    for id in &ids {
        assert_eq!(
            ids.iter().filter(|i| *i == id).count(),
            1,
            "{id} registered twice"
        );
    }
    assert!(ids.contains(&"ios") && ids.contains(&"android"), "{ids:?}");
    assert_eq!(ids.contains(&"toy"), cfg!(feature = "toy"), "{ids:?}");
}
