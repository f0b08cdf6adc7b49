//! A streaming reader of cpio archives in the two text-header formats: "odc" (POSIX.1
//! portable, magic `070707`, octal fields, no padding; what macOS `pkgbuild` writes into a
//! component package's Payload) and "newc" (SVR4, magic `070701`, or `070702` with a
//! checksum, hexadecimal fields, header+name and data padded to 4 bytes). The archive ends at
//! the `TRAILER!!!` entry. The old binary format is refused by name.
//!
//! It owns the entry headers and where each entry's data starts and ends, nothing else: the
//! bytes arrive from the caller's (decompressing) reader, a regular file's data is handed to
//! a visitor as a reader bounded to its size, and is otherwise skipped. It never writes
//! anything anywhere and bounds every length (a name, a link target) before allocating.

use std::io::{self, Read};

/// Longest entry name accepted (PATH_MAX on macOS is 1024; some writers use 4096).
pub const MAX_NAME: usize = 4096;
/// Longest symbolic link target read.
pub const MAX_LINK: u64 = 4096;

/// What an entry is, from its mode's file-type bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    File,
    Dir,
    Symlink,
    /// A device, fifo or socket: listed, never read.
    Other,
}

/// One entry's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name as stored, without a leading `./` (the archive's root `.` reads as empty).
    pub path: String,
    pub kind: EntryType,
    pub mode: u32,
    /// Bytes of data that follow the header (a symbolic link's target for a link).
    pub size: u64,
    /// The inode number: entries that share it (and have `nlink` > 1) are hard links.
    pub ino: u64,
    pub nlink: u64,
    /// A symbolic link's target; empty for other entries.
    pub link: String,
}

/// Why reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("entry {index} (at byte {offset}): {message}")]
    Malformed {
        index: u64,
        offset: u64,
        message: String,
    },
}

/// Which header format the archive uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Odc,
    Newc,
}

impl Format {
    /// The format whose magic starts `head`, if any.
    pub fn sniff(head: &[u8]) -> Option<Format> {
        if head.starts_with(b"070707") {
            Some(Format::Odc)
        } else if head.starts_with(b"070701") || head.starts_with(b"070702") {
            Some(Format::Newc)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Odc => "odc",
            Format::Newc => "newc",
        }
    }
}

/// What [`Reader::next_entry_with`] hands a regular file's data to.
pub type Visit<'a> = dyn FnMut(&Entry, &mut dyn Read) -> io::Result<()> + 'a;

/// Reads entries one after another from `inner`.
pub struct Reader<R: Read> {
    inner: R,
    offset: u64,
    index: u64,
    done: bool,
}

const TRAILER: &str = "TRAILER!!!";

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            index: 0,
            done: false,
        }
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Bytes of the stream consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn bad(&self, message: impl Into<String>) -> Error {
        Error::Malformed {
            index: self.index,
            offset: self.offset,
            message: message.into(),
        }
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.offset += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(self.bad("the archive ends inside an entry (truncated)"))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn skip(&mut self, n: u64) -> Result<(), Error> {
        let got = io::copy(&mut (&mut self.inner).take(n), &mut io::sink())?;
        self.offset += got;
        if got < n {
            return Err(self.bad("the archive ends inside an entry's data (truncated)"));
        }
        Ok(())
    }

    /// The next entry, without reading its data; `None` after the trailer.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, Error> {
        self.next_inner(None)
    }

    /// The next entry; a regular file's data is handed to `visit` first (bounded to its
    /// size; what `visit` leaves unread is skipped).
    pub fn next_entry_with(&mut self, visit: &mut Visit<'_>) -> Result<Option<Entry>, Error> {
        self.next_inner(Some(visit))
    }

    fn next_inner(&mut self, visit: Option<&mut Visit<'_>>) -> Result<Option<Entry>, Error> {
        if self.done {
            return Ok(None);
        }
        let mut magic = [0u8; 6];
        self.read_exact(&mut magic)?;
        let format = match Format::sniff(&magic) {
            Some(f) => f,
            None if magic[..2] == [0xc7, 0x71] || magic[..2] == [0x71, 0xc7] => {
                return Err(self.bad("an old binary cpio header: only odc and newc are read"));
            }
            None => return Err(self.bad("no cpio header magic (070707 or 070701)")),
        };
        let (mode, ino, nlink, size, namesize) = match format {
            Format::Odc => {
                let mut h = [0u8; 70];
                self.read_exact(&mut h)?;
                let f = |at: usize, len: usize| field(&h[at..at + len], 8);
                // dev(6) ino(6) mode(6) uid(6) gid(6) nlink(6) rdev(6) mtime(11)
                // namesize(6) filesize(11)
                let (Some(ino), Some(mode), Some(nlink), Some(namesize), Some(size)) =
                    (f(6, 6), f(12, 6), f(30, 6), f(53, 6), f(59, 11))
                else {
                    return Err(self.bad("an odc header field is not octal"));
                };
                (mode, ino, nlink, size, namesize)
            }
            Format::Newc => {
                let mut h = [0u8; 104];
                self.read_exact(&mut h)?;
                let f = |n: usize| field(&h[n * 8..n * 8 + 8], 16);
                // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor
                // rdevminor namesize check
                let (Some(ino), Some(mode), Some(nlink), Some(size), Some(namesize)) =
                    (f(0), f(1), f(4), f(6), f(11))
                else {
                    return Err(self.bad("a newc header field is not hexadecimal"));
                };
                (mode, ino, nlink, size, namesize)
            }
        };
        if namesize == 0 || namesize as usize > MAX_NAME + 1 {
            return Err(self.bad(format!(
                "a name of {namesize} bytes (at most {} accepted)",
                MAX_NAME + 1
            )));
        }
        let mut name = vec![0u8; namesize as usize];
        self.read_exact(&mut name)?;
        if name.pop() != Some(0) {
            return Err(self.bad("the name does not end in a NUL byte"));
        }
        if name.contains(&0) {
            return Err(self.bad("the name holds a NUL byte"));
        }
        let name = String::from_utf8(name).map_err(|_| self.bad("the name is not UTF-8"))?;
        if format == Format::Newc {
            self.skip(pad4(110 + namesize))?;
        }
        if name == TRAILER {
            self.done = true;
            return Ok(None);
        }
        let kind = match mode & 0o170000 {
            0o100000 => EntryType::File,
            0o040000 => EntryType::Dir,
            0o120000 => EntryType::Symlink,
            _ => EntryType::Other,
        };
        let path = {
            let p = name.strip_prefix("./").unwrap_or(&name);
            if p == "." { "" } else { p }.to_owned()
        };
        let mut entry = Entry {
            path,
            kind,
            mode: (mode & 0o7777) as u32,
            size,
            ino,
            nlink,
            link: String::new(),
        };
        match (kind, visit) {
            (EntryType::Symlink, _) => {
                if size > MAX_LINK {
                    return Err(self.bad(format!(
                        "a symbolic link target of {size} bytes (at most {MAX_LINK})"
                    )));
                }
                let mut t = vec![0u8; size as usize];
                self.read_exact(&mut t)?;
                entry.link = String::from_utf8(t)
                    .map_err(|_| self.bad("the symbolic link target is not UTF-8"))?;
            }
            (EntryType::File, Some(visit)) => {
                let mut data = (&mut self.inner).take(size);
                visit(&entry, &mut data)?;
                let read = size - data.limit();
                self.offset += read;
                self.skip(size - read)?;
            }
            _ => self.skip(size)?,
        }
        if format == Format::Newc {
            self.skip(pad4(size))?;
        }
        self.index += 1;
        Ok(Some(entry))
    }
}

/// Bytes that pad `n` to a multiple of 4.
fn pad4(n: u64) -> u64 {
    (4 - n % 4) % 4
}

/// A fixed-width number in `radix`, ASCII digits only.
fn field(b: &[u8], radix: u32) -> Option<u64> {
    if b.is_empty() {
        return Some(0);
    }
    let s = std::str::from_utf8(b).ok()?;
    if !s.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(s, radix).ok()
}

/// Writers for tests of readers above this crate: an archive's bytes from `(name, data,
/// mode)` entries, with the trailer. Not an archiver: no devices, no hard links.
pub mod write {
    /// An odc archive.
    pub fn odc(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut one = |name: &str, data: &[u8], mode: u32, ino: usize| {
            out.extend_from_slice(
                format!(
                    "070707{:06o}{:06o}{:06o}{:06o}{:06o}{:06o}{:06o}{:011o}{:06o}{:011o}",
                    0,
                    ino,
                    mode,
                    0,
                    0,
                    1,
                    0,
                    0,
                    name.len() + 1,
                    data.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend_from_slice(data);
        };
        for (n, (name, data, mode)) in entries.iter().enumerate() {
            one(name, data, *mode, n + 1);
        }
        one(super::TRAILER, b"", 0, 0);
        out
    }

    /// A newc archive.
    pub fn newc(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut one = |name: &str, data: &[u8], mode: u32, ino: usize| {
            out.extend_from_slice(
                format!(
                    "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
                    ino,
                    mode,
                    0,
                    0,
                    1,
                    0,
                    data.len(),
                    0,
                    0,
                    0,
                    0,
                    name.len() + 1,
                    0
                )
                .as_bytes(),
            );
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.resize(
                out.len() + super::pad4(110 + name.len() as u64 + 1) as usize,
                0,
            );
            out.extend_from_slice(data);
            out.resize(out.len() + super::pad4(data.len() as u64) as usize, 0);
        };
        for (n, (name, data, mode)) in entries.iter().enumerate() {
            one(name, data, *mode, n + 1);
        }
        one(super::TRAILER, b"", 0, 0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(a: &[u8]) -> Vec<(Entry, Vec<u8>)> {
        let mut r = Reader::new(a);
        let mut out = Vec::new();
        let mut data = Vec::new();
        loop {
            let mut got = Vec::new();
            let mut v = |_: &Entry, d: &mut dyn Read| d.read_to_end(&mut got).map(|_| ());
            match r.next_entry_with(&mut v).unwrap() {
                Some(e) => {
                    data.push(got);
                    out.push(e)
                }
                None => break,
            }
        }
        out.into_iter().zip(data).collect()
    }

    #[test]
    fn reads_odc_and_newc_alike() {
        let list: &[(&str, &[u8], u32)] = &[
            (".", b"", 0o040755),
            ("./A.app/Contents/Info.plist", b"<plist/>", 0o100644),
            (
                "./A.app/Contents/MacOS/A",
                b"\xcf\xfa\xed\xfe12345",
                0o100755,
            ),
            ("./A.app/Contents/Link", b"MacOS/A", 0o120755),
        ];
        for a in [write::odc(list), write::newc(list)] {
            let got = entries(&a);
            assert_eq!(got.len(), 4);
            assert_eq!(got[0].0.path, "");
            assert_eq!(got[0].0.kind, EntryType::Dir);
            assert_eq!(got[1].0.path, "A.app/Contents/Info.plist");
            assert_eq!(got[1].1, b"<plist/>");
            assert_eq!(got[2].0.mode, 0o755);
            assert_eq!(got[2].1, b"\xcf\xfa\xed\xfe12345");
            assert_eq!(got[3].0.kind, EntryType::Symlink);
            assert_eq!(got[3].0.link, "MacOS/A");
        }
    }

    #[test]
    fn refuses_what_is_cut_or_not_cpio() {
        let a = write::newc(&[("a", b"hello world", 0o100644)]);
        for cut in [3, 50, 115, 120] {
            let mut r = Reader::new(&a[..cut]);
            let e = loop {
                match r.next_entry() {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("cut at {cut} read to the end"),
                    Err(e) => break e,
                }
            };
            assert!(e.to_string().contains("truncated"), "{cut}: {e}");
        }
        let e = Reader::new(&b"\xc7\x71xxxxxxxxxxxxxxxx"[..])
            .next_entry()
            .unwrap_err();
        assert!(e.to_string().contains("binary"), "{e}");
        let mut big = write::odc(&[("a", b"", 0o100644)]);
        big[59..65].copy_from_slice(b"777777");
        let e = Reader::new(&big[..]).next_entry().unwrap_err();
        assert!(e.to_string().contains("a name of"), "{e}");
    }
}
