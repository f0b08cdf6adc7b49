//! Test-only helpers for the targets' test suites (a dev-dependency, never linked into
//! `distd` or `dist`).
//!
//! It owns what every target's tests would otherwise copy: walking the real corpus
//! (`$DIST_CORPUS`), and the workspace's dependency policy (one decompression stack, see
//! `docs/CRATES.md`), checked by `tests/dependency_policy.rs` on `cargo metadata`. It must not
//! depend on a target or a format crate: targets use it, not the other way round.
