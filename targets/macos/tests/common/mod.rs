//! Shared helpers for the integration tests: detection and inspection through the macOS
//! target with a fixed clock.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use platform::{Inspected, Inspection};
use target_macos::MacosTarget;

/// Fixed clock for reproducible inspections (2026-11-17).
pub const NOW: i64 = 1_795_000_000;

pub fn fixtures() -> PathBuf {
    dist_testkit::corpus::fixtures("macos")
}

pub fn inspect_path(path: &Path) -> Inspected {
    let data = dist_testkit::corpus::read(path);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    inspect_bytes(&name, &data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Detects through the macOS target and inspects what it claims.
pub fn inspect_bytes(name: &str, data: &[u8]) -> Result<Inspected, String> {
    dist_testkit::inspect::through(&MacosTarget, name, data, &[], NOW)
}

/// The inspection of a fixture of `fixtures/macos`.
pub fn inspect(name: &str) -> Inspection {
    inspect_path(&fixtures().join(name)).inspection
}

/// The codes of an inspection's findings.
pub fn codes(i: &Inspection) -> Vec<&str> {
    i.findings.iter().map(|f| f.code.as_str()).collect()
}

pub fn has(i: &Inspection, code: &str) -> bool {
    i.findings.iter().any(|f| f.code == code)
}
