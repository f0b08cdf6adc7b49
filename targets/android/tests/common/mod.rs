//! Shared helpers for the integration tests: corpus location, inspection through the registry.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use platform::{Inspected, Limits};
use target_android as _;

/// Fixed clock for reproducible inspections.
pub const NOW: i64 = 1_795_000_000;

/// `$DIST_CORPUS`, resolved against the workspace root when relative; `None` when unset.
pub fn corpus() -> Option<PathBuf> {
    let v = std::env::var_os("DIST_CORPUS")?;
    let p = PathBuf::from(v);
    Some(if p.is_absolute() {
        p
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
    })
}

/// The project's own fixtures (`fixtures/android`).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/android")
}

/// Every `*.apk`/`*.aab` file in a folder, sorted.
pub fn artifacts(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "apk" || e == "aab"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
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
