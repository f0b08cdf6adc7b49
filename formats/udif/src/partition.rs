//! The partition map of a logical disk (Apple partition map, GPT, MBR, or a bare volume)
//! and which file system each partition starts with, told by its magic numbers.

use std::io::{self, Read, Seek, SeekFrom};

/// How the disk is divided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Apple partition map (a driver descriptor map, then `PM` entries).
    Apm,
    Gpt,
    Mbr,
    /// No map: the disk is one volume.
    None,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Apm => "apm",
            Scheme::Gpt => "gpt",
            Scheme::Mbr => "mbr",
            Scheme::None => "none",
        }
    }
}

/// What a partition starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSystem {
    /// HFS+ (`H+`).
    HfsPlus,
    /// HFSX (`HX`), the case-sensitive variant.
    Hfsx,
    /// A classic HFS volume (`BD`), possibly wrapping an HFS+ volume.
    Hfs,
    /// An APFS container (`NXSB`).
    Apfs,
    /// FAT12/16/32 or exFAT.
    Fat,
    Unknown,
}

impl FileSystem {
    pub fn name(self) -> &'static str {
        match self {
            FileSystem::HfsPlus => "hfs+",
            FileSystem::Hfsx => "hfsx",
            FileSystem::Hfs => "hfs",
            FileSystem::Apfs => "apfs",
            FileSystem::Fat => "fat",
            FileSystem::Unknown => "unknown",
        }
    }
}

/// One partition of the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    /// The map's type: `Apple_HFS`, a GPT type GUID, an MBR type byte as `0xNN`.
    pub kind: String,
    pub offset: u64,
    pub length: u64,
    pub fs: FileSystem,
}

/// Most entries read from one map.
const MAX_ENTRIES: u32 = 256;

/// GPT type of HFS+ partitions (48465300-0000-11AA-AA11-00306543ECAC, mixed-endian on disk).
const GPT_HFS: [u8; 16] = [
    0x00, 0x53, 0x46, 0x48, 0x00, 0x00, 0xaa, 0x11, 0xaa, 0x11, 0x00, 0x30, 0x65, 0x43, 0xec, 0xac,
];

fn read_at<R: Read + Seek>(r: &mut R, off: u64, buf: &mut [u8]) -> io::Result<bool> {
    r.seek(SeekFrom::Start(off))?;
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 => return Ok(false),
            n => got += n,
        }
    }
    Ok(true)
}

/// The file system at byte `off` of the disk.
pub fn sniff<R: Read + Seek>(r: &mut R, off: u64) -> io::Result<FileSystem> {
    let mut b = [0u8; 1026];
    if !read_at(r, off, &mut b)? {
        return Ok(FileSystem::Unknown);
    }
    Ok(match &b[1024..1026] {
        b"H+" => FileSystem::HfsPlus,
        b"HX" => FileSystem::Hfsx,
        b"BD" => FileSystem::Hfs,
        _ if &b[32..36] == b"NXSB" => FileSystem::Apfs,
        _ if is_fat_boot(&b[..512]) => FileSystem::Fat,
        _ => FileSystem::Unknown,
    })
}

fn is_fat_boot(s: &[u8]) -> bool {
    (s[0] == 0xeb || s[0] == 0xe9)
        && s[510..512] == [0x55, 0xaa]
        && (&s[54..57] == b"FAT" || &s[82..85] == b"FAT" || &s[3..11] == b"EXFAT   ")
}

fn text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Reads the partition map of a disk of `size` bytes.
pub fn read_map<R: Read + Seek>(r: &mut R, size: u64) -> io::Result<(Scheme, Vec<Part>)> {
    let mut s0 = [0u8; 512];
    let mut s1 = [0u8; 512];
    if !read_at(r, 0, &mut s0)? || !read_at(r, 512, &mut s1)? {
        return Ok((Scheme::None, Vec::new()));
    }
    let inside = |off: u64, len: u64| off.checked_add(len).is_some_and(|e| e <= size);
    let mut parts = Vec::new();
    if &s1[..8] == b"EFI PART" {
        let lba = u64::from_le_bytes(s1[72..80].try_into().expect("8"));
        let count = u32::from_le_bytes(s1[80..84].try_into().expect("4")).min(MAX_ENTRIES);
        let esize = u32::from_le_bytes(s1[84..88].try_into().expect("4"));
        if !(128..=4096).contains(&esize) || esize % 8 != 0 {
            return Ok((Scheme::Gpt, parts));
        }
        let mut e = vec![0u8; esize as usize];
        for i in 0..count as u64 {
            let Some(at) = lba
                .checked_mul(512)
                .and_then(|o| o.checked_add(i * esize as u64))
            else {
                break;
            };
            if !read_at(r, at, &mut e)? {
                break;
            }
            if e[..16] == [0u8; 16] {
                continue;
            }
            let first = u64::from_le_bytes(e[32..40].try_into().expect("8"));
            let last = u64::from_le_bytes(e[40..48].try_into().expect("8"));
            let (Some(off), Some(len)) = (
                first.checked_mul(512),
                last.checked_sub(first)
                    .and_then(|n| n.checked_add(1))
                    .and_then(|n| n.checked_mul(512)),
            ) else {
                continue;
            };
            if !inside(off, len) {
                continue;
            }
            let name: Vec<u16> = e[56..128]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|&c| c != 0)
                .collect();
            let g = &e[..16];
            let kind = if g == GPT_HFS {
                "Apple_HFS".to_owned()
            } else {
                format!(
                    "{:08X}-{:04X}-{:04X}-{}-{}",
                    u32::from_le_bytes(g[0..4].try_into().expect("4")),
                    u16::from_le_bytes([g[4], g[5]]),
                    u16::from_le_bytes([g[6], g[7]]),
                    hex(&g[8..10]),
                    hex(&g[10..16])
                )
            };
            parts.push(Part {
                name: String::from_utf16_lossy(&name),
                kind,
                offset: off,
                length: len,
                fs: sniff(r, off)?,
            });
        }
        return Ok((Scheme::Gpt, parts));
    }
    if &s1[..2] == b"PM" {
        // The driver descriptor map gives the block size; the entries count in it.
        let bs = match (&s0[..2], u16::from_be_bytes([s0[2], s0[3]])) {
            (b"ER", n) if n >= 512 && n.is_power_of_two() => n as u64,
            _ => 512,
        };
        let n = u32::from_be_bytes(s1[4..8].try_into().expect("4")).min(MAX_ENTRIES);
        let mut e = [0u8; 512];
        for i in 1..=n as u64 {
            if !read_at(r, i * bs, &mut e)? || &e[..2] != b"PM" {
                break;
            }
            let start = u32::from_be_bytes(e[8..12].try_into().expect("4")) as u64 * bs;
            let len = u32::from_be_bytes(e[12..16].try_into().expect("4")) as u64 * bs;
            if !inside(start, len) {
                continue;
            }
            let kind = text(&e[48..80]);
            let fs = if kind == "Apple_partition_map" || kind == "Apple_Free" {
                FileSystem::Unknown
            } else {
                sniff(r, start)?
            };
            parts.push(Part {
                name: text(&e[16..48]),
                kind,
                offset: start,
                length: len,
                fs,
            });
        }
        return Ok((Scheme::Apm, parts));
    }
    let bare = sniff(r, 0)?;
    if bare != FileSystem::Unknown {
        parts.push(Part {
            name: String::new(),
            kind: String::new(),
            offset: 0,
            length: size,
            fs: bare,
        });
        return Ok((Scheme::None, parts));
    }
    if s0[510..512] == [0x55, 0xaa] {
        for i in 0..4 {
            let e = &s0[446 + i * 16..462 + i * 16];
            let t = e[4];
            let start = u32::from_le_bytes(e[8..12].try_into().expect("4")) as u64 * 512;
            let len = u32::from_le_bytes(e[12..16].try_into().expect("4")) as u64 * 512;
            if t == 0 || len == 0 || !inside(start, len) {
                continue;
            }
            parts.push(Part {
                name: String::new(),
                kind: format!("0x{t:02x}"),
                offset: start,
                length: len,
                fs: sniff(r, start)?,
            });
        }
        return Ok((Scheme::Mbr, parts));
    }
    Ok((Scheme::None, parts))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}
