//! HFS+ and HFSX volumes, read only: the volume header (also inside a classic HFS wrapper),
//! the catalog B-tree (folders, files, their names and parents), each file's data fork
//! through its extents and the extents-overflow B-tree, hard links (resolved to their
//! `iNode` file in the private folder), symbolic links, and files compressed by the file
//! system (decmpfs types 3 and 4, zlib; other types are named, never guessed).
//!
//! A format crate: it reads, it does not judge, and knows no `platform` type. It never
//! writes anything to disk. The volume is read through any `Read + Seek` (a disk image's
//! logical disk, for one), only the parts needed: the header, the B-trees, then the files a
//! caller asks for. Node size, tree depth, record counts, name lengths and file sizes are
//! bounded before anything is allocated; decompression is charged to the caller's budget.

mod btree;
mod decmpfs;
mod fork;

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};

pub use fork::{Extent, ForkData, ForkReader};
pub use format_compress::InflateBudget;

/// The catalog node ID of the root folder.
pub const ROOT: u32 = 2;
/// Longest name (the format's limit, in UTF-16 units).
const MAX_NAME: usize = 255;
/// Deepest folder nesting followed when building paths.
const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("not an HFS+ volume: {0}")]
    NotHfs(String),
    #[error("malformed HFS+ volume: {0}")]
    Malformed(String),
    #[error("{0}")]
    Limit(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("reading the volume: {0}")]
    Io(#[from] io::Error),
}

/// Caps on what one listing reads.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most catalog records (files, folders and threads).
    pub max_records: usize,
    /// Largest B-tree file read (catalog, extents, attributes).
    pub max_tree_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_records: 1_000_000,
            max_tree_bytes: 512 << 20,
        }
    }
}

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Folder,
    Symlink,
    /// A hard link to a folder (Time Machine style): listed, not followed.
    FolderLink,
}

/// One file or folder of the volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path from the volume root, `/`-separated, no leading slash.
    pub path: String,
    pub kind: EntryKind,
    pub cnid: u32,
    /// POSIX mode bits.
    pub mode: u16,
    /// Size of the contents (for a compressed file, once decompressed, if known).
    pub size: u64,
    pub data: ForkData,
    pub rsrc: ForkData,
    /// Compressed by the file system (UF_COMPRESSED): the contents are in decmpfs.
    pub compressed: bool,
    /// The `iNode` number when this path is a hard link.
    pub hard_link: Option<u32>,
}

/// The volume header's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `H+` or `HX`.
    pub signature: String,
    pub version: u16,
    pub block_size: u32,
    pub total_blocks: u32,
    pub file_count: u32,
    pub folder_count: u32,
    /// Where the HFS+ volume starts on the device (past an HFS wrapper, if any).
    pub offset: u64,
    /// Whether it sat inside a classic HFS wrapper.
    pub wrapped: bool,
    /// The volume's name (the root folder's name), once listed.
    pub name: Option<String>,
}

/// The extents-overflow records: (fork type, file ID) → (first block, extents) runs.
type Overflow = HashMap<(u8, u32), Vec<(u32, Vec<Extent>)>>;

/// An open volume on the device `R`.
pub struct Volume<R> {
    r: R,
    pub header: Header,
    extents_file: ForkData,
    catalog_file: ForkData,
    attributes_file: ForkData,
    overflow: Option<Overflow>,
    decmpfs: Option<HashMap<u32, Vec<u8>>>,
    limits: Limits,
    budget: InflateBudget,
}

pub(crate) use format_zip::be::{u16_at as be16, u32_at as be32, u64_at as be64};

fn read_exact_at<R: Read + Seek>(r: &mut R, off: u64, buf: &mut [u8]) -> Result<(), Error> {
    r.seek(SeekFrom::Start(off))?;
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::Malformed(format!(
                "the device ends before byte {}",
                off + buf.len() as u64
            ))
        } else {
            Error::Io(e)
        }
    })
}

impl<R: Read + Seek> Volume<R> {
    /// Opens the volume that starts at byte `base` of `r`.
    pub fn open(
        mut r: R,
        base: u64,
        limits: Limits,
        budget: &InflateBudget,
    ) -> Result<Self, Error> {
        let mut vh = [0u8; 512];
        read_exact_at(&mut r, base + 1024, &mut vh)?;
        let mut offset = base;
        let mut wrapped = false;
        if &vh[..2] == b"BD" {
            // A classic HFS master directory block; an embedded HFS+ volume is named by
            // drEmbedSigWord and drEmbedExtent, in allocation blocks from drAlBlSt.
            if &vh[0x7c..0x7e] != b"H+" {
                return Err(Error::Unsupported(
                    "a classic HFS volume (not HFS+) is not read".into(),
                ));
            }
            let al_blk_size = be32(&vh, 0x14) as u64;
            let al_bl_st = be16(&vh, 0x1c) as u64;
            let start = be16(&vh, 0x7e) as u64;
            offset = base + al_bl_st * 512 + start * al_blk_size;
            wrapped = true;
            read_exact_at(&mut r, offset + 1024, &mut vh)?;
        }
        let sig = &vh[..2];
        if sig != b"H+" && sig != b"HX" {
            return Err(Error::NotHfs(format!(
                "the volume header's signature is {:?}",
                String::from_utf8_lossy(sig)
            )));
        }
        let block_size = be32(&vh, 40);
        if !(512..=(1 << 20)).contains(&block_size) || !block_size.is_power_of_two() {
            return Err(Error::Malformed(format!("block size {block_size}")));
        }
        let header = Header {
            signature: String::from_utf8_lossy(sig).into_owned(),
            version: be16(&vh, 2),
            block_size,
            total_blocks: be32(&vh, 44),
            file_count: be32(&vh, 32),
            folder_count: be32(&vh, 36),
            offset,
            wrapped,
            name: None,
        };
        let fork = |o: usize| ForkData::parse(&vh[o..o + 80]);
        let v = Self {
            r,
            extents_file: fork(192),
            catalog_file: fork(272),
            attributes_file: fork(352),
            header,
            overflow: None,
            decmpfs: None,
            limits,
            budget: budget.clone(),
        };
        for (what, f) in [("catalog", &v.catalog_file), ("extents", &v.extents_file)] {
            if f.logical_size == 0 {
                return Err(Error::Malformed(format!("the {what} file is empty")));
            }
        }
        for f in [&v.catalog_file, &v.extents_file, &v.attributes_file] {
            if f.logical_size > limits.max_tree_bytes {
                return Err(Error::Limit(format!(
                    "a B-tree file of {} bytes, more than the limit of {}",
                    f.logical_size, limits.max_tree_bytes
                )));
            }
            let end = f
                .extents
                .iter()
                .map(|e| e.start as u64 + e.count as u64)
                .max()
                .unwrap_or(0);
            if end > v.header.total_blocks as u64 {
                return Err(Error::Malformed(format!(
                    "a B-tree file's extents end at block {end}, past the volume's {} blocks",
                    v.header.total_blocks
                )));
            }
        }
        Ok(v)
    }

    /// The device under the volume.
    pub fn device(&mut self) -> &mut R {
        &mut self.r
    }

    /// Every extent of a fork: the eight in its record, then the overflow records.
    fn all_extents(
        &mut self,
        cnid: u32,
        fork_type: u8,
        f: &ForkData,
    ) -> Result<Vec<Extent>, Error> {
        let mut v = f.extents.clone();
        if f.blocks() >= f.total_blocks as u64 {
            return Ok(v);
        }
        if self.overflow.is_none() {
            let mut map = Overflow::new();
            let ef = self.extents_file.clone();
            let bs = self.header.block_size;
            btree::walk_leaves(
                &mut self.r,
                self.header.offset,
                bs,
                ef.extents.clone(),
                ef.logical_size,
                ef.total_blocks,
                "extents overflow",
                self.limits.max_records,
                &mut |rec| {
                    if rec.len() < 12 + 64 || be16(rec, 0) != 10 {
                        return Err(Error::Malformed(
                            "an extents overflow record is short".into(),
                        ));
                    }
                    let ext = (0..8)
                        .map(|i| Extent {
                            start: be32(rec, 12 + i * 8),
                            count: be32(rec, 16 + i * 8),
                        })
                        .filter(|e| e.count > 0)
                        .collect();
                    map.entry((rec[2], be32(rec, 4)))
                        .or_default()
                        .push((be32(rec, 8), ext));
                    Ok(())
                },
            )?;
            self.overflow = Some(map);
        }
        let mut recs = self
            .overflow
            .as_ref()
            .and_then(|m| m.get(&(fork_type, cnid)))
            .cloned()
            .unwrap_or_default();
        recs.sort_by_key(|(s, _)| *s);
        for (start, ext) in recs {
            // Each overflow record continues the fork at the block it names.
            if start as u64 != v.iter().map(|e| e.count as u64).sum::<u64>() {
                return Err(Error::Malformed(format!(
                    "file {cnid}'s overflow extents start at block {start}, not where the previous ones end"
                )));
            }
            v.extend(ext);
        }
        Ok(v)
    }

    /// Reads the catalog and returns every file and folder below the root, in catalog order,
    /// hard links resolved and the private folders that hold their targets left out.
    pub fn list(&mut self) -> Result<Vec<Entry>, Error> {
        struct Rec {
            parent: u32,
            name: String,
            kind: u8,
            data: Vec<u8>,
        }
        let mut recs: Vec<Rec> = Vec::new();
        let cf = self.catalog_file.clone();
        let ext = self.all_extents(4, 0, &cf)?;
        let bs = self.header.block_size;
        btree::walk_leaves(
            &mut self.r,
            self.header.offset,
            bs,
            ext,
            cf.logical_size,
            cf.total_blocks,
            "catalog",
            self.limits.max_records,
            &mut |rec| {
                let bad = || Error::Malformed("a catalog record is cut short".into());
                if rec.len() < 8 {
                    return Err(bad());
                }
                let klen = be16(rec, 0) as usize;
                let parent = be32(rec, 2);
                let nlen = be16(rec, 6) as usize;
                if nlen > MAX_NAME || 6 + 2 * nlen > klen || 2 + klen + 2 > rec.len() {
                    return Err(bad());
                }
                let units: Vec<u16> = rec[8..8 + 2 * nlen]
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                let data = &rec[2 + klen..];
                let kind = be16(data, 0) as u8;
                let need = match kind {
                    1 => 88,
                    2 => 248,
                    _ => return Ok(()), // thread records: the listing does not need them
                };
                if data.len() < need {
                    return Err(bad());
                }
                recs.push(Rec {
                    parent,
                    name: String::from_utf16_lossy(&units),
                    kind,
                    data: data[..need].to_vec(),
                });
                Ok(())
            },
        )?;
        // Folders by their ID: parent and name.
        let mut folders: HashMap<u32, (u32, String)> = HashMap::new();
        for r in recs.iter().filter(|r| r.kind == 1) {
            folders.insert(be32(&r.data, 8), (r.parent, r.name.clone()));
        }
        self.header.name = folders.get(&ROOT).map(|(_, n)| n.clone());
        // The private folders at the root whose names start with NUL bytes or a dot and
        // end in a carriage return: the targets of file and folder hard links.
        let private: Vec<u32> = folders
            .iter()
            .filter(|(_, (p, n))| {
                *p == ROOT
                    && (n.starts_with("\0\0\0\0HFS+ Private Data")
                        || n == ".HFS+ Private Directory Data\r")
            })
            .map(|(id, _)| *id)
            .collect();
        let mut inodes: HashMap<u32, usize> = HashMap::new();
        for (i, r) in recs.iter().enumerate() {
            if r.kind == 2
                && private.contains(&r.parent)
                && let Some(n) = r.name.strip_prefix("iNode").and_then(|n| n.parse().ok())
            {
                inodes.insert(n, i);
            }
        }
        let mut paths: HashMap<u32, Option<String>> = HashMap::new();
        let mut out = Vec::new();
        for r in &recs {
            if private.contains(&r.parent) || r.parent == 1 {
                continue;
            }
            if r.kind == 1 && private.contains(&be32(&r.data, 8)) {
                continue;
            }
            let Some(dir) = path_of(r.parent, &folders, &mut paths) else {
                continue;
            };
            let path = if dir.is_empty() {
                r.name.clone()
            } else {
                format!("{dir}/{}", r.name)
            };
            let d = &r.data;
            let mode = be16(d, 42);
            if r.kind == 1 {
                out.push(Entry {
                    path,
                    kind: EntryKind::Folder,
                    cnid: be32(d, 8),
                    mode,
                    size: 0,
                    data: ForkData::default(),
                    rsrc: ForkData::default(),
                    compressed: false,
                    hard_link: None,
                });
                continue;
            }
            let (ftype, creator) = (&d[48..52], &d[52..56]);
            let mut hard_link = None;
            let mut src = d;
            let kind = if ftype == b"fdrp" && creator == b"MACS" {
                EntryKind::FolderLink
            } else if ftype == b"hlnk" && creator == b"hfs+" {
                let n = be32(d, 44);
                hard_link = Some(n);
                match inodes.get(&n) {
                    Some(&i) => src = &recs[i].data,
                    None => {
                        return Err(Error::Malformed(format!(
                            "{path} is a hard link to iNode{n}, which is not in the private folder"
                        )));
                    }
                }
                EntryKind::File
            } else if mode & 0o170000 == 0o120000 {
                EntryKind::Symlink
            } else {
                EntryKind::File
            };
            let data = ForkData::parse(&src[88..168]);
            out.push(Entry {
                path,
                kind,
                cnid: be32(src, 8),
                mode: be16(src, 42),
                size: data.logical_size,
                data,
                rsrc: ForkData::parse(&src[168..248]),
                compressed: src[41] & 0x20 != 0,
                hard_link,
            });
        }
        for e in out.iter_mut().filter(|e| e.compressed) {
            if let Ok(Some(n)) = self.decmpfs_size(e.cnid) {
                e.size = n;
            }
        }
        Ok(out)
    }

    /// The contents of a file (a symlink's target for a symlink), at most `cap` bytes.
    pub fn read(&mut self, e: &Entry, cap: u64) -> Result<Vec<u8>, Error> {
        if e.size > cap {
            return Err(Error::Limit(format!(
                "{}: {} bytes, more than the limit of {cap}",
                e.path, e.size
            )));
        }
        if e.compressed {
            return self.read_compressed(e, cap);
        }
        let mut out = Vec::with_capacity(e.size.min(1 << 20) as usize);
        self.stream(e, cap, &mut |r| r.read_to_end(&mut out).map(|_| ()))?;
        Ok(out)
    }

    /// Streams a file through `visit`, at most `cap` bytes.
    pub fn stream(
        &mut self,
        e: &Entry,
        cap: u64,
        visit: &mut dyn FnMut(&mut dyn Read) -> io::Result<()>,
    ) -> Result<(), Error> {
        if e.size > cap {
            return Err(Error::Limit(format!(
                "{}: {} bytes, more than the limit of {cap}",
                e.path, e.size
            )));
        }
        if e.compressed {
            let d = self.read_compressed(e, cap)?;
            return visit(&mut &d[..]).map_err(Error::Io);
        }
        let mut f = self.fork_reader(e.cnid, 0, &e.data)?;
        visit(&mut f).map_err(Error::Io)
    }

    /// A seekable reader of a file's data fork (not for compressed files).
    pub fn open_data(&mut self, e: &Entry) -> Result<ForkReader<'_, R>, Error> {
        if e.compressed {
            return Err(Error::Unsupported(format!(
                "{} is compressed by the file system and is read whole, not opened",
                e.path
            )));
        }
        self.fork_reader(e.cnid, 0, &e.data)
    }

    /// A reader of fork `fork_type` (0 data, 0xFF resource) of file `cnid`.
    fn fork_reader(
        &mut self,
        cnid: u32,
        fork_type: u8,
        f: &ForkData,
    ) -> Result<ForkReader<'_, R>, Error> {
        let ext = self.all_extents(cnid, fork_type, f)?;
        let (bs, base) = (self.header.block_size, self.header.offset);
        ForkReader::new(&mut self.r, base, bs, ext, f.logical_size, f.total_blocks)
    }

    /// The resource fork of a file, at most `cap` bytes.
    fn read_rsrc(&mut self, e: &Entry, cap: u64) -> Result<Vec<u8>, Error> {
        if e.rsrc.logical_size > cap {
            return Err(Error::Limit(format!(
                "{}: a resource fork of {} bytes, more than the limit of {cap}",
                e.path, e.rsrc.logical_size
            )));
        }
        let rsrc = e.rsrc.clone();
        let mut f = self.fork_reader(e.cnid, 0xff, &rsrc)?;
        let mut out = Vec::with_capacity(e.rsrc.logical_size as usize);
        f.read_to_end(&mut out)?;
        Ok(out)
    }
}

/// The path of folder `id` from the root (`""` for the root), memoised; `None` when its
/// ancestry does not reach the root.
fn path_of(
    id: u32,
    folders: &HashMap<u32, (u32, String)>,
    memo: &mut HashMap<u32, Option<String>>,
) -> Option<String> {
    let mut chain = Vec::new();
    let mut cur = id;
    let mut prefix = loop {
        if cur == ROOT {
            break Some(String::new());
        }
        if let Some(p) = memo.get(&cur) {
            break p.clone();
        }
        if chain.len() > MAX_DEPTH {
            break None;
        }
        match folders.get(&cur) {
            Some((parent, _)) => {
                chain.push(cur);
                cur = *parent;
            }
            None => break None,
        }
    };
    for c in chain.into_iter().rev() {
        prefix = prefix.map(|p| {
            let n = &folders[&c].1;
            if p.is_empty() {
                n.clone()
            } else {
                format!("{p}/{n}")
            }
        });
        memo.insert(c, prefix.clone());
    }
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn refuses_what_is_not_hfs_plus_and_bad_block_sizes() {
        let budget = InflateBudget::new(1 << 20);
        let zeros = vec![0u8; 4096];
        let e = Volume::open(Cursor::new(&zeros[..]), 0, Limits::default(), &budget)
            .err()
            .unwrap();
        assert!(matches!(e, Error::NotHfs(_)), "{e}");
        let mut v = zeros.clone();
        v[1024..1026].copy_from_slice(b"H+");
        v[1024 + 40..1024 + 44].copy_from_slice(&1000u32.to_be_bytes());
        let e = Volume::open(Cursor::new(&v[..]), 0, Limits::default(), &budget)
            .err()
            .unwrap();
        assert!(matches!(e, Error::Malformed(_)), "{e}");
        let e = Volume::open(Cursor::new(&zeros[..100]), 0, Limits::default(), &budget)
            .err()
            .unwrap();
        assert!(matches!(e, Error::Malformed(_)), "{e}");
    }

    #[test]
    fn paths_stop_at_loops_and_missing_parents() {
        let mut f = HashMap::new();
        f.insert(16, (2, "A".to_owned()));
        f.insert(17, (16, "B".to_owned()));
        f.insert(18, (19, "x".to_owned()));
        f.insert(19, (18, "y".to_owned()));
        let mut memo = HashMap::new();
        assert_eq!(path_of(17, &f, &mut memo).as_deref(), Some("A/B"));
        assert_eq!(path_of(18, &f, &mut memo), None);
        assert_eq!(path_of(99, &f, &mut memo), None);
    }
}
