//! ELF basics for reading Linux artifacts: the header (class, byte order, type, machine and
//! the architecture name a package would use), where the file's ELF part ends (an AppImage's
//! filesystem starts there), and its named sections (an AppImage's `.upd_info`).
//!
//! It owns the ELF header and section table only; it does not load segments, resolve
//! symbols or read DWARF. Every count and offset is bounded before anything is allocated.

use std::io::{self, Read, Seek, SeekFrom};

pub const MAGIC: &[u8; 4] = b"\x7fELF";

/// Section headers read at most: real executables have a few dozen.
pub const MAX_SECTIONS: u16 = 4096;
/// The section-name table read at most.
pub const MAX_SHSTRTAB: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    #[error("not an ELF file")]
    NotElf,
    #[error("malformed ELF: {0}")]
    Malformed(String),
}

/// The ELF file header fields this workspace uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub is_64: bool,
    pub little_endian: bool,
    /// `e_type`: 2 executable, 3 shared object (also PIE executables), 1 relocatable.
    pub file_type: u16,
    pub machine: u16,
    pub shoff: u64,
    pub shentsize: u16,
    pub shnum: u16,
    pub shstrndx: u16,
    /// `e_ident[8]..[11]`: AppImage puts `AI\x01`/`AI\x02` here.
    pub ident_pad: [u8; 3],
}

/// One section header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub offset: u64,
    pub size: u64,
    /// `SHT_NOBITS` sections occupy no bytes of the file.
    pub nobits: bool,
}

fn u16_at(b: &[u8], o: usize, le: bool) -> u16 {
    let a = [b[o], b[o + 1]];
    if le {
        u16::from_le_bytes(a)
    } else {
        u16::from_be_bytes(a)
    }
}
fn u32_at(b: &[u8], o: usize, le: bool) -> u32 {
    let a = [b[o], b[o + 1], b[o + 2], b[o + 3]];
    if le {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    }
}
fn u64_at(b: &[u8], o: usize, le: bool) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    if le {
        u64::from_le_bytes(a)
    } else {
        u64::from_be_bytes(a)
    }
}

/// Whether `head` starts with the ELF magic.
pub fn is_elf(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// Parses the file header from the first bytes of a file (64 are enough).
pub fn header(head: &[u8]) -> Result<Header, Error> {
    if !is_elf(head) {
        return Err(Error::NotElf);
    }
    if head.len() < 52 {
        return Err(Error::Malformed("the file header is truncated".into()));
    }
    let is_64 = match head[4] {
        1 => false,
        2 => true,
        c => return Err(Error::Malformed(format!("unknown class {c}"))),
    };
    let le = match head[5] {
        1 => true,
        2 => false,
        d => return Err(Error::Malformed(format!("unknown byte order {d}"))),
    };
    if is_64 && head.len() < 64 {
        return Err(Error::Malformed(
            "the 64-bit file header is truncated".into(),
        ));
    }
    let (shoff, rest) = if is_64 {
        (u64_at(head, 0x28, le), 0x3a)
    } else {
        (u64::from(u32_at(head, 0x20, le)), 0x2e)
    };
    Ok(Header {
        is_64,
        little_endian: le,
        file_type: u16_at(head, 0x10, le),
        machine: u16_at(head, 0x12, le),
        shoff,
        shentsize: u16_at(head, rest, le),
        shnum: u16_at(head, rest + 2, le),
        shstrndx: u16_at(head, rest + 4, le),
        ident_pad: [head[8], head[9], head[10]],
    })
}

impl Header {
    /// The architecture as Linux packages name it (`x86_64`, `aarch64`, ...), from the
    /// machine, class and byte order.
    pub fn arch(&self) -> String {
        match (self.machine, self.is_64, self.little_endian) {
            (3, _, _) => "i386",
            (62, _, _) => "x86_64",
            (40, _, true) => "arm",
            (40, _, false) => "armeb",
            (183, _, true) => "aarch64",
            (183, _, false) => "aarch64_be",
            (243, true, _) => "riscv64",
            (243, false, _) => "riscv32",
            (8, true, true) => "mips64el",
            (8, true, false) => "mips64",
            (8, false, true) => "mipsel",
            (8, false, false) => "mips",
            (20, _, _) => "ppc",
            (21, _, true) => "ppc64le",
            (21, _, false) => "ppc64",
            (22, _, _) => "s390x",
            (258, _, _) => "loongarch64",
            (2, _, _) => "sparc",
            (43, _, _) => "sparc64",
            (m, _, _) => return format!("elf-machine-{m}"),
        }
        .to_owned()
    }

    /// Where the section header table ends: for an executable whose section table is its
    /// last structure (an AppImage runtime), the end of its ELF part.
    pub fn sections_end(&self) -> Option<u64> {
        self.shoff
            .checked_add(u64::from(self.shentsize) * u64::from(self.shnum))
    }
}

/// Reads the section headers and their names. `size` is the file's size; every section
/// must lie inside it.
pub fn sections<R: Read + Seek + ?Sized>(
    r: &mut R,
    h: &Header,
    size: u64,
) -> Result<Vec<Section>, Error> {
    if h.shnum == 0 {
        return Ok(Vec::new());
    }
    if h.shnum > MAX_SECTIONS {
        return Err(Error::Malformed(format!(
            "{} section headers, more than {MAX_SECTIONS}",
            h.shnum
        )));
    }
    let want = if h.is_64 { 64 } else { 40 };
    // Real section headers are exactly 40 or 64 bytes; a larger size only inflates the table.
    if usize::from(h.shentsize) < want || h.shentsize > 256 {
        return Err(Error::Malformed(format!(
            "section header size {} is under {want} or over 256",
            h.shentsize
        )));
    }
    let end = h.sections_end().filter(|e| *e <= size).ok_or_else(|| {
        Error::Malformed("the section table lies past the end of the file".into())
    })?;
    let len = (end - h.shoff) as usize;
    let mut table = vec![0u8; len];
    r.seek(SeekFrom::Start(h.shoff))?;
    r.read_exact(&mut table)?;
    let le = h.little_endian;
    let mut raw = Vec::with_capacity(usize::from(h.shnum));
    for i in 0..usize::from(h.shnum) {
        let b = &table[i * usize::from(h.shentsize)..];
        let name = u32_at(b, 0, le);
        let kind = u32_at(b, 4, le);
        let (offset, sz) = if h.is_64 {
            (u64_at(b, 0x18, le), u64_at(b, 0x20, le))
        } else {
            (
                u64::from(u32_at(b, 0x10, le)),
                u64::from(u32_at(b, 0x14, le)),
            )
        };
        let nobits = kind == 8;
        if !nobits && offset.checked_add(sz).is_none_or(|e| e > size) {
            return Err(Error::Malformed(format!(
                "section {i} ({sz} bytes at {offset}) lies past the end of the file"
            )));
        }
        raw.push((name, offset, sz, nobits));
    }
    let strtab = raw.get(usize::from(h.shstrndx)).copied();
    let names = match strtab {
        Some((_, off, sz, false)) if sz <= MAX_SHSTRTAB && off.saturating_add(sz) <= size => {
            let mut b = vec![0u8; sz as usize];
            r.seek(SeekFrom::Start(off))?;
            r.read_exact(&mut b)?;
            b
        }
        _ => Vec::new(),
    };
    Ok(raw
        .into_iter()
        .map(|(n, offset, size, nobits)| {
            let name = names
                .get(n as usize..)
                .and_then(|s| s.split(|b| *b == 0).next())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default();
            Section {
                name,
                offset,
                size,
                nobits,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal 64-bit little-endian header for machine `m`.
    pub fn elf64(m: u16) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(MAGIC);
        h[4] = 2;
        h[5] = 1;
        h[6] = 1;
        h[0x10..0x12].copy_from_slice(&3u16.to_le_bytes());
        h[0x12..0x14].copy_from_slice(&m.to_le_bytes());
        h
    }

    #[test]
    fn reads_machine_and_arch() {
        assert_eq!(header(&elf64(62)).unwrap().arch(), "x86_64");
        assert_eq!(header(&elf64(183)).unwrap().arch(), "aarch64");
        assert!(matches!(header(b"MZ"), Err(Error::NotElf)));
        assert!(header(&elf64(62)[..40]).is_err());
    }

    #[test]
    fn refuses_a_section_table_past_the_end() {
        let mut h = elf64(62);
        h[0x28..0x30].copy_from_slice(&1000u64.to_le_bytes());
        h[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        h[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        let hd = header(&h).unwrap();
        assert_eq!(hd.sections_end(), Some(1192));
        assert!(sections(&mut std::io::Cursor::new(&h), &hd, 64).is_err());
    }
}
