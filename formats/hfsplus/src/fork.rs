//! A file's fork: its size and the runs of allocation blocks that hold it (eight in the
//! fork record, the rest in the extents-overflow B-tree), read as a stream.

use std::io::{self, Read, Seek, SeekFrom};

use crate::{Error, be32, be64};

/// One run of allocation blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub start: u32,
    pub count: u32,
}

/// An `HFSPlusForkData` record (80 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForkData {
    pub logical_size: u64,
    pub total_blocks: u32,
    pub extents: Vec<Extent>,
}

impl ForkData {
    pub(crate) fn parse(d: &[u8]) -> Self {
        Self {
            logical_size: be64(d, 0),
            total_blocks: be32(d, 12),
            extents: (0..8)
                .map(|i| Extent {
                    start: be32(d, 16 + i * 8),
                    count: be32(d, 20 + i * 8),
                })
                .filter(|e| e.count > 0)
                .collect(),
        }
    }

    pub(crate) fn blocks(&self) -> u64 {
        self.extents.iter().map(|e| e.count as u64).sum()
    }
}

/// The bytes of one fork, in order, read from the device `r` whose volume starts at `base`.
pub struct ForkReader<'a, R> {
    r: &'a mut R,
    base: u64,
    block_size: u64,
    extents: Vec<Extent>,
    size: u64,
    pos: u64,
}

impl<'a, R: Read + Seek> ForkReader<'a, R> {
    /// A reader of `size` bytes over `extents`; the extents must cover `size` (checked).
    pub(crate) fn new(
        r: &'a mut R,
        base: u64,
        block_size: u32,
        extents: Vec<Extent>,
        size: u64,
        total_blocks: u32,
    ) -> Result<Self, Error> {
        let covered: u64 = extents.iter().map(|e| e.count as u64).sum();
        if covered.saturating_mul(block_size as u64) >= size.max(1) || size == 0 {
            Ok(Self {
                r,
                base,
                block_size: block_size as u64,
                extents,
                size,
                pos: 0,
            })
        } else {
            Err(Error::Malformed(format!(
                "a fork of {size} bytes ({total_blocks} blocks) has extents for only {covered} blocks of {block_size} bytes"
            )))
        }
    }

    /// Moves to byte `pos` of the fork.
    pub fn seek_to(&mut self, pos: u64) {
        self.pos = pos.min(self.size);
    }

    /// The device offset of fork byte `pos`, and how many bytes follow it contiguously.
    fn locate(&self, pos: u64) -> Option<(u64, u64)> {
        let mut block = pos / self.block_size;
        for e in &self.extents {
            if block < e.count as u64 {
                let dev =
                    self.base + (e.start as u64 + block) * self.block_size + pos % self.block_size;
                let run = (e.count as u64 - block) * self.block_size - pos % self.block_size;
                return Some((dev, run));
            }
            block -= e.count as u64;
        }
        None
    }
}

impl<R: Read + Seek> Read for ForkReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let (dev, run) = self.locate(self.pos).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "a fork's extents end early")
        })?;
        let n = (buf.len() as u64).min(run).min(self.size - self.pos) as usize;
        self.r.seek(SeekFrom::Start(dev))?;
        self.r.read_exact(&mut buf[..n])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for ForkReader<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = format_zip::seek_target(self.pos, self.size, to)?;
        Ok(self.pos)
    }
}
