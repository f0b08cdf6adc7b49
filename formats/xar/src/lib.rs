//! xar archives, the container of macOS installer packages (`.pkg`): the big-endian header,
//! the zlib-compressed XML table of contents (TOC) with its files and folders, each file's
//! data in the heap (stored, zlib, gzip, bzip2 or xz, told by the TOC's encoding and checked
//! by magic), the TOC checksum stored in the heap, the RSA signature over that checksum with
//! its certificates, and the notarization ticket a stapler appends after the archive (a
//! `t8lr` trailer).
//!
//! A format crate: it reads and verifies, it does not judge. It produces facts, verdicts and
//! typed errors, never findings, and knows no `platform` type. It never extracts anything to
//! disk: a file's data is handed to the caller as a bounded reader charged to the
//! inspection's decompression budget. Every length read from the file is checked against the
//! file's size and the caps the caller passes before anything is allocated. Signatures go
//! through `formats/pki` (the one X.509 stack); decompression through `format-compress` and
//! `flate2` (docs/CRATES.md).

use std::io::{self, Read, SeekFrom};

use base64::Engine;
use format_compress::Codec;
pub use format_compress::InflateBudget;
use format_pki::{Certificate, Verdict};
use format_zip::{Charged, ReadSeek};

/// `xar!`
pub const MAGIC: &[u8; 4] = b"xar!";
/// The stapler's trailer magic, `t8lr` (apple-codesign's `stapling.rs` writes a terminator
/// trailer, the ticket, then a ticket trailer at the very end).
pub const TRAILER_MAGIC: &[u8; 4] = b"t8lr";
const TRAILER_TICKET: u16 = 2;
/// Longest notarization ticket accepted (real ones are a few KiB).
pub const MAX_TICKET: u32 = 1 << 20;
/// Files and folders listed in one TOC.
pub const MAX_FILES: usize = 100_000;
/// Certificates read from one signature.
const MAX_CERTS: usize = 16;
/// Folder nesting in a TOC.
const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    #[error("not a xar archive: {0}")]
    NotXar(String),
    #[error("malformed xar: {0}")]
    Malformed(String),
    #[error("over a limit: {0}")]
    Limit(String),
}

fn bad(s: impl Into<String>) -> Error {
    Error::Malformed(s.into())
}

/// The fixed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub header_size: u16,
    pub version: u16,
    pub toc_compressed: u64,
    pub toc_uncompressed: u64,
    /// 0 none, 1 SHA-1, 2 MD5, 3 named in the header (`checksum_name`).
    pub checksum_alg: u32,
    pub checksum_name: Option<String>,
}

/// What a TOC entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    File,
    Directory,
    Symlink,
    Other,
}

/// Where a file's bytes are in the heap and how they are encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// Offset from the heap's start.
    pub offset: u64,
    /// Bytes stored in the heap.
    pub length: u64,
    /// Bytes once decoded.
    pub size: u64,
    /// The TOC's encoding style (`application/octet-stream`, `application/x-gzip`, ...).
    pub encoding: String,
    /// (style, lowercase hex) of the stored bytes.
    pub archived_checksum: Option<(String, String)>,
}

/// One file or folder of the TOC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Slash-joined path from the archive's root.
    pub path: String,
    pub kind: FileType,
    pub data: Option<Data>,
}

/// A signature element of the TOC (`signature` or `x-signature`).
#[derive(Debug, Clone)]
pub struct SignatureRef {
    pub style: String,
    pub offset: u64,
    pub size: u64,
    /// DER certificates from `KeyInfo/X509Data`, leaf first as xar writes them.
    pub certificates: Vec<Vec<u8>>,
}

/// An opened archive: header, TOC and where the heap starts.
#[derive(Debug, Clone)]
pub struct Xar {
    pub header: Header,
    pub heap_start: u64,
    pub file_size: u64,
    /// The TOC's compressed bytes, as its checksum covers them.
    pub toc_raw: Vec<u8>,
    pub toc_xml: String,
    /// (style, heap offset, size) of the TOC checksum.
    pub checksum: Option<(String, u64, u64)>,
    pub signature: Option<SignatureRef>,
    pub x_signature: Option<SignatureRef>,
    pub creation_time: Option<String>,
    pub files: Vec<File>,
}

/// Caps for [`open`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest TOC, compressed or not, and largest file read whole.
    pub max_structure_bytes: u64,
    pub max_files: usize,
}

/// Whether `head` starts a xar archive.
pub fn is_xar(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// Reads the header and the TOC.
pub fn open(r: &mut dyn ReadSeek, size: u64, limits: &Limits) -> Result<Xar, Error> {
    r.seek(SeekFrom::Start(0))?;
    let mut h = [0u8; 28];
    r.read_exact(&mut h).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            Error::NotXar(format!("{size} bytes, shorter than a header"))
        }
        _ => Error::Io(e),
    })?;
    if &h[..4] != MAGIC {
        return Err(Error::NotXar("the file does not start with xar!".into()));
    }
    let header_size = be16(&h, 4);
    let version = be16(&h, 6);
    let toc_compressed = be64(&h, 8);
    let toc_uncompressed = be64(&h, 16);
    let checksum_alg = be32(&h, 24);
    if header_size < 28 || u64::from(header_size) > size {
        return Err(bad(format!("header size {header_size}")));
    }
    let checksum_name = if checksum_alg == 3 && header_size >= 28 + 36 {
        let mut name = [0u8; 36];
        r.read_exact(&mut name)?;
        let end = name.iter().position(|b| *b == 0).unwrap_or(36);
        Some(String::from_utf8_lossy(&name[..end]).into_owned())
    } else {
        None
    };
    let cap = limits.max_structure_bytes;
    if toc_compressed > cap || toc_uncompressed > cap {
        return Err(Error::Limit(format!(
            "a table of contents of {toc_compressed} bytes ({toc_uncompressed} uncompressed), more than {cap}"
        )));
    }
    let heap_start = u64::from(header_size)
        .checked_add(toc_compressed)
        .filter(|e| *e <= size)
        .ok_or_else(|| {
            bad(format!(
                "the table of contents ({toc_compressed} bytes) runs past the end of the file ({size} bytes)"
            ))
        })?;
    r.seek(SeekFrom::Start(u64::from(header_size)))?;
    let mut toc_raw = vec![0u8; toc_compressed as usize];
    r.read_exact(&mut toc_raw)?;
    let mut xml = Vec::with_capacity(toc_uncompressed as usize);
    flate2::read::ZlibDecoder::new(&toc_raw[..])
        .take(toc_uncompressed + 1)
        .read_to_end(&mut xml)
        .map_err(|e| bad(format!("the table of contents does not decompress: {e}")))?;
    if xml.len() as u64 != toc_uncompressed {
        return Err(bad(format!(
            "the table of contents decompresses to {} bytes, the header says {toc_uncompressed}",
            xml.len()
        )));
    }
    let toc_xml =
        String::from_utf8(xml).map_err(|_| bad("the table of contents is not UTF-8 text"))?;
    let mut x = Xar {
        header: Header {
            header_size,
            version,
            toc_compressed,
            toc_uncompressed,
            checksum_alg,
            checksum_name,
        },
        heap_start,
        file_size: size,
        toc_raw,
        toc_xml: String::new(),
        checksum: None,
        signature: None,
        x_signature: None,
        creation_time: None,
        files: Vec::new(),
    };
    parse_toc(&mut x, &toc_xml, limits)?;
    x.toc_xml = toc_xml;
    Ok(x)
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text_of(n: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    child(n, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_owned())
}

fn num(n: roxmltree::Node<'_, '_>, name: &str, what: &str) -> Result<u64, Error> {
    text_of(n, name)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| bad(format!("{what} has no numeric <{name}>")))
}

fn signature_ref(n: roxmltree::Node<'_, '_>) -> Result<SignatureRef, Error> {
    let style = n.attribute("style").unwrap_or("").to_owned();
    let offset = num(n, "offset", "the signature")?;
    let size = num(n, "size", "the signature")?;
    let mut certificates = Vec::new();
    for c in n
        .descendants()
        .filter(|d| d.is_element() && d.tag_name().name() == "X509Certificate")
        .take(MAX_CERTS)
    {
        let b64: String = c
            .text()
            .unwrap_or("")
            .chars()
            .filter(|ch| !ch.is_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| bad(format!("a signature certificate is not base64: {e}")))?;
        certificates.push(der);
    }
    Ok(SignatureRef {
        style,
        offset,
        size,
        certificates,
    })
}

fn parse_toc(x: &mut Xar, xml: &str, limits: &Limits) -> Result<(), Error> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: u32::try_from(limits.max_files.saturating_mul(16)).unwrap_or(u32::MAX),
    };
    let doc = roxmltree::Document::parse_with_options(xml, opts)
        .map_err(|e| bad(format!("the table of contents is not well-formed XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "xar" {
        return Err(bad("the table of contents' root is not <xar>"));
    }
    let toc = child(root, "toc").ok_or_else(|| bad("no <toc> element"))?;
    if let Some(c) = child(toc, "checksum") {
        x.checksum = Some((
            c.attribute("style").unwrap_or("").to_ascii_lowercase(),
            num(c, "offset", "the TOC checksum")?,
            num(c, "size", "the TOC checksum")?,
        ));
    }
    if let Some(s) = child(toc, "signature") {
        x.signature = Some(signature_ref(s)?);
    }
    if let Some(s) = child(toc, "x-signature") {
        x.x_signature = Some(signature_ref(s)?);
    }
    x.creation_time = text_of(toc, "creation-time");
    let mut stack: Vec<(roxmltree::Node<'_, '_>, String, usize)> = toc
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "file")
        .map(|c| (c, String::new(), 0))
        .collect();
    stack.reverse();
    while let Some((n, parent, depth)) = stack.pop() {
        if x.files.len() >= limits.max_files {
            return Err(Error::Limit(format!(
                "more than {} files in the table of contents",
                limits.max_files
            )));
        }
        if depth > MAX_DEPTH {
            return Err(bad(format!("folders nested deeper than {MAX_DEPTH}")));
        }
        let name = text_of(n, "name").unwrap_or_default();
        if name.is_empty() || name.contains('/') || name == ".." || name == "." {
            return Err(bad(format!("a file named {name:?}")));
        }
        let path = if parent.is_empty() {
            name
        } else {
            format!("{parent}/{name}")
        };
        let kind = match text_of(n, "type").as_deref() {
            Some("file") => FileType::File,
            Some("directory") => FileType::Directory,
            Some("symlink") => FileType::Symlink,
            _ => FileType::Other,
        };
        let data = match child(n, "data") {
            None => None,
            Some(d) => {
                let what = format!("file {path}");
                let enc = child(d, "encoding")
                    .and_then(|e| e.attribute("style"))
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let archived_checksum = child(d, "archived-checksum").map(|c| {
                    (
                        c.attribute("style").unwrap_or("").to_ascii_lowercase(),
                        c.text().unwrap_or("").trim().to_ascii_lowercase(),
                    )
                });
                Some(Data {
                    offset: num(d, "offset", &what)?,
                    length: num(d, "length", &what)?,
                    size: num(d, "size", &what)?,
                    encoding: enc,
                    archived_checksum,
                })
            }
        };
        let mut kids: Vec<_> = n
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "file")
            .map(|c| (c, path.clone(), depth + 1))
            .collect();
        kids.reverse();
        stack.extend(kids);
        x.files.push(File { path, kind, data });
    }
    Ok(())
}

fn hash_alg(style: &str) -> Option<&'static ring::digest::Algorithm> {
    Some(match style {
        "sha1" => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        "sha256" => &ring::digest::SHA256,
        "sha384" => &ring::digest::SHA384,
        "sha512" => &ring::digest::SHA512,
        _ => return None,
    })
}

/// The TOC checksum: the stored digest and whether the TOC's bytes hash to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TocChecksum {
    pub style: String,
    pub stored: Vec<u8>,
    pub matches: bool,
}

/// What checking the signature found.
#[derive(Debug, Clone)]
pub struct SignatureCheck {
    pub style: String,
    pub certificates: Vec<Certificate>,
    /// The leaf's signature over the TOC checksum verifies.
    pub verdict: Verdict,
}

impl Xar {
    fn heap_range(&self, offset: u64, len: u64, what: &str) -> Result<u64, Error> {
        self.heap_start
            .checked_add(offset)
            .filter(|s| s.checked_add(len).is_some_and(|e| e <= self.file_size))
            .ok_or_else(|| {
                bad(format!(
                    "{what} ({len} bytes at heap offset {offset}) runs past the end of the file"
                ))
            })
    }

    fn heap_bytes(
        &self,
        r: &mut dyn ReadSeek,
        offset: u64,
        len: u64,
        cap: u64,
        what: &str,
    ) -> Result<Vec<u8>, Error> {
        if len > cap {
            return Err(Error::Limit(format!(
                "{what}: {len} bytes, more than {cap}"
            )));
        }
        let at = self.heap_range(offset, len, what)?;
        r.seek(SeekFrom::Start(at))?;
        let mut b = vec![0u8; len as usize];
        r.read_exact(&mut b)?;
        Ok(b)
    }

    /// Reads the stored TOC checksum and compares it with the TOC's bytes.
    pub fn toc_checksum(&self, r: &mut dyn ReadSeek) -> Result<Option<TocChecksum>, Error> {
        let Some((style, offset, size)) = &self.checksum else {
            return Ok(None);
        };
        let alg = hash_alg(style)
            .ok_or_else(|| bad(format!("TOC checksum style {style:?} is not supported")))?;
        if *size != alg.output_len() as u64 {
            return Err(bad(format!(
                "a {style} TOC checksum of {size} bytes (it has {})",
                alg.output_len()
            )));
        }
        let stored = self.heap_bytes(r, *offset, *size, 64, "the TOC checksum")?;
        let got = ring::digest::digest(alg, &self.toc_raw);
        Ok(Some(TocChecksum {
            style: style.clone(),
            matches: got.as_ref() == stored.as_slice(),
            stored,
        }))
    }

    /// Verifies the `signature` element: the leaf certificate's RSA signature over the
    /// stored TOC checksum. The caller checks the checksum itself ([`Xar::toc_checksum`])
    /// and the chain.
    pub fn check_signature(
        &self,
        r: &mut dyn ReadSeek,
        checksum: &TocChecksum,
    ) -> Result<Option<SignatureCheck>, Error> {
        let Some(s) = &self.signature else {
            return Ok(None);
        };
        let sig = self.heap_bytes(r, s.offset, s.size, 4096, "the signature")?;
        let mut certificates = Vec::new();
        for der in &s.certificates {
            certificates.push(
                Certificate::parse(der)
                    .map_err(|e| bad(format!("a signature certificate does not parse: {e}")))?,
            );
        }
        let verdict = match (s.style.as_str(), certificates.first()) {
            (_, None) => Verdict::Unsupported("the signature carries no certificate".into()),
            ("RSA", Some(leaf)) => {
                format_pki::prehashed::verify_rsa_digest(&leaf.spki, &checksum.stored, &sig)
            }
            (other, Some(_)) => Verdict::Unsupported(format!("signature style {other:?}")),
        };
        Ok(Some(SignatureCheck {
            style: s.style.clone(),
            certificates,
            verdict,
        }))
    }

    /// The file at `path`, if listed.
    pub fn file(&self, path: &str) -> Option<&File> {
        self.files.iter().find(|f| f.path == path)
    }

    /// A reader of a file's decoded bytes, failing past `cap` bytes or the budget. The
    /// archived checksum is not checked here (see [`Xar::archived_checksum_ok`]).
    pub fn open_data<'a>(
        &self,
        r: &'a mut dyn ReadSeek,
        data: &Data,
        cap: u64,
        budget: &InflateBudget,
    ) -> Result<Box<dyn Read + 'a>, Error> {
        let at = self.heap_range(data.offset, data.length, "a file's data")?;
        r.seek(SeekFrom::Start(at))?;
        let mut magic = [0u8; 6];
        let n = (&mut *r).take(6).read(&mut magic)?;
        r.seek(SeekFrom::Start(at))?;
        let raw = r.take(data.length);
        let reader: Box<dyn Read + 'a> = match data.encoding.as_str() {
            "application/octet-stream" => Box::new(Charged::new(raw, budget)),
            // xar's "gzip" is a zlib stream; a real gzip member is read as such.
            "application/x-gzip" if !magic[..n].starts_with(&[0x1f, 0x8b]) => {
                Box::new(Charged::new(flate2::read::ZlibDecoder::new(raw), budget))
            }
            "application/x-gzip"
            | "application/x-bzip2"
            | "application/x-xz"
            | "application/x-lzma" => {
                let codec = Codec::sniff(&magic[..n]);
                if codec == Codec::None {
                    return Err(bad(format!(
                        "data encoded as {} does not start with that format's magic",
                        data.encoding
                    )));
                }
                format_compress::decoder(codec, raw, budget).map_err(|e| bad(e.to_string()))?
            }
            other => return Err(bad(format!("unknown encoding {other:?}"))),
        };
        Ok(Box::new(Capped {
            inner: reader,
            left: cap,
            cap,
        }))
    }

    /// A whole file's decoded bytes, at most `cap`.
    pub fn read_data(
        &self,
        r: &mut dyn ReadSeek,
        data: &Data,
        cap: u64,
        budget: &InflateBudget,
    ) -> Result<Vec<u8>, Error> {
        if data.size > cap {
            return Err(Error::Limit(format!(
                "{} bytes declared, more than {cap}",
                data.size
            )));
        }
        let mut out = Vec::with_capacity(data.size as usize);
        self.open_data(r, data, cap, budget)?
            .read_to_end(&mut out)
            .map_err(|e| match format_compress::over_limit(&e) {
                Some(o) => Error::Limit(o.0.clone()),
                None => bad(format!("the data does not decode: {e}")),
            })?;
        Ok(out)
    }

    /// Whether a file's stored bytes hash to its archived checksum (`None`: no checksum
    /// listed or a style this reader does not know).
    pub fn archived_checksum_ok(
        &self,
        r: &mut dyn ReadSeek,
        data: &Data,
        max_bytes: u64,
    ) -> Result<Option<bool>, Error> {
        let Some((style, want)) = &data.archived_checksum else {
            return Ok(None);
        };
        let Some(alg) = hash_alg(style) else {
            return Ok(None);
        };
        if data.length > max_bytes {
            return Err(Error::Limit(format!(
                "{} bytes to hash, more than {max_bytes}",
                data.length
            )));
        }
        let at = self.heap_range(data.offset, data.length, "a file's data")?;
        r.seek(SeekFrom::Start(at))?;
        let mut ctx = ring::digest::Context::new(alg);
        let mut left = data.length;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let n = buf.len().min(left as usize);
            r.read_exact(&mut buf[..n])?;
            ctx.update(&buf[..n]);
            left -= n as u64;
        }
        Ok(Some(hex::encode(ctx.finish()) == *want))
    }
}

/// A reader that fails once more than `cap` bytes come out.
struct Capped<'a> {
    inner: Box<dyn Read + 'a>,
    left: u64,
    cap: u64,
}

impl Read for Capped<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::other(format_zip::OverLimit(format!(
                "a file decodes to more than {} bytes",
                self.cap
            ))));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// A stapled notarization ticket after the archive: (offset, length) of the ticket's bytes,
/// from the 16-byte `t8lr` ticket trailer at the end of the file.
pub fn stapled_ticket(r: &mut dyn ReadSeek, size: u64) -> Result<Option<(u64, u32)>, Error> {
    if size < 32 {
        return Ok(None);
    }
    r.seek(SeekFrom::Start(size - 16))?;
    let mut t = [0u8; 16];
    r.read_exact(&mut t)?;
    if &t[..4] != TRAILER_MAGIC {
        return Ok(None);
    }
    let typ = u16::from_le_bytes([t[6], t[7]]);
    let len = u32::from_le_bytes([t[8], t[9], t[10], t[11]]);
    if typ != TRAILER_TICKET {
        return Err(bad(format!("a stapler trailer of type {typ} at the end")));
    }
    if len > MAX_TICKET || u64::from(len) + 32 > size {
        return Err(bad(format!("a stapled ticket of {len} bytes")));
    }
    let start = size - 16 - u64::from(len);
    // The terminator trailer (type 1) right before the ticket marks where the archive ends.
    r.seek(SeekFrom::Start(start - 16))?;
    r.read_exact(&mut t)?;
    if &t[..4] != TRAILER_MAGIC || u16::from_le_bytes([t[6], t[7]]) != 1 {
        return Err(bad("a stapled ticket without its terminator trailer"));
    }
    Ok(Some((start, len)))
}

/// Reads `len` bytes at `offset` (a stapled ticket).
pub fn read_at(r: &mut dyn ReadSeek, offset: u64, len: u32) -> io::Result<Vec<u8>> {
    r.seek(SeekFrom::Start(offset))?;
    let mut b = vec![0u8; len as usize];
    r.read_exact(&mut b)?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn build(toc: &str, heap: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(toc.as_bytes()).unwrap();
        let c = z.finish().unwrap();
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&28u16.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&(c.len() as u64).to_be_bytes());
        out.extend_from_slice(&(toc.len() as u64).to_be_bytes());
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(&c);
        out.extend_from_slice(heap);
        out
    }

    const LIMITS: Limits = Limits {
        max_structure_bytes: 1 << 20,
        max_files: 100,
    };

    #[test]
    fn reads_toc_files_and_checksum() {
        let toc = r#"<?xml version="1.0"?><xar><toc><checksum style="sha1"><offset>0</offset><size>20</size></checksum>
<file id="1"><name>a</name><type>directory</type><file id="2"><name>b</name><type>file</type>
<data><offset>20</offset><length>3</length><size>3</size><encoding style="application/octet-stream"/></data></file></file></toc></xar>"#;
        let probe = build(toc, b"");
        let hlen = probe.len();
        let _ = hlen;
        // The checksum covers the compressed TOC: compute it from a first build.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(toc.as_bytes()).unwrap();
        let c = z.finish().unwrap();
        let sum = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &c);
        let mut heap = sum.as_ref().to_vec();
        heap.extend_from_slice(b"abc");
        let file = build(toc, &heap);
        let mut r = Cursor::new(file.clone());
        let x = open(&mut r, file.len() as u64, &LIMITS).unwrap();
        assert_eq!(x.files.len(), 2);
        assert_eq!(x.files[1].path, "a/b");
        let ck = x.toc_checksum(&mut r).unwrap().unwrap();
        assert!(ck.matches);
        let d = x.files[1].data.clone().unwrap();
        let budget = InflateBudget::new(1000);
        assert_eq!(x.read_data(&mut r, &d, 100, &budget).unwrap(), b"abc");
        // A flipped checksum byte no longer matches.
        let mut bad_file = file.clone();
        let at = x.heap_start as usize;
        bad_file[at] ^= 1;
        let mut r2 = Cursor::new(bad_file);
        assert!(!x.toc_checksum(&mut r2).unwrap().unwrap().matches);
        // Truncated: the data runs past the end.
        let cut = &file[..file.len() - 2];
        let mut r3 = Cursor::new(cut.to_vec());
        let x3 = open(&mut r3, cut.len() as u64, &LIMITS).unwrap();
        assert!(x3.read_data(&mut r3, &d, 100, &budget).is_err());
    }

    #[test]
    fn refuses_bad_headers_and_names() {
        let mut r = Cursor::new(b"xar!\0\x1c".to_vec());
        assert!(matches!(open(&mut r, 6, &LIMITS), Err(Error::NotXar(_))));
        let toc = r#"<xar><toc><file id="1"><name>../x</name><type>file</type></file></toc></xar>"#;
        let f = build(toc, b"");
        let mut r = Cursor::new(f.clone());
        assert!(open(&mut r, f.len() as u64, &LIMITS).is_err());
    }

    #[test]
    fn finds_a_stapled_ticket() {
        let mut f = build("<xar><toc/></xar>", b"");
        let ticket = b"s8chTICKET";
        f.extend_from_slice(TRAILER_MAGIC);
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&[0u8; 8]);
        f.extend_from_slice(ticket);
        f.extend_from_slice(TRAILER_MAGIC);
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&2u16.to_le_bytes());
        f.extend_from_slice(&(ticket.len() as u32).to_le_bytes());
        f.extend_from_slice(&[0u8; 4]);
        let mut r = Cursor::new(f.clone());
        let (off, len) = stapled_ticket(&mut r, f.len() as u64).unwrap().unwrap();
        assert_eq!(read_at(&mut r, off, len).unwrap(), ticket);
    }
}
