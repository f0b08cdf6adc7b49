//! The root directory of an ISO 9660 image, as a type 1 AppImage holds one (its ELF runtime
//! sits in the image's system area). Rock Ridge `NM` names are used when present, else the
//! ISO name without its `;1` version. Only the root is listed and only small files read.

use std::io::{Read, Seek, SeekFrom};

use crate::Error;

const SECTOR: u64 = 2048;

/// One root entry: name, whether a folder, and where its data lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub dir: bool,
    pub extent: u64,
    pub size: u64,
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Lists the root directory of the image in `r` (`size` bytes).
pub fn root<R: Read + Seek + ?Sized>(r: &mut R, size: u64) -> Result<Vec<Entry>, Error> {
    let mut pvd = [0u8; 2048];
    if size < 17 * SECTOR {
        return Err(Error::Malformed(
            "the ISO 9660 image is shorter than its volume descriptor".into(),
        ));
    }
    r.seek(SeekFrom::Start(16 * SECTOR))?;
    r.read_exact(&mut pvd)?;
    if pvd[0] != 1 || &pvd[1..6] != b"CD001" {
        return Err(Error::Malformed(
            "no ISO 9660 primary volume descriptor at sector 16".into(),
        ));
    }
    let rec = &pvd[156..190];
    let (lba, len) = (u64::from(le32(rec, 2)), u64::from(le32(rec, 10)));
    if len > 1 << 20 || lba.saturating_mul(SECTOR).saturating_add(len) > size {
        return Err(Error::Malformed(format!(
            "the root directory ({len} bytes at sector {lba}) lies outside the {size}-byte image"
        )));
    }
    let mut d = vec![0u8; len as usize];
    r.seek(SeekFrom::Start(lba * SECTOR))?;
    r.read_exact(&mut d)?;
    let mut out = Vec::new();
    let mut p = 0usize;
    while p < d.len() {
        let l = usize::from(d[p]);
        if l == 0 {
            // Records do not cross sectors: the rest of this one is padding.
            p = (p / SECTOR as usize + 1) * SECTOR as usize;
            continue;
        }
        let rec = d.get(p..p + l).filter(|r| r.len() >= 34).ok_or_else(|| {
            Error::Malformed("a directory record of the ISO 9660 root is truncated".into())
        })?;
        p += l;
        let nl = usize::from(rec[32]);
        let Some(raw) = rec.get(33..33 + nl) else {
            return Err(Error::Malformed(
                "a directory record's name is truncated".into(),
            ));
        };
        if raw == [0] || raw == [1] {
            continue; // `.` and `..`
        }
        let su = rec.get(33 + nl + (nl + 1) % 2..).unwrap_or(&[]);
        let name = rock_ridge_name(su).unwrap_or_else(|| {
            let n = String::from_utf8_lossy(raw);
            let n = n.split(';').next().unwrap_or("");
            n.strip_suffix('.').unwrap_or(n).to_ascii_lowercase()
        });
        out.push(Entry {
            name,
            dir: rec[25] & 2 != 0,
            extent: u64::from(le32(rec, 2)),
            size: u64::from(le32(rec, 10)),
        });
    }
    Ok(out)
}

fn rock_ridge_name(mut su: &[u8]) -> Option<String> {
    let mut name = String::new();
    while su.len() >= 4 {
        let l = usize::from(su[2]);
        if l < 4 || l > su.len() {
            break;
        }
        if &su[..2] == b"NM" && l >= 5 {
            name.push_str(&String::from_utf8_lossy(&su[5..l]));
        }
        su = &su[l..];
    }
    (!name.is_empty()).then_some(name)
}

/// A root file's bytes, refused when over `max`.
pub fn read<R: Read + Seek + ?Sized>(
    r: &mut R,
    size: u64,
    e: &Entry,
    max: u64,
) -> Result<Vec<u8>, Error> {
    if e.size > max {
        return Err(Error::Limit(format!(
            "{} is {} bytes, more than {max}",
            e.name, e.size
        )));
    }
    let at = e.extent.saturating_mul(SECTOR);
    if at.saturating_add(e.size) > size {
        return Err(Error::Malformed(format!(
            "{} lies past the end of the image",
            e.name
        )));
    }
    let mut v = vec![0u8; e.size as usize];
    r.seek(SeekFrom::Start(at))?;
    r.read_exact(&mut v)?;
    Ok(v)
}
