//! A bounded reader of Unix `ar` archives, as `dpkg` writes them for `.deb` packages: the
//! `!<arch>\n` magic, then members of a 60-byte header and their data, padded to an even
//! offset. Common (System V / GNU) names ending in `/` are accepted; BSD `#1/` long names and
//! GNU name tables are read as their literal name (a deb never uses them).
//!
//! It owns the container only: it lists members and hands out their offset and size, and
//! never reads a member's data itself, so a caller streams what it needs from the file.

use std::io::{self, Read, Seek, SeekFrom};

pub const MAGIC: &[u8; 8] = b"!<arch>\n";
const HEADER: u64 = 60;

/// One member: its name and where its data lies in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// Offset of the member's data from the start of the archive.
    pub offset: u64,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    #[error("not an ar archive (no !<arch> magic)")]
    NotAr,
    #[error("member {index} at offset {offset}: {what}")]
    Malformed {
        index: usize,
        offset: u64,
        what: String,
    },
    #[error("more than {0} members")]
    TooMany(usize),
}

fn field(h: &[u8], range: std::ops::Range<usize>) -> &str {
    std::str::from_utf8(&h[range])
        .unwrap_or("")
        .trim_end_matches(' ')
}

/// Lists the members of an ar archive of `size` bytes, at most `max_members` of them.
/// Every member must fit inside the file.
pub fn members<R: Read + Seek + ?Sized>(
    r: &mut R,
    size: u64,
    max_members: usize,
) -> Result<Vec<Member>, Error> {
    r.seek(SeekFrom::Start(0))?;
    let mut magic = [0u8; 8];
    if size < 8 {
        return Err(Error::NotAr);
    }
    r.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(Error::NotAr);
    }
    let mut out = Vec::new();
    let mut pos = 8u64;
    while pos < size {
        let index = out.len();
        let bad = |what: String| Error::Malformed {
            index,
            offset: pos,
            what,
        };
        if out.len() >= max_members {
            return Err(Error::TooMany(max_members));
        }
        if size - pos < HEADER {
            return Err(bad(format!(
                "a member header needs 60 bytes, {} are left",
                size - pos
            )));
        }
        let mut h = [0u8; HEADER as usize];
        r.seek(SeekFrom::Start(pos))?;
        r.read_exact(&mut h)?;
        if &h[58..60] != b"`\n" {
            return Err(bad("the header does not end in `\\n".into()));
        }
        let raw = field(&h, 0..16);
        let name = raw.strip_suffix('/').unwrap_or(raw);
        if name.is_empty() || name.chars().any(|c| c.is_control()) {
            return Err(bad(format!(
                "member name {raw:?} is empty or holds control characters"
            )));
        }
        let size_field = field(&h, 48..58);
        let msize: u64 = size_field
            .parse()
            .map_err(|_| bad(format!("size {size_field:?} is not a decimal number")))?;
        let data = pos + HEADER;
        if msize > size - data {
            return Err(bad(format!(
                "member {name} claims {msize} bytes, past the end of the {size}-byte file"
            )));
        }
        out.push(Member {
            name: name.to_owned(),
            offset: data,
            size: msize,
        });
        pos = data + msize + (msize & 1);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        for (n, d) in members {
            v.extend_from_slice(
                format!(
                    "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                    n,
                    0,
                    0,
                    0,
                    100644,
                    d.len()
                )
                .as_bytes(),
            );
            v.extend_from_slice(d);
            if d.len() % 2 == 1 {
                v.push(b'\n');
            }
        }
        v
    }

    #[test]
    fn lists_members_with_padding() {
        let a = ar(&[("debian-binary", b"2.0\n"), ("odd/", b"abc"), ("z", b"")]);
        let m = members(&mut Cursor::new(&a), a.len() as u64, 10).unwrap();
        let names: Vec<&str> = m.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["debian-binary", "odd", "z"]);
        assert_eq!(&a[m[1].offset as usize..][..3], b"abc");
    }

    #[test]
    fn refuses_bad_archives() {
        let a = ar(&[("x", b"12345")]);
        assert!(matches!(
            members(&mut Cursor::new(b"nope"), 4, 10),
            Err(Error::NotAr)
        ));
        // Truncated data.
        let t = &a[..a.len() - 3];
        assert!(members(&mut Cursor::new(t), t.len() as u64, 10).is_err());
        // A huge size.
        let mut h = a.clone();
        h[8 + 48..8 + 58].copy_from_slice(b"9999999999");
        assert!(members(&mut Cursor::new(&h), h.len() as u64, 10).is_err());
        assert!(matches!(
            members(&mut Cursor::new(&a), a.len() as u64, 0),
            Err(Error::TooMany(0))
        ));
    }
}
