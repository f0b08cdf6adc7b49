//! The one zip reader of the workspace: detection (`platform::Probe`) and every target's
//! inspection list and read members through it, so a crafted archive cannot show one set of
//! members to detection and another to a verifier (issue 10, "Signature truth"). It exposes
//! the raw end-record and central-directory offsets, which APK signature verification hashes.
//!
//! It is strict where lenient readers guess: the central directory must end exactly where the
//! end record (or the zip64 end record) begins and hold exactly the records the end record
//! counts, since bytes in between are covered by no APK signature digest; duplicate names are
//! refused (the 2013 "master key" bug). Every length is checked against the file before
//! anything is allocated, and every decompressed byte is charged to the inspection's
//! [`InflateBudget`].
//!
//! A format crate: it depends on no crate of the workspace (`platform` depends on it, for
//! detection), knows no platform and produces no findings; it answers with typed errors.
//! Targets depend on `platform` and `formats/*`, never on each other; formats never depend
//! on targets.

use std::io::{self, BufReader, Read, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::DeflateDecoder;

/// A reader that can seek: what every parser of an artifact is handed.
pub trait ReadSeek: io::Read + io::Seek {}
impl<T: io::Read + io::Seek + ?Sized> ReadSeek for T {}

/// The caps [`read_index`] applies (`platform::Limits` converts into them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexLimits {
    /// Most entries the end record may count.
    pub max_entries: usize,
    /// Largest central directory read into memory.
    pub max_directory_bytes: u64,
}

impl From<&IndexLimits> for IndexLimits {
    fn from(l: &IndexLimits) -> Self {
        *l
    }
}

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
const CD_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const EOCD_LEN: u64 = 22;
/// The end record plus the longest comment it may carry.
const EOCD_SEARCH: u64 = EOCD_LEN + 0xffff;

/// Why an archive could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZipError {
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    #[error("malformed zip: {0}")]
    Malformed(String),
    #[error("over a limit: {0}")]
    Limit(String),
}

fn bad(msg: impl Into<String>) -> ZipError {
    ZipError::Malformed(msg.into())
}

/// The marker inside an `io::Error` that a read stopped at a cap (a member's own cap or the
/// inspection's decompression budget), not at a broken file.
#[derive(Debug)]
pub struct OverLimit(pub String);

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OverLimit {}

/// The cap message when `e` is a read stopped by a cap.
pub fn over_limit(e: &io::Error) -> Option<&OverLimit> {
    e.get_ref().and_then(|i| i.downcast_ref::<OverLimit>())
}

/// Decompressed bytes one inspection may produce, shared by every reader of that inspection
/// (clones share the counter). A small archive whose members inflate to gigabytes is refused
/// once the budget is spent instead of burning CPU-seconds on it.
#[derive(Debug, Clone)]
pub struct InflateBudget {
    left: Arc<AtomicU64>,
    total: u64,
}

impl InflateBudget {
    pub fn new(total: u64) -> Self {
        Self {
            left: Arc::new(AtomicU64::new(total)),
            total,
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// Whether a read has been refused for want of budget.
    pub fn exhausted(&self) -> bool {
        self.total > 0 && self.left.load(Ordering::Relaxed) == 0
    }

    pub fn used(&self) -> u64 {
        self.total - self.left.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes from the budget, or fails (leaving it spent) when fewer remain.
    pub fn charge(&self, n: u64) -> io::Result<()> {
        let r = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                Some(left.saturating_sub(n))
            });
        match r {
            Ok(before) if before >= n => Ok(()),
            _ => Err(io::Error::other(OverLimit(format!(
                "the archive decompresses to more than {} bytes in all, the decompression budget of one inspection (a multiple of the file size, capped)",
                self.total
            )))),
        }
    }
}

/// A reader that charges every byte it yields to a budget.
pub struct Charged<R> {
    inner: R,
    budget: InflateBudget,
}

impl<R> Charged<R> {
    pub fn new(inner: R, budget: &InflateBudget) -> Self {
        Self {
            inner,
            budget: budget.clone(),
        }
    }
}

impl<R: Read> Read for Charged<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.budget.charge(n as u64)?;
        Ok(n)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub method: u16,
    pub flags: u16,
    pub compressed_size: u64,
    pub size: u64,
    pub local_offset: u64,
    /// High byte of "version made by" (3 = Unix) and the external attributes (Unix mode in
    /// the high 16 bits), to tell symbolic links.
    pub made_by: u16,
    pub external_attrs: u32,
}

impl Entry {
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }

    /// A Unix symbolic link (its data is the link target).
    pub fn is_symlink(&self) -> bool {
        self.made_by >> 8 == 3 && (self.external_attrs >> 16) & 0o170000 == 0o120000
    }
}

/// Where the end-of-central-directory record says things are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eocd {
    pub offset: u64,
    pub cd_offset: u64,
    pub cd_size: u64,
    pub entries: u64,
    /// The record itself, comment included (the APK v2 digest covers it).
    pub raw: Vec<u8>,
    /// Offset of the zip64 end record, when the archive has one.
    pub zip64: Option<u64>,
}

impl Eocd {
    /// Where the central directory must end.
    pub fn directory_end(&self) -> u64 {
        self.zip64.unwrap_or(self.offset)
    }
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
fn u64le(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

pub fn read_exact_at(r: &mut dyn ReadSeek, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    r.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// Finds the end record: the last `PK\5\6` whose comment length reaches exactly the end, and
/// the zip64 end record its locator names, if any.
pub fn find_eocd(r: &mut dyn ReadSeek, size: u64) -> Result<Eocd, ZipError> {
    if size < EOCD_LEN {
        return Err(bad(format!("{size} bytes, too short for a zip end record")));
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
                let offset = start + i as u64;
                return eocd_from(r, raw, offset);
            }
        }
        if i == 0 {
            break;
        }
        i -= 1;
    }
    Err(bad("no end-of-central-directory record"))
}

fn eocd_from(r: &mut dyn ReadSeek, raw: Vec<u8>, offset: u64) -> Result<Eocd, ZipError> {
    let disk = u16le(&raw, 4);
    let cd_disk = u16le(&raw, 6);
    let mut entries = u16le(&raw, 10) as u64;
    let mut cd_size = u32le(&raw, 12) as u64;
    let mut cd_offset = u32le(&raw, 16) as u64;
    let wants64 = entries == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff;
    let locator = match offset.checked_sub(20) {
        Some(at) => {
            let l = read_exact_at(r, at, 20)?;
            (u32le(&l, 0) == EOCD64_LOCATOR_SIG).then_some(l)
        }
        None => None,
    };
    let mut zip64 = None;
    match locator {
        Some(l) => {
            let rec_at = u64le(&l, 8);
            if u32le(&l, 4) != 0 || u32le(&l, 16) > 1 {
                return Err(bad("multi-disk archives are not supported"));
            }
            if rec_at.checked_add(56).is_none_or(|e| e > offset - 20) {
                return Err(bad(format!(
                    "zip64 end record offset {rec_at} is not before its locator"
                )));
            }
            let rec = read_exact_at(r, rec_at, 56)?;
            if u32le(&rec, 0) != EOCD64_SIG {
                return Err(bad(format!("no zip64 end record at offset {rec_at}")));
            }
            // The zip64 record (and any extensible data it declares) ends at the locator.
            let declared = u64le(&rec, 4);
            if rec_at.checked_add(12).and_then(|e| e.checked_add(declared)) != Some(offset - 20) {
                return Err(bad(
                    "the zip64 end record does not end where its locator begins",
                ));
            }
            if u32le(&rec, 16) != 0 || u32le(&rec, 20) != 0 {
                return Err(bad("multi-disk archives are not supported"));
            }
            entries = u64le(&rec, 32);
            cd_size = u64le(&rec, 40);
            cd_offset = u64le(&rec, 48);
            zip64 = Some(rec_at);
        }
        None if wants64 => {
            return Err(bad(
                "the end record defers to a zip64 end record that is not there",
            ));
        }
        None => {
            if disk != 0 || cd_disk != 0 {
                return Err(bad("multi-disk archives are not supported"));
            }
        }
    }
    Ok(Eocd {
        offset,
        cd_offset,
        cd_size,
        entries,
        raw,
        zip64,
    })
}

/// Reads the end record and the central directory, checking that they agree with each other
/// and with the file.
pub fn read_index(
    r: &mut dyn ReadSeek,
    size: u64,
    limits: impl Into<IndexLimits>,
) -> Result<ZipIndex, ZipError> {
    let limits: IndexLimits = limits.into();
    let eocd = find_eocd(r, size)?;
    let cd_end = eocd
        .cd_offset
        .checked_add(eocd.cd_size)
        .ok_or_else(|| bad("central directory offset overflows"))?;
    let must_end = eocd.directory_end();
    if cd_end != must_end {
        return Err(bad(format!(
            "central directory ({} bytes at {}) ends at {cd_end}, not where the end record begins ({must_end}); {}",
            eocd.cd_size,
            eocd.cd_offset,
            if cd_end > must_end {
                "it overlaps the end record"
            } else {
                "no signature covers the bytes in between"
            }
        )));
    }
    if eocd.entries > limits.max_entries as u64 {
        return Err(ZipError::Limit(format!(
            "{} entries, more than the limit of {}",
            eocd.entries, limits.max_entries
        )));
    }
    if eocd.cd_size > limits.max_directory_bytes {
        return Err(ZipError::Limit(format!(
            "central directory of {} bytes, more than the limit of {}",
            eocd.cd_size, limits.max_directory_bytes
        )));
    }
    // 46 bytes is the fixed part of one record: a count that cannot fit is a lie.
    if eocd.entries.saturating_mul(46) > eocd.cd_size {
        return Err(bad(format!(
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
            .ok_or_else(|| bad(format!("central directory record {n} is truncated")))?;
        if u32le(fixed, 0) != CD_SIG {
            return Err(bad(format!(
                "central directory record {n} at offset {} has a bad signature",
                eocd.cd_offset + at as u64
            )));
        }
        let made_by = u16le(fixed, 4);
        let flags = u16le(fixed, 8);
        let method = u16le(fixed, 10);
        let mut compressed_size = u32le(fixed, 20) as u64;
        let mut size = u32le(fixed, 24) as u64;
        let name_len = u16le(fixed, 28) as usize;
        let extra_len = u16le(fixed, 30) as usize;
        let comment_len = u16le(fixed, 32) as usize;
        let external_attrs = u32le(fixed, 38);
        let mut local_offset = u32le(fixed, 42) as u64;
        let name_bytes = cd
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad(format!("central directory record {n} name is truncated")))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let next = at + 46 + name_len + extra_len + comment_len;
        if next > cd.len() {
            return Err(bad(format!(
                "central directory record {n} ({name}) runs past the directory"
            )));
        }
        if compressed_size == 0xffff_ffff || size == 0xffff_ffff || local_offset == 0xffff_ffff {
            let extra = &cd[at + 46 + name_len..at + 46 + name_len + extra_len];
            let z = zip64_extra(extra)
                .ok_or_else(|| bad(format!("{name}: zip64 sizes without a zip64 extra field")))?;
            let mut vals = z.chunks_exact(8).map(|c| u64le(c, 0));
            let mut take = |v: &mut u64| -> Result<(), ZipError> {
                if *v == 0xffff_ffff {
                    *v = vals
                        .next()
                        .ok_or_else(|| bad(format!("{name}: zip64 extra field is short")))?;
                }
                Ok(())
            };
            take(&mut size)?;
            take(&mut compressed_size)?;
            take(&mut local_offset)?;
        }
        if local_offset >= eocd.cd_offset {
            return Err(bad(format!(
                "{name}: local header offset {local_offset} is past the central directory"
            )));
        }
        if !seen.insert(name.clone()) {
            return Err(bad(format!("duplicate entry name {name}")));
        }
        entries.push(Entry {
            name,
            method,
            flags,
            compressed_size,
            size,
            local_offset,
            made_by,
            external_attrs,
        });
        at = next;
    }
    if at != cd.len() {
        return Err(bad(format!(
            "{} bytes follow the {} records the end record counts in the central directory",
            cd.len() - at,
            eocd.entries
        )));
    }
    Ok(ZipIndex { eocd, entries })
}

/// The zip64 extended-information extra field (id 1), if present.
fn zip64_extra(mut extra: &[u8]) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let id = u16le(extra, 0);
        let len = u16le(extra, 2) as usize;
        let body = extra.get(4..4 + len)?;
        if id == 1 {
            return Some(body);
        }
        extra = &extra[4 + len..];
    }
    None
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
pub fn data_offset(r: &mut dyn ReadSeek, e: &Entry, cd_offset: u64) -> Result<u64, ZipError> {
    let h = read_exact_at(r, e.local_offset, 30)
        .map_err(|_| bad(format!("{}: local header is truncated", e.name)))?;
    if u32le(&h, 0) != LOCAL_SIG {
        return Err(bad(format!(
            "{}: no local header at offset {}",
            e.name, e.local_offset
        )));
    }
    let name_len = u16le(&h, 26) as u64;
    let extra_len = u16le(&h, 28) as u64;
    let start = e.local_offset + 30 + name_len + extra_len;
    let end = start
        .checked_add(e.compressed_size)
        .ok_or_else(|| bad(format!("{}: size overflows", e.name)))?;
    if end > cd_offset {
        return Err(bad(format!(
            "{}: data ({} bytes at {start}) runs into the central directory at {cd_offset}",
            e.name, e.compressed_size
        )));
    }
    Ok(start)
}

/// A reader of one entry's decompressed bytes that fails once more than `cap` bytes come out
/// of it, or once the inspection's `budget` is spent (a zip bomb is refused, not obeyed).
pub fn open_entry<'a>(
    r: &'a mut dyn ReadSeek,
    e: &Entry,
    cd_offset: u64,
    cap: u64,
    budget: &InflateBudget,
) -> Result<Box<dyn Read + 'a>, ZipError> {
    if e.flags & 1 != 0 {
        return Err(bad(format!(
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
            return Err(bad(format!(
                "{}: compression method {m} is not supported",
                e.name
            )));
        }
    };
    Ok(Box::new(Capped {
        inner: Charged::new(inner, budget),
        left: cap,
        name: e.name.clone(),
    }))
}

struct Capped<'a> {
    inner: Charged<Box<dyn Read + 'a>>,
    left: u64,
    name: String,
}

impl Read for Capped<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One probe byte tells a member that ends exactly at the cap from one that goes on.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(OverLimit(format!(
                    "{}: decompresses past the limit",
                    self.name
                )))),
            };
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Turns a read error into the zip error it means: a cap is a limit, the rest malformed.
pub fn read_error(name: &str, err: io::Error) -> ZipError {
    match over_limit(&err) {
        Some(l) => ZipError::Limit(format!("{name}: {l}")),
        None if err.kind() == io::ErrorKind::InvalidInput
            || err.kind() == io::ErrorKind::InvalidData
            || err.kind() == io::ErrorKind::UnexpectedEof =>
        {
            bad(format!("{name}: {err}"))
        }
        None => ZipError::Io(err),
    }
}

/// Reads a whole entry into memory, refusing anything over `cap` decompressed bytes.
pub fn read_entry(
    r: &mut dyn ReadSeek,
    e: &Entry,
    cd_offset: u64,
    cap: u64,
    budget: &InflateBudget,
) -> Result<Vec<u8>, ZipError> {
    if e.size > cap {
        return Err(ZipError::Limit(format!(
            "{}: {} bytes, more than the limit of {cap}",
            e.name, e.size
        )));
    }
    let mut out = Vec::with_capacity(e.size.min(cap) as usize);
    open_entry(r, e, cd_offset, cap, budget)?
        .read_to_end(&mut out)
        .map_err(|err| read_error(&e.name, err))?;
    Ok(out)
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
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
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
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = seek_target(self.pos, self.len, pos)?;
        Ok(self.pos)
    }
}

/// Big-endian integers at an offset of a slice the caller has bounds-checked (the
/// structures of the Apple formats are big-endian): a short slice panics.
pub mod be {
    pub fn u16_at(d: &[u8], o: usize) -> u16 {
        u16::from_be_bytes([d[o], d[o + 1]])
    }

    pub fn u32_at(d: &[u8], o: usize) -> u32 {
        u32::from_be_bytes(d[o..o + 4].try_into().expect("4 bytes"))
    }

    pub fn u64_at(d: &[u8], o: usize) -> u64 {
        u64::from_be_bytes(d[o..o + 8].try_into().expect("8 bytes"))
    }
}

/// Where a seek of a reader at `pos` in `len` bytes lands (past the end is allowed and
/// reads nothing, as for a file); before the start is an error. For the windows and virtual
/// disks the format crates serve as `Read + Seek`.
pub fn seek_target(pos: u64, len: u64, to: SeekFrom) -> io::Result<u64> {
    match to {
        SeekFrom::Start(p) => Some(p),
        SeekFrom::End(d) => len.checked_add_signed(d),
        SeekFrom::Current(d) => pos.checked_add_signed(d),
    }
    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))
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

    const LIMITS: IndexLimits = IndexLimits {
        max_entries: 200_000,
        max_directory_bytes: 16 << 20,
    };

    fn budget() -> InflateBudget {
        InflateBudget::new(8 << 30)
    }

    fn index(z: &[u8]) -> Result<ZipIndex, ZipError> {
        read_index(&mut Cursor::new(z.to_vec()), z.len() as u64, LIMITS)
    }

    #[test]
    fn reads_an_entry() {
        let z = zip_with("a.txt", b"hello hello hello");
        let mut r = Cursor::new(z.clone());
        let idx = index(&z).unwrap();
        let e = idx.get("a.txt").unwrap();
        let got = read_entry(&mut r, e, idx.eocd.cd_offset, 100, &budget());
        assert_eq!(got.unwrap(), b"hello hello hello");
    }

    #[test]
    fn a_zip_bomb_is_refused_declared_or_not() {
        let z = zip_with("bomb", &vec![0u8; 4 * 1024 * 1024]);
        let mut r = Cursor::new(z.clone());
        let idx = index(&z).unwrap();
        let e = idx.get("bomb").unwrap().clone();
        let b = budget();
        assert!(matches!(
            read_entry(&mut r, &e, idx.eocd.cd_offset, 1024 * 1024, &b),
            Err(ZipError::Limit(_))
        ));
        // The central directory lies about the size: the cap still holds while inflating.
        let lying = Entry { size: 10, ..e };
        assert!(matches!(
            read_entry(&mut r, &lying, idx.eocd.cd_offset, 1024 * 1024, &b),
            Err(ZipError::Limit(_))
        ));
    }

    /// Issue 10, item 6: the budget is shared by every read of one inspection.
    #[test]
    fn the_inflate_budget_spans_members() {
        let z = zip_with("a", &vec![7u8; 100_000]);
        let mut r = Cursor::new(z.clone());
        let idx = index(&z).unwrap();
        let e = idx.get("a").unwrap();
        let b = InflateBudget::new(150_000);
        read_entry(&mut r, e, idx.eocd.cd_offset, u64::MAX, &b).unwrap();
        assert_eq!(b.used(), 100_000);
        let err = read_entry(&mut r, e, idx.eocd.cd_offset, u64::MAX, &b).unwrap_err();
        assert!(matches!(err, ZipError::Limit(_)), "{err}");
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
        let cd_y = z.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
        z[cd_y + 46] = b'x';
        let err = index(&z).unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
    }

    /// Issue 10, item 2: a second copy of the central directory between the first and the
    /// end record is covered by no APK digest; the directory must end at the end record.
    #[test]
    fn bytes_between_directory_and_end_record_are_refused() {
        let z = zip_with("a.txt", b"hello");
        let idx = index(&z).unwrap();
        let (cd, end) = (idx.eocd.cd_offset as usize, idx.eocd.offset as usize);
        let mut crafted = z[..end].to_vec();
        crafted.extend_from_slice(&z[cd..end]);
        crafted.extend_from_slice(&z[end..]);
        let err = index(&crafted).unwrap_err();
        assert!(err.to_string().contains("no signature covers"), "{err}");
    }

    #[test]
    fn zip64_archives_are_read() {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default().large_file(true);
            w.start_file("big", o).unwrap();
            w.write_all(b"data").unwrap();
            w.finish().unwrap();
        }
        let z = buf.into_inner();
        let idx = index(&z).unwrap();
        assert_eq!(idx.entries.len(), 1);
        assert_eq!(idx.entries[0].size, 4);
        let got = read_entry(
            &mut Cursor::new(z.clone()),
            &idx.entries[0],
            idx.eocd.cd_offset,
            10,
            &budget(),
        );
        assert_eq!(got.unwrap(), b"data");
    }
}
