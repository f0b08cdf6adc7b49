//! Bounds-checked reads from byte slices and forward-only streams.

use std::io::{self, Read, SeekFrom};

use format_zip::ReadSeek;

/// Big- or little-endian `u32` at `off`, or `None` past the end.
pub fn u32_at(data: &[u8], off: usize, be: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

pub fn u64_at(data: &[u8], off: usize, be: bool) -> Option<u64> {
    let b: [u8; 8] = data.get(off..off.checked_add(8)?)?.try_into().ok()?;
    Some(if be {
        u64::from_be_bytes(b)
    } else {
        u64::from_le_bytes(b)
    })
}

pub fn be32(data: &[u8], off: usize) -> Option<u32> {
    u32_at(data, off, true)
}

/// A NUL-terminated string starting at `off` (at most `max` bytes), lossily decoded.
pub fn c_string(data: &[u8], off: usize, max: usize) -> Option<String> {
    let rest = data.get(off..)?;
    let rest = &rest[..rest.len().min(max)];
    let end = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// A forward-only reader that knows its position, for walking a zip member (which cannot
/// seek) the same way as a plain file (where skips become seeks).
pub struct Stream<'a> {
    src: Src<'a>,
    pos: u64,
}

enum Src<'a> {
    Read(&'a mut dyn Read),
    Seek(&'a mut dyn ReadSeek),
}

impl<'a> Stream<'a> {
    /// Positions count from the reader's current place, taken as offset 0.
    pub fn new(inner: &'a mut dyn Read) -> Self {
        Self {
            src: Src::Read(inner),
            pos: 0,
        }
    }

    pub fn seekable(inner: &'a mut dyn ReadSeek) -> Self {
        Self {
            src: Src::Seek(inner),
            pos: 0,
        }
    }

    fn reader(&mut self) -> &mut dyn Read {
        match &mut self.src {
            Src::Read(r) => *r,
            Src::Seek(s) => *s,
        }
    }

    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Moves to absolute offset `to`; fails if `to` lies behind us or past the end.
    pub fn skip_to(&mut self, to: u64) -> io::Result<()> {
        let n = to.checked_sub(self.pos).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("offset {to} lies before offset {} already read", self.pos),
            )
        })?;
        if let Src::Seek(s) = &mut self.src {
            let delta = i64::try_from(n)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "offset out of range"))?;
            s.seek(SeekFrom::Current(delta))?;
            // Past the end is found by the next read, which comes up short.
            self.pos = to;
            return Ok(());
        }
        let copied = io::copy(&mut self.reader().take(n), &mut io::sink())?;
        self.pos += copied;
        if copied != n {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("file ends at {} before offset {to}", self.pos),
            ));
        }
        Ok(())
    }

    /// Reads exactly `len` bytes; the caller has bounded `len`.
    pub fn read_vec(&mut self, len: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let got = self.reader().take(len as u64).read_to_end(&mut out)?;
        self.pos += got as u64;
        if got != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("file ends at {} inside a {len}-byte structure", self.pos),
            ));
        }
        Ok(out)
    }

    /// Reads up to `buf.len()` bytes (fewer only at the end).
    pub fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        let r = self.reader();
        while filled < buf.len() {
            match r.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pos += filled as u64;
        Ok(filled)
    }
}
