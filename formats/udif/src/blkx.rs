//! The block map: one `blkx` resource per partition, each a `mish` table of chunks that
//! say where each run of sectors of the logical disk is stored and how. The resources come
//! from the XML property list (`resource-fork` → `blkx` → `Data`) or, in images written
//! before the property list existed, from a classic Mac resource fork.

use crate::koly::{Checksum, Koly};
use crate::{
    Error, MAX_CHUNK_BYTES, MAX_CHUNKS, MAX_DISK_BYTES, MAX_PARTITIONS, SECTOR, be16, be32, be64,
};

/// How one chunk is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKind {
    /// Sectors of zeros, stored as nothing (types 0 and 2).
    Zero,
    /// Stored as is (type 1).
    Raw,
    /// Apple Data Compression (0x80000004): not read.
    Adc,
    /// zlib (0x80000005).
    Zlib,
    /// bzip2 (0x80000006).
    Bzip2,
    /// LZFSE (0x80000007).
    Lzfse,
    /// LZMA in an xz container (0x80000008, "ULMO").
    Lzma,
    /// A type this reader does not know.
    Other(u32),
}

impl ChunkKind {
    fn from_type(t: u32) -> Self {
        match t {
            0 | 2 => ChunkKind::Zero,
            1 => ChunkKind::Raw,
            0x8000_0004 => ChunkKind::Adc,
            0x8000_0005 => ChunkKind::Zlib,
            0x8000_0006 => ChunkKind::Bzip2,
            0x8000_0007 => ChunkKind::Lzfse,
            0x8000_0008 => ChunkKind::Lzma,
            t => ChunkKind::Other(t),
        }
    }

    pub fn name(&self) -> String {
        match self {
            ChunkKind::Zero => "zero".into(),
            ChunkKind::Raw => "raw".into(),
            ChunkKind::Adc => "adc".into(),
            ChunkKind::Zlib => "zlib".into(),
            ChunkKind::Bzip2 => "bzip2".into(),
            ChunkKind::Lzfse => "lzfse".into(),
            ChunkKind::Lzma => "lzma".into(),
            ChunkKind::Other(t) => format!("0x{t:08x}"),
        }
    }

    /// Whether reading the chunk means decompressing it.
    pub fn compressed(&self) -> bool {
        !matches!(self, ChunkKind::Zero | ChunkKind::Raw)
    }
}

/// One run of sectors of the logical disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub kind: ChunkKind,
    /// First sector on the logical disk.
    pub sector: u64,
    pub sectors: u64,
    /// Where the stored bytes are in the image file.
    pub offset: u64,
    pub length: u64,
}

/// One `blkx` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The resource's name, such as `disk image (Apple_HFS : 2)`.
    pub name: String,
    pub first_sector: u64,
    pub sector_count: u64,
    /// CRC32 of the partition's decompressed bytes (not checked: that would read them all).
    pub checksum: Checksum,
    pub chunks: Vec<Chunk>,
}

const MISH_HEADER: usize = 204;
const CHUNK_SIZE: usize = 40;

/// Parses one `mish` table.
pub(crate) fn parse_mish(name: &str, d: &[u8], koly: &Koly) -> Result<Partition, Error> {
    let bad = |m: String| Error::Malformed(format!("block table {name:?}: {m}"));
    if d.len() < MISH_HEADER || &d[..4] != b"mish" {
        return Err(bad("not a mish table".into()));
    }
    let first_sector = be64(d, 8);
    let sector_count = be64(d, 16);
    let data_offset = be64(d, 24);
    let checksum = Checksum::parse(d, 64);
    let n = be32(d, 200) as usize;
    if n > (d.len() - MISH_HEADER) / CHUNK_SIZE {
        return Err(bad(format!(
            "it counts {n} chunks but holds {} bytes",
            d.len()
        )));
    }
    let fork_end = koly.data_fork_offset + koly.data_fork_length;
    let mut chunks = Vec::with_capacity(n);
    for i in 0..n {
        let c = &d[MISH_HEADER + i * CHUNK_SIZE..MISH_HEADER + (i + 1) * CHUNK_SIZE];
        let t = be32(c, 0);
        // Comments mark `+beg`/`+end`; the terminator closes the table.
        if t == 0x7fff_fffe {
            continue;
        }
        if t == 0xffff_ffff {
            break;
        }
        let kind = ChunkKind::from_type(t);
        let (sector, sectors) = (be64(c, 8), be64(c, 16));
        let sector = first_sector
            .checked_add(sector)
            .filter(|s| {
                s.checked_add(sectors)
                    .and_then(|e| e.checked_mul(SECTOR))
                    .is_some_and(|b| b <= MAX_DISK_BYTES)
            })
            .ok_or_else(|| bad(format!("chunk {i} lies past the largest disk accepted")))?;
        let offset = koly
            .data_fork_offset
            .checked_add(data_offset)
            .and_then(|o| o.checked_add(be64(c, 24)))
            .ok_or_else(|| bad(format!("chunk {i}'s offset overflows")))?;
        let length = be64(c, 32);
        if kind != ChunkKind::Zero && offset.checked_add(length).is_none_or(|e| e > fork_end) {
            return Err(bad(format!(
                "chunk {i} ({length} bytes at {offset}) runs past the data fork, which ends at {fork_end}"
            )));
        }
        if kind.compressed() && sectors * SECTOR > MAX_CHUNK_BYTES {
            return Err(Error::Limit(format!(
                "block table {name:?}: chunk {i} decompresses to {} bytes, more than the limit of {MAX_CHUNK_BYTES}",
                sectors * SECTOR
            )));
        }
        if kind.compressed() && length > MAX_CHUNK_BYTES {
            return Err(Error::Limit(format!(
                "block table {name:?}: chunk {i} stores {length} bytes, more than the limit of {MAX_CHUNK_BYTES}"
            )));
        }
        if kind == ChunkKind::Raw && length != sectors * SECTOR {
            return Err(bad(format!(
                "raw chunk {i} stores {length} bytes for {sectors} sectors"
            )));
        }
        chunks.push(Chunk {
            kind,
            sector,
            sectors,
            offset,
            length,
        });
    }
    Ok(Partition {
        name: name.to_owned(),
        first_sector,
        sector_count,
        checksum,
        chunks,
    })
}

/// Checks the whole map: bounded counts, no two chunks covering the same sector.
fn finish(mut parts: Vec<Partition>) -> Result<Vec<Partition>, Error> {
    if parts.is_empty() {
        return Err(Error::Malformed("the block map lists no partition".into()));
    }
    let total: usize = parts.iter().map(|p| p.chunks.len()).sum();
    if total > MAX_CHUNKS {
        return Err(Error::Limit(format!(
            "the block map lists {total} chunks, more than the limit of {MAX_CHUNKS}"
        )));
    }
    let mut runs: Vec<(u64, u64)> = parts
        .iter()
        .flat_map(|p| p.chunks.iter())
        .filter(|c| c.sectors > 0)
        .map(|c| (c.sector, c.sector + c.sectors))
        .collect();
    runs.sort_unstable();
    if let Some(w) = runs.windows(2).find(|w| w[1].0 < w[0].1) {
        return Err(Error::Malformed(format!(
            "two chunks both cover sector {}",
            w[1].0
        )));
    }
    parts.sort_by_key(|p| p.first_sector);
    Ok(parts)
}

/// The partitions of the XML property list.
pub(crate) fn from_xml(xml: &[u8], koly: &Koly) -> Result<Vec<Partition>, Error> {
    let v = plist::Value::from_reader_xml(xml)
        .map_err(|e| Error::Malformed(format!("the property list does not parse: {e}")))?;
    let blkx = v
        .as_dictionary()
        .and_then(|d| d.get("resource-fork"))
        .and_then(|r| r.as_dictionary())
        .and_then(|r| r.get("blkx"))
        .and_then(|b| b.as_array())
        .ok_or_else(|| {
            Error::Malformed("the property list has no resource-fork → blkx array".into())
        })?;
    if blkx.len() > MAX_PARTITIONS {
        return Err(Error::Limit(format!(
            "the block map lists {} partitions, more than the limit of {MAX_PARTITIONS}",
            blkx.len()
        )));
    }
    let mut parts = Vec::with_capacity(blkx.len());
    for (i, e) in blkx.iter().enumerate() {
        let d = e.as_dictionary();
        let name = d
            .and_then(|d| d.get("CFName").or_else(|| d.get("Name")))
            .and_then(|n| n.as_string())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("blkx {i}"));
        let data = d
            .and_then(|d| d.get("Data"))
            .and_then(|d| d.as_data())
            .ok_or_else(|| Error::Malformed(format!("blkx entry {i} has no Data")))?;
        parts.push(parse_mish(&name, data, koly)?);
    }
    finish(parts)
}

/// The `blkx` resources of a classic resource fork: a 16-byte header (data and map
/// offsets), the map's type list, each type's reference list, each resource's data
/// prefixed by its length.
pub(crate) fn from_resource_fork(r: &[u8], koly: &Koly) -> Result<Vec<Partition>, Error> {
    let bad = |m: &str| Error::Malformed(format!("resource fork: {m}"));
    let get = |o: usize, n: usize| -> Result<&[u8], Error> {
        r.get(o..o.checked_add(n).ok_or_else(|| bad("offset overflows"))?)
            .ok_or_else(|| bad("a reference points past its end"))
    };
    let h = get(0, 16)?;
    let (data_off, map_off) = (be32(h, 0) as usize, be32(h, 4) as usize);
    let map = get(map_off, 30)?;
    let type_list = map_off + be16(map, 24) as usize;
    let name_list = map_off + be16(map, 26) as usize;
    let types = be16(get(type_list, 2)?, 0).wrapping_add(1) as usize;
    let mut parts = Vec::new();
    for t in 0..types {
        let e = get(type_list + 2 + t * 8, 8)?;
        if &e[..4] != b"blkx" {
            continue;
        }
        let count = be16(e, 4) as usize + 1;
        if count > MAX_PARTITIONS {
            return Err(Error::Limit(format!(
                "the block map lists {count} partitions, more than the limit of {MAX_PARTITIONS}"
            )));
        }
        let refs = type_list + be16(e, 6) as usize;
        for i in 0..count {
            let re = get(refs + i * 12, 12)?;
            let name_off = be16(re, 2);
            let off = (be32(re, 4) & 0x00ff_ffff) as usize;
            let at = data_off + off;
            let len = be32(get(at, 4)?, 0) as usize;
            let data = get(at + 4, len)?;
            let name = if name_off == 0xffff {
                format!("blkx {i}")
            } else {
                let at = name_list + name_off as usize;
                let n = get(at, 1)?[0] as usize;
                String::from_utf8_lossy(get(at + 1, n)?).into_owned()
            };
            parts.push(parse_mish(&name, data, koly)?);
        }
    }
    finish(parts)
}
