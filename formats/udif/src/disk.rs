//! The logical disk of an image as a `Read + Seek`: a read finds the chunks it touches and
//! decompresses only those, keeping the last few in a small cache, and records which chunks
//! it read so that a caller can say how much of the image an inspection needed.

use std::io::{self, Read, Seek, SeekFrom};

use format_compress::{Codec, InflateBudget, OverLimit};

use crate::blkx::{Chunk, ChunkKind};
use crate::{Image, SECTOR};

/// Decompressed chunks kept for the next reads (a B-tree walk comes back to the same
/// chunks often; each is at most `MAX_CHUNK_BYTES`, usually 1 MiB).
const CACHE: usize = 8;

/// A chunk the reader could not read, and why (`unsupported` compressions are not errors
/// of the image: the caller says what it could not see).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRead {
    pub index: usize,
    pub kind: ChunkKind,
    pub sectors: u64,
    pub stored_bytes: u64,
}

/// Why a chunk does not read although the image is well formed.
#[derive(Debug)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

/// The logical disk of an [`Image`].
pub struct Disk<R> {
    r: R,
    chunks: Vec<Chunk>,
    size: u64,
    pos: u64,
    budget: InflateBudget,
    cache: Vec<(usize, Vec<u8>)>,
    read: Vec<bool>,
    stored_bytes_read: u64,
}

impl<R: Read + Seek> Disk<R> {
    /// The disk of `image`, read from `r` (the image file), decompression charged to `budget`.
    pub fn new(r: R, image: &Image, budget: &InflateBudget) -> Self {
        let mut chunks: Vec<Chunk> = image
            .partitions
            .iter()
            .flat_map(|p| p.chunks.iter().cloned())
            .filter(|c| c.sectors > 0)
            .collect();
        chunks.sort_by_key(|c| c.sector);
        let n = chunks.len();
        Self {
            r,
            chunks,
            size: image.disk_size(),
            pos: 0,
            budget: budget.clone(),
            cache: Vec::new(),
            read: vec![false; n],
            stored_bytes_read: 0,
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The chunks read so far (zero chunks included), in disk order.
    pub fn chunks_read(&self) -> Vec<ChunkRead> {
        self.chunks
            .iter()
            .enumerate()
            .filter(|(i, _)| self.read[*i])
            .map(|(i, c)| ChunkRead {
                index: i,
                kind: c.kind,
                sectors: c.sectors,
                stored_bytes: if c.kind == ChunkKind::Zero {
                    0
                } else {
                    c.length
                },
            })
            .collect()
    }

    /// Every chunk of the disk, in disk order.
    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// Bytes of the image file read for chunks so far.
    pub fn stored_bytes_read(&self) -> u64 {
        self.stored_bytes_read
    }

    /// The index of the chunk holding byte `pos`, or where the next one starts.
    fn find(&self, pos: u64) -> Result<usize, u64> {
        let sector = pos / SECTOR;
        let i = self
            .chunks
            .partition_point(|c| c.sector + c.sectors <= sector);
        match self.chunks.get(i) {
            Some(c) if c.sector <= sector => Ok(i),
            Some(c) => Err(c.sector * SECTOR),
            None => Err(self.size),
        }
    }

    fn stored(&mut self, c: &Chunk) -> io::Result<Vec<u8>> {
        self.r.seek(SeekFrom::Start(c.offset))?;
        let mut b = vec![0u8; c.length as usize];
        self.r.read_exact(&mut b)?;
        self.stored_bytes_read += c.length;
        Ok(b)
    }

    /// The decompressed bytes of chunk `i`, from the cache or the file.
    fn chunk(&mut self, i: usize) -> io::Result<&[u8]> {
        if let Some(at) = self.cache.iter().position(|(j, _)| *j == i) {
            let e = self.cache.remove(at);
            self.cache.push(e);
            return Ok(&self.cache.last().expect("just pushed").1);
        }
        let c = self.chunks[i].clone();
        let want = (c.sectors * SECTOR) as usize;
        let unsupported = |what: &str| {
            io::Error::other(Unsupported(format!(
                "chunk {i} (sectors {}..{}) is {what}, which this reader does not decompress",
                c.sector,
                c.sector + c.sectors
            )))
        };
        let data = match c.kind {
            ChunkKind::Zlib => {
                let s = self.stored(&c)?;
                format_compress::zlib_block(&s, want, &self.budget)?
            }
            ChunkKind::Bzip2 => {
                let s = self.stored(&c)?;
                format_compress::decompress_block(Codec::Bzip2, &s, want, &self.budget)?
            }
            ChunkKind::Lzma => {
                let s = self.stored(&c)?;
                // hdiutil's ULMO chunks are xz streams; a bare LZMA stream is read too.
                let codec = match Codec::sniff(&s) {
                    Codec::Lzma => Codec::Lzma,
                    _ => Codec::Xz,
                };
                format_compress::decompress_block(codec, &s, want, &self.budget)?
            }
            ChunkKind::Lzfse => {
                let s = self.stored(&c)?;
                format_compress::lzfse_block(&s, want, &self.budget)?
            }
            ChunkKind::Adc => return Err(unsupported("ADC-compressed")),
            ChunkKind::Other(t) => return Err(unsupported(&format!("of type 0x{t:08x}"))),
            ChunkKind::Zero | ChunkKind::Raw => unreachable!("not cached"),
        };
        if data.len() != want {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "chunk {i} decompresses to {} bytes, not the {want} its {} sectors need",
                    data.len(),
                    c.sectors
                ),
            ));
        }
        if self.cache.len() >= CACHE {
            self.cache.remove(0);
        }
        self.cache.push((i, data));
        Ok(&self.cache.last().expect("just pushed").1)
    }
}

impl<R: Read + Seek> Read for Disk<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.size {
            return Ok(0);
        }
        let pos = self.pos;
        let n = match self.find(pos) {
            // A gap no chunk covers reads as zeros, as hdiutil attaches it.
            Err(next) => {
                let n = buf.len().min((next - pos) as usize);
                buf[..n].fill(0);
                n
            }
            Ok(i) => {
                self.read[i] = true;
                let c = self.chunks[i].clone();
                let start = pos - c.sector * SECTOR;
                let avail = (c.sectors * SECTOR - start) as usize;
                let n = buf.len().min(avail);
                match c.kind {
                    ChunkKind::Zero => {
                        buf[..n].fill(0);
                    }
                    ChunkKind::Raw => {
                        self.budget.charge(n as u64)?;
                        self.r.seek(SeekFrom::Start(c.offset + start))?;
                        self.r.read_exact(&mut buf[..n])?;
                        self.stored_bytes_read += n as u64;
                    }
                    _ => {
                        let d = self.chunk(i)?;
                        buf[..n].copy_from_slice(&d[start as usize..start as usize + n]);
                    }
                }
                n
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Disk<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = format_zip::seek_target(self.pos, self.size, to)?;
        Ok(self.pos)
    }
}

/// Whether an I/O error from a [`Disk`] is an unsupported chunk rather than damage.
pub fn unsupported(e: &io::Error) -> Option<&str> {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<Unsupported>())
        .map(|u| u.0.as_str())
}

/// Whether an I/O error is the budget running out.
pub fn over_budget(e: &io::Error) -> Option<&OverLimit> {
    format_compress::over_limit(e)
}
