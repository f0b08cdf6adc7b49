//! Shared helpers for the integration tests: inspection through the registry, with or
//! without trusted keys in the context.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use platform::{InspectContext, Inspected, Limits, Probe, Target};
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
    let mut cur = std::io::Cursor::new(data);
    let limits = Limits::default();
    let probe = Probe::read(name, &mut cur, &limits).map_err(|e| e.to_string())?;
    let d = LinuxTarget
        .detect(&probe)
        .ok_or_else(|| format!("{name}: not detected as a Linux artifact"))?;
    let mut ctx = InspectContext::new(name, data.len() as u64, limits, NOW);
    ctx.trusted_keys = keys.to_vec();
    cur.set_position(0);
    let mut i = LinuxTarget
        .inspect(&mut cur, &d.kind, &ctx)
        .map_err(|e| e.to_string())?;
    i.inspection.size = data.len() as u64;
    Ok(i)
}
