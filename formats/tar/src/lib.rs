//! A streaming tar reader: it walks the 512-byte headers of a tar stream (ustar and old
//! GNU/v7 headers, GNU `L` long names, pax `x` paths and sizes), hands each entry's name,
//! type, mode and size to the caller with the first bytes of its data (enough to tell an ELF
//! executable), and skips the rest without keeping it. It reads forward only, so it runs over
//! a decompressor from `format-compress` and never needs the whole archive.
//!
//! It owns the tar format only: which stream it reads (the decompression and its budget) is
//! the caller's, and it never writes an entry anywhere. Every header field is checked
//! (checksum, octal or base-256 size) and long names and pax records are bounded.

use std::io::{self, Read};

/// Longest GNU long name or pax record block read.
pub const MAX_META: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    #[error("header {index} (offset {offset}): {what}")]
    Malformed {
        index: usize,
        offset: u64,
        what: String,
    },
    #[error("the archive ends inside entry {0}")]
    Truncated(String),
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    File,
    Dir,
    Symlink,
    Hardlink,
    /// Devices, FIFOs and other types a package rarely holds.
    Other(u8),
}

/// One entry of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path as stored (pax `path` or GNU long name when present), without a leading `./`.
    pub path: String,
    pub kind: EntryType,
    pub mode: u32,
    pub size: u64,
    /// Up to [`Reader::head_len`] first bytes of a regular file's data.
    pub head: Vec<u8>,
    /// A symbolic or hard link's target (pax `linkpath` or the header's link name); empty
    /// for other entries.
    pub link: String,
}

impl Entry {
    pub fn is_executable(&self) -> bool {
        self.kind == EntryType::File && self.mode & 0o111 != 0
    }
}

/// What [`Reader::next_entry_with`] hands a regular file's data to.
pub type Visit<'a> = dyn FnMut(&Entry, &mut dyn Read) -> io::Result<()> + 'a;

/// Reads entries one after another from a tar stream.
pub struct Reader<R> {
    inner: R,
    offset: u64,
    index: usize,
    head_len: usize,
    done: bool,
}

fn octal(field: &[u8]) -> Option<u64> {
    // Base-256 (GNU) for large values: the high bit of the first byte is set.
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(v);
    }
    let s = std::str::from_utf8(field).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Pax records `LEN key=value\n`; returns (path, size, linkpath) overrides.
fn pax(data: &[u8]) -> (Option<String>, Option<u64>, Option<String>) {
    let (mut path, mut size, mut link) = (None, None, None);
    let mut rest = data;
    while !rest.is_empty() {
        let Some(sp) = rest.iter().position(|b| *b == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            break;
        };
        if len <= sp || len > rest.len() {
            break;
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(eq) = rec.iter().position(|b| *b == b'=') {
            let (k, v) = (&rec[..eq], &rec[eq + 1..]);
            match k {
                b"path" => path = Some(String::from_utf8_lossy(v).into_owned()),
                b"size" => size = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()),
                b"linkpath" => link = Some(String::from_utf8_lossy(v).into_owned()),
                _ => {}
            }
        }
        rest = &rest[len..];
    }
    (path, size, link)
}

fn clean(path: &str) -> String {
    let mut p = path;
    while let Some(r) = p.strip_prefix("./") {
        p = r;
    }
    p.to_owned()
}

impl<R: Read> Reader<R> {
    /// A reader that keeps the first `head_len` bytes of each regular file.
    pub fn new(inner: R, head_len: usize) -> Self {
        Self {
            inner,
            offset: 0,
            index: 0,
            head_len,
            done: false,
        }
    }

    /// The stream, positioned after what was read (after the end-of-archive block once
    /// [`Reader::next_entry`] returned `None`): a caller drains it to check the rest of a
    /// compressed stream (its trailer and checksum).
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Bytes of the stream consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn block(&mut self) -> Result<Option<[u8; 512]>, Error> {
        let mut b = [0u8; 512];
        let mut got = 0;
        while got < 512 {
            match self.inner.read(&mut b[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.offset += got as u64;
        match got {
            0 => Ok(None),
            512 => Ok(Some(b)),
            _ => Err(Error::Truncated(format!("header {}", self.index))),
        }
    }

    /// Reads `n` bytes (the data of an entry, padded to 512) keeping at most `keep`.
    fn data(&mut self, n: u64, keep: usize, name: &str) -> Result<Vec<u8>, Error> {
        let padded = n.div_ceil(512) * 512;
        let keep = keep.min(n as usize);
        let mut kept = vec![0u8; keep];
        self.inner
            .read_exact(&mut kept)
            .map_err(|e| trunc(e, name))?;
        let rest = padded - keep as u64;
        let skipped = io::copy(&mut (&mut self.inner).take(rest), &mut io::sink())?;
        if skipped < rest {
            return Err(Error::Truncated(name.to_owned()));
        }
        self.offset += padded;
        Ok(kept)
    }

    /// The next entry, or `None` at the end-of-archive blocks (or a clean end of stream).
    pub fn next_entry(&mut self) -> Result<Option<Entry>, Error> {
        self.next_inner(None)
    }

    /// The next entry, handing a regular file's data to `visit` as a reader of exactly its
    /// bytes (the entry's `head` is then empty). What `visit` leaves unread is skipped; an
    /// error from `visit` ends the walk with that error.
    pub fn next_entry_with(&mut self, visit: &mut Visit<'_>) -> Result<Option<Entry>, Error> {
        self.next_inner(Some(visit))
    }

    fn next_inner(&mut self, mut visit: Option<&mut Visit<'_>>) -> Result<Option<Entry>, Error> {
        if self.done {
            return Ok(None);
        }
        let mut long_name: Option<String> = None;
        let mut pax_path: Option<String> = None;
        let mut pax_size: Option<u64> = None;
        let mut long_link: Option<String> = None;
        let mut pax_link: Option<String> = None;
        loop {
            let offset = self.offset;
            let index = self.index;
            let Some(h) = self.block()? else {
                self.done = true;
                return Ok(None);
            };
            if h.iter().all(|b| *b == 0) {
                // End-of-archive: one zero block is enough to stop (GNU writes two).
                self.done = true;
                return Ok(None);
            }
            self.index += 1;
            let bad = |what: String| Error::Malformed {
                index,
                offset,
                what,
            };
            let want = octal(&h[148..156]).ok_or_else(|| bad("checksum is not octal".into()))?;
            let sum: u64 = h
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    if (148..156).contains(&i) {
                        32
                    } else {
                        u64::from(*b)
                    }
                })
                .sum();
            if sum != want {
                return Err(bad(format!("header checksum {want} does not match {sum}")));
            }
            let size = octal(&h[124..136]).ok_or_else(|| bad("size is not a number".into()))?;
            let typeflag = h[156];
            let name = {
                let n = cstr(&h[0..100]);
                if &h[257..262] == b"ustar" && h[345] != 0 {
                    format!("{}/{}", cstr(&h[345..500]), n)
                } else {
                    n
                }
            };
            match typeflag {
                b'L' | b'K' | b'x' | b'g' => {
                    if size > MAX_META {
                        return Err(bad(format!(
                            "a long name or pax header of {size} bytes (at most {MAX_META})"
                        )));
                    }
                    let d = self.data(size, size as usize, &name)?;
                    match typeflag {
                        b'L' => long_name = Some(cstr(&d)),
                        b'K' => long_link = Some(cstr(&d)),
                        b'x' => (pax_path, pax_size, pax_link) = pax(&d),
                        _ => {}
                    }
                    continue;
                }
                _ => {}
            }
            let mode = octal(&h[100..108]).unwrap_or(0) as u32;
            let size = pax_size.unwrap_or(size);
            let path = clean(&pax_path.take().or(long_name.take()).unwrap_or(name));
            let kind = match typeflag {
                b'0' | 0 | b'7' => EntryType::File,
                b'5' => EntryType::Dir,
                b'2' => EntryType::Symlink,
                b'1' => EntryType::Hardlink,
                t => EntryType::Other(t),
            };
            // Only regular files carry data (a hard link's size field is 0 in practice).
            let data_len = match kind {
                EntryType::File | EntryType::Other(_) => size,
                _ => 0,
            };
            let link = match kind {
                EntryType::Symlink | EntryType::Hardlink => pax_link
                    .take()
                    .or(long_link.take())
                    .unwrap_or_else(|| cstr(&h[157..257])),
                _ => String::new(),
            };
            let mut entry = Entry {
                path,
                kind,
                mode,
                size,
                head: Vec::new(),
                link,
            };
            if kind == EntryType::File
                && let Some(visit) = visit.as_mut()
            {
                let padded = data_len.div_ceil(512) * 512;
                let mut take = (&mut self.inner).take(data_len);
                visit(&entry, &mut take)?;
                let rest = take.limit() + (padded - data_len);
                let skipped = io::copy(&mut (&mut self.inner).take(rest), &mut io::sink())?;
                if skipped < rest {
                    return Err(Error::Truncated(entry.path));
                }
                self.offset += padded;
                return Ok(Some(entry));
            }
            let keep = if kind == EntryType::File {
                self.head_len
            } else {
                0
            };
            entry.head = self.data(data_len, keep, &entry.path)?;
            return Ok(Some(entry));
        }
    }
}

fn trunc(e: io::Error, name: &str) -> Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Error::Truncated(name.to_owned())
    } else {
        Error::Io(e)
    }
}

/// Writes one ustar header for tests of this crate and its users.
#[doc(hidden)]
pub fn ustar_header(path: &str, size: u64, mode: u32, typeflag: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..path.len().min(100)].copy_from_slice(&path.as_bytes()[..path.len().min(100)]);
    h[100..108].copy_from_slice(format!("{mode:07o}\0").as_bytes());
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar(entries: &[(&str, &[u8], u32, u8)]) -> Vec<u8> {
        let mut v = Vec::new();
        for (p, d, m, t) in entries {
            v.extend_from_slice(&ustar_header(p, d.len() as u64, *m, *t));
            v.extend_from_slice(d);
            v.resize(v.len().div_ceil(512) * 512, 0);
        }
        v.extend_from_slice(&[0u8; 1024]);
        v
    }

    #[test]
    fn lists_entries_with_heads() {
        let t = tar(&[
            ("./app/", b"", 0o755, b'5'),
            ("./app/bin", b"\x7fELF....", 0o755, b'0'),
            ("./app/README", b"hello", 0o644, b'0'),
        ]);
        let mut r = Reader::new(&t[..], 4);
        let a = r.next_entry().unwrap().unwrap();
        assert_eq!((a.path.as_str(), a.kind), ("app/", EntryType::Dir));
        let b = r.next_entry().unwrap().unwrap();
        assert_eq!(b.path, "app/bin");
        assert_eq!(b.head, b"\x7fELF");
        assert!(b.is_executable());
        let c = r.next_entry().unwrap().unwrap();
        assert_eq!((c.size, c.is_executable()), (5, false));
        assert!(r.next_entry().unwrap().is_none());
    }

    #[test]
    fn long_names_and_pax() {
        let long = "d/".repeat(80) + "file";
        let mut t = Vec::new();
        let mut ln = long.clone().into_bytes();
        ln.push(0);
        t.extend_from_slice(&ustar_header("././@LongLink", ln.len() as u64, 0, b'L'));
        t.extend_from_slice(&ln);
        t.resize(t.len().div_ceil(512) * 512, 0);
        t.extend_from_slice(&tar(&[("short", b"x", 0o644, b'0')]));
        let e = Reader::new(&t[..], 0).next_entry().unwrap().unwrap();
        assert_eq!(e.path, long);
        let rec = b"15 path=p/q/rr\n";
        let mut t = tar(&[("PaxHeader", rec, 0o644, b'x')]);
        t.truncate(t.len() - 1024);
        t.extend_from_slice(&tar(&[("short", b"x", 0o644, b'0')]));
        let e = Reader::new(&t[..], 0).next_entry().unwrap().unwrap();
        assert_eq!(e.path, "p/q/rr");
    }

    #[test]
    fn refuses_bad_headers_and_truncation() {
        let t = tar(&[("a", b"hello", 0o644, b'0')]);
        let mut bad = t.clone();
        bad[0] = b'b';
        assert!(matches!(
            Reader::new(&bad[..], 0).next_entry(),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            Reader::new(&t[..600], 0).next_entry(),
            Err(Error::Truncated(_))
        ));
        assert!(Reader::new(&t[..100], 0).next_entry().is_err());
        let mut huge = tar(&[("L", b"", 0, b'L')]);
        let h = ustar_header("L", (1 << 33) - 1, 0, b'L');
        huge[..512].copy_from_slice(&h);
        assert!(Reader::new(&huge[..], 0).next_entry().is_err());
    }

    #[test]
    fn hands_file_data_to_a_visitor_and_reads_link_targets() {
        let mut link = ustar_header("A.app/Current", 0, 0o777, b'2');
        link[157..158].copy_from_slice(b"A");
        link[148..156].copy_from_slice(b"        ");
        let sum: u32 = link.iter().map(|b| u32::from(*b)).sum();
        link[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let mut v = tar(&[
            ("A.app/a", b"hello", 0o644, b'0'),
            ("A.app/b", b"world!", 0o644, b'0'),
        ]);
        v.truncate(v.len() - 1024);
        v.extend_from_slice(&link);
        v.extend_from_slice(&[0u8; 1024]);
        let mut r = Reader::new(&v[..], 0);
        let mut seen = Vec::new();
        let mut visit = |e: &Entry, d: &mut dyn Read| {
            let mut b = Vec::new();
            if e.path.ends_with('a') {
                d.read_to_end(&mut b)?;
            }
            seen.push((e.path.clone(), b));
            Ok(())
        };
        let mut links = Vec::new();
        while let Some(e) = r.next_entry_with(&mut visit).unwrap() {
            links.push(e.link);
        }
        assert_eq!(
            seen,
            vec![
                ("A.app/a".to_owned(), b"hello".to_vec()),
                ("A.app/b".to_owned(), Vec::new())
            ]
        );
        assert_eq!(links, vec!["", "", "A"]);
        // Cut inside the second file's data: truncated, whatever the visitor read.
        let cut = &v[..512 * 3 + 3];
        let mut r = Reader::new(cut, 0);
        let mut noop = |_: &Entry, _: &mut dyn Read| Ok(());
        assert!(r.next_entry_with(&mut noop).unwrap().is_some());
        assert!(matches!(
            r.next_entry_with(&mut noop),
            Err(Error::Truncated(_))
        ));
    }
}
