//! UDIF, the format of macOS disk images (`.dmg`): the 512-byte `koly` trailer at the end of
//! the file, the block map (`blkx` resources, in the XML property list the trailer points at
//! or, in old images, in a classic resource fork), each partition's `mish` table of chunks,
//! and a random-access reader over the logical disk those chunks describe that decompresses
//! only the chunks a read touches (zlib, bzip2, LZFSE and LZMA through `formats/compress`,
//! raw and zero chunks directly; ADC chunks are named, not read). It also reads the partition map of that disk (Apple partition map,
//! GPT, MBR, or none) and tells which file system each partition starts with.
//!
//! A format crate: it reads and checks, it does not judge. It knows no `platform` type and
//! produces facts and typed errors, never findings. It never writes anything to disk. Every
//! length read from the file is checked against the file's size and the caps below before
//! anything is allocated, and every decompressed byte is charged to the caller's
//! [`InflateBudget`]. What is inside a partition (HFS+, APFS) belongs to other crates.

mod blkx;
mod disk;
mod koly;
pub mod partition;

use std::io::{self, SeekFrom};

pub use blkx::{Chunk, ChunkKind, Partition};
pub use disk::{ChunkRead, Disk, over_budget, unsupported};
pub use format_compress::InflateBudget;
pub use format_zip::ReadSeek;
pub use koly::{Checksum, Koly};

/// Size of the trailer.
pub const KOLY_SIZE: u64 = 512;
/// Sector size of the logical disk (UDIF counts in 512-byte sectors).
pub const SECTOR: u64 = 512;
/// Largest XML property list or resource fork read (real ones are tens of KiB).
pub const MAX_MAP_BYTES: u64 = 16 << 20;
/// Most partitions (`blkx` entries) one image may list.
pub const MAX_PARTITIONS: usize = 256;
/// Most chunks over all partitions.
pub const MAX_CHUNKS: usize = 1 << 20;
/// Largest chunk that is decompressed into memory (hdiutil writes at most 1 MiB).
pub const MAX_CHUNK_BYTES: u64 = 64 << 20;
/// Largest logical disk accepted (16 TiB).
pub const MAX_DISK_BYTES: u64 = 1 << 44;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("not a UDIF disk image: {0}")]
    NotUdif(String),
    #[error(
        "the disk image is encrypted ({0} header): its contents cannot be read without the password"
    )]
    Encrypted(&'static str),
    #[error("malformed disk image: {0}")]
    Malformed(String),
    #[error("{0}")]
    Limit(String),
    #[error("reading the disk image: {0}")]
    Io(#[from] io::Error),
}

/// The encryption header an encrypted image carries instead of a koly trailer: `encrcdsa`
/// at the start (version 2) or `cdsaencr` at the end (version 1).
pub fn encryption(head: &[u8], tail: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"encrcdsa") {
        Some("encrcdsa")
    } else if tail.ends_with(b"cdsaencr") {
        Some("cdsaencr")
    } else {
        None
    }
}

/// Whether the last bytes of a file are a koly trailer (`tail` ends where the file ends).
pub fn has_koly(tail: &[u8]) -> bool {
    tail.len() >= KOLY_SIZE as usize && tail[tail.len() - KOLY_SIZE as usize..].starts_with(b"koly")
}

/// An opened image: the trailer and the block map.
#[derive(Debug, Clone)]
pub struct Image {
    pub koly: Koly,
    pub partitions: Vec<Partition>,
    /// Where the block map was read from: `xml` or `resource-fork`.
    pub map_source: &'static str,
    /// The master checksum (CRC32 over the partitions' checksums) checked against the map:
    /// `Some(true)` matches, `Some(false)` does not, `None` when not CRC32.
    pub master_checksum_ok: Option<bool>,
}

impl Image {
    /// Reads the trailer and the block map of the image `r` of `size` bytes.
    pub fn open(r: &mut dyn ReadSeek, size: u64) -> Result<Self, Error> {
        let head = read_at(r, 0, 8.min(size) as usize)?;
        let tail_len = 8.min(size);
        let tail = read_at(r, size - tail_len, tail_len as usize)?;
        if let Some(kind) = encryption(&head, &tail) {
            return Err(Error::Encrypted(kind));
        }
        if size < KOLY_SIZE {
            return Err(Error::NotUdif(format!(
                "{size} bytes, shorter than the 512-byte trailer"
            )));
        }
        let trailer = read_at(r, size - KOLY_SIZE, KOLY_SIZE as usize)?;
        let koly = Koly::parse(&trailer, size)?;
        let (partitions, map_source) = if koly.xml_length > 0 {
            let xml = read_at(r, koly.xml_offset, koly.xml_length as usize)?;
            (blkx::from_xml(&xml, &koly)?, "xml")
        } else if koly.rsrc_fork_length > 0 {
            let rsrc = read_at(r, koly.rsrc_fork_offset, koly.rsrc_fork_length as usize)?;
            (blkx::from_resource_fork(&rsrc, &koly)?, "resource-fork")
        } else {
            return Err(Error::Malformed(
                "the trailer points at neither a property list nor a resource fork".into(),
            ));
        };
        let master_checksum_ok = koly.master_checksum.crc32().map(|want| {
            let mut crc = flate2::Crc::new();
            for p in &partitions {
                if let Some(c) = p.checksum.crc32() {
                    crc.update(&c.to_be_bytes());
                }
            }
            crc.sum() == want
        });
        Ok(Self {
            koly,
            partitions,
            map_source,
            master_checksum_ok,
        })
    }

    /// Number of chunks over all partitions, terminators and comments left out.
    pub fn chunk_count(&self) -> usize {
        self.partitions.iter().map(|p| p.chunks.len()).sum()
    }

    /// Size of the logical disk in bytes: the end of the last chunk.
    pub fn disk_size(&self) -> u64 {
        self.partitions
            .iter()
            .flat_map(|p| p.chunks.iter())
            .map(|c| (c.sector + c.sectors) * SECTOR)
            .max()
            .unwrap_or(0)
    }

    /// CRC32 over the data fork, streamed from `r`: a pass over the whole compressed image
    /// (the verification pass), `None` when the trailer's data checksum is not CRC32.
    pub fn check_data_fork(&self, r: &mut dyn ReadSeek) -> Result<Option<bool>, Error> {
        let Some(want) = self.koly.data_checksum.crc32() else {
            return Ok(None);
        };
        r.seek(SeekFrom::Start(self.koly.data_fork_offset))?;
        let mut crc = flate2::Crc::new();
        let mut left = self.koly.data_fork_length;
        let mut buf = vec![0u8; 1 << 16];
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            r.read_exact(&mut buf[..n])?;
            crc.update(&buf[..n]);
            left -= n as u64;
        }
        Ok(Some(crc.sum() == want))
    }
}

/// `len` bytes at `off`, short reads an error (the caller bounded `len`).
pub(crate) fn read_at(r: &mut dyn ReadSeek, off: u64, len: usize) -> Result<Vec<u8>, Error> {
    r.seek(SeekFrom::Start(off))?;
    let mut b = vec![0u8; len];
    r.read_exact(&mut b).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::Malformed(format!("the file ends before byte {}", off + len as u64))
        } else {
            Error::Io(e)
        }
    })?;
    Ok(b)
}

pub(crate) use format_zip::be::{u16_at as be16, u32_at as be32, u64_at as be64};

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read, Seek};

    /// A one-partition image of `disk` (a whole number of sectors) in zlib chunks of
    /// `chunk` sectors, all-zero chunks stored as nothing.
    fn image(disk: &[u8], chunk: usize) -> Vec<u8> {
        image_with(disk, chunk, false)
    }

    /// As [`image`], the chunks in LZFSE when `lzfse`.
    fn image_with(disk: &[u8], chunk: usize, lzfse: bool) -> Vec<u8> {
        let mut fork = Vec::new();
        let mut table = Vec::new();
        let sectors = disk.len() / 512;
        for s in (0..sectors).step_by(chunk) {
            let n = chunk.min(sectors - s);
            let piece = &disk[s * 512..(s + n) * 512];
            let (t, stored) = if piece.iter().all(|&b| b == 0) {
                (2u32, Vec::new())
            } else if lzfse {
                let mut out = Vec::new();
                lzfse_rust::LzfseEncoder::default()
                    .encode_bytes(piece, &mut out)
                    .unwrap();
                (0x8000_0007, out)
            } else {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                std::io::Write::write_all(&mut e, piece).unwrap();
                (0x8000_0005, e.finish().unwrap())
            };
            table.push((
                t,
                s as u64,
                n as u64,
                fork.len() as u64,
                stored.len() as u64,
            ));
            fork.extend(stored);
        }
        table.push((0xffff_ffff, sectors as u64, 0, fork.len() as u64, 0));
        let mut mish = b"mish".to_vec();
        mish.extend(1u32.to_be_bytes());
        mish.extend(0u64.to_be_bytes());
        mish.extend((sectors as u64).to_be_bytes());
        mish.extend([0u8; 8 + 4 + 4 + 24 + 136]);
        mish.extend((table.len() as u32).to_be_bytes());
        for (t, s, n, o, l) in table {
            mish.extend(t.to_be_bytes());
            mish.extend(0u32.to_be_bytes());
            for v in [s, n, o, l] {
                mish.extend(v.to_be_bytes());
            }
        }
        let mut d = plist::Dictionary::new();
        d.insert("Name".into(), "disk image (Apple_HFS : 0)".into());
        d.insert("Data".into(), plist::Value::Data(mish));
        let mut rf = plist::Dictionary::new();
        rf.insert("blkx".into(), vec![plist::Value::Dictionary(d)].into());
        let mut top = plist::Dictionary::new();
        top.insert("resource-fork".into(), rf.into());
        let mut xml = Vec::new();
        plist::Value::Dictionary(top)
            .to_writer_xml(&mut xml)
            .unwrap();
        let mut k = vec![0u8; 512];
        k[..4].copy_from_slice(b"koly");
        k[4..8].copy_from_slice(&4u32.to_be_bytes());
        k[8..12].copy_from_slice(&512u32.to_be_bytes());
        k[32..40].copy_from_slice(&(fork.len() as u64).to_be_bytes());
        k[216..224].copy_from_slice(&(fork.len() as u64).to_be_bytes());
        k[224..232].copy_from_slice(&(xml.len() as u64).to_be_bytes());
        k[492..500].copy_from_slice(&(sectors as u64).to_be_bytes());
        let mut out = fork;
        out.extend(xml);
        out.extend(k);
        out
    }

    #[test]
    fn reads_only_the_chunks_a_read_touches() {
        let mut disk = vec![0u8; 64 * 512];
        disk[5 * 512..5 * 512 + 5].copy_from_slice(b"first");
        disk[40 * 512..40 * 512 + 6].copy_from_slice(b"second");
        let img = image(&disk, 8);
        let mut c = Cursor::new(&img[..]);
        let im = Image::open(&mut c, img.len() as u64).unwrap();
        assert_eq!(im.disk_size(), disk.len() as u64);
        let budget = InflateBudget::new(1 << 20);
        let mut d = Disk::new(&mut c, &im, &budget);
        d.seek(SeekFrom::Start(40 * 512)).unwrap();
        let mut b = [0u8; 6];
        d.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"second");
        let read = d.chunks_read();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].kind, ChunkKind::Zlib);
        // The whole disk reads back equal, zero chunks included.
        d.seek(SeekFrom::Start(0)).unwrap();
        let mut all = Vec::new();
        d.read_to_end(&mut all).unwrap();
        assert_eq!(all, disk);
        assert_eq!(budget.used(), 2 * 8 * 512);
    }

    #[test]
    fn lzfse_chunks_read_back() {
        let disk: Vec<u8> = (0..32 * 512).map(|i| (i / 7 % 251) as u8).collect();
        let img = image_with(&disk, 8, true);
        let mut c = Cursor::new(&img[..]);
        let im = Image::open(&mut c, img.len() as u64).unwrap();
        let budget = InflateBudget::new(1 << 20);
        let mut d = Disk::new(&mut c, &im, &budget);
        let mut all = Vec::new();
        d.read_to_end(&mut all).unwrap();
        assert_eq!(all, disk);
        assert!(d.chunks_read().iter().all(|c| c.kind == ChunkKind::Lzfse));
    }

    #[test]
    fn refuses_regions_past_the_end_and_encrypted_images() {
        let disk = vec![1u8; 16 * 512];
        let mut img = image(&disk, 8);
        let n = img.len();
        // The property list's length runs past the trailer.
        img[n - 512 + 224..n - 512 + 232].copy_from_slice(&(n as u64).to_be_bytes());
        let e = Image::open(&mut Cursor::new(&img[..]), n as u64).unwrap_err();
        assert!(matches!(e, Error::Malformed(_)), "{e}");
        let mut enc = b"encrcdsa".to_vec();
        enc.extend([0u8; 600]);
        let e = Image::open(&mut Cursor::new(&enc[..]), enc.len() as u64).unwrap_err();
        assert!(matches!(e, Error::Encrypted("encrcdsa")), "{e}");
        let e = Image::open(&mut Cursor::new(&[0u8; 100][..]), 100).unwrap_err();
        assert!(matches!(e, Error::NotUdif(_)), "{e}");
    }

    #[test]
    fn decompression_stops_at_the_budget() {
        let disk = vec![7u8; 16 * 512];
        let img = image(&disk, 16);
        let mut c = Cursor::new(&img[..]);
        let im = Image::open(&mut c, img.len() as u64).unwrap();
        let small = InflateBudget::new(1000);
        let mut d = Disk::new(&mut c, &im, &small);
        let e = d.read(&mut [0u8; 10]).unwrap_err();
        assert!(over_budget(&e).is_some(), "{e}");
    }
}
