//! Tarballs: a tar stream, compressed with gzip, xz, zstd or bzip2 (or not at all), told
//! by its magic bytes. One pass lists it: the top-level layout (one top folder or not), the
//! executables and their ELF architectures, and the total uncompressed size, stopping at
//! the decompression budget and the entry limit (a huge listing is refused, not read on).
//!
//! `details` schema: `compression`, `entries`, `total_bytes`, `top_level` (the first 32
//! top-level names), `single_top_folder` (the folder's name or null), `executables` (up
//! to 64 of `{path, arch}`; `arch` null for scripts and other non-ELF files).

use std::collections::BTreeSet;
use std::io::{Read, SeekFrom};

use format_compress::Codec;
use platform::{Finding, InspectContext, Inspection, ReadSeek};
use serde_json::json;

use crate::Error;

const MAX_TOP_LISTED: usize = 32;
const MAX_EXECUTABLES_LISTED: usize = 64;

/// Reads the file into `ins` (a fresh, unsigned Inspection; see `crate::inspect_with`).
pub(crate) fn read(
    r: &mut dyn ReadSeek,
    ctx: &InspectContext,
    ins: &mut Inspection,
) -> Result<(), Error> {
    let mut magic = [0u8; 16];
    r.seek(SeekFrom::Start(0))?;
    let n = (&mut *r).take(16).read(&mut magic)?;
    let codec = Codec::sniff(&magic[..n]);
    r.seek(SeekFrom::Start(0))?;
    let dec = format_compress::decoder(codec, &mut *r, &ctx.budget)
        .map_err(|e| Error::Malformed(e.to_string()))?;
    let mut tar = format_tar::Reader::new(dec, 64);
    let mut top: BTreeSet<String> = BTreeSet::new();
    let mut top_is_dir = true;
    let mut entries = 0u64;
    let mut total = 0u64;
    let mut exes = Vec::new();
    let mut archs: BTreeSet<String> = BTreeSet::new();
    while let Some(e) = tar
        .next_entry()
        .map_err(|e| crate::deb::tar_err(e, "the tar stream"))?
    {
        entries += 1;
        if entries > ctx.limits.max_entries as u64 {
            return Err(Error::Limit(format!(
                "the archive holds more than {} entries; it is refused rather than listed further",
                ctx.limits.max_entries
            )));
        }
        total = total.saturating_add(e.size);
        let path = e.path.trim_start_matches('/');
        let first = path.split('/').next().unwrap_or("");
        if first.is_empty() {
            continue;
        }
        let is_dir_entry = path.contains('/') || e.kind == format_tar::EntryType::Dir;
        if !is_dir_entry {
            top_is_dir = false;
        }
        if top.len() <= MAX_TOP_LISTED || top.contains(first) {
            top.insert(first.to_owned());
        } else {
            top_is_dir = false;
        }
        if e.path.split('/').any(|c| c == "..") || e.path.starts_with('/') {
            ins.findings.push(Finding::error(
                "linux.tarball.unsafe_path",
                format!(
                    "{}: entry {:?} would unpack outside the current folder; repack the archive with relative paths",
                    ins.file, e.path
                ),
            ));
        }
        let arch = format_elf::header(&e.head).ok().map(|h| h.arch());
        if let Some(a) = &arch {
            archs.insert(a.clone());
        }
        if (e.is_executable() || arch.is_some()) && exes.len() < MAX_EXECUTABLES_LISTED {
            exes.push(json!({"path": e.path, "arch": arch}));
        }
    }
    // The end-of-archive block is not the end of the stream: the rest (zero padding and the
    // compressor's trailer with its checksum) must read cleanly too, or the file is cut.
    crate::deb::drain(tar.into_inner(), "the tar stream")?;
    if entries == 0 {
        return Err(Error::Malformed("the archive holds no entries".into()));
    }
    let single = (top.len() == 1 && top_is_dir)
        .then(|| top.iter().next().cloned())
        .flatten();
    ins.details
        .insert("compression".into(), json!(codec.name()));
    ins.details.insert("entries".into(), json!(entries));
    ins.details.insert("total_bytes".into(), json!(total));
    ins.details.insert(
        "top_level".into(),
        json!(top.iter().take(MAX_TOP_LISTED).collect::<Vec<_>>()),
    );
    ins.details
        .insert("single_top_folder".into(), json!(single));
    ins.details.insert("executables".into(), json!(exes));
    if !archs.is_empty() {
        ins.archs = Some(archs.into_iter().collect());
    }
    if single.is_none() {
        ins.findings.push(Finding::info(
            "linux.tarball.no_top_folder",
            format!(
                "{}: the archive has no single top folder, so tar -xf spreads its files into the current folder; unpack it into an empty folder",
                ins.file
            ),
        ));
    }
    Ok(())
}
