//! Inspection through one target (not the whole registry), as the targets' own tests run it:
//! detect, then inspect what was claimed, with a fixed clock and optional trusted keys.

use platform::{InspectContext, Inspected, Limits, Probe, Target};

/// Detects `data` (named `name`) through `target` and inspects it at `now` with `keys` as
/// the admin's trusted keys. A file the target does not claim is an error naming the target,
/// so a test never silently inspects through the wrong one.
pub fn through(
    target: &dyn Target,
    name: &str,
    data: &[u8],
    keys: &[Vec<u8>],
    now: i64,
) -> Result<Inspected, String> {
    let mut cur = std::io::Cursor::new(data);
    let limits = Limits::default();
    let probe = Probe::read(name, &mut cur, &limits).map_err(|e| e.to_string())?;
    let d = target.detect(&probe).ok_or_else(|| {
        format!(
            "{name}: not detected as a {} artifact",
            target.display_name()
        )
    })?;
    let mut ctx = InspectContext::new(name, data.len() as u64, limits, now);
    ctx.trusted_keys = keys.to_vec();
    cur.set_position(0);
    let mut i = target
        .inspect(&mut cur, &d.kind, &ctx)
        .map_err(|e| e.to_string())?;
    // The size is the file's, whatever the target read of it.
    i.inspection.size = data.len() as u64;
    Ok(i)
}
