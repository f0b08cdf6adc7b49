//! Shared helpers for the integration tests: inspection through the Linux target
//! (`dist_testkit::inspect`), with or without trusted keys in the context.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use platform::Inspected;
use target_linux::LinuxTarget;

/// Fixed clock for reproducible inspections.
pub const NOW: i64 = 1_795_000_000;

pub fn fixtures() -> PathBuf {
    dist_testkit::corpus::fixtures("linux")
}

pub fn inspect_path(path: &Path) -> Inspected {
    let data = dist_testkit::corpus::read(path);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    inspect_with_keys(&name, &data, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn inspect_bytes(name: &str, data: &[u8]) -> Result<Inspected, String> {
    inspect_with_keys(name, data, &[])
}

/// Detects through the Linux target and inspects with `keys` as the admin's trusted keys.
pub fn inspect_with_keys(name: &str, data: &[u8], keys: &[Vec<u8>]) -> Result<Inspected, String> {
    dist_testkit::inspect::through(&LinuxTarget, name, data, keys, NOW)
}
