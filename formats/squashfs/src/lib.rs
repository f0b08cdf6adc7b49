//! A reader of squashfs 4.0 images, enough to look inside an AppImage: the superblock, a
//! directory's entries, a symlink's target and a small file's bytes (data blocks and tail
//! fragments). Blocks are decompressed through `format-compress` (gzip images store zlib
//! streams; xz, lzma and zstd too) and charged to the inspection's budget; lzo and lz4
//! images are refused by name.
//!
//! It owns the on-disk format only and reads through `Read + Seek` at an offset (an
//! AppImage's image starts after its ELF runtime). It never extracts anything to disk,
//! bounds every table, listing and file it reads, and answers corruption with an error.

use std::io::{self, Read, Seek, SeekFrom};

use format_compress::{Codec, InflateBudget};

pub const MAGIC: &[u8; 4] = b"hsqs";
/// A metadata block holds at most 8 KiB uncompressed.
const META_MAX: usize = 8192;
/// Largest data block squashfs allows (1 MiB).
const BLOCK_MAX: u32 = 1 << 20;
/// Entries one directory listing may hold here.
pub const MAX_DIR_ENTRIES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    #[error("not a squashfs image (no hsqs magic)")]
    NotSquashfs,
    #[error("malformed squashfs: {0}")]
    Malformed(String),
    #[error("squashfs compressed with {0}, which dist does not read")]
    UnsupportedCompressor(&'static str),
    #[error("over a limit: {0}")]
    Limit(String),
}

fn bad(m: impl Into<String>) -> Error {
    Error::Malformed(m.into())
}

/// The superblock fields this reader uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    pub inode_count: u32,
    pub block_size: u32,
    pub fragment_count: u32,
    /// 1 gzip, 2 lzma, 3 lzo, 4 xz, 5 lz4, 6 zstd.
    pub compressor: u16,
    pub flags: u16,
    pub version: (u16, u16),
    pub root_inode: u64,
    pub bytes_used: u64,
    pub inode_table: u64,
    pub directory_table: u64,
    pub fragment_table: u64,
}

impl Superblock {
    pub fn compressor_name(&self) -> &'static str {
        match self.compressor {
            1 => "gzip",
            2 => "lzma",
            3 => "lzo",
            4 => "xz",
            5 => "lz4",
            6 => "zstd",
            _ => "unknown",
        }
    }
}

fn le16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn le64(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// Parses a superblock from its 96 bytes.
pub fn superblock(b: &[u8]) -> Result<Superblock, Error> {
    if !b.starts_with(MAGIC) {
        return Err(Error::NotSquashfs);
    }
    if b.len() < 96 {
        return Err(bad("the superblock is truncated"));
    }
    let sb = Superblock {
        inode_count: le32(b, 4),
        block_size: le32(b, 12),
        fragment_count: le32(b, 16),
        compressor: le16(b, 20),
        flags: le16(b, 24),
        version: (le16(b, 28), le16(b, 30)),
        root_inode: le64(b, 32),
        bytes_used: le64(b, 40),
        inode_table: le64(b, 64),
        directory_table: le64(b, 72),
        fragment_table: le64(b, 80),
    };
    if sb.version.0 != 4 {
        return Err(bad(format!(
            "version {}.{}; only squashfs 4.0 is read",
            sb.version.0, sb.version.1
        )));
    }
    if !sb.block_size.is_power_of_two() || !(4096..=BLOCK_MAX).contains(&sb.block_size) {
        return Err(bad(format!(
            "block size {} is not a power of two from 4 KiB to 1 MiB",
            sb.block_size
        )));
    }
    Ok(sb)
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    Symlink,
    Other(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
    /// `(metadata block offset in the inode table) << 16 | offset in the block`.
    pub inode: u64,
}

/// An open image.
pub struct Image<'a, R: Read + Seek + ?Sized> {
    r: &'a mut R,
    /// Where the image starts in the file.
    base: u64,
    /// Bytes of the image available in the file.
    len: u64,
    pub sb: Superblock,
    codec: Codec,
    budget: InflateBudget,
}

/// A sequential reader of a metadata stream, loading blocks as it goes.
struct Meta {
    pos: u64,
    buf: Vec<u8>,
    at: usize,
}

impl<'a, R: Read + Seek + ?Sized> Image<'a, R> {
    /// Opens the image at `base` of a reader holding `size` bytes in all.
    pub fn open(r: &'a mut R, base: u64, size: u64, budget: &InflateBudget) -> Result<Self, Error> {
        let mut b = [0u8; 96];
        if size < base.saturating_add(96) {
            return Err(bad("the image is shorter than its superblock"));
        }
        r.seek(SeekFrom::Start(base))?;
        r.read_exact(&mut b)?;
        let sb = superblock(&b)?;
        let codec = match sb.compressor {
            1 => Codec::Gzip,
            2 => Codec::Lzma,
            4 => Codec::Xz,
            6 => Codec::Zstd,
            3 => return Err(Error::UnsupportedCompressor("lzo")),
            5 => return Err(Error::UnsupportedCompressor("lz4")),
            c => return Err(bad(format!("unknown compressor id {c}"))),
        };
        let len = size - base;
        if sb.bytes_used > len {
            return Err(bad(format!(
                "the image says it uses {} bytes but {} are in the file: it is truncated",
                sb.bytes_used, len
            )));
        }
        for (what, at) in [
            ("inode table", sb.inode_table),
            ("directory table", sb.directory_table),
        ] {
            if at >= sb.bytes_used {
                return Err(bad(format!("the {what} starts past the image's end")));
            }
        }
        Ok(Self {
            r,
            base,
            len: sb.bytes_used.min(len),
            sb,
            codec,
            budget: budget.clone(),
        })
    }

    fn decompress(&self, data: &[u8], max: usize) -> Result<Vec<u8>, Error> {
        let out = match self.codec {
            Codec::Gzip => format_compress::zlib_block(data, max, &self.budget),
            c => format_compress::decompress_block(c, data, max, &self.budget),
        };
        out.map_err(|e| {
            if format_compress::over_limit(&e).is_some() {
                Error::Io(e)
            } else {
                bad(format!(
                    "a {} block does not decompress: {e}",
                    self.sb.compressor_name()
                ))
            }
        })
    }

    fn read_at(&mut self, pos: u64, n: usize) -> Result<Vec<u8>, Error> {
        if pos.checked_add(n as u64).is_none_or(|e| e > self.len) {
            return Err(bad(format!("{n} bytes at {pos} lie past the image's end")));
        }
        let mut v = vec![0u8; n];
        self.r.seek(SeekFrom::Start(self.base + pos))?;
        self.r.read_exact(&mut v)?;
        Ok(v)
    }

    /// Loads the metadata block at `pos`; returns its bytes and the next block's position.
    fn meta_block(&mut self, pos: u64) -> Result<(Vec<u8>, u64), Error> {
        let h = self.read_at(pos, 2)?;
        let word = le16(&h, 0);
        let size = usize::from(word & 0x7fff);
        if size == 0 || size > META_MAX {
            return Err(bad(format!("metadata block at {pos} has size {size}")));
        }
        let raw = self.read_at(pos + 2, size)?;
        let data = if word & 0x8000 != 0 {
            raw
        } else {
            self.decompress(&raw, META_MAX)?
        };
        Ok((data, pos + 2 + size as u64))
    }

    fn meta(&mut self, table: u64, block: u64, offset: usize) -> Result<Meta, Error> {
        let pos = table
            .checked_add(block)
            .ok_or_else(|| bad("metadata reference overflows"))?;
        let (buf, next) = self.meta_block(pos)?;
        if offset > buf.len() {
            return Err(bad("metadata reference points past its block"));
        }
        Ok(Meta {
            pos: next,
            buf,
            at: offset,
        })
    }

    fn take(&mut self, m: &mut Meta, n: usize) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(n.min(1 << 16));
        while out.len() < n {
            if m.at == m.buf.len() {
                let (b, next) = self.meta_block(m.pos)?;
                m.buf = b;
                m.pos = next;
                m.at = 0;
            }
            let k = (n - out.len()).min(m.buf.len() - m.at);
            out.extend_from_slice(&m.buf[m.at..m.at + k]);
            m.at += k;
        }
        Ok(out)
    }

    fn inode(&mut self, iref: u64) -> Result<(u16, Meta), Error> {
        let mut m = self.meta(self.sb.inode_table, iref >> 16, (iref & 0xffff) as usize)?;
        let h = self.take(&mut m, 16)?;
        Ok((le16(&h, 0), m))
    }

    /// The entries of the root directory.
    pub fn root(&mut self) -> Result<Vec<DirEntry>, Error> {
        self.list(self.sb.root_inode)
    }

    /// The entries of the directory whose inode is `iref`.
    pub fn list(&mut self, iref: u64) -> Result<Vec<DirEntry>, Error> {
        let (ty, mut m) = self.inode(iref)?;
        let (start, size, offset) = match ty {
            1 => {
                let b = self.take(&mut m, 16)?;
                (
                    u64::from(le32(&b, 0)),
                    u64::from(le16(&b, 8)),
                    usize::from(le16(&b, 10)),
                )
            }
            8 => {
                let b = self.take(&mut m, 24)?;
                (
                    u64::from(le32(&b, 8)),
                    u64::from(le32(&b, 4)),
                    usize::from(le16(&b, 18)),
                )
            }
            t => return Err(bad(format!("inode type {t} is not a directory"))),
        };
        // The listing's size counts 3 bytes for `.` and `..`, which are not stored.
        let size = size.saturating_sub(3) as usize;
        if size > MAX_DIR_ENTRIES * 300 {
            return Err(Error::Limit(format!("a directory listing of {size} bytes")));
        }
        let mut m = self.meta(self.sb.directory_table, start, offset)?;
        let data = self.take(&mut m, size)?;
        let mut out = Vec::new();
        let mut p = 0;
        while p + 12 <= data.len() {
            let count = le32(&data, p) as usize + 1;
            let block = u64::from(le32(&data, p + 4));
            p += 12;
            if count > 256 {
                return Err(bad(format!(
                    "a directory header claims {count} entries (at most 256)"
                )));
            }
            for _ in 0..count {
                let e = data
                    .get(p..p + 8)
                    .ok_or_else(|| bad("a directory entry is truncated"))?;
                let off = u64::from(le16(e, 0));
                let kind = le16(e, 4);
                let nlen = usize::from(le16(e, 6)) + 1;
                let name = data
                    .get(p + 8..p + 8 + nlen)
                    .ok_or_else(|| bad("a directory entry's name is truncated"))?;
                p += 8 + nlen;
                let name = String::from_utf8_lossy(name).into_owned();
                if name.contains('/') || name == "." || name == ".." {
                    return Err(bad(format!("directory entry name {name:?}")));
                }
                out.push(DirEntry {
                    name,
                    kind: match kind {
                        1 | 8 => EntryKind::Dir,
                        2 | 9 => EntryKind::File,
                        3 | 10 => EntryKind::Symlink,
                        k => EntryKind::Other(k),
                    },
                    inode: (block << 16) | off,
                });
                if out.len() > MAX_DIR_ENTRIES {
                    return Err(Error::Limit(format!(
                        "more than {MAX_DIR_ENTRIES} entries in one directory"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// The entry at `path` (relative to the root), following relative symlinks (at most 8
    /// hops) but never out of the image: an absolute or escaping link resolves to nothing.
    pub fn lookup(&mut self, path: &str) -> Result<Option<DirEntry>, Error> {
        let split = |p: &str| -> std::collections::VecDeque<String> {
            p.split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .map(str::to_owned)
                .collect()
        };
        let mut comps = split(path);
        let mut parents: Vec<u64> = Vec::new();
        let mut dir = self.sb.root_inode;
        let mut hops = 0;
        while let Some(c) = comps.pop_front() {
            if c == ".." {
                if parents.pop().is_none() {
                    return Ok(None);
                }
                dir = parents.last().copied().unwrap_or(self.sb.root_inode);
                continue;
            }
            let Some(e) = self.list(dir)?.into_iter().find(|e| e.name == c) else {
                return Ok(None);
            };
            match e.kind {
                EntryKind::Symlink => {
                    hops += 1;
                    let target = self.read_link(e.inode)?;
                    if hops > 8 || target.starts_with('/') {
                        return Ok(None);
                    }
                    let mut next = split(&target);
                    next.extend(comps);
                    comps = next;
                }
                EntryKind::Dir if !comps.is_empty() => {
                    parents.push(e.inode);
                    dir = e.inode;
                }
                _ if comps.is_empty() => return Ok(Some(e)),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// A symlink's target.
    pub fn read_link(&mut self, iref: u64) -> Result<String, Error> {
        let (ty, mut m) = self.inode(iref)?;
        if !matches!(ty, 3 | 10) {
            return Err(bad(format!("inode type {ty} is not a symlink")));
        }
        let b = self.take(&mut m, 8)?;
        let n = le32(&b, 4) as usize;
        if n > 4096 {
            return Err(bad(format!("a symlink target of {n} bytes")));
        }
        Ok(String::from_utf8_lossy(&self.take(&mut m, n)?).into_owned())
    }

    /// A regular file's bytes, refused when longer than `max`.
    pub fn read_file(&mut self, iref: u64, max: u64) -> Result<Vec<u8>, Error> {
        let (ty, mut m) = self.inode(iref)?;
        let (blocks_start, size, frag, frag_off) = match ty {
            2 => {
                let b = self.take(&mut m, 16)?;
                (
                    u64::from(le32(&b, 0)),
                    u64::from(le32(&b, 12)),
                    le32(&b, 4),
                    le32(&b, 8),
                )
            }
            9 => {
                let b = self.take(&mut m, 40)?;
                (le64(&b, 0), le64(&b, 8), le32(&b, 28), le32(&b, 32))
            }
            t => return Err(bad(format!("inode type {t} is not a regular file"))),
        };
        if size > max {
            return Err(Error::Limit(format!(
                "a file of {size} bytes, more than {max}"
            )));
        }
        let bs = u64::from(self.sb.block_size);
        let has_frag = frag != u32::MAX;
        let full = if has_frag {
            size / bs
        } else {
            size.div_ceil(bs)
        };
        let sizes = self.take(&mut m, full as usize * 4)?;
        let mut out = Vec::with_capacity(size as usize);
        let mut pos = blocks_start;
        for c in sizes.chunks_exact(4) {
            let w = le32(c, 0);
            let n = w & 0x00ff_ffff;
            let want = (size - out.len() as u64).min(bs) as usize;
            if n == 0 {
                out.resize(out.len() + want, 0); // a sparse block
                continue;
            }
            if n > BLOCK_MAX {
                return Err(bad(format!("a data block of {n} bytes")));
            }
            let raw = self.read_at(pos, n as usize)?;
            pos += u64::from(n);
            let data = if w & (1 << 24) != 0 {
                raw
            } else {
                self.decompress(&raw, bs as usize)?
            };
            if data.len() < want {
                return Err(bad("a data block is shorter than the file says"));
            }
            out.extend_from_slice(&data[..want]);
        }
        if has_frag && (out.len() as u64) < size {
            let (start, fsize) = self.fragment(frag)?;
            let n = fsize & 0x00ff_ffff;
            if n > BLOCK_MAX {
                return Err(bad(format!("a fragment block of {n} bytes")));
            }
            let raw = self.read_at(start, n as usize)?;
            let data = if fsize & (1 << 24) != 0 {
                raw
            } else {
                self.decompress(&raw, bs as usize)?
            };
            let want = (size - out.len() as u64) as usize;
            let piece = data
                .get(frag_off as usize..frag_off as usize + want)
                .ok_or_else(|| bad("a file's tail lies past its fragment block"))?;
            out.extend_from_slice(piece);
        }
        Ok(out)
    }

    fn fragment(&mut self, index: u32) -> Result<(u64, u32), Error> {
        if index >= self.sb.fragment_count {
            return Err(bad(format!(
                "fragment {index} of {}",
                self.sb.fragment_count
            )));
        }
        let ptr_at = self.sb.fragment_table + u64::from(index / 512) * 8;
        let p = self.read_at(ptr_at, 8)?;
        let block = le64(&p, 0);
        let mut m = self.meta(0, block, (index % 512) as usize * 16)?;
        let e = self.take(&mut m, 16)?;
        Ok((le64(&e, 0), le32(&e, 8)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superblock_is_checked() {
        assert!(matches!(superblock(b"nope"), Err(Error::NotSquashfs)));
        let mut b = vec![0u8; 96];
        b[..4].copy_from_slice(MAGIC);
        b[28] = 4;
        b[12..16].copy_from_slice(&131072u32.to_le_bytes());
        assert!(superblock(&b).is_ok());
        b[12..16].copy_from_slice(&1000u32.to_le_bytes());
        assert!(superblock(&b).is_err());
        assert!(superblock(&b[..50]).is_err());
    }
}
