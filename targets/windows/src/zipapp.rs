//! A zipped Windows app: the archive's main executable (the shallowest `.exe` that is not an
//! uninstaller, updater or crash helper, preferring one named like the archive) read as a PE,
//! its identity, version, architecture and signature reported for the whole zip.

use std::io::Cursor;

use platform::{InspectContext, Inspection};
use serde_json::json;

use crate::{Error, malformed};

/// Names of helpers that ship beside the app and are not it.
const HELPERS: &[&str] = &[
    "unins",
    "uninstall",
    "update",
    "updater",
    "crashpad",
    "crash",
    "helper",
    "elevate",
    "createdump",
    "squirrel",
];

/// Picks the main executable among the archive's names.
pub fn main_exe<'a>(names: &[&'a str], archive: &str) -> Option<&'a str> {
    let stem = archive
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(archive)
        .to_ascii_lowercase();
    names
        .iter()
        .copied()
        .filter(|n| n.to_ascii_lowercase().ends_with(".exe") && n.matches('/').count() <= 2)
        .filter(|n| {
            let base = n.rsplit('/').next().unwrap_or(n).to_ascii_lowercase();
            !HELPERS.iter().any(|h| base.starts_with(h))
        })
        .min_by_key(|n| {
            let base = n.rsplit('/').next().unwrap_or(n).to_ascii_lowercase();
            let exe_stem = base.trim_end_matches(".exe").to_owned();
            let named_like = stem.contains(&exe_stem);
            (!named_like, n.matches('/').count(), n.len())
        })
}

pub fn read(
    r: &mut dyn platform::ReadSeek,
    ctx: &InspectContext,
    ins: &mut Inspection,
    pass: crate::Pass,
) -> Result<(), Error> {
    let index = format_zip::read_index(&mut *r, ctx.size, &ctx.limits)?;
    let names: Vec<&str> = index.entries.iter().map(|e| e.name.as_str()).collect();
    let exe = main_exe(&names, &ctx.file_name)
        .ok_or_else(|| malformed("the zip holds no Windows executable in its top folders"))?
        .to_owned();
    let entry = index
        .get(&exe)
        .ok_or_else(|| malformed("the main executable vanished from the index"))?
        .clone();
    let data = format_zip::read_entry(
        &mut *r,
        &entry,
        index.eocd.cd_offset,
        ctx.limits.max_member_bytes,
        &ctx.budget,
    )?;
    let mut sub_ctx = ctx.clone();
    sub_ctx.size = data.len() as u64;
    sub_ctx.file_name = exe.clone();
    let mut sub = crate::fresh_inspection(&ins.kind, &sub_ctx);
    crate::pe::read(&mut Cursor::new(&data), &sub_ctx, &mut sub, pass)
        .map_err(|e| malformed(format!("{exe}: {e}")))?;
    ins.identity = sub.identity;
    ins.version = sub.version;
    ins.display_name = sub.display_name;
    ins.archs = sub.archs;
    ins.signature = sub.signature;
    // The member's findings, named by the archive and the member.
    for mut f in sub.findings {
        f.message = format!("{}: {}", ins.file, f.message);
        ins.findings.push(f);
    }
    ins.details.insert("main_executable".into(), json!(exe));
    ins.details
        .insert("executable".into(), serde_json::Value::Object(sub.details));
    ins.details.insert(
        "executables".into(),
        json!(
            names
                .iter()
                .filter(|n| n.to_ascii_lowercase().ends_with(".exe"))
                .count()
        ),
    );
    Ok(())
}
