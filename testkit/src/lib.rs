//! Test-only helpers for the targets' test suites (a dev-dependency, never linked into
//! `distd` or `dist`).
//!
//! It owns what every target's tests would otherwise copy: walking the real corpus and
//! comparing it with `truth.json` ([`corpus`]: a missing file fails, not skips, once `CI` or
//! `DIST_CORPUS` is set), the deterministic mutator ([`mutate`]), the mutated-signed-file
//! property with a per-format description of the bytes a signature covers ([`signed`]), and
//! costs in bytes read and decompressed instead of wall-clock seconds ([`cost`]), and
//! inspection through one target with a fixed clock ([`inspect`]). The
//! workspace's dependency policy (one decompression stack, docs/CRATES.md) is checked by
//! `tests/dependency_policy.rs` on `cargo metadata`.
//!
//! It depends on `platform` only (to run the registry), never on a target or a format
//! crate: targets use it, not the other way round. Helpers panic with a message naming the
//! file and the problem, as tests should.

pub mod corpus;
pub mod cost;
pub mod inspect;
pub mod mutate;
pub mod signed;

use std::path::PathBuf;

/// The workspace root (this crate sits one folder below it).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file with one of `exts` (lowercase, no dot) in `dir`, sorted; empty when the folder
/// does not exist.
pub fn files_with(dir: &std::path::Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
