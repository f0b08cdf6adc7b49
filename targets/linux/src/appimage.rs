//! AppImages. Type 2: an ELF runtime whose section table ends where a squashfs image
//! starts; its `.upd_info` section holds the update information and `.sha256_sig` /
//! `.sig_key` an embedded OpenPGP signature and key. Type 1: an ISO 9660 image with the
//! runtime in its system area and the update information in its primary volume descriptor's
//! application-use field (byte 33651). Inside either, the root holds the desktop entry (`*.desktop`),
//! the icon (`.DirIcon` or the entry's `Icon` as a PNG) and `AppRun`.
//!
//! The embedded signature is verified as appimagetool makes it: a detached OpenPGP
//! signature over the lowercase hex SHA-256 of the whole file with the two signature
//! sections zeroed, against the app's trusted keys (never the key embedded beside it).
//!
//! `details` schema: `type` (1 or 2), `runtime_arch`, `squashfs` (`offset`, `compressor`,
//! `block_size`, `bytes_used`) for type 2, `desktop_file`, `desktop` (`name`, `version`
//! from X-AppImage-Version, `categories`, `icon`, `exec`), `update_information` (string or
//! null), `signature` (`key_id`, `verified`, `embedded_key`), `root` (first 64 names).

use std::io::{Read, SeekFrom};

use platform::{
    Finding, InspectContext, InspectError, Inspected, Inspection, Kind, ReadSeek, SignatureState,
};
use serde_json::json;
use sha2::Digest;

use crate::{Error, iso9660};

/// A desktop entry or a section read into memory at most.
const MAX_SMALL: u64 = 64 * 1024;
/// An icon read at most.
const MAX_ICON: u64 = 1 << 20;

/// The `[Desktop Entry]` group's keys (untranslated ones only).
pub fn desktop_entry(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_group = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_group = l == "[Desktop Entry]";
            continue;
        }
        if !in_group || l.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = l.split_once('=') {
            let k = k.trim();
            if !k.contains('[') {
                out.push((k.to_owned(), v.trim().to_owned()));
            }
        }
    }
    out
}

/// The filesystem inside, whichever type.
enum Fs {
    Iso(Vec<iso9660::Entry>),
    Squash { offset: u64, names: Vec<String> },
}

fn squash_err(e: format_squashfs::Error) -> Error {
    match e {
        format_squashfs::Error::Io(e) => Error::Io(e),
        format_squashfs::Error::Limit(m) => Error::Limit(m),
        other => Error::Malformed(format!("the AppImage's squashfs: {other}")),
    }
}

impl Fs {
    fn names(&self) -> Vec<String> {
        match self {
            Fs::Iso(e) => e.iter().map(|e| e.name.clone()).collect(),
            Fs::Squash { names, .. } => names.clone(),
        }
    }

    /// A file's bytes by its path from the root, following symlinks inside the image.
    fn read(
        &self,
        r: &mut dyn ReadSeek,
        ctx: &InspectContext,
        name: &str,
        max: u64,
    ) -> Result<Option<Vec<u8>>, Error> {
        match self {
            Fs::Iso(entries) => match entries.iter().find(|e| e.name == name && !e.dir) {
                Some(e) => iso9660::read(r, ctx.size, e, max).map(Some),
                None => Ok(None),
            },
            Fs::Squash { offset, .. } => {
                let mut img = format_squashfs::Image::open(r, *offset, ctx.size, &ctx.budget)
                    .map_err(squash_err)?;
                let Some(e) = img.lookup(name).map_err(squash_err)? else {
                    return Ok(None);
                };
                if e.kind != format_squashfs::EntryKind::File {
                    return Ok(None);
                }
                img.read_file(e.inode, max).map(Some).map_err(squash_err)
            }
        }
    }
}

pub fn inspect(
    r: &mut dyn ReadSeek,
    kind: &Kind,
    ctx: &InspectContext,
) -> Result<Inspected, InspectError> {
    let mut ins = crate::fresh_inspection(kind, ctx);
    let mut icon = None;
    let result = read(r, ctx, &mut ins, &mut icon);
    let mut out = crate::finish(ins, result, "appimage")?;
    out.icon_png = icon;
    Ok(out)
}

/// Type 1's update information: the ISO 9660 primary volume descriptor (sector 16) holds
/// 512 bytes of application use at its byte 883.
const TYPE1_UPDATE_AT: u64 = 16 * 2048 + 883;
const TYPE1_UPDATE_LEN: u64 = 512;

fn read_section(r: &mut dyn ReadSeek, s: &format_elf::Section) -> Result<Vec<u8>, Error> {
    if s.size > MAX_SMALL {
        return Err(Error::Limit(format!(
            "section {} is {} bytes, more than {MAX_SMALL}",
            s.name, s.size
        )));
    }
    let mut v = vec![0u8; s.size as usize];
    r.seek(SeekFrom::Start(s.offset))?;
    r.read_exact(&mut v)?;
    Ok(v)
}

fn text_of(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).trim().to_owned()
}

fn read(
    r: &mut dyn ReadSeek,
    ctx: &InspectContext,
    ins: &mut Inspection,
    icon: &mut Option<Vec<u8>>,
) -> Result<(), Error> {
    let mut head = [0u8; 64];
    r.seek(SeekFrom::Start(0))?;
    let n = (&mut *r).take(64).read(&mut head)?;
    let h = format_elf::header(&head[..n]).map_err(|e| {
        Error::Malformed(format!(
            "the AppImage runtime is not a valid ELF executable: {e}"
        ))
    })?;
    let arch = h.arch();
    ins.archs = Some(vec![arch.clone()]);
    ins.details.insert("runtime_arch".into(), json!(arch));
    let magic = crate::detect::appimage_type(&head[..n]);
    let sections = format_elf::sections(r, &h, ctx.size).map_err(|e| match e {
        format_elf::Error::Io(e) => Error::Io(e),
        other => Error::Malformed(format!("the runtime's section table: {other}")),
    })?;
    let fs = match magic {
        Some(1) => Fs::Iso(iso9660::root(r, ctx.size)?),
        _ => {
            let offset = h.sections_end().filter(|o| *o < ctx.size).ok_or_else(|| {
                Error::Malformed(
                    "the runtime's section table ends past the file; no filesystem follows it"
                        .into(),
                )
            })?;
            let mut img = format_squashfs::Image::open(r, offset, ctx.size, &ctx.budget).map_err(|e| match e {
                format_squashfs::Error::NotSquashfs => Error::Malformed(format!(
                    "no squashfs image follows the runtime at offset {offset}; this is not a type 2 AppImage"
                )),
                other => squash_err(other),
            })?;
            ins.details.insert(
                "squashfs".into(),
                json!({"offset": offset, "compressor": img.sb.compressor_name(),
                       "block_size": img.sb.block_size, "bytes_used": img.sb.bytes_used}),
            );
            let names = img
                .root()
                .map_err(squash_err)?
                .into_iter()
                .map(|e| e.name)
                .collect();
            Fs::Squash { offset, names }
        }
    };
    let ty = if matches!(fs, Fs::Iso(_)) { 1 } else { 2 };
    ins.details.insert("type".into(), json!(ty));
    if magic.is_none() {
        ins.findings.push(Finding::warning(
            "linux.appimage.no_magic",
            format!(
                "{}: the runtime lacks the AppImage magic (AI\\x02 at byte 8), so desktop integration tools do not recognise it; build it with a current appimagetool",
                ins.file
            ),
        ));
    }
    let names = fs.names();
    ins.details.insert(
        "root".into(),
        json!(names.iter().take(64).collect::<Vec<_>>()),
    );
    if !names.iter().any(|n| n == "AppRun") {
        ins.findings.push(Finding::error(
            "linux.appimage.no_apprun",
            format!(
                "{}: the AppImage has no AppRun at its root, so it cannot start",
                ins.file
            ),
        ));
    }

    // The desktop entry.
    let desktop_name = names.iter().find(|n| n.ends_with(".desktop")).cloned();
    match &desktop_name {
        Some(d) => {
            let text = fs
                .read(r, ctx, d, MAX_SMALL)?
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let e = desktop_entry(&text);
            let get = |k: &str| e.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            ins.display_name = get("Name");
            if let Some(v) = get("X-AppImage-Version") {
                ins.version = Some(v);
            }
            ins.identity = Some(d.trim_end_matches(".desktop").to_owned());
            ins.details.insert("desktop_file".into(), json!(d));
            ins.details.insert(
                "desktop".into(),
                json!({"name": get("Name"), "version": get("X-AppImage-Version"),
                       "categories": get("Categories"), "icon": get("Icon"), "exec": get("Exec")}),
            );
            if get("Name").is_none() {
                ins.findings.push(Finding::warning(
                    "linux.appimage.desktop_incomplete",
                    format!(
                        "{}: the desktop entry {d} has no Name; menus show no name for it",
                        ins.file
                    ),
                ));
            }
            // The icon: .DirIcon, else the entry's Icon as a PNG at the root.
            let mut png = fs.read(r, ctx, ".DirIcon", MAX_ICON).ok().flatten();
            if png.as_ref().is_none_or(|p| !p.starts_with(b"\x89PNG")) {
                png = match get("Icon") {
                    Some(i) => fs
                        .read(r, ctx, &format!("{i}.png"), MAX_ICON)
                        .ok()
                        .flatten(),
                    None => None,
                };
            }
            *icon = png.filter(|p| p.starts_with(b"\x89PNG"));
        }
        None => ins.findings.push(Finding::error(
            "linux.appimage.no_desktop",
            format!(
                "{}: the AppImage has no .desktop file at its root; appimagetool requires one",
                ins.file
            ),
        )),
    }

    // Update information: type 2's `.upd_info` section; type 1's 512 bytes of the primary
    // volume descriptor's application-use field, where AppImageKit wrote it.
    let section = |n: &str| sections.iter().find(|s| s.name == n && !s.nobits).cloned();
    let upd = if ty == 1 {
        let mut b = vec![0u8; TYPE1_UPDATE_LEN as usize];
        if ctx.size >= TYPE1_UPDATE_AT + TYPE1_UPDATE_LEN {
            r.seek(SeekFrom::Start(TYPE1_UPDATE_AT))?;
            r.read_exact(&mut b)?;
        }
        Some(text_of(&b)).filter(|t| !t.is_empty())
    } else {
        match section(".upd_info") {
            Some(s) => Some(text_of(&read_section(r, &s)?)).filter(|t| !t.is_empty()),
            None => None,
        }
    };
    ins.details.insert("update_information".into(), json!(upd));
    if upd.is_none() {
        ins.findings.push(Finding::info(
            "linux.appimage.no_update_info",
            format!(
                "{}: the AppImage carries no update information, so AppImageUpdate cannot update it; pass -u to appimagetool",
                ins.file
            ),
        ));
    }
    let sig_s = section(".sha256_sig");
    let key_s = section(".sig_key");
    let sig_bytes = match &sig_s {
        Some(s) => read_section(r, s)?,
        None => Vec::new(),
    };
    let sig_text = text_of(&sig_bytes);
    if sig_text.is_empty() {
        ins.signature.state = SignatureState::Unsigned;
        let what = if ty == 1 {
            "the AppImage is type 1, which has no place for a signature; build a type 2 AppImage and sign it with appimagetool --sign"
        } else {
            "the AppImage has no embedded signature; sign it with appimagetool --sign"
        };
        ins.findings.push(Finding::info(
            "linux.appimage.unsigned",
            format!("{}: {what}", ins.file),
        ));
        return Ok(());
    }
    ins.signature.schemes = vec!["appimage-gpg".into()];
    let embedded_key = match &key_s {
        Some(s) => !text_of(&read_section(r, s)?).is_empty(),
        None => false,
    };
    let parsed = match format_openpgp::parse_signature(sig_text.as_bytes()) {
        Ok(p) => p,
        Err(e) => {
            ins.signature.state = SignatureState::Invalid;
            ins.findings.push(Finding::error(
                "linux.signature.invalid",
                format!(
                    "{}: the embedded signature does not parse ({e}); sign the AppImage again",
                    ins.file
                ),
            ));
            return Ok(());
        }
    };
    let key_id = parsed.issuer.clone().unwrap_or_default();
    let mut info = json!({"key_id": key_id, "verified": false, "embedded_key": embedded_key});
    let key = crate::trust::key_for(ctx, &key_id);
    let Some(key) = key else {
        ins.signature.state = SignatureState::Unknown;
        ins.findings.push(Finding::warning(
            "linux.appimage.signature_unknown_key",
            format!(
                "{}: signed by OpenPGP key {key_id}, which is not among the app's trusted keys (the key embedded in the AppImage is not trusted by itself); add the team's public key to the app",
                ins.file
            ),
        ));
        ins.details.insert("signature".into(), info);
        return Ok(());
    };
    // The verification pass: SHA-256 of the file with both sections read as zeros.
    let zero: Vec<(u64, u64)> = [&sig_s, &key_s]
        .into_iter()
        .flatten()
        .map(|s| (s.offset, s.offset + s.size))
        .collect();
    let mut hasher = sha2::Sha256::new();
    r.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut pos = 0u64;
    while pos < ctx.size {
        let n = (buf.len() as u64).min(ctx.size - pos) as usize;
        r.read_exact(&mut buf[..n])?;
        for (a, b) in &zero {
            let (lo, hi) = ((*a).max(pos), (*b).min(pos + n as u64));
            if lo < hi {
                buf[(lo - pos) as usize..(hi - pos) as usize].fill(0);
            }
        }
        hasher.update(&buf[..n]);
        pos += n as u64;
    }
    let digest_hex = hex::encode(hasher.finalize());
    match format_openpgp::verify(&parsed, &key, digest_hex.as_bytes()) {
        Ok(()) => {
            info["verified"] = json!(true);
            ins.signature.state = SignatureState::Signed;
            ins.signature.digest_ok = Some(true);
            ins.signature.signers = vec![crate::trust::signer(&key)];
        }
        Err(format_openpgp::Error::Unsupported(what)) => {
            ins.signature.state = SignatureState::Unknown;
            ins.findings.push(Finding::warning(
                "linux.appimage.signature_not_verified",
                format!(
                    "{}: the signature uses {what}, which dist does not verify",
                    ins.file
                ),
            ));
        }
        Err(e) => {
            ins.signature.state = SignatureState::Invalid;
            ins.signature.digest_ok = Some(false);
            ins.findings.push(Finding::error(
                "linux.signature.invalid",
                format!(
                    "{}: {e}: the AppImage was changed after it was signed; do not run it",
                    ins.file
                ),
            ));
        }
    }
    ins.details.insert("signature".into(), info);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desktop_entry_reads_its_group_only() {
        let e = desktop_entry(
            "[Desktop Entry]\nName=Echo\nName[de]=Echo DE\n# c\nCategories=Utility;\n[Desktop Action x]\nName=Other\n",
        );
        assert_eq!(
            e,
            vec![
                ("Name".into(), "Echo".into()),
                ("Categories".into(), "Utility;".into())
            ]
        );
    }
}
