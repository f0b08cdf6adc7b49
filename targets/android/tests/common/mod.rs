//! Shared helpers for the integration tests: the fixtures folder, inspection through the
//! registry (the corpus walker and the mutator are `dist-testkit`'s).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use platform::{Inspected, Limits};
use target_android as _;

/// Fixed clock for reproducible inspections.
pub const NOW: i64 = 1_795_000_000;

/// The project's own fixtures (`fixtures/android`).
pub fn fixtures() -> PathBuf {
    dist_testkit::corpus::fixtures("android")
}

pub fn inspect_path(path: &Path) -> Inspected {
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    platform::registry()
        .inspect(&name, &mut f, None, Limits::default(), NOW)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn inspect_bytes(name: &str, data: &[u8]) -> Result<Inspected, platform::DetectError> {
    platform::registry().inspect(
        name,
        &mut std::io::Cursor::new(data),
        None,
        Limits::default(),
        NOW,
    )
}
