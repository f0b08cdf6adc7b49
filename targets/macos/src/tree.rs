//! The files of an archive as the app reader sees them, wherever they are stored: a zip
//! (random access through `formats/zip`), a stream archive read again from the start for
//! each file it streams (a tar through `formats/compress` and `formats/tar`; a pkg's cpio
//! Payload through `formats/xar`, `formats/compress` and `formats/cpio`), and a disk image's
//! file system. The app reader ([`crate::app`]) reads only through [`Tree`], so a
//! bundle reached through another container is read the same way.

use std::collections::BTreeMap;
use std::io::{Read, SeekFrom};

use format_compress::{Codec, InflateBudget};
use format_zip::{self as zipindex, ZipError, ZipIndex};
use platform::{Limits, ReadSeek};

/// What a path of the tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    File,
    Dir,
    Symlink,
}

/// One path of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub path: String,
    pub size: u64,
    pub kind: NodeKind,
}

/// Most bytes a tar listing keeps in memory for later reads (Info.plists, seals, profiles);
/// past it a file is read again from the stream when asked for.
const MAX_KEPT: u64 = 64 << 20;

/// A streaming callback: reads what it wants of one file.
pub type Visit<'v> = dyn FnMut(&mut dyn Read) -> Result<(), String> + 'v;

/// Read access to the files of an archive.
pub trait Tree {
    /// Every path, in archive order.
    fn nodes(&self) -> &[Node];
    /// A whole file, at most `cap` bytes; `Ok(None)` when it is not there.
    fn read(&mut self, path: &str, cap: u64) -> Result<Option<Vec<u8>>, String>;
    /// Streams a file through `visit`, at most `cap` bytes.
    fn stream(&mut self, path: &str, cap: u64, visit: &mut Visit<'_>) -> Result<(), String>;
    /// SHA-1 and SHA-256 of a file.
    fn digests(&mut self, path: &str, cap: u64) -> Result<(Vec<u8>, Vec<u8>), String>;
    /// A symbolic link's target.
    fn link_target(&mut self, path: &str) -> Result<Vec<u8>, String>;
    /// The first cap or budget a read ran into, if any.
    fn limit_hit(&self) -> Option<String>;

    fn node(&self, path: &str) -> Option<&Node> {
        self.nodes().iter().find(|n| n.path == path)
    }
}

/// A zip archive's members.
pub struct ZipTree<'a> {
    r: &'a mut dyn ReadSeek,
    index: ZipIndex,
    nodes: Vec<Node>,
    budget: InflateBudget,
    limit_hit: Option<String>,
}

impl<'a> ZipTree<'a> {
    pub fn open(
        r: &'a mut dyn ReadSeek,
        size: u64,
        limits: &Limits,
        budget: &InflateBudget,
    ) -> Result<Self, ZipError> {
        let index = zipindex::read_index(r, size, limits)?;
        let nodes = index
            .entries
            .iter()
            .map(|e| Node {
                path: e.name.trim_end_matches('/').to_owned(),
                size: e.size,
                kind: if e.is_dir() {
                    NodeKind::Dir
                } else if e.is_symlink() {
                    NodeKind::Symlink
                } else {
                    NodeKind::File
                },
            })
            .collect();
        Ok(Self {
            r,
            index,
            nodes,
            budget: budget.clone(),
            limit_hit: None,
        })
    }

    fn note(&mut self, e: &ZipError) {
        if let ZipError::Limit(m) = e
            && self.limit_hit.is_none()
        {
            self.limit_hit = Some(m.clone());
        }
    }
}

impl Tree for ZipTree<'_> {
    fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    fn read(&mut self, path: &str, cap: u64) -> Result<Option<Vec<u8>>, String> {
        let Some(e) = self.index.get(path).cloned() else {
            return Ok(None);
        };
        if e.size > cap {
            return Err(format!(
                "{path}: {} bytes, more than the limit of {cap}",
                e.size
            ));
        }
        match zipindex::read_entry(self.r, &e, self.index.eocd.cd_offset, cap, &self.budget) {
            Ok(d) => Ok(Some(d)),
            Err(err) => {
                self.note(&err);
                Err(format!("{path}: {err}"))
            }
        }
    }

    fn stream(&mut self, path: &str, cap: u64, visit: &mut Visit<'_>) -> Result<(), String> {
        let e = self
            .index
            .get(path)
            .cloned()
            .ok_or_else(|| format!("{path} is not in the archive"))?;
        if e.size > cap {
            return Err(format!(
                "{path}: {} bytes, more than the limit of {cap}",
                e.size
            ));
        }
        let err =
            match zipindex::open_entry(self.r, &e, self.index.eocd.cd_offset, cap, &self.budget) {
                Ok(mut r) => return visit(&mut r),
                Err(err) => err,
            };
        self.note(&err);
        Err(format!("{path}: {err}"))
    }

    fn digests(&mut self, path: &str, cap: u64) -> Result<(Vec<u8>, Vec<u8>), String> {
        let mut out = None;
        let mut err = None;
        self.stream(path, cap, &mut |r| {
            match format_apple::seal::file_digests(r) {
                Ok(d) => out = Some(d),
                Err(e) => err = Some(e),
            }
            Ok(())
        })?;
        if let Some(e) = err {
            let z = zipindex::read_error(path, e);
            self.note(&z);
            return Err(z.to_string());
        }
        out.ok_or_else(|| format!("{path} could not be read"))
    }

    fn link_target(&mut self, path: &str) -> Result<Vec<u8>, String> {
        self.read(path, format_apple::seal::MAX_LINK)?
            .ok_or_else(|| format!("{path} is not in the archive"))
    }

    fn limit_hit(&self) -> Option<String> {
        self.limit_hit.clone()
    }
}

/// The files of an app bundle a stream tree keeps in memory as it lists (besides Mach-O
/// files): what the app reader reads whole.
pub fn app_files(p: &str, _size: u64) -> bool {
    p.ends_with("/Info.plist")
        || p.ends_with("/CodeResources")
        || p.ends_with("/embedded.provisionprofile")
}

/// One entry of an archive read as a stream, whatever its format.
#[derive(Debug, Clone)]
pub struct StreamEntry {
    pub path: String,
    pub size: u64,
    pub kind: StreamKind,
    /// A symbolic or hard link's target; empty for other entries.
    pub link: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    File,
    Dir,
    Symlink,
    /// Reads as the file its link names.
    Hardlink,
    Other,
}

/// Why reading a stream's next entry stopped: its bytes, or its format.
#[derive(Debug)]
pub enum EntryError {
    Io(std::io::Error),
    Format(String),
}

/// What [`Entries::next_with`] hands a regular file's data to.
pub type EntryVisit<'v> = dyn FnMut(&StreamEntry, &mut dyn Read) -> std::io::Result<()> + 'v;

/// An archive's entries, read from its start.
pub trait Entries {
    /// The next entry; a regular file's data goes to `visit` first.
    fn next_with(&mut self, visit: &mut EntryVisit<'_>) -> Result<Option<StreamEntry>, EntryError>;
    /// Reads what follows the last entry to its end: a compressor's trailer and checksum
    /// must read cleanly too, or the file is cut.
    fn finish(self: Box<Self>) -> std::io::Result<()>;
}

/// Where a stream's entries come from: opened again from the start for every re-read.
pub trait EntrySource {
    fn open(&mut self) -> Result<Box<dyn Entries + '_>, TarError>;
}

/// A stream archive's entries (a tar, a pkg's cpio Payload). The first pass lists every
/// entry, hashes every file inside an app bundle (`X.app/...`), keeps link targets, the small files `keep` selects and Mach-O
/// files (up to [`MAX_KEPT`] in all); a later [`Tree::stream`] of a file not kept reads the
/// stream again from its start up to that file, so the whole archive is never held.
pub struct StreamTree<S: EntrySource> {
    src: S,
    nodes: Vec<Node>,
    digests: BTreeMap<String, (Vec<u8>, Vec<u8>)>,
    links: BTreeMap<String, String>,
    kept: BTreeMap<String, Vec<u8>>,
    budget: InflateBudget,
    limit_hit: Option<String>,
}

/// A tar stream, compressed or not.
pub type TarTree<'a> = StreamTree<TarSource<'a>>;

/// Why a stream archive could not be listed.
#[derive(Debug)]
pub enum TarError {
    /// The stream is not an archive of its kind, or is cut or corrupt.
    Malformed(String),
    /// A cap or the decompression budget stopped the listing.
    Limit(String),
    Io(std::io::Error),
}

fn stream_error(e: EntryError) -> TarError {
    match e {
        EntryError::Io(io) => match format_compress::over_limit(&io) {
            Some(o) => TarError::Limit(o.0.clone()),
            None if matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::InvalidData
                    | std::io::ErrorKind::InvalidInput
                    | std::io::ErrorKind::Other
            ) =>
            {
                TarError::Malformed(format!("the compressed stream is corrupt: {io}"))
            }
            None => TarError::Io(io),
        },
        EntryError::Format(m) => TarError::Malformed(m),
    }
}

impl<S: EntrySource> StreamTree<S> {
    /// Lists the stream; `keep(path, size)` says which files to keep in memory (each at most
    /// `limits.max_member_bytes`).
    pub fn list(
        mut src: S,
        limits: &Limits,
        budget: &InflateBudget,
        keep: &dyn Fn(&str, u64) -> bool,
    ) -> Result<Self, TarError> {
        let mut nodes = Vec::new();
        let mut digests = BTreeMap::new();
        let mut links = BTreeMap::new();
        let mut kept = BTreeMap::new();
        let mut hard_links: Vec<(String, String)> = Vec::new();
        {
            let mut entries = src.open()?;
            let max_member = limits.max_member_bytes;
            let mut kept_bytes = 0u64;
            let mut visit = |e: &StreamEntry, d: &mut dyn Read| -> std::io::Result<()> {
                let path = e.path.trim_end_matches('/');
                // Only a bundle's files are ever sealed or read: the rest of the stream (a
                // pkg Payload's other files) is skipped unhashed.
                if !path.split('/').any(|c| c.len() > 4 && c.ends_with(".app")) {
                    return Ok(());
                }
                let fits = e.size <= max_member && kept_bytes.saturating_add(e.size) <= MAX_KEPT;
                // The first bytes tell a Mach-O file: kept too (while it fits), so that
                // checking its signature later does not read the stream again.
                let mut magic = [0u8; 4];
                let mut got = 0;
                if fits && !keep(path, e.size) {
                    while got < 4 {
                        match d.read(&mut magic[got..])? {
                            0 => break,
                            n => got += n,
                        }
                    }
                }
                let is_macho = got == 4 && is_macho_magic(magic);
                let mut head_then_rest = (&magic[..got]).chain(d);
                if fits && (is_macho || keep(path, e.size)) {
                    kept_bytes += e.size;
                    let mut b = Vec::with_capacity(e.size as usize);
                    head_then_rest.read_to_end(&mut b)?;
                    let (s1, s256) = format_apple::seal::file_digests(&mut &b[..])?;
                    digests.insert(path.to_owned(), (s1, s256));
                    kept.insert(path.to_owned(), b);
                } else {
                    digests.insert(
                        path.to_owned(),
                        format_apple::seal::file_digests(&mut head_then_rest)?,
                    );
                }
                Ok(())
            };
            while let Some(e) = entries.next_with(&mut visit).map_err(stream_error)? {
                if nodes.len() >= limits.max_entries {
                    return Err(TarError::Limit(format!(
                        "the archive holds more than {} entries",
                        limits.max_entries
                    )));
                }
                let path = e.path.trim_end_matches('/').to_owned();
                let kind = match e.kind {
                    StreamKind::Dir => NodeKind::Dir,
                    StreamKind::Symlink => {
                        links.insert(path.clone(), e.link.clone());
                        NodeKind::Symlink
                    }
                    // A hard link reads as the file it names: record it as that file's copy.
                    StreamKind::Hardlink => {
                        hard_links.push((path.clone(), e.link.trim_end_matches('/').to_owned()));
                        NodeKind::File
                    }
                    _ => NodeKind::File,
                };
                nodes.push(Node {
                    path,
                    size: e.size,
                    kind,
                });
            }
            entries
                .finish()
                .map_err(|e| stream_error(EntryError::Io(e)))?;
        }
        for (path, target) in hard_links {
            if let Some(d) = digests.get(&target).cloned() {
                digests.insert(path, d);
            }
        }
        if nodes.is_empty() {
            return Err(TarError::Malformed("the archive holds no entries".into()));
        }
        Ok(Self {
            src,
            nodes,
            digests,
            links,
            kept,
            budget: budget.clone(),
            limit_hit: None,
        })
    }

    pub fn source(&self) -> &S {
        &self.src
    }
}

/// A tar stream's bytes, decompressed by `formats/compress`.
pub struct TarSource<'a> {
    r: &'a mut dyn ReadSeek,
    codec: Codec,
    budget: InflateBudget,
}

struct TarEntries<R: Read>(format_tar::Reader<R>);

impl<R: Read> Entries for TarEntries<R> {
    fn next_with(&mut self, visit: &mut EntryVisit<'_>) -> Result<Option<StreamEntry>, EntryError> {
        let conv = |e: &format_tar::Entry| StreamEntry {
            path: e.path.clone(),
            size: e.size,
            kind: match e.kind {
                format_tar::EntryType::Dir => StreamKind::Dir,
                format_tar::EntryType::Symlink => StreamKind::Symlink,
                format_tar::EntryType::Hardlink => StreamKind::Hardlink,
                format_tar::EntryType::File => StreamKind::File,
                _ => StreamKind::Other,
            },
            link: e.link.clone(),
        };
        let mut v = |e: &format_tar::Entry, d: &mut dyn Read| visit(&conv(e), d);
        match self.0.next_entry_with(&mut v) {
            Ok(e) => Ok(e.as_ref().map(conv)),
            Err(format_tar::Error::Io(io)) => Err(EntryError::Io(io)),
            Err(other) => Err(EntryError::Format(other.to_string())),
        }
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        let mut rest = self.0.into_inner();
        std::io::copy(&mut rest, &mut std::io::sink()).map(|_| ())
    }
}

impl EntrySource for TarSource<'_> {
    fn open(&mut self) -> Result<Box<dyn Entries + '_>, TarError> {
        self.r.seek(SeekFrom::Start(0)).map_err(TarError::Io)?;
        let dec = format_compress::decoder(self.codec, &mut *self.r, &self.budget)
            .map_err(|e| TarError::Malformed(e.to_string()))?;
        Ok(Box::new(TarEntries(format_tar::Reader::new(dec, 0))))
    }
}

impl<'a> StreamTree<TarSource<'a>> {
    /// Lists a tar stream, compressed as its first bytes say; `keep` as in
    /// [`StreamTree::list`].
    pub fn open(
        r: &'a mut dyn ReadSeek,
        limits: &Limits,
        budget: &InflateBudget,
        keep: &dyn Fn(&str, u64) -> bool,
    ) -> Result<Self, TarError> {
        let mut magic = [0u8; 16];
        r.seek(SeekFrom::Start(0)).map_err(TarError::Io)?;
        let n = (&mut *r).take(16).read(&mut magic).map_err(TarError::Io)?;
        let codec = Codec::sniff(&magic[..n]);
        let src = TarSource {
            r,
            codec,
            budget: budget.clone(),
        };
        Self::list(src, limits, budget, keep)
    }

    pub fn codec(&self) -> Codec {
        self.src.codec
    }
}

/// A cpio stream (what a pkg's Payload holds once decompressed).
pub struct CpioEntries<R: Read>(pub format_cpio::Reader<R>);

impl<R: Read> Entries for CpioEntries<R> {
    fn next_with(&mut self, visit: &mut EntryVisit<'_>) -> Result<Option<StreamEntry>, EntryError> {
        let conv = |e: &format_cpio::Entry| StreamEntry {
            path: e.path.clone(),
            size: e.size,
            kind: match e.kind {
                format_cpio::EntryType::Dir => StreamKind::Dir,
                format_cpio::EntryType::Symlink => StreamKind::Symlink,
                format_cpio::EntryType::File => StreamKind::File,
                format_cpio::EntryType::Other => StreamKind::Other,
            },
            link: e.link.clone(),
        };
        let mut v = |e: &format_cpio::Entry, d: &mut dyn Read| visit(&conv(e), d);
        match self.0.next_entry_with(&mut v) {
            Ok(e) => Ok(e.as_ref().map(conv)),
            Err(format_cpio::Error::Io(io)) => Err(EntryError::Io(io)),
            Err(other) => Err(EntryError::Format(other.to_string())),
        }
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        let mut rest = self.0.into_inner();
        std::io::copy(&mut rest, &mut std::io::sink()).map(|_| ())
    }
}

impl<S: EntrySource> Tree for StreamTree<S> {
    fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    fn read(&mut self, path: &str, cap: u64) -> Result<Option<Vec<u8>>, String> {
        if let Some(b) = self.kept.get(path) {
            return Ok(Some(b.clone()));
        }
        let Some(n) = self.node(path) else {
            return Ok(None);
        };
        if n.size > cap {
            return Err(format!(
                "{path}: {} bytes, more than the limit of {cap}",
                n.size
            ));
        }
        let mut out = Vec::new();
        self.stream(path, cap, &mut |r| {
            r.read_to_end(&mut out)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })?;
        Ok(Some(out))
    }

    fn stream(&mut self, path: &str, cap: u64, visit: &mut Visit<'_>) -> Result<(), String> {
        if let Some(b) = self.kept.get(path) {
            if b.len() as u64 > cap {
                return Err(format!(
                    "{path}: {} bytes, more than the limit of {cap}",
                    b.len()
                ));
            }
            return visit(&mut &b[..]);
        }
        let size = match self.node(path) {
            Some(n) if n.kind == NodeKind::File => n.size,
            _ => return Err(format!("{path} is not a file of the archive")),
        };
        if size > cap {
            return Err(format!(
                "{path}: {size} bytes, more than the limit of {cap}"
            ));
        }
        let mut entries = match self.src.open() {
            Ok(e) => e,
            Err(e) => {
                return Err(match e {
                    TarError::Limit(m) | TarError::Malformed(m) => m,
                    TarError::Io(e) => e.to_string(),
                });
            }
        };
        let mut found = false;
        let mut result: Result<(), String> = Ok(());
        let mut v = |e: &StreamEntry, d: &mut dyn Read| -> std::io::Result<()> {
            if !found && e.path.trim_end_matches('/') == path {
                found = true;
                result = visit(d);
                // Stop the walk: what follows is not needed.
                return Err(std::io::Error::other(FoundIt));
            }
            Ok(())
        };
        let mut hit = None;
        loop {
            match entries.next_with(&mut v) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(EntryError::Io(e)) if e.get_ref().is_some_and(|i| i.is::<FoundIt>()) => {
                    break;
                }
                Err(e) => {
                    let msg = match stream_error(e) {
                        TarError::Limit(m) => {
                            hit = Some(m.clone());
                            m
                        }
                        TarError::Malformed(m) => m,
                        TarError::Io(e) => e.to_string(),
                    };
                    drop(entries);
                    if let Some(m) = hit {
                        self.limit_hit.get_or_insert(m);
                    }
                    return Err(format!("{path}: {msg}"));
                }
            }
        }
        drop(entries);
        if !found {
            return Err(format!("{path} was not found reading the archive again"));
        }
        if let Err(e) = &result
            && self.budget.exhausted()
        {
            self.limit_hit.get_or_insert(e.clone());
        }
        result
    }

    fn digests(&mut self, path: &str, _cap: u64) -> Result<(Vec<u8>, Vec<u8>), String> {
        self.digests
            .get(path)
            .cloned()
            .ok_or_else(|| format!("{path} is not a file of the archive"))
    }

    fn link_target(&mut self, path: &str) -> Result<Vec<u8>, String> {
        self.links
            .get(path)
            .map(|l| l.as_bytes().to_vec())
            .ok_or_else(|| format!("{path} is not a symbolic link of the archive"))
    }

    fn limit_hit(&self) -> Option<String> {
        self.limit_hit.clone()
    }
}

/// Mach-O magic numbers, thin (both byte orders, 32 and 64 bits) and fat.
fn is_macho_magic(m: [u8; 4]) -> bool {
    matches!(
        u32::from_be_bytes(m),
        0xfeed_face | 0xfeed_facf | 0xcefa_edfe | 0xcffa_edfe | 0xcafe_babe | 0xcafe_babf
    )
}

/// Marks the end of a walk that found the file it wanted.
#[derive(Debug)]
struct FoundIt;

impl std::fmt::Display for FoundIt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("found")
    }
}

impl std::error::Error for FoundIt {}

/// One bundle folder of a [`Tree`] as `formats/apple`'s seal check reads it: paths relative
/// to `dir` (which ends in `/`, or is empty for the tree's root).
pub struct BundleDir<'t> {
    pub tree: &'t mut dyn Tree,
    pub dir: String,
    pub cap: u64,
}

impl format_apple::seal::BundleFiles for BundleDir<'_> {
    fn files(&self) -> Vec<(String, bool)> {
        let dir = self.dir.as_str();
        self.tree
            .nodes()
            .iter()
            .filter(|n| {
                n.kind != NodeKind::Dir && n.path.starts_with(dir) && n.path.len() > dir.len()
            })
            .map(|n| (n.path[dir.len()..].to_owned(), n.kind == NodeKind::Symlink))
            .collect()
    }

    fn digests(&mut self, rel: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
        let p = format!("{}{rel}", self.dir);
        self.tree.digests(&p, self.cap)
    }

    fn link_target(&mut self, rel: &str) -> Result<Vec<u8>, String> {
        let p = format!("{}{rel}", self.dir);
        self.tree.link_target(&p)
    }
}
