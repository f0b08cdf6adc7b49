//! PE images (exe, dll, sys, efi): the headers (machine, subsystem, .NET or native), the
//! version resource, which installer technology built an exe, UPX packing, and the
//! Authenticode signatures in the certificate table with the image digest recomputed.
//!
//! Reads are bounded: the headers (at most 64 KiB), the resource directory entries and the
//! one version resource, a few marker windows, and for the digest one streamed pass over
//! the file. goblin's `PE::parse` was not used: it takes the whole image as one slice, and
//! an inspection must not load a 200 MB installer to read its headers.

use std::io::SeekFrom;

use platform::{InspectContext, Inspection, ReadSeek};
use serde_json::{Map, Value, json};

use crate::signature::{self, DigestCheck};
use crate::{Error, malformed};

/// Most bytes of headers read (DOS stub, NT headers and section table).
const MAX_HEADERS: u64 = 64 * 1024;
/// Most sections a PE may declare (the loader's own limit is 96).
const MAX_SECTIONS: usize = 96;
/// The largest version resource read.
const MAX_VERSION_RESOURCE: u32 = 64 * 1024;
/// The largest certificate table read.
pub const MAX_CERT_TABLE: u32 = 16 * 1024 * 1024;
/// Most entries read from one resource directory.
const MAX_RESOURCE_ENTRIES: u32 = 4096;

#[derive(Debug, Clone)]
pub struct Section {
    pub name: String,
    pub virtual_address: u32,
    pub virtual_size: u32,
    pub raw_offset: u32,
    pub raw_size: u32,
}

/// What the headers say.
#[derive(Debug, Clone)]
pub struct Headers {
    pub machine: u16,
    pub characteristics: u16,
    pub pe32_plus: bool,
    pub subsystem: u16,
    /// File offsets of the checksum field and of the certificate table's directory entry.
    pub checksum_offset: u64,
    pub cert_dir_offset: Option<u64>,
    /// (file offset, size) of the certificate table, when the directory names one.
    pub cert_table: Option<(u64, u32)>,
    /// The CLR header's directory entry is set: a .NET assembly.
    pub clr: bool,
    /// (RVA, size) of the CLR header.
    pub clr_header: Option<(u32, u32)>,
    /// (RVA, size) of the resource directory.
    pub resources: Option<(u32, u32)>,
    pub sections: Vec<Section>,
    pub size_of_headers: u32,
    pub major_os: u16,
    pub minor_os: u16,
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

impl Headers {
    /// Parses headers from the first bytes of a file (which must hold them all).
    pub fn parse_head(b: &[u8]) -> Result<Self, Error> {
        let short = || malformed("the PE headers are truncated");
        if !b.starts_with(b"MZ") {
            return Err(malformed("no MZ signature"));
        }
        let pe = u32_at(b, 0x3c).ok_or_else(short)? as usize;
        if b.get(pe..pe + 4) != Some(b"PE\0\0") {
            return Err(malformed("no PE signature where the DOS header points"));
        }
        let coff = pe + 4;
        let machine = u16_at(b, coff).ok_or_else(short)?;
        let nsections = usize::from(u16_at(b, coff + 2).ok_or_else(short)?);
        let opt_size = usize::from(u16_at(b, coff + 16).ok_or_else(short)?);
        let characteristics = u16_at(b, coff + 18).ok_or_else(short)?;
        let opt = coff + 20;
        if nsections > MAX_SECTIONS {
            return Err(malformed(format!(
                "{nsections} sections, more than the loader's {MAX_SECTIONS}"
            )));
        }
        let magic = u16_at(b, opt).ok_or_else(short)?;
        let pe32_plus = match magic {
            0x10b => false,
            0x20b => true,
            m => return Err(malformed(format!("optional header magic 0x{m:x}"))),
        };
        let (dirs_at, ndirs_at) = if pe32_plus { (112, 108) } else { (96, 92) };
        if opt_size < dirs_at {
            return Err(malformed("the optional header is too short"));
        }
        let ndirs = u32_at(b, opt + ndirs_at).ok_or_else(short)?.min(16) as usize;
        let ndirs = ndirs.min((opt_size - dirs_at) / 8);
        let dir = |i: usize| -> Option<(u32, u32)> {
            if i >= ndirs {
                return None;
            }
            let at = opt + dirs_at + 8 * i;
            Some((u32_at(b, at)?, u32_at(b, at + 4)?))
        };
        let cert_dir_offset = (ndirs > 4).then_some((opt + dirs_at + 8 * 4) as u64);
        let cert_table = dir(4)
            .filter(|(o, s)| *o != 0 && *s != 0)
            .map(|(o, s)| (u64::from(o), s));
        let clr_header = dir(14).filter(|(r, s)| *r != 0 && *s != 0);
        let clr = clr_header.is_some();
        let resources = dir(2).filter(|(r, s)| *r != 0 && *s != 0);
        let sec_at = opt + opt_size;
        let mut sections = Vec::with_capacity(nsections);
        for i in 0..nsections {
            let s = sec_at + 40 * i;
            let raw = b.get(s..s + 40).ok_or_else(short)?;
            let name = String::from_utf8_lossy(&raw[..8])
                .trim_end_matches('\0')
                .to_owned();
            sections.push(Section {
                name,
                virtual_size: u32_at(raw, 8).ok_or_else(short)?,
                virtual_address: u32_at(raw, 12).ok_or_else(short)?,
                raw_size: u32_at(raw, 16).ok_or_else(short)?,
                raw_offset: u32_at(raw, 20).ok_or_else(short)?,
            });
        }
        Ok(Headers {
            machine,
            characteristics,
            pe32_plus,
            subsystem: u16_at(b, opt + 68).ok_or_else(short)?,
            checksum_offset: (opt + 64) as u64,
            cert_dir_offset,
            cert_table,
            clr,
            clr_header,
            resources,
            sections,
            size_of_headers: u32_at(b, opt + 60).ok_or_else(short)?,
            major_os: u16_at(b, opt + 40).ok_or_else(short)?,
            minor_os: u16_at(b, opt + 42).ok_or_else(short)?,
        })
    }

    /// Reads and parses the headers of a `size`-byte image.
    pub fn read(r: &mut dyn ReadSeek, size: u64) -> Result<Self, Error> {
        let mut dos = [0u8; 64];
        if size < 64 {
            return Err(malformed("shorter than a DOS header"));
        }
        read_at(r, 0, &mut dos)?;
        let pe = u64::from(u32_at(&dos, 0x3c).unwrap_or(0));
        // The NT headers and a full section table fit in 4 KiB past the PE signature.
        let want = (pe + 4096 + 40 * MAX_SECTIONS as u64).min(size);
        if pe >= MAX_HEADERS || pe + 24 > size {
            return Err(malformed(format!(
                "the DOS header points past the headers (offset {pe})"
            )));
        }
        let mut head = vec![0u8; want as usize];
        read_at(r, 0, &mut head)?;
        Self::parse_head(&head)
    }

    /// `exe`, `dll`, `sys` (a native-subsystem driver) or `efi`.
    pub fn kind(&self) -> &'static str {
        match self.subsystem {
            10..=13 => "efi",
            1 => "sys",
            _ if self.characteristics & 0x2000 != 0 => "dll",
            _ => "exe",
        }
    }

    /// The file offset of an RVA, through the section that maps it.
    pub fn offset_of(&self, rva: u32) -> Option<u64> {
        self.sections.iter().find_map(|s| {
            let span = s.virtual_size.max(s.raw_size);
            (rva >= s.virtual_address && rva - s.virtual_address < span)
                .then(|| u64::from(s.raw_offset) + u64::from(rva - s.virtual_address))
                .filter(|_| rva - s.virtual_address < s.raw_size)
        })
    }

    /// Where the sections' raw data ends: what follows is the overlay (an installer's
    /// payload, or the certificate table).
    pub fn overlay_offset(&self) -> u64 {
        self.sections
            .iter()
            .map(|s| u64::from(s.raw_offset) + u64::from(s.raw_size))
            .max()
            .unwrap_or(0)
            .max(u64::from(self.size_of_headers))
    }
}

/// Windows' name of a machine type.
pub fn arch_name(machine: u16) -> Option<&'static str> {
    Some(match machine {
        0x14c => "x86",
        0x8664 => "x64",
        0xaa64 => "arm64",
        0xa641 => "arm64ec",
        0x1c4 => "arm",
        0x200 => "ia64",
        _ => return None,
    })
}

fn subsystem_name(s: u16) -> &'static str {
    match s {
        1 => "native",
        2 => "windows-gui",
        3 => "windows-console",
        9 => "windows-ce",
        10 => "efi-application",
        11 => "efi-boot-service-driver",
        12 => "efi-runtime-driver",
        13 => "efi-rom",
        16 => "windows-boot-application",
        _ => "unknown",
    }
}

pub(crate) fn read_at(r: &mut dyn ReadSeek, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
    r.seek(SeekFrom::Start(offset))?;
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            malformed(format!(
                "the file ends before {} bytes at offset {offset}",
                buf.len()
            ))
        } else {
            Error::Io(e)
        }
    })
}

/// The version resource's fields.
#[derive(Debug, Clone, Default)]
pub struct VersionInfo {
    pub strings: Vec<(String, String)>,
    /// VS_FIXEDFILEINFO file and product versions, `a.b.c.d`.
    pub file_version: Option<String>,
    pub product_version: Option<String>,
}

impl VersionInfo {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.strings
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }
}

/// Finds the RT_VERSION resource and reads it.
pub fn version_info(
    r: &mut dyn ReadSeek,
    h: &Headers,
    size: u64,
) -> Result<Option<VersionInfo>, Error> {
    let Some((rva, _)) = h.resources else {
        return Ok(None);
    };
    let Some(base) = h.offset_of(rva) else {
        return Ok(None);
    };
    // Root → type 16 (RT_VERSION) → first name → first language → data entry.
    let Some(types) = dir_entry(r, base, 0, Some(16), size)? else {
        return Ok(None);
    };
    let Some(names) = dir_entry(r, base, types, None, size)? else {
        return Ok(None);
    };
    let Some(data) = dir_entry(r, base, names, None, size)? else {
        return Ok(None);
    };
    if data & 0x8000_0000 != 0 {
        return Ok(None);
    }
    let mut de = [0u8; 16];
    read_at(r, base + u64::from(data), &mut de)?;
    let data_rva = u32_at(&de, 0).unwrap_or(0);
    let data_size = u32_at(&de, 4).unwrap_or(0);
    if data_size > MAX_VERSION_RESOURCE {
        return Err(Error::Limit(format!(
            "the version resource claims {data_size} bytes, more than {MAX_VERSION_RESOURCE}"
        )));
    }
    let Some(off) = h.offset_of(data_rva) else {
        return Ok(None);
    };
    if off + u64::from(data_size) > size {
        return Err(malformed(
            "the version resource lies past the end of the file",
        ));
    }
    let mut buf = vec![0u8; data_size as usize];
    read_at(r, off, &mut buf)?;
    Ok(Some(parse_version(&buf)))
}

/// One level of the resource tree: the offset (relative to the resource section) that the
/// entry with `id` (or the first entry) points to, subdirectory flag kept.
fn dir_entry(
    r: &mut dyn ReadSeek,
    base: u64,
    dir: u32,
    id: Option<u32>,
    size: u64,
) -> Result<Option<u32>, Error> {
    let at = base + u64::from(dir & 0x7fff_ffff);
    if at + 16 > size {
        return Err(malformed(
            "a resource directory lies past the end of the file",
        ));
    }
    let mut hdr = [0u8; 16];
    read_at(r, at, &mut hdr)?;
    let named = u32::from(u16_at(&hdr, 12).unwrap_or(0));
    let ids = u32::from(u16_at(&hdr, 14).unwrap_or(0));
    let n = (named + ids).min(MAX_RESOURCE_ENTRIES);
    if at + 16 + 8 * u64::from(n) > size {
        return Err(malformed(
            "a resource directory's entries lie past the end of the file",
        ));
    }
    let mut entries = vec![0u8; 8 * n as usize];
    read_at(r, at + 16, &mut entries)?;
    for e in entries.chunks_exact(8) {
        let name = u32_at(e, 0).unwrap_or(0);
        let target = u32_at(e, 4).unwrap_or(0);
        match id {
            Some(want) if name == want => return Ok(Some(target)),
            Some(_) => {}
            None => return Ok(Some(target)),
        }
    }
    Ok(None)
}

/// One VS_VERSIONINFO-style block: its key, value bytes and children bytes.
struct VBlock<'a> {
    key: String,
    value: &'a [u8],
    children: &'a [u8],
    len: usize,
}

fn block(b: &[u8]) -> Option<VBlock<'_>> {
    let len = usize::from(u16_at(b, 0)?);
    let value_len = u16_at(b, 2)?;
    let kind = u16_at(b, 4)?;
    if len < 6 || len > b.len() {
        return None;
    }
    let b = &b[..len];
    let mut units = Vec::new();
    let mut p = 6;
    loop {
        let u = u16_at(b, p)?;
        p += 2;
        if u == 0 {
            break;
        }
        units.push(u);
    }
    let key = String::from_utf16_lossy(&units);
    p = (p + 3) & !3;
    // A text value's length counts UTF-16 units, a binary one's bytes.
    let vbytes = if kind == 1 {
        usize::from(value_len) * 2
    } else {
        usize::from(value_len)
    };
    let value = b.get(p..(p + vbytes).min(len)).unwrap_or(&[]);
    let children_at = ((p + vbytes) + 3) & !3;
    let children = b.get(children_at.min(len)..).unwrap_or(&[]);
    Some(VBlock {
        key,
        value,
        children,
        len,
    })
}

fn blocks(mut b: &[u8]) -> Vec<VBlock<'_>> {
    let mut out = Vec::new();
    while b.len() >= 6 && out.len() < 1024 {
        let Some(v) = block(b) else {
            break;
        };
        let next = (v.len + 3) & !3;
        out.push(v);
        if next >= b.len() {
            break;
        }
        b = &b[next..];
    }
    out
}

fn utf16z(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

pub fn parse_version(buf: &[u8]) -> VersionInfo {
    let mut info = VersionInfo::default();
    let Some(root) = block(buf) else {
        return info;
    };
    if root.key != "VS_VERSION_INFO" {
        return info;
    }
    let value = root.value;
    if value.len() >= 52 && u32_at(value, 0) == Some(0xfeef_04bd) {
        let v =
            |ms: u32, ls: u32| format!("{}.{}.{}.{}", ms >> 16, ms & 0xffff, ls >> 16, ls & 0xffff);
        let f = |o| u32_at(value, o).unwrap_or(0);
        info.file_version = Some(v(f(8), f(12)));
        info.product_version = Some(v(f(16), f(20)));
    }
    for sfi in blocks(root.children) {
        if sfi.key != "StringFileInfo" {
            continue;
        }
        for table in blocks(sfi.children) {
            for s in blocks(table.children) {
                if info.strings.len() < 64 {
                    info.strings.push((s.key, utf16z(s.value)));
                }
            }
        }
    }
    info
}

/// Finds `needle` in `len` bytes at `offset` (bounded window).
fn window_contains(
    r: &mut dyn ReadSeek,
    offset: u64,
    len: u64,
    size: u64,
    needles: &[&[u8]],
) -> Result<Vec<usize>, Error> {
    if offset >= size {
        return Ok(Vec::new());
    }
    let len = len.min(size - offset) as usize;
    let mut buf = vec![0u8; len];
    read_at(r, offset, &mut buf)?;
    Ok(needles
        .iter()
        .enumerate()
        .filter(|(_, n)| buf.windows(n.len()).any(|w| w == **n))
        .map(|(i, _)| i)
        .collect())
}

/// The installer technology that built an exe, where its marks are visible.
fn installer(
    r: &mut dyn ReadSeek,
    h: &Headers,
    v: Option<&VersionInfo>,
    size: u64,
) -> Result<Option<&'static str>, Error> {
    if h.sections.iter().any(|s| s.name == ".wixburn") {
        return Ok(Some("wix-burn"));
    }
    if v.is_some_and(|v| v.get("SquirrelAwareVersion").is_some()) {
        return Ok(Some("squirrel"));
    }
    let overlay = h.overlay_offset();
    let end = h.cert_table.map(|(o, _)| o).unwrap_or(size);
    // NSIS's first header and Inno Setup's loader marks sit at the overlay's start; the
    // setup stubs' own strings sit in the first 256 KiB.
    let needles: [&[u8]; 4] = [
        b"\xef\xbe\xad\xdeNullsoftInst",
        b"Inno Setup Setup Data",
        b"zlb\x1a",
        b"Squirrel",
    ];
    let mut found = Vec::new();
    if overlay < end {
        found.extend(window_contains(
            r,
            overlay,
            (end - overlay).min(256 * 1024),
            end,
            &needles,
        )?);
    }
    found.extend(window_contains(r, 0, 256 * 1024, end, &needles[..2])?);
    if found.contains(&0) {
        return Ok(Some("nsis"));
    }
    if found.contains(&1) || found.contains(&2) {
        return Ok(Some("inno-setup"));
    }
    if found.contains(&3)
        && v.is_some_and(|v| {
            v.get("OriginalFilename")
                .is_some_and(|f| f.eq_ignore_ascii_case("Setup.exe"))
        })
    {
        return Ok(Some("squirrel"));
    }
    Ok(None)
}

/// Reads a PE image into `ins`: headers, version resource, installer marks and signatures.
pub fn read(
    r: &mut dyn ReadSeek,
    ctx: &InspectContext,
    ins: &mut Inspection,
    pass: crate::Pass,
) -> Result<(), Error> {
    let size = ctx.size;
    let h = Headers::read(r, size)?;
    // Every section's data must be in the file: a cut image does not load.
    if let Some(s) = h
        .sections
        .iter()
        .find(|s| u64::from(s.raw_offset) + u64::from(s.raw_size) > size)
    {
        return Err(malformed(format!(
            "the image is truncated: section {} ends at offset {}, past the end of the {size}-byte file",
            s.name,
            u64::from(s.raw_offset) + u64::from(s.raw_size)
        )));
    }
    let mut details = Map::new();
    let arch = arch_name(h.machine);
    if let Some(a) = arch {
        ins.archs = Some(vec![a.to_owned()]);
    }
    details.insert("machine".into(), json!(format!("0x{:04x}", h.machine)));
    details.insert("subsystem".into(), json!(subsystem_name(h.subsystem)));
    details.insert("pe32_plus".into(), json!(h.pe32_plus));
    details.insert("dotnet".into(), json!(h.clr));
    details.insert("image_kind".into(), json!(h.kind()));
    details.insert(
        "min_os_version".into(),
        json!(format!("{}.{}", h.major_os, h.minor_os)),
    );
    let upx = h.sections.iter().any(|s| s.name.starts_with("UPX"));
    details.insert("upx".into(), json!(upx));
    if upx {
        ins.findings.push(platform::Finding::info(
            "windows.pe.upx",
            format!(
                "{}: packed with UPX; some antivirus products flag packed executables, and the version resource may be hidden",
                ins.file
            ),
        ));
    }
    if let Some((rva, len)) = h.clr_header
        && len >= 20
        && let Some(off) = h.offset_of(rva)
        && off + 20 <= size
    {
        // COR20 flags: IL only, and whether 32-bit is required or preferred. An IL-only x86
        // image without either runs as whatever the machine is (AnyCPU).
        let mut cor = [0u8; 20];
        read_at(r, off, &mut cor)?;
        let flags = u32_at(&cor, 16).unwrap_or(0);
        let any_cpu = h.machine == 0x14c && flags & 1 != 0 && flags & 0x2 == 0;
        details.insert("dotnet_any_cpu".into(), json!(any_cpu));
        details.insert("dotnet_prefers_32bit".into(), json!(flags & 0x2_0000 != 0));
    }
    let version = version_info(r, &h, size)?;
    if let Some(v) = &version {
        ins.identity = v.get("ProductName").map(str::to_owned);
        ins.version = v
            .get("ProductVersion")
            .or(v.get("FileVersion"))
            .map(str::to_owned)
            .or(v.product_version.clone());
        ins.display_name = v
            .get("FileDescription")
            .or(v.get("ProductName"))
            .map(str::to_owned);
        let mut vi = Map::new();
        for key in [
            "ProductName",
            "ProductVersion",
            "FileVersion",
            "CompanyName",
            "FileDescription",
            "OriginalFilename",
            "LegalCopyright",
        ] {
            if let Some(val) = v.get(key) {
                vi.insert(key.into(), json!(val));
            }
        }
        if let Some(f) = &v.file_version {
            vi.insert("fixed_file_version".into(), json!(f));
        }
        if let Some(p) = &v.product_version {
            vi.insert("fixed_product_version".into(), json!(p));
        }
        details.insert("version_info".into(), Value::Object(vi));
    }
    if h.kind() == "exe"
        && let Some(tech) = installer(r, &h, version.as_ref(), size)?
    {
        details.insert("installer".into(), json!(tech));
    }
    ins.details.append(&mut details);
    if pass == crate::Pass::Metadata {
        return Ok(());
    }
    verify_signatures(r, &h, ctx, ins)
}

/// Reads the certificate table and checks every signature in it against the image digest.
fn verify_signatures(
    r: &mut dyn ReadSeek,
    h: &Headers,
    ctx: &InspectContext,
    ins: &mut Inspection,
) -> Result<(), Error> {
    let size = ctx.size;
    let Some((offset, len)) = h.cert_table else {
        signature::unsigned(ins);
        return Ok(());
    };
    let Some(dir_at) = h.cert_dir_offset else {
        signature::unsigned(ins);
        return Ok(());
    };
    if len > MAX_CERT_TABLE {
        return Err(Error::Limit(format!(
            "the certificate table claims {len} bytes, more than {MAX_CERT_TABLE}"
        )));
    }
    if offset < u64::from(h.size_of_headers) || offset + u64::from(len) > size {
        return Err(malformed(format!(
            "the certificate table ({len} bytes at offset {offset}) lies outside the file"
        )));
    }
    let mut table = vec![0u8; len as usize];
    read_at(r, offset, &mut table)?;
    let blobs = win_certificates(&table)?;
    if offset + u64::from(len) < size {
        ins.findings.push(platform::Finding::warning(
            "windows.pe.data_after_signature",
            format!(
                "{}: {} bytes follow the certificate table; the signature does not cover them and Windows may refuse the file",
                ins.file,
                size - offset - u64::from(len)
            ),
        ));
    }
    let ranges = [
        (0, h.checksum_offset),
        (h.checksum_offset + 4, dir_at),
        (dir_at + 8, offset),
    ];
    // One pass per digest algorithm, however many signatures use it.
    let mut cache: Vec<(format_pki::Hash, Vec<u8>)> = Vec::new();
    let mut digest_of = |sig: &format_pki::authenticode::Signature| -> Result<DigestCheck, Error> {
        signature::check_digest(sig, &mut cache, "image", |hash| {
            let mut d = ring::digest::Context::new(hash.ring());
            for (start, end) in ranges {
                stream(r, start, end, &mut |c| d.update(c))?;
            }
            Ok(d.finish().as_ref().to_vec())
        })
    };
    signature::evaluate(ins, &blobs, ctx, &mut digest_of)
}

/// The PKCS #7 blobs of a certificate table's WIN_CERTIFICATE entries (8-byte aligned).
pub fn win_certificates(table: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    let mut p = 0usize;
    while p + 8 <= table.len() {
        let len = u32_at(table, p).unwrap_or(0) as usize;
        let revision = u16_at(table, p + 4).unwrap_or(0);
        let kind = u16_at(table, p + 6).unwrap_or(0);
        if len < 8 || p + len > table.len() {
            return Err(malformed(format!(
                "a WIN_CERTIFICATE entry at {p} claims {len} bytes in a {}-byte table",
                table.len()
            )));
        }
        if kind == 2 && (revision == 0x200 || revision == 0x100) {
            out.push(table[p + 8..p + len].to_vec());
        }
        if out.len() > format_pki::authenticode::MAX_SIGNATURES {
            return Err(Error::Limit(
                "more certificate entries than the limit".into(),
            ));
        }
        p += (len + 7) & !7;
    }
    if out.is_empty() {
        return Err(malformed(
            "the certificate table holds no PKCS #7 signature (WIN_CERT_TYPE_PKCS_SIGNED_DATA)",
        ));
    }
    Ok(out)
}

/// Feeds bytes [start, end) of `r` to `sink` in 64 KiB reads.
pub(crate) fn stream(
    r: &mut dyn ReadSeek,
    start: u64,
    end: u64,
    sink: &mut dyn FnMut(&[u8]),
) -> Result<(), Error> {
    if end <= start {
        return Ok(());
    }
    r.seek(SeekFrom::Start(start))?;
    let mut left = end - start;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let n = r.read(&mut buf[..want])?;
        if n == 0 {
            return Err(malformed(format!("the file ends before offset {end}")));
        }
        sink(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}
