//! A reader of OLE compound files ([MS-CFB]): the container of MSI packages (and of old
//! Office documents). It reads the header, the FAT and mini FAT, the directory and the
//! streams, through `Read + Seek` and a byte at a time no more than a stream asks.
//!
//! A format crate: it knows nothing of MSI tables or of any platform. Every chain is walked
//! with a step limit (a FAT loop is an error, not a hang), every count is checked against
//! the file's size before anything is allocated, and a stream is read only up to a cap the
//! caller gives. It never writes anything.

use std::io::{self, Read, Seek, SeekFrom};

/// The first eight bytes of every compound file.
pub const MAGIC: [u8; 8] = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

const END_OF_CHAIN: u32 = 0xffff_fffe;
const NO_STREAM: u32 = 0xffff_ffff;
/// Header DIFAT entries.
const HEADER_DIFAT: usize = 109;
/// The most bytes of consecutive sectors read at once.
const RUN_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    #[error("not a compound file: {0}")]
    Malformed(String),
    #[error("over a limit: {0}")]
    Limit(String),
}

fn bad(m: impl Into<String>) -> Error {
    Error::Malformed(m.into())
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Storage,
    Stream,
    Root,
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// The name as UTF-16 code units (MSI stream names use private-use code points).
    pub name_utf16: Vec<u16>,
    pub kind: EntryKind,
    pub clsid: [u8; 16],
    pub size: u64,
    /// The user-defined state bits and the creation and modification FILETIMEs, as stored
    /// (MSI's extended Authenticode digest hashes them).
    pub state_bits: [u8; 4],
    pub created: [u8; 8],
    pub modified: [u8; 8],
    start: u32,
    left: u32,
    right: u32,
    child: u32,
}

impl Entry {
    /// The name, lossily as text.
    pub fn name(&self) -> String {
        String::from_utf16_lossy(&self.name_utf16)
    }

    /// The name's UTF-16LE bytes (how Authenticode orders MSI streams).
    pub fn name_bytes(&self) -> Vec<u8> {
        self.name_utf16
            .iter()
            .flat_map(|u| u.to_le_bytes())
            .collect()
    }
}

/// An opened compound file: its allocation tables and directory, read once.
#[derive(Debug)]
pub struct CompoundFile {
    sector_shift: u32,
    mini_shift: u32,
    mini_cutoff: u64,
    fat: Vec<u32>,
    minifat: Vec<u32>,
    entries: Vec<Option<Entry>>,
    size: u64,
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn read_at(r: &mut (impl Read + Seek + ?Sized), offset: u64, buf: &mut [u8]) -> Result<(), Error> {
    r.seek(SeekFrom::Start(offset))?;
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            bad(format!("the file ends inside a sector at offset {offset}"))
        } else {
            Error::Io(e)
        }
    })
}

impl CompoundFile {
    /// Reads the header, FAT, mini FAT and directory of a `size`-byte file.
    pub fn open(r: &mut (impl Read + Seek + ?Sized), size: u64) -> Result<Self, Error> {
        let mut h = [0u8; 512];
        if size < 512 {
            return Err(bad("shorter than a compound file header"));
        }
        read_at(r, 0, &mut h)?;
        if h[..8] != MAGIC {
            return Err(bad("no compound file signature"));
        }
        let sector_shift = u32::from(u16_at(&h, 0x1e));
        let mini_shift = u32::from(u16_at(&h, 0x20));
        if !(sector_shift == 9 || sector_shift == 12) || mini_shift != 6 {
            return Err(bad(format!(
                "sector shift {sector_shift} / mini sector shift {mini_shift} is not 9 or 12 / 6"
            )));
        }
        let sector = 1u64 << sector_shift;
        let sectors_in_file = size.div_ceil(sector);
        let per_sector = (sector / 4) as usize;
        let num_fat = u64::from(u32_at(&h, 0x2c));
        let first_dir = u32_at(&h, 0x30);
        let mini_cutoff = u64::from(u32_at(&h, 0x38));
        let first_minifat = u32_at(&h, 0x3c);
        let num_minifat = u64::from(u32_at(&h, 0x40));
        let mut difat_next = u32_at(&h, 0x44);
        let num_difat = u64::from(u32_at(&h, 0x48));
        if num_fat > sectors_in_file || num_difat > sectors_in_file || num_minifat > sectors_in_file
        {
            return Err(bad(
                "the header counts more allocation sectors than the file holds",
            ));
        }
        // The FAT's sectors: 109 in the header, the rest in the DIFAT chain.
        let mut fat_sectors: Vec<u32> = (0..HEADER_DIFAT)
            .map(|i| u32_at(&h, 0x4c + 4 * i))
            .take(num_fat as usize)
            .collect();
        let mut buf = vec![0u8; sector as usize];
        let mut steps = 0u64;
        while (fat_sectors.len() as u64) < num_fat && difat_next != END_OF_CHAIN {
            steps += 1;
            if steps > num_difat.max(1) || u64::from(difat_next) >= sectors_in_file {
                return Err(bad("the DIFAT chain is broken"));
            }
            read_at(r, (u64::from(difat_next) + 1) << sector_shift, &mut buf)?;
            for i in 0..per_sector - 1 {
                if (fat_sectors.len() as u64) < num_fat {
                    fat_sectors.push(u32_at(&buf, 4 * i));
                }
            }
            difat_next = u32_at(&buf, 4 * (per_sector - 1));
        }
        if (fat_sectors.len() as u64) < num_fat {
            return Err(bad(
                "the DIFAT lists fewer FAT sectors than the header counts",
            ));
        }
        let mut fat = Vec::with_capacity(fat_sectors.len() * per_sector);
        for s in &fat_sectors {
            if u64::from(*s) >= sectors_in_file {
                return Err(bad(format!("FAT sector {s} is past the end of the file")));
            }
            read_at(r, (u64::from(*s) + 1) << sector_shift, &mut buf)?;
            fat.extend((0..per_sector).map(|i| u32_at(&buf, 4 * i)));
        }
        let mut cf = CompoundFile {
            sector_shift,
            mini_shift,
            mini_cutoff,
            fat,
            minifat: Vec::new(),
            entries: Vec::new(),
            size,
        };
        let minifat_bytes = if first_minifat == END_OF_CHAIN || num_minifat == 0 {
            Vec::new()
        } else {
            cf.read_chain(r, first_minifat, num_minifat * sector)?
        };
        cf.minifat = minifat_bytes
            .chunks_exact(4)
            .map(|c| u32_at(c, 0))
            .collect();
        let dir = cf.read_chain(r, first_dir, size)?;
        for raw in dir.chunks_exact(128) {
            // Version 3 files (512-byte sectors) leave the size's high half undefined.
            cf.entries.push(parse_entry(raw, sector_shift == 9)?);
        }
        match cf.entries.first() {
            Some(Some(e)) if e.kind == EntryKind::Root => Ok(cf),
            _ => Err(bad("the first directory entry is not the root storage")),
        }
    }

    /// The sector chain from `start`, read up to `cap` bytes (all of it when shorter).
    fn read_chain(
        &self,
        r: &mut (impl Read + Seek + ?Sized),
        start: u32,
        cap: u64,
    ) -> Result<Vec<u8>, Error> {
        let sector = 1u64 << self.sector_shift;
        let mut out = Vec::new();
        let mut s = start;
        let mut seen = vec![false; self.fat.len()];
        while s != END_OF_CHAIN && (out.len() as u64) < cap {
            if s as usize >= self.fat.len() || std::mem::replace(&mut seen[s as usize], true) {
                return Err(bad(format!(
                    "a sector chain is broken or loops at sector {s}"
                )));
            }
            let off = (u64::from(s) + 1) << self.sector_shift;
            if off >= self.size {
                return Err(bad(format!("sector {s} is past the end of the file")));
            }
            let take = sector.min(self.size - off);
            let at = out.len();
            out.resize(at + take as usize, 0);
            read_at(r, off, &mut out[at..])?;
            s = self.fat[s as usize];
        }
        out.truncate(cap.min(out.len() as u64) as usize);
        Ok(out)
    }

    /// Every directory entry in use, by index.
    pub fn entries(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i, e)))
    }

    pub fn entry(&self, index: usize) -> Option<&Entry> {
        self.entries.get(index).and_then(Option::as_ref)
    }

    /// The index of the root storage.
    pub fn root(&self) -> usize {
        0
    }

    /// The children of a storage (its red-black tree walked in full, each entry once).
    pub fn children(&self, storage: usize) -> Result<Vec<usize>, Error> {
        let Some(e) = self.entry(storage) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut seen = vec![false; self.entries.len()];
        let mut stack = vec![e.child];
        while let Some(i) = stack.pop() {
            if i == NO_STREAM {
                continue;
            }
            let idx = i as usize;
            let Some(Some(c)) = self.entries.get(idx) else {
                return Err(bad(format!("directory entry {i} is named but absent")));
            };
            if std::mem::replace(&mut seen[idx], true) {
                return Err(bad(format!("directory entry {i} is reached twice")));
            }
            out.push(idx);
            stack.push(c.left);
            stack.push(c.right);
        }
        Ok(out)
    }

    /// The child of `storage` whose name is `name` (exact code units).
    pub fn find(&self, storage: usize, name: &[u16]) -> Result<Option<usize>, Error> {
        Ok(self
            .children(storage)?
            .into_iter()
            .find(|i| self.entry(*i).is_some_and(|e| e.name_utf16 == name)))
    }

    /// A whole stream, refused when larger than `cap`.
    pub fn read_stream(
        &self,
        r: &mut (impl Read + Seek + ?Sized),
        index: usize,
        cap: u64,
    ) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.stream_chunks(r, index, cap, &mut |c| out.extend_from_slice(c))?;
        Ok(out)
    }

    /// Feeds a stream's bytes to `sink` a sector at a time; refused when larger than `cap`.
    pub fn stream_chunks(
        &self,
        r: &mut (impl Read + Seek + ?Sized),
        index: usize,
        cap: u64,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), Error> {
        let e = self
            .entry(index)
            .ok_or_else(|| bad(format!("no directory entry {index}")))?;
        if e.kind != EntryKind::Stream {
            return Err(bad(format!("{} is not a stream", e.name())));
        }
        if e.size > cap {
            return Err(Error::Limit(format!(
                "stream {} holds {} bytes, more than the limit of {cap}",
                e.name(),
                e.size
            )));
        }
        if e.size > self.size {
            return Err(bad(format!(
                "stream {} claims {} bytes in a {}-byte file",
                e.name(),
                e.size,
                self.size
            )));
        }
        if e.size < self.mini_cutoff {
            let data = self.read_mini(r, e.start, e.size)?;
            sink(&data);
            return Ok(());
        }
        let sector = 1u64 << self.sector_shift;
        let mut left = e.size;
        let mut s = e.start;
        let mut seen = vec![false; self.fat.len()];
        let mut buf = vec![0u8; RUN_BYTES];
        let broken = || {
            bad(format!(
                "stream {}'s sector chain ends early or loops",
                e.name()
            ))
        };
        while left > 0 {
            // A run of consecutive sectors (the usual layout) is read with one read.
            let first = s;
            let mut run = 0u64;
            while left > run * sector && (run + 1) * sector <= RUN_BYTES as u64 {
                if s == END_OF_CHAIN
                    || s as usize >= self.fat.len()
                    || std::mem::replace(&mut seen[s as usize], true)
                {
                    return Err(broken());
                }
                run += 1;
                let next = self.fat[s as usize];
                s = next;
                if next != first.wrapping_add(run as u32) {
                    break;
                }
            }
            let take = left.min(run * sector) as usize;
            read_at(
                r,
                (u64::from(first) + 1) << self.sector_shift,
                &mut buf[..take],
            )?;
            sink(&buf[..take]);
            left -= take as u64;
        }
        Ok(())
    }

    /// A small stream, from the mini stream (which the root entry's chain holds).
    fn read_mini(
        &self,
        r: &mut (impl Read + Seek + ?Sized),
        start: u32,
        size: u64,
    ) -> Result<Vec<u8>, Error> {
        let root = self.entry(0).ok_or_else(|| bad("no root entry"))?;
        let mini = 1u64 << self.mini_shift;
        let per_sector = 1u64 << (self.sector_shift - self.mini_shift);
        let mut out = Vec::with_capacity(size as usize);
        let mut s = start;
        let mut seen = vec![false; self.minifat.len()];
        let mut buf = vec![0u8; mini as usize];
        while (out.len() as u64) < size {
            if s == END_OF_CHAIN
                || s as usize >= self.minifat.len()
                || std::mem::replace(&mut seen[s as usize], true)
            {
                return Err(bad("a mini stream chain ends early or loops"));
            }
            let pos = u64::from(s) * mini;
            if pos >= root.size {
                return Err(bad("a mini sector lies past the mini stream"));
            }
            // The root chain's sector that holds this mini sector.
            let nth = pos / (per_sector * mini);
            let sector = self.nth_sector(root.start, nth)?;
            let off = ((u64::from(sector) + 1) << self.sector_shift) + pos % (per_sector * mini);
            let take = (size - out.len() as u64).min(mini) as usize;
            read_at(r, off, &mut buf[..take])?;
            out.extend_from_slice(&buf[..take]);
            s = self.minifat[s as usize];
        }
        Ok(out)
    }

    fn nth_sector(&self, start: u32, n: u64) -> Result<u32, Error> {
        if n >= self.fat.len() as u64 {
            return Err(bad("the mini stream's chain is longer than the FAT"));
        }
        let mut s = start;
        for _ in 0..n {
            if s as usize >= self.fat.len() {
                return Err(bad("the mini stream's chain is broken"));
            }
            s = self.fat[s as usize];
        }
        if s == END_OF_CHAIN || s as usize >= self.fat.len() {
            return Err(bad("the mini stream's chain is shorter than its size"));
        }
        Ok(s)
    }
}

fn parse_entry(raw: &[u8], v3: bool) -> Result<Option<Entry>, Error> {
    let kind = match raw[66] {
        0 => return Ok(None),
        1 => EntryKind::Storage,
        2 => EntryKind::Stream,
        5 => EntryKind::Root,
        t => return Err(bad(format!("directory entry of unknown type {t}"))),
    };
    let name_len = usize::from(u16_at(raw, 64));
    if name_len > 64 || name_len % 2 != 0 {
        return Err(bad("a directory entry's name length is over 64 bytes"));
    }
    let units = name_len.saturating_sub(2) / 2;
    let name_utf16 = (0..units).map(|i| u16_at(raw, 2 * i)).collect();
    let mut clsid = [0u8; 16];
    clsid.copy_from_slice(&raw[80..96]);
    let high = if v3 { 0 } else { u64::from(u32_at(raw, 124)) };
    let size = u64::from(u32_at(raw, 120)) | (high << 32);
    let mut state_bits = [0u8; 4];
    state_bits.copy_from_slice(&raw[96..100]);
    let mut created = [0u8; 8];
    created.copy_from_slice(&raw[100..108]);
    let mut modified = [0u8; 8];
    modified.copy_from_slice(&raw[108..116]);
    Ok(Some(Entry {
        name_utf16,
        kind,
        clsid,
        size,
        state_bits,
        created,
        modified,
        start: u32_at(raw, 116),
        left: u32_at(raw, 68),
        right: u32_at(raw, 72),
        child: u32_at(raw, 76),
    }))
}

/// Whether `head` starts like a compound file.
pub fn is_cfb(head: &[u8]) -> bool {
    head.starts_with(&MAGIC)
}
