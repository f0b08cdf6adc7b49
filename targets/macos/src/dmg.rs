//! Disk images (`dmg`): the UDIF container through `formats/udif` (only the chunks a read
//! touches are decompressed), the partition map, the HFS+ volume through `formats/hfsplus`,
//! and the apps (or installer packages) near the volume's root, read by the same app and
//! pkg readers as zipped apps, through a [`Tree`] over the volume.
//!
//! Which app is the identity: an image may hold several apps (top level or one folder
//! down). The one whose name (without `.app`) is the volume's name, case aside, is the
//! identity; failing that, the first in name order. All of them are listed under
//! `details.apps`. Without an app, the first installer package in name order is read.

use std::collections::HashMap;
use std::io::SeekFrom;

use format_hfsplus::{self as hfs, EntryKind, Volume};
use format_udif::partition::{self, FileSystem};
use format_udif::{Disk, Image};
use platform::{Finding, InspectContext, Inspection, ReadSeek, Signature};
use serde_json::{Map, Value as Json, json};

use crate::app;
use crate::tree::{Node, NodeKind, Tree, Visit};

type Dev<'a> = Disk<&'a mut dyn ReadSeek>;

/// The files of an HFS+ volume inside an image.
pub struct HfsTree<'a> {
    vol: Volume<Dev<'a>>,
    nodes: Vec<Node>,
    entries: HashMap<String, hfs::Entry>,
    limit_hit: Option<String>,
}

impl<'a> HfsTree<'a> {
    fn new(mut vol: Volume<Dev<'a>>, max_entries: usize) -> Result<Self, hfs::Error> {
        let list = vol.list()?;
        if list.len() > max_entries {
            return Err(hfs::Error::Limit(format!(
                "the volume holds more than {max_entries} files and folders"
            )));
        }
        let mut nodes = Vec::with_capacity(list.len());
        let mut entries = HashMap::with_capacity(list.len());
        for e in list {
            let kind = match e.kind {
                EntryKind::File => NodeKind::File,
                EntryKind::Folder => NodeKind::Dir,
                EntryKind::Symlink => NodeKind::Symlink,
                // Not followed: a folder hard link could make the walk cycle.
                EntryKind::FolderLink => continue,
            };
            nodes.push(Node {
                path: e.path.clone(),
                size: e.size,
                kind,
            });
            entries.insert(e.path.clone(), e);
        }
        Ok(Self {
            vol,
            nodes,
            entries,
            limit_hit: None,
        })
    }

    fn note(&mut self, e: &hfs::Error) {
        let limit = match e {
            hfs::Error::Limit(m) => Some(m.clone()),
            hfs::Error::Io(io) => format_udif::over_budget(io).map(|o| o.0.clone()),
            _ => None,
        };
        if let Some(m) = limit {
            self.limit_hit.get_or_insert(m);
        }
    }

    fn entry(&self, path: &str) -> Result<hfs::Entry, String> {
        self.entries
            .get(path)
            .cloned()
            .ok_or_else(|| format!("{path} is not on the volume"))
    }

    fn disk(&mut self) -> &mut Dev<'a> {
        self.vol.device()
    }
}

impl Tree for HfsTree<'_> {
    fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    fn read(&mut self, path: &str, cap: u64) -> Result<Option<Vec<u8>>, String> {
        let Some(e) = self.entries.get(path).cloned() else {
            return Ok(None);
        };
        match self.vol.read(&e, cap) {
            Ok(d) => Ok(Some(d)),
            Err(err) => {
                self.note(&err);
                Err(format!("{path}: {err}"))
            }
        }
    }

    fn stream(&mut self, path: &str, cap: u64, visit: &mut Visit<'_>) -> Result<(), String> {
        let e = self.entry(path)?;
        let mut inner: Option<String> = None;
        let r = self.vol.stream(&e, cap, &mut |r| {
            visit(r).map_err(|m| {
                inner = Some(m.clone());
                std::io::Error::other(m)
            })
        });
        match r {
            Ok(()) => Ok(()),
            Err(err) => {
                self.note(&err);
                Err(inner.unwrap_or_else(|| format!("{path}: {err}")))
            }
        }
    }

    fn digests(&mut self, path: &str, cap: u64) -> Result<(Vec<u8>, Vec<u8>), String> {
        let mut out = None;
        self.stream(path, cap, &mut |r| {
            out = Some(format_apple::seal::file_digests(r).map_err(|e| e.to_string())?);
            Ok(())
        })?;
        out.ok_or_else(|| format!("{path} was not read"))
    }

    fn link_target(&mut self, path: &str) -> Result<Vec<u8>, String> {
        let e = self.entry(path)?;
        if e.kind != EntryKind::Symlink {
            return Err(format!("{path} is not a symbolic link"));
        }
        self.vol
            .read(&e, 4096)
            .map_err(|err| format!("{path}: {err}"))
    }

    fn limit_hit(&self) -> Option<String> {
        self.limit_hit.clone()
    }
}

/// Reads a disk image into `i`.
pub(crate) fn read(input: &mut dyn ReadSeek, ctx: &InspectContext, i: &mut Inspection) {
    let image = match Image::open(input, ctx.size) {
        Ok(im) => im,
        Err(format_udif::Error::Encrypted(h)) => {
            i.reject(
                "macos.dmg.encrypted",
                format!(
                    "the disk image is encrypted ({h} header): dist cannot read what is inside without the password; publish an unencrypted image (hdiutil create without -encryption)"
                ),
            );
            i.signature = Signature::unknown();
            return;
        }
        Err(format_udif::Error::NotUdif(m)) => {
            i.reject(
                "macos.dmg.not_udif",
                format!("{m}: this is not a UDIF disk image; build it again with hdiutil"),
            );
            i.signature = Signature::unknown();
            return;
        }
        Err(format_udif::Error::Limit(m)) => {
            crate::reject_at_limit(i, "macos.dmg.limit", m);
            return;
        }
        Err(e) => {
            i.reject(
                "macos.dmg.malformed",
                format!("{e}; the image is damaged or cut short: build or download it again"),
            );
            i.signature = Signature::unknown();
            return;
        }
    };
    let mut dmg = Map::new();
    dmg.insert("format".into(), json!(format_name(&image)));
    dmg.insert("block_map".into(), json!(image.map_source));
    dmg.insert(
        "blkx".into(),
        json!(image.partitions.iter().map(|p| &p.name).collect::<Vec<_>>()),
    );
    dmg.insert("sectors".into(), json!(image.koly.sector_count));

    // Verification pass: the data fork's CRC32 over the whole compressed image (a tampered or
    // damaged chunk fails it) and the image's own code signature.
    let data_ok = match image.check_data_fork(input) {
        Ok(v) => v,
        Err(e) => {
            i.reject("macos.dmg.malformed", format!("{e}"));
            return;
        }
    };
    dmg.insert(
        "checksums".into(),
        json!({
            "data_fork": checksum_word(data_ok, &image.koly.data_checksum),
            "master": checksum_word(image.master_checksum_ok, &image.koly.master_checksum),
            // Each partition's CRC32 covers all its decompressed bytes: checking it would
            // decompress the whole image, which the metadata pass avoids.
            "partitions": "not checked",
        }),
    );
    if data_ok == Some(false) || image.master_checksum_ok == Some(false) {
        i.reject(
            "macos.dmg.checksum_mismatch",
            "the image's checksum does not match its contents: it was altered or damaged after it was made (macOS refuses to open it); build or download it again",
        );
        i.details.insert("dmg".into(), Json::Object(dmg));
        i.signature = Signature::unknown();
        return;
    }
    let image_sig = crate::dmgsig::check(input, &image, ctx);
    dmg.insert("code_signature".into(), image_sig.details.clone());
    i.findings.extend(image_sig.findings);

    // The checksum pass reads the data fork; a signature's check, everything it covers.
    let verify_bytes = image.koly.data_fork_length + image.koly.code_signature_offset;
    input.seek(SeekFrom::Start(0)).ok();
    let disk = Disk::new(&mut *input, &image, &ctx.budget);
    read_volume(disk, &image, ctx, i, &mut dmg);
    // A signature on the image that does not verify makes the whole file's state invalid.
    if image_sig.state == platform::SignatureState::Invalid {
        i.signature.state = platform::SignatureState::Invalid;
        i.signature.digest_ok = Some(false);
    } else if image_sig.state != platform::SignatureState::Unsigned {
        i.signature.schemes.push("apple-codesign-dmg".into());
    }
    dmg.insert("verification_bytes_read".into(), json!(verify_bytes));
    i.details.insert("dmg".into(), Json::Object(dmg));
}

fn checksum_word(ok: Option<bool>, c: &format_udif::Checksum) -> Json {
    match ok {
        Some(true) => json!("ok"),
        Some(false) => json!("mismatch"),
        None => json!(format!("not checked ({})", c.name())),
    }
}

/// hdiutil's name for the image's format, told by its chunks' compressions.
fn format_name(image: &Image) -> &'static str {
    use format_udif::ChunkKind as K;
    let kinds: Vec<K> = image
        .partitions
        .iter()
        .flat_map(|p| p.chunks.iter().map(|c| c.kind))
        .filter(|k| k.compressed())
        .collect();
    match kinds.first() {
        None => "UDRO",
        Some(K::Zlib) => "UDZO",
        Some(K::Bzip2) => "UDBZ",
        Some(K::Lzfse) => "ULFO",
        Some(K::Lzma) => "ULMO",
        Some(K::Adc) => "UDCO",
        Some(_) => "unknown",
    }
}

fn read_volume(
    mut disk: Dev<'_>,
    image: &Image,
    ctx: &InspectContext,
    i: &mut Inspection,
    dmg: &mut Map<String, Json>,
) {
    let size = disk.size();
    let map = partition::read_map(&mut disk, size);
    let (scheme, parts) = match map {
        Ok(m) => m,
        Err(e) => {
            disk_error(i, &e, "reading the partition map");
            return;
        }
    };
    dmg.insert("partition_scheme".into(), json!(scheme.name()));
    dmg.insert(
        "partitions".into(),
        json!(
            parts
                .iter()
                .map(
                    |p| json!({"name": p.name, "type": p.kind, "offset": p.offset,
                    "length": p.length, "file_system": p.fs.name()})
                )
                .collect::<Vec<_>>()
        ),
    );
    let hfs_part = parts.iter().find(|p| {
        matches!(
            p.fs,
            FileSystem::HfsPlus | FileSystem::Hfsx | FileSystem::Hfs
        )
    });
    let Some(part) = hfs_part.cloned() else {
        let fs = parts
            .iter()
            .map(|p| p.fs)
            .find(|f| *f != FileSystem::Unknown)
            .unwrap_or(FileSystem::Unknown);
        dmg.insert(
            "file_system".into(),
            json!({"type": fs.name(), "read": false}),
        );
        record_chunks(&disk, image, dmg);
        let what = match fs {
            FileSystem::Apfs => "an APFS volume",
            FileSystem::Fat => "a FAT volume",
            _ => "no file system dist recognises",
        };
        i.findings.push(Finding::warning(
            "macos.dmg.file_system_not_read",
            format!(
                "the image holds {what}; dist reads HFS+ volumes only, so the app inside, its version and its signature are not known. Build the image with hdiutil -fs HFS+ to have it read"
            ),
        ));
        return;
    };
    let hlimits = hfs::Limits {
        max_records: ctx.limits.max_entries.saturating_mul(3),
        max_tree_bytes: ctx.limits.max_streamed_bytes,
    };
    let vol = match Volume::open(disk, part.offset, hlimits, &ctx.budget) {
        Ok(v) => v,
        Err(e) => {
            volume_error(i, &e);
            return;
        }
    };
    let header = vol.header.clone();
    let mut tree = match HfsTree::new(vol, ctx.limits.max_entries) {
        Ok(t) => t,
        Err(e) => {
            volume_error(i, &e);
            return;
        }
    };
    let volume_name = tree.vol.header.name.clone();
    dmg.insert(
        "file_system".into(),
        json!({
            "type": part.fs.name(), "read": true, "signature": header.signature,
            "wrapped_in_hfs": header.wrapped, "block_size": header.block_size,
            "volume_name": volume_name, "files": header.file_count,
            "folders": header.folder_count,
        }),
    );
    read_contents(&mut tree, volume_name.as_deref(), ctx, i);
    if let Some(m) = tree.limit_hit() {
        crate::reject_at_limit(i, "macos.dmg.limit", m);
    }
    record_chunks(tree.disk(), image, dmg);
}

fn disk_error(i: &mut Inspection, e: &std::io::Error, doing: &str) {
    if let Some(m) = format_udif::unsupported(e) {
        i.findings.push(Finding::warning(
            "macos.dmg.chunk_not_read",
            format!("{doing}: {m}; what is inside is not known"),
        ));
    } else if let Some(o) = format_udif::over_budget(e) {
        crate::reject_at_limit(i, "macos.dmg.limit", o.0.clone());
    } else {
        i.reject(
            "macos.dmg.malformed",
            format!("{doing}: {e}; the image is damaged: build or download it again"),
        );
    }
}

fn volume_error(i: &mut Inspection, e: &hfs::Error) {
    match e {
        hfs::Error::Io(io) => disk_error(i, io, "reading the HFS+ volume"),
        hfs::Error::Limit(m) => crate::reject_at_limit(i, "macos.dmg.limit", m.clone()),
        hfs::Error::Unsupported(m) => i.findings.push(Finding::warning(
            "macos.dmg.file_system_not_read",
            format!("{m}; what is inside is not known"),
        )),
        other => i.reject(
            "macos.dmg.hfs_malformed",
            format!("{other}; the image's volume is damaged: build the image again"),
        ),
    }
}

fn record_chunks(disk: &Dev<'_>, image: &Image, dmg: &mut Map<String, Json>) {
    let read = disk.chunks_read();
    let mut by_kind: std::collections::BTreeMap<String, usize> = Default::default();
    for c in disk.chunks() {
        *by_kind.entry(c.kind.name()).or_default() += 1;
    }
    let unread: Vec<Json> = disk
        .chunks()
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                format_udif::ChunkKind::Adc | format_udif::ChunkKind::Other(_)
            )
        })
        .take(16)
        .map(|c| json!({"sector": c.sector, "sectors": c.sectors, "kind": c.kind.name()}))
        .collect();
    dmg.insert(
        "chunks".into(),
        json!({
            "total": image.chunk_count(),
            "by_kind": by_kind,
            "read": read.len(),
            "read_list": read.iter().take(64).map(|c| json!([c.index, c.kind.name(), c.sectors, c.stored_bytes])).collect::<Vec<_>>(),
            "stored_bytes_read": disk.stored_bytes_read(),
            "not_decompressible": unread,
        }),
    );
}

/// Whether `path` (`X.app/` or `dir/X.app/`) is at most one folder below the root.
fn near_root(path: &str) -> bool {
    path.trim_end_matches('/').matches('/').count() <= 1
}

fn stem(path: &str) -> String {
    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    name.rsplit_once('.')
        .map_or(name, |(s, _)| s)
        .to_lowercase()
}

/// Finds and reads the apps (or packages) of the volume.
fn read_contents(
    tree: &mut HfsTree<'_>,
    volume: Option<&str>,
    ctx: &InspectContext,
    i: &mut Inspection,
) {
    let mut apps: Vec<String> = app::apps(tree)
        .into_iter()
        .filter(|a| near_root(a))
        .collect();
    apps.sort();
    let pkgs: Vec<String> = {
        let mut v: Vec<String> = tree
            .nodes()
            .iter()
            .filter(|n| {
                n.kind == NodeKind::File
                    && near_root(&n.path)
                    && (n.path.ends_with(".pkg") || n.path.ends_with(".mpkg"))
            })
            .map(|n| n.path.clone())
            .collect();
        v.sort();
        v
    };
    if apps.is_empty() {
        if let Some(p) = pkgs.first().cloned() {
            read_pkg(tree, &p, ctx, i);
            i.details.insert("pkgs".into(), json!(pkgs));
            return;
        }
        i.reject(
            "macos.dmg.no_app",
            "the volume holds no app bundle (X.app) or installer package at its top level or one folder down: there is nothing to install",
        );
        return;
    }
    let vol = volume.map(str::to_lowercase);
    let chosen = apps
        .iter()
        .position(|a| vol.as_deref() == Some(stem(a).as_str()))
        .unwrap_or(0);
    let main = apps[chosen].clone();
    app::read(tree, &main, ctx, i);
    let mut listed = Vec::new();
    for (n, a) in apps.iter().enumerate() {
        if n == chosen {
            listed.push(json!({
                "app": a.trim_end_matches('/'), "identity": i.identity, "version": i.version,
                "build": i.build, "is_identity": true,
                "why": if vol.as_deref() == Some(stem(a).as_str()) { "named as the volume" } else { "first in name order" },
            }));
            continue;
        }
        let mut other = Inspection::new(&i.file, i.size, i.platform.clone(), i.kind.clone());
        other.signature = Signature::unsigned();
        app::read(tree, a, ctx, &mut other);
        listed.push(json!({
            "app": a.trim_end_matches('/'), "identity": other.identity,
            "version": other.version, "build": other.build, "is_identity": false,
            "signature": other.signature.state,
            "notarization": other.details.get("notarization").and_then(|n| n.get("status")),
        }));
    }
    if apps.len() > 1 {
        i.findings.push(Finding::info(
            "macos.dmg.several_apps",
            format!(
                "the image holds {} apps ({}); the identity is {}'s ({})",
                apps.len(),
                apps.iter()
                    .map(|a| a.trim_end_matches('/'))
                    .collect::<Vec<_>>()
                    .join(", "),
                main.trim_end_matches('/'),
                if vol.as_deref() == Some(stem(&main).as_str()) {
                    "its name is the volume's"
                } else {
                    "first in name order; name the volume after the main app to choose it"
                }
            ),
        ));
    }
    i.details.insert("apps".into(), json!(listed));
    if !pkgs.is_empty() {
        i.details.insert("pkgs".into(), json!(pkgs));
    }
    if crate::install::status_of(i) == Some(crate::notarization::Status::NotNotarizable) {
        i.findings.push(Finding::warning(
            "macos.dmg.app_not_notarizable",
            format!(
                "the app inside ({}) is not signed with a Developer ID that verifies, so Apple cannot notarize it and macOS blocks it when it is first opened; sign it with a Developer ID Application certificate, notarize, staple, then build the image",
                main.trim_end_matches('/')
            ),
        ));
    }
}

fn read_pkg(tree: &mut HfsTree<'_>, path: &str, ctx: &InspectContext, i: &mut Inspection) {
    let e = match tree.entry(path) {
        Ok(e) => e,
        Err(m) => {
            i.reject("macos.dmg.malformed", m);
            return;
        }
    };
    let mut pctx = ctx.clone();
    pctx.size = e.size;
    pctx.file_name = path.rsplit('/').next().unwrap_or(path).to_owned();
    let mut f = match tree.vol.open_data(&e) {
        Ok(f) => f,
        Err(err) => {
            volume_error(i, &err);
            return;
        }
    };
    crate::pkg::read(&mut f, &pctx, i);
    i.details.insert("pkg".into(), json!(path));
}

/// Whether the last bytes of a file are a UDIF trailer; the reason when they are not but
/// the file starts like an encrypted image.
pub(crate) fn looks_like_dmg(head: &[u8], tail: &[u8]) -> bool {
    format_udif::has_koly(tail) || format_udif::encryption(head, tail).is_some()
}
