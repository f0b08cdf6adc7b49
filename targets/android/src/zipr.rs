//! A small zip central-directory reader. APK signature verification needs the raw offsets
//! (the APK Signing Block sits just before the central directory, and the v2 digest covers
//! the end record with its offset patched), which general zip crates do not expose; owning
//! the reader also lets every length be checked against the file before anything is read.

use std::io::{BufReader, Read, SeekFrom};

use flate2::read::DeflateDecoder;
use platform::{Limits, ReadSeek};

use crate::Error;

const EOCD_SIG: u32 = 0x0605_4b50;
const CD_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const EOCD_LEN: u64 = 22;
/// The end record plus the longest comment it may carry.
const EOCD_SEARCH: u64 = EOCD_LEN + 0xffff;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub method: u16,
    pub flags: u16,
    pub compressed_size: u64,
    pub size: u64,
    pub local_offset: u64,
}

impl Entry {
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }
}

/// Where the end-of-central-directory record says things are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eocd {
    pub offset: u64,
    pub cd_offset: u64,
    pub cd_size: u64,
    pub entries: u64,
    /// The record itself, comment included (the v2 digest covers it).
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct ZipIndex {
    pub eocd: Eocd,
    pub entries: Vec<Entry>,
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub fn read_exact_at(r: &mut dyn ReadSeek, offset: u64, len: usize) -> Result<Vec<u8>, Error> {
    r.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// Finds the end record: the last `PK\5\6` whose comment length reaches exactly the end.
pub fn find_eocd(r: &mut dyn ReadSeek, size: u64) -> Result<Eocd, Error> {
    if size < EOCD_LEN {
        return Err(Error::Zip(format!(
            "{size} bytes, too short for a zip end record"
        )));
    }
    let search = EOCD_SEARCH.min(size);
    let start = size - search;
    let tail = read_exact_at(r, start, search as usize)?;
    let mut i = tail.len() - EOCD_LEN as usize;
    loop {
        if u32le(&tail, i) == EOCD_SIG {
            let comment = u16le(&tail, i + 20) as usize;
            if i + EOCD_LEN as usize + comment == tail.len() {
                let raw = tail[i..].to_vec();
                let disk = u16le(&raw, 4);
                let cd_disk = u16le(&raw, 6);
                let entries = u16le(&raw, 10) as u64;
                let cd_size = u32le(&raw, 12) as u64;
                let cd_offset = u32le(&raw, 16) as u64;
                if disk != 0 || cd_disk != 0 {
                    return Err(Error::Zip("multi-disk archives are not supported".into()));
                }
                if cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff || entries == 0xffff {
                    return Err(Error::Zip(
                        "zip64 archives are not supported for Android artifacts".into(),
                    ));
                }
                return Ok(Eocd {
                    offset: start + i as u64,
                    cd_offset,
                    cd_size,
                    entries,
                    raw,
                });
            }
        }
        if i == 0 {
            break;
        }
        i -= 1;
    }
    Err(Error::Zip("no end-of-central-directory record".into()))
}

/// Reads the end record and the central directory, checking that they agree with each other
/// and with the file.
pub fn read_index(r: &mut dyn ReadSeek, size: u64, limits: &Limits) -> Result<ZipIndex, Error> {
    let eocd = find_eocd(r, size)?;
    let cd_end = eocd
        .cd_offset
        .checked_add(eocd.cd_size)
        .ok_or_else(|| Error::Zip("central directory offset overflows".into()))?;
    if cd_end > eocd.offset {
        return Err(Error::Zip(format!(
            "central directory ({} bytes at {}) overlaps the end record at {}",
            eocd.cd_size, eocd.cd_offset, eocd.offset
        )));
    }
    if eocd.entries as usize > limits.max_entries {
        return Err(Error::Limit(format!(
            "{} entries, more than the limit of {}",
            eocd.entries, limits.max_entries
        )));
    }
    if eocd.cd_size > limits.max_structure_bytes {
        return Err(Error::Limit(format!(
            "central directory of {} bytes, more than the limit of {}",
            eocd.cd_size, limits.max_structure_bytes
        )));
    }
    // 46 bytes is the fixed part of one record: a count that cannot fit is a lie.
    if eocd.entries.saturating_mul(46) > eocd.cd_size {
        return Err(Error::Zip(format!(
            "end record claims {} entries in a central directory of {} bytes",
            eocd.entries, eocd.cd_size
        )));
    }
    let cd = read_exact_at(r, eocd.cd_offset, eocd.cd_size as usize)?;
    let mut entries = Vec::with_capacity(eocd.entries as usize);
    let mut seen = std::collections::HashSet::with_capacity(eocd.entries as usize);
    let mut at = 0usize;
    for n in 0..eocd.entries {
        let fixed = cd
            .get(at..at + 46)
            .ok_or_else(|| Error::Zip(format!("central directory record {n} is truncated")))?;
        if u32le(fixed, 0) != CD_SIG {
            return Err(Error::Zip(format!(
                "central directory record {n} at offset {} has a bad signature",
                eocd.cd_offset + at as u64
            )));
        }
        let flags = u16le(fixed, 8);
        let method = u16le(fixed, 10);
        let compressed_size = u32le(fixed, 20) as u64;
        let size = u32le(fixed, 24) as u64;
        let name_len = u16le(fixed, 28) as usize;
        let extra_len = u16le(fixed, 30) as usize;
        let comment_len = u16le(fixed, 32) as usize;
        let local_offset = u32le(fixed, 42) as u64;
        let name_bytes = cd
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| Error::Zip(format!("central directory record {n} name is truncated")))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let next = at + 46 + name_len + extra_len + comment_len;
        if next > cd.len() {
            return Err(Error::Zip(format!(
                "central directory record {n} ({name}) runs past the directory"
            )));
        }
        if compressed_size == 0xffff_ffff || size == 0xffff_ffff || local_offset == 0xffff_ffff {
            return Err(Error::Zip(format!(
                "{name}: zip64 entries are not supported"
            )));
        }
        if local_offset >= eocd.cd_offset {
            return Err(Error::Zip(format!(
                "{name}: local header offset {local_offset} is past the central directory"
            )));
        }
        // Two entries of one name let a verifier and an installer read different bytes (the
        // 2013 "master key" bug): Android refuses them, and so do we.
        if !seen.insert(name.clone()) {
            return Err(Error::Zip(format!("duplicate entry name {name}")));
        }
        entries.push(Entry {
            name,
            method,
            flags,
            compressed_size,
            size,
            local_offset,
        });
        at = next;
    }
    Ok(ZipIndex { eocd, entries })
}

impl ZipIndex {
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }
}

/// Where an entry's data starts, after its local header. Checks that the data lies before
/// the central directory.
pub fn data_offset(r: &mut dyn ReadSeek, e: &Entry, cd_offset: u64) -> Result<u64, Error> {
    let h = read_exact_at(r, e.local_offset, 30)
        .map_err(|_| Error::Zip(format!("{}: local header is truncated", e.name)))?;
    if u32le(&h, 0) != LOCAL_SIG {
        return Err(Error::Zip(format!(
            "{}: no local header at offset {}",
            e.name, e.local_offset
        )));
    }
    let name_len = u16le(&h, 26) as u64;
    let extra_len = u16le(&h, 28) as u64;
    let start = e.local_offset + 30 + name_len + extra_len;
    let end = start
        .checked_add(e.compressed_size)
        .ok_or_else(|| Error::Zip(format!("{}: size overflows", e.name)))?;
    if end > cd_offset {
        return Err(Error::Zip(format!(
            "{}: data ({} bytes at {start}) runs into the central directory at {cd_offset}",
            e.name, e.compressed_size
        )));
    }
    Ok(start)
}

/// A reader of one entry's decompressed bytes that fails once more than `cap` bytes come out
/// (a zip bomb is refused, not obeyed).
pub fn open_entry<'a>(
    r: &'a mut dyn ReadSeek,
    e: &Entry,
    cd_offset: u64,
    cap: u64,
) -> Result<Box<dyn Read + 'a>, Error> {
    if e.flags & 1 != 0 {
        return Err(Error::Zip(format!(
            "{}: encrypted entries are not supported",
            e.name
        )));
    }
    let start = data_offset(r, e, cd_offset)?;
    r.seek(SeekFrom::Start(start))?;
    let raw = r.take(e.compressed_size);
    let inner: Box<dyn Read + 'a> = match e.method {
        0 => Box::new(raw),
        8 => Box::new(DeflateDecoder::new(BufReader::with_capacity(
            64 * 1024,
            raw,
        ))),
        m => {
            return Err(Error::Zip(format!(
                "{}: compression method {m} is not supported",
                e.name
            )));
        }
    };
    Ok(Box::new(Capped {
        inner,
        left: cap,
        name: e.name.clone(),
    }))
}

struct Capped<'a> {
    inner: Box<dyn Read + 'a>,
    left: u64,
    name: String,
}

impl Read for Capped<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One probe byte tells a member that ends exactly at the cap from one that goes on.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!(
                    "{}: decompresses past the limit",
                    self.name
                ))),
            };
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// A `Read + Seek` view of `len` bytes at `start` of another reader: a stored member (an
/// APK inside a split set) read in place.
pub struct Window<'a> {
    inner: &'a mut dyn ReadSeek,
    start: u64,
    len: u64,
    pos: u64,
}

impl<'a> Window<'a> {
    pub fn new(inner: &'a mut dyn ReadSeek, start: u64, len: u64) -> Self {
        Self {
            inner,
            start,
            len,
            pos: 0,
        }
    }
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(left.min(usize::MAX as u64) as usize);
        self.inner.seek(SeekFrom::Start(self.start + self.pos))?;
        let n = self.inner.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for Window<'_> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = new.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.pos)
    }
}

/// Reads a whole entry into memory, refusing anything over `cap` decompressed bytes.
pub fn read_entry(
    r: &mut dyn ReadSeek,
    e: &Entry,
    cd_offset: u64,
    cap: u64,
) -> Result<Vec<u8>, Error> {
    if e.size > cap {
        return Err(Error::Limit(format!(
            "{}: {} bytes, more than the limit of {cap}",
            e.name, e.size
        )));
    }
    let mut out = Vec::with_capacity(e.size.min(cap) as usize);
    open_entry(r, e, cd_offset, cap)?
        .read_to_end(&mut out)
        .map_err(|err| Error::Zip(format!("{}: {err}", e.name)))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn zip_with(name: &str, data: &[u8]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file(name, opts).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap();
        buf.into_inner()
    }

    #[test]
    fn reads_an_entry() {
        let z = zip_with("a.txt", b"hello hello hello");
        let mut r = Cursor::new(z.clone());
        let idx = read_index(&mut r, z.len() as u64, &Limits::default()).unwrap();
        let e = idx.get("a.txt").unwrap();
        let got = read_entry(&mut r, e, idx.eocd.cd_offset, 100).unwrap();
        assert_eq!(got, b"hello hello hello");
    }

    #[test]
    fn a_zip_bomb_is_refused_declared_or_not() {
        let z = zip_with("bomb", &vec![0u8; 4 * 1024 * 1024]);
        let mut r = Cursor::new(z.clone());
        let idx = read_index(&mut r, z.len() as u64, &Limits::default()).unwrap();
        let e = idx.get("bomb").unwrap().clone();
        assert!(matches!(
            read_entry(&mut r, &e, idx.eocd.cd_offset, 1024 * 1024),
            Err(Error::Limit(_))
        ));
        // The central directory lies about the size: the cap still holds while inflating.
        let lying = Entry { size: 10, ..e };
        assert!(read_entry(&mut r, &lying, idx.eocd.cd_offset, 1024 * 1024).is_err());
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default();
            w.start_file("x", o).unwrap();
            w.write_all(b"1").unwrap();
            w.start_file("y", o).unwrap();
            w.write_all(b"2").unwrap();
            w.finish().unwrap();
        }
        let mut z = buf.into_inner();
        // Rename "y" to "x" in the central directory (the last name byte before the EOCD).
        let cd_y = z.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
        z[cd_y + 46] = b'x';
        let mut r = Cursor::new(z.clone());
        let err = read_index(&mut r, z.len() as u64, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
    }
}
