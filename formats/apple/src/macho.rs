//! Mach-O headers, thin and fat, read forward-only (a zip member cannot seek), plus the
//! streaming check of code-page hashes against a CodeDirectory.

use std::io::{self, Read};

use format_zip::ReadSeek;
use ring::digest;

use crate::bytes::{Stream, be32, u32_at};
use crate::codesign::CodeDirectory;

pub const FAT_MAGIC: u32 = 0xcafe_babe;
pub const FAT_MAGIC_64: u32 = 0xcafe_babf;
/// A Java class file also starts with 0xcafebabe, followed by its version numbers (major 45
/// or more); a real fat header declares a handful of architectures.
pub const MAX_FAT_ARCHS: u32 = 20;
/// Load commands are a few kilobytes; more than this is not a real binary.
const MAX_LOAD_COMMANDS_BYTES: u64 = 4 * 1024 * 1024;

const LC_CODE_SIGNATURE: u32 = 0x1d;
const LC_ENCRYPTION_INFO: u32 = 0x21;
const LC_ENCRYPTION_INFO_64: u32 = 0x2c;
const LC_VERSION_MIN_MACOSX: u32 = 0x24;
const LC_VERSION_MIN_IPHONEOS: u32 = 0x25;
const LC_VERSION_MIN_TVOS: u32 = 0x2f;
const LC_VERSION_MIN_WATCHOS: u32 = 0x30;
const LC_BUILD_VERSION: u32 = 0x32;

/// Apple platform numbers of LC_BUILD_VERSION.
pub const PLATFORM_MACOS: u32 = 1;
pub const PLATFORM_IOS: u32 = 2;
pub const PLATFORM_MACCATALYST: u32 = 6;

/// The caps a Mach-O read applies (a target takes them from its inspection limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest structure read into memory (load commands, a code signature).
    pub max_structure_bytes: u64,
    /// Most bytes hashed while checking code pages.
    pub max_streamed_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_structure_bytes: 16 << 20,
            max_streamed_bytes: 8 << 30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MachoError {
    #[error("not a Mach-O file (magic {0:#010x})")]
    NotMachO(u32),
    #[error("truncated: {0}")]
    Truncated(String),
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("{what} of {len} bytes exceeds the limit of {limit}")]
    TooLarge {
        what: &'static str,
        len: u64,
        limit: u64,
    },
}

impl From<io::Error> for MachoError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => Self::Truncated(e.to_string()),
            _ => Self::Malformed(e.to_string()),
        }
    }
}

/// Thin Mach-O magic as read little-endian: returns (is_64, big_endian).
pub fn thin_magic(m: u32) -> Option<(bool, bool)> {
    match m {
        0xfeed_face => Some((false, false)),
        0xfeed_facf => Some((true, false)),
        0xcefa_edfe => Some((false, true)),
        0xcffa_edfe => Some((true, true)),
        _ => None,
    }
}

pub fn arch_name(cputype: u32, subtype: u32) -> String {
    let sub = subtype & 0x00ff_ffff;
    match (cputype, sub) {
        (12, 6) => "armv6".into(),
        (12, 9) => "armv7".into(),
        (12, 11) => "armv7s".into(),
        (12, 12) => "armv7k".into(),
        (12, _) => "arm".into(),
        (0x0100_000c, 2) => "arm64e".into(),
        (0x0100_000c, _) => "arm64".into(),
        (0x0200_000c, _) => "arm64_32".into(),
        (7, _) => "i386".into(),
        (0x0100_0007, 8) => "x86_64h".into(),
        (0x0100_0007, _) => "x86_64".into(),
        _ => format!("cpu{cputype:#x}"),
    }
}

/// Apple packs versions as xxxx.yy.zz in a u32.
pub fn packed_version(v: u32) -> String {
    format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)
}

#[derive(Debug, Clone)]
pub struct Slice {
    pub offset: u64,
    pub arch: String,
    pub filetype: u32,
    /// LC_BUILD_VERSION platform, or the one implied by an LC_VERSION_MIN_* command.
    pub platform: Option<u32>,
    pub min_os: Option<String>,
    pub sdk: Option<String>,
    pub encrypted: bool,
    /// The SuperBlob bytes LC_CODE_SIGNATURE points at.
    pub signature: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct MachO {
    pub fat: bool,
    pub slices: Vec<Slice>,
}

impl MachO {
    pub fn archs(&self) -> Vec<String> {
        self.slices.iter().map(|s| s.arch.clone()).collect()
    }
}

/// Platform and min OS from load commands alone (used by detection on the first bytes).
pub struct LoadCommandFacts {
    pub platform: Option<u32>,
    pub min_os: Option<String>,
    pub sdk: Option<String>,
    pub encrypted: bool,
    pub code_signature: Option<(u32, u32)>,
}

pub fn parse_load_commands(
    cmds: &[u8],
    ncmds: u32,
    be: bool,
) -> Result<LoadCommandFacts, MachoError> {
    let mut facts = LoadCommandFacts {
        platform: None,
        min_os: None,
        sdk: None,
        encrypted: false,
        code_signature: None,
    };
    let mut off = 0usize;
    for i in 0..ncmds {
        let (Some(cmd), Some(size)) = (u32_at(cmds, off, be), u32_at(cmds, off + 4, be)) else {
            return Err(MachoError::Malformed(format!(
                "load command {i} at {off} runs past sizeofcmds"
            )));
        };
        let size = size as usize;
        if size < 8 || off.checked_add(size).is_none_or(|e| e > cmds.len()) {
            return Err(MachoError::Malformed(format!(
                "load command {i} declares {size} bytes at {off}"
            )));
        }
        let body = &cmds[off..off + size];
        let field = |at: usize| u32_at(body, at, be);
        match cmd {
            LC_CODE_SIGNATURE => {
                if let (Some(o), Some(s)) = (field(8), field(12)) {
                    facts.code_signature = Some((o, s));
                }
            }
            LC_ENCRYPTION_INFO | LC_ENCRYPTION_INFO_64 => {
                facts.encrypted |= field(16).is_some_and(|id| id != 0);
            }
            LC_BUILD_VERSION => {
                facts.platform = field(8);
                facts.min_os = field(12).map(packed_version);
                facts.sdk = field(16).map(packed_version);
            }
            LC_VERSION_MIN_IPHONEOS
            | LC_VERSION_MIN_TVOS
            | LC_VERSION_MIN_WATCHOS
            | LC_VERSION_MIN_MACOSX
                if facts.platform.is_none() =>
            {
                facts.platform = Some(match cmd {
                    LC_VERSION_MIN_MACOSX => PLATFORM_MACOS,
                    LC_VERSION_MIN_IPHONEOS => PLATFORM_IOS,
                    LC_VERSION_MIN_TVOS => 3,
                    _ => 4,
                });
                facts.min_os = field(8).map(packed_version);
                facts.sdk = field(12).map(packed_version);
            }
            _ => {}
        }
        off += size;
    }
    Ok(facts)
}

/// Header fields of a thin Mach-O: (cputype, subtype, filetype, ncmds, sizeofcmds, header len).
pub fn thin_header(h: &[u8]) -> Option<(bool, u32, u32, u32, u32, u32, usize)> {
    let (is64, be) = thin_magic(u32_at(h, 0, false)?)?;
    Some((
        be,
        u32_at(h, 4, be)?,
        u32_at(h, 8, be)?,
        u32_at(h, 12, be)?,
        u32_at(h, 16, be)?,
        u32_at(h, 20, be)?,
        if is64 { 32 } else { 28 },
    ))
}

/// Fat arch table entries (offset, size, cputype, subtype) from the first bytes, if `head`
/// is a plausible fat header.
pub fn fat_arches(head: &[u8]) -> Option<Vec<(u64, u64, u32, u32)>> {
    let magic = be32(head, 0)?;
    let is64 = match magic {
        FAT_MAGIC => false,
        FAT_MAGIC_64 => true,
        _ => return None,
    };
    let n = be32(head, 4)?;
    if n == 0 || n > MAX_FAT_ARCHS {
        return None;
    }
    let entry = if is64 { 32 } else { 20 };
    let mut out = Vec::new();
    for i in 0..n as usize {
        let at = 8 + i * entry;
        let cpu = be32(head, at)?;
        let sub = be32(head, at + 4)?;
        let (off, size) = if is64 {
            (
                crate::bytes::u64_at(head, at + 8, true)?,
                crate::bytes::u64_at(head, at + 16, true)?,
            )
        } else {
            (be32(head, at + 8)? as u64, be32(head, at + 12)? as u64)
        };
        out.push((off, size, cpu, sub));
    }
    Some(out)
}

/// Where the first slice starts in a Mach-O whose first bytes are `head`: 0 for a thin
/// file, the lowest slice offset for a fat one. None when `head` is not Mach-O, or when
/// that slice would overlap the fat table or is too small to hold a header.
pub fn first_slice_offset(head: &[u8]) -> Option<u64> {
    match fat_arches(head) {
        Some(arches) => {
            let (off, size, _, _) = *arches.iter().min_by_key(|a| a.0)?;
            let table_end = 8 + arches.len() as u64 * 20;
            if off < table_end || size < 28 {
                return None;
            }
            Some(off)
        }
        None => {
            thin_magic(u32_at(head, 0, false)?)?;
            Some(0)
        }
    }
}

/// Pass one: headers, load commands and the signature blob of every slice.
pub fn scan(input: &mut dyn Read, limits: &Limits) -> Result<MachO, MachoError> {
    scan_stream(Stream::new(input), limits)
}

/// [`scan`] for a plain file: gaps are skipped by seeking, not read.
pub fn scan_seekable(input: &mut dyn ReadSeek, limits: &Limits) -> Result<MachO, MachoError> {
    scan_stream(Stream::seekable(input), limits)
}

fn scan_stream(mut s: Stream<'_>, limits: &Limits) -> Result<MachO, MachoError> {
    let head = s.read_vec(8)?;
    let magic_be = be32(&head, 0).unwrap_or(0);
    if magic_be == FAT_MAGIC || magic_be == FAT_MAGIC_64 {
        let n = be32(&head, 4).unwrap_or(0);
        if n == 0 || n > MAX_FAT_ARCHS {
            return Err(MachoError::NotMachO(magic_be));
        }
        let entry = if magic_be == FAT_MAGIC_64 { 32 } else { 20 };
        let mut table = head.clone();
        table.extend(s.read_vec(n as usize * entry)?);
        let mut arches = fat_arches(&table)
            .ok_or_else(|| MachoError::Malformed("fat header does not parse".into()))?;
        arches.sort_by_key(|a| a.0);
        let mut slices = Vec::new();
        for (off, size, cpu, sub) in arches {
            if off < s.pos() {
                return Err(MachoError::Malformed(format!(
                    "fat slice {} at offset {off} overlaps the data before it",
                    arch_name(cpu, sub)
                )));
            }
            s.skip_to(off)?;
            let slice = scan_thin(&mut s, off, None, limits)?;
            if slice.arch != arch_name(cpu, sub) {
                return Err(MachoError::Malformed(format!(
                    "fat header says {} at offset {off}, the slice says {}",
                    arch_name(cpu, sub),
                    slice.arch
                )));
            }
            let _ = size;
            slices.push(slice);
        }
        return Ok(MachO { fat: true, slices });
    }
    let slice = scan_thin(&mut s, 0, Some(head), limits)?;
    Ok(MachO {
        fat: false,
        slices: vec![slice],
    })
}

fn scan_thin(
    s: &mut Stream<'_>,
    offset: u64,
    already: Option<Vec<u8>>,
    limits: &Limits,
) -> Result<Slice, MachoError> {
    let mut h = match already {
        Some(h) => h,
        None => s.read_vec(8)?,
    };
    let magic = u32_at(&h, 0, false).unwrap_or(0);
    let Some((is64, _)) = thin_magic(magic) else {
        return Err(MachoError::NotMachO(magic));
    };
    let hlen = if is64 { 32 } else { 28 };
    h.extend(s.read_vec(hlen - h.len())?);
    let (be, cpu, sub, filetype, ncmds, sizeofcmds, _) =
        thin_header(&h).ok_or(MachoError::NotMachO(magic))?;
    let cap = MAX_LOAD_COMMANDS_BYTES.min(limits.max_structure_bytes);
    if sizeofcmds as u64 > cap {
        return Err(MachoError::TooLarge {
            what: "load commands",
            len: sizeofcmds as u64,
            limit: cap,
        });
    }
    let cmds = s.read_vec(sizeofcmds as usize)?;
    let facts = parse_load_commands(&cmds, ncmds, be)?;
    let mut signature = None;
    if let Some((dataoff, datasize)) = facts.code_signature {
        if datasize as u64 > limits.max_structure_bytes {
            return Err(MachoError::TooLarge {
                what: "code signature",
                len: datasize as u64,
                limit: limits.max_structure_bytes,
            });
        }
        let at = offset.checked_add(dataoff as u64).ok_or_else(|| {
            MachoError::Malformed(format!("code signature offset {dataoff} overflows"))
        })?;
        if at < s.pos() {
            return Err(MachoError::Malformed(format!(
                "code signature at {dataoff} overlaps the load commands"
            )));
        }
        s.skip_to(at)?;
        signature = Some(s.read_vec(datasize as usize)?);
    }
    Ok(Slice {
        offset,
        arch: arch_name(cpu, sub),
        filetype,
        platform: facts.platform,
        min_os: facts.min_os,
        sdk: facts.sdk,
        encrypted: facts.encrypted,
        signature,
    })
}

struct PageState<'a> {
    cd: &'a CodeDirectory,
    ctx: digest::Context,
    in_page: u64,
    page: u32,
    mismatch: Option<String>,
}

/// Pass two: hashes the code pages of each slice against its CodeDirectories. `plans` holds
/// (slice offset, directories), sorted by offset. Returns one verdict per plan.
pub fn verify_pages(
    mut s: Stream<'_>,
    plans: &[(u64, Vec<&CodeDirectory>)],
    limits: &Limits,
) -> io::Result<Vec<Result<(), String>>> {
    let mut verdicts = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut streamed = 0u64;
    for (offset, cds) in plans {
        if *offset < s.pos() {
            verdicts.push(Err("slices overlap".to_owned()));
            continue;
        }
        if let Err(e) = s.skip_to(*offset) {
            verdicts.push(Err(e.to_string()));
            continue;
        }
        let limit = cds.iter().map(|c| c.code_limit).max().unwrap_or(0);
        if streamed.saturating_add(limit) > limits.max_streamed_bytes {
            verdicts.push(Err(format!(
                "code limit of {limit} bytes exceeds the streaming limit"
            )));
            continue;
        }
        let mut states: Vec<PageState<'_>> = cds
            .iter()
            .map(|cd| PageState {
                cd,
                ctx: digest::Context::new(cd.hash_type.algorithm()),
                in_page: 0,
                page: 0,
                mismatch: None,
            })
            .collect();
        let mut pos = 0u64;
        let mut short = false;
        while pos < limit {
            let want = buf.len().min((limit - pos) as usize);
            let n = s.read_some(&mut buf[..want])?;
            if n == 0 {
                short = true;
                break;
            }
            for st in states.iter_mut() {
                feed(st, pos, &buf[..n]);
            }
            pos += n as u64;
            streamed += n as u64;
        }
        let mut verdict = Ok(());
        for st in states.iter_mut() {
            if st.in_page > 0 {
                finish_page(st);
            }
            if st.mismatch.is_none() && st.page != st.cd.n_code {
                st.mismatch = Some(format!(
                    "{} pages hashed, the {} CodeDirectory lists {}",
                    st.page,
                    st.cd.hash_type.name(),
                    st.cd.n_code
                ));
            }
            if let Some(m) = st.mismatch.take() {
                verdict = Err(m);
            }
        }
        if short {
            verdict = Err(format!(
                "the file ends {pos} bytes into a {limit}-byte code limit"
            ));
        }
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

fn feed(st: &mut PageState<'_>, pos: u64, data: &[u8]) {
    let end = st.cd.code_limit;
    if pos >= end {
        return;
    }
    let mut data = &data[..data.len().min((end - pos) as usize)];
    let page_size = st.cd.page_size().unwrap_or(u64::MAX);
    while !data.is_empty() {
        let room = page_size - st.in_page;
        let n = (data.len() as u64).min(room) as usize;
        st.ctx.update(&data[..n]);
        st.in_page += n as u64;
        data = &data[n..];
        if st.in_page == page_size {
            finish_page(st);
        }
    }
}

fn finish_page(st: &mut PageState<'_>) {
    let ctx = std::mem::replace(
        &mut st.ctx,
        digest::Context::new(st.cd.hash_type.algorithm()),
    );
    let got = ctx.finish();
    let got = &got.as_ref()[..st.cd.hash_size];
    if st.mismatch.is_none() && st.cd.code_slot(st.page) != Some(got) {
        st.mismatch = Some(format!(
            "code page {} does not match the {} CodeDirectory",
            st.page,
            st.cd.hash_type.name()
        ));
    }
    st.page = st.page.saturating_add(1);
    st.in_page = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!(arch_name(12, 9), "armv7");
        assert_eq!(arch_name(0x0100_000c, 0x8000_0002), "arm64e");
        assert_eq!(packed_version(0x0009_0000), "9.0.0");
        assert_eq!(packed_version(0x000e_0300), "14.3.0");
    }

    #[test]
    fn java_class_is_not_fat() {
        // cafebabe, minor 0, major 52 (Java 8).
        let class = [0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52, 0, 0];
        assert!(fat_arches(&class).is_none());
        assert!(scan(&mut &class[..], &Limits::default()).is_err());
    }
}
