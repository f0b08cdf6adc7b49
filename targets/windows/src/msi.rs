//! MSI packages: an OLE compound file (read by `formats/cfb`) holding the summary
//! information stream, the database tables (the string pool and the Property table here),
//! and the Authenticode signature in `\u{5}DigitalSignature`, whose digest is computed the
//! MSI way: every stream's content in name order, storages recursively, each storage's class
//! id after its children, the signature streams left out (and, with
//! `\u{5}MsiDigitalSignatureEx`, a digest of the entries' metadata first).

use format_cfb::{CompoundFile, EntryKind};
use format_pki::signature::Hash;
use platform::{Finding, InspectContext, Inspection};
use serde_json::{Map, Value, json};

use crate::signature::{self, DigestCheck};
use crate::{Error, malformed};

const SUMMARY: &str = "\u{5}SummaryInformation";
const DIGITAL_SIGNATURE: &str = "\u{5}DigitalSignature";
const DIGITAL_SIGNATURE_EX: &str = "\u{5}MsiDigitalSignatureEx";
/// The largest table or pool stream read into memory.
const MAX_TABLE: u64 = 16 * 1024 * 1024;

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// Decodes an MSI stream name: table and stream names are packed two characters to a code
/// point (0x3800..0x4800), one (0x4800..0x4840), and 0x4840 marks a table.
pub fn decode_name(units: &[u16]) -> String {
    fn mime(x: u16) -> char {
        match x {
            0..=9 => char::from(b'0' + x as u8),
            10..=35 => char::from(b'A' + (x - 10) as u8),
            36..=61 => char::from(b'a' + (x - 36) as u8),
            62 => '.',
            _ => '_',
        }
    }
    let mut out = String::new();
    for &u in units {
        match u {
            0x3800..=0x47ff => {
                let v = u - 0x3800;
                out.push(mime(v & 0x3f));
                out.push(mime((v >> 6) & 0x3f));
            }
            0x4800..=0x483f => out.push(mime(u - 0x4800)),
            0x4840 => out.push('!'),
            other => out.push(char::from_u32(u32::from(other)).unwrap_or('\u{fffd}')),
        }
    }
    out
}

/// Reads an MSI package into `ins`.
pub fn read(
    r: &mut dyn platform::ReadSeek,
    ctx: &InspectContext,
    ins: &mut Inspection,
    pass: crate::Pass,
) -> Result<(), Error> {
    let cf = CompoundFile::open(r, ctx.size)?;
    let root = cf
        .entry(cf.root())
        .ok_or_else(|| malformed("no root storage"))?;
    if !crate::detect::MSI_CLSIDS.contains(&root.clsid) {
        return Err(malformed(
            "a compound file whose root storage does not carry the Windows Installer class id: not an MSI package",
        ));
    }
    let mut details = Map::new();
    // Name → index, decoded, for the root's children.
    let children = cf.children(cf.root())?;
    let named = |want: &str| {
        children.iter().copied().find(|i| {
            cf.entry(*i)
                .is_some_and(|e| decode_name(&e.name_utf16) == want)
        })
    };
    if let Some(i) = named(SUMMARY) {
        let data = cf.read_stream(r, i, MAX_TABLE)?;
        let summary = summary_information(&data)?;
        if let Some(template) = summary.get("template").and_then(|t| t.as_str()) {
            let platform = template.split(';').next().unwrap_or("");
            let arch = match platform.split(',').next().unwrap_or("") {
                "Intel" | "" => Some("x86"),
                "x64" | "AMD64" => Some("x64"),
                "Arm64" => Some("arm64"),
                "Intel64" => Some("ia64"),
                "Arm" => Some("arm"),
                _ => None,
            };
            if let Some(a) = arch {
                ins.archs = Some(vec![a.to_owned()]);
            }
        }
        details.insert("summary".into(), Value::Object(summary));
    } else {
        ins.findings.push(Finding::warning(
            "windows.msi.no_summary",
            format!("{}: no summary information stream; Windows Installer needs one to tell the package's platform", ins.file),
        ));
    }
    let props = properties(r, &cf, &named)?;
    let get = |k: &str| props.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    ins.identity = get("ProductName");
    ins.version = get("ProductVersion");
    let mut p = Map::new();
    for k in [
        "ProductName",
        "ProductVersion",
        "Manufacturer",
        "ProductCode",
        "UpgradeCode",
        "ProductLanguage",
        "ALLUSERS",
    ] {
        if let Some(v) = get(k) {
            p.insert(k.into(), json!(v));
        }
    }
    details.insert("properties".into(), Value::Object(p));
    if get("UpgradeCode").is_none() {
        ins.findings.push(Finding::warning(
            "windows.msi.no_upgrade_code",
            format!("{}: no UpgradeCode property; a newer version cannot replace this one, so users end up with both installed", ins.file),
        ));
    }
    ins.details.append(&mut details);
    if pass == crate::Pass::Metadata {
        return Ok(());
    }
    let Some(sig_index) = named(DIGITAL_SIGNATURE) else {
        signature::unsigned(ins);
        return Ok(());
    };
    let blob = cf.read_stream(r, sig_index, crate::pe::MAX_CERT_TABLE.into())?;
    let ex = named(DIGITAL_SIGNATURE_EX);
    let mut cache: Vec<(Hash, Vec<u8>)> = Vec::new();
    let mut digest_of = |sig: &format_pki::authenticode::Signature| -> Result<DigestCheck, Error> {
        signature::check_digest(sig, &mut cache, "package", |hash| {
            msi_digest(r, &cf, hash, ex)
        })
    };
    signature::evaluate(ins, &[blob], ctx, &mut digest_of)
}

/// The MSI Authenticode digest of the whole package.
fn msi_digest(
    r: &mut dyn platform::ReadSeek,
    cf: &CompoundFile,
    hash: Hash,
    ex: Option<usize>,
) -> Result<Vec<u8>, Error> {
    let mut d = ring::digest::Context::new(hash.ring());
    if ex.is_some() {
        let mut pre = ring::digest::Context::new(hash.ring());
        prehash_dir(cf, cf.root(), true, &mut pre)?;
        d.update(pre.finish().as_ref());
    }
    hash_dir(r, cf, cf.root(), true, &mut d)?;
    Ok(d.finish().as_ref().to_vec())
}

/// A storage's children in the order Authenticode hashes them: by UTF-16LE name bytes with
/// the terminator, leaving out the signature streams at the root.
fn sorted_children(cf: &CompoundFile, dir: usize, root: bool) -> Result<Vec<usize>, Error> {
    let mut kids: Vec<(Vec<u8>, usize)> = cf
        .children(dir)?
        .into_iter()
        .filter_map(|i| cf.entry(i).map(|e| (e, i)))
        .filter(|(e, _)| {
            !(root
                && (e.name_utf16 == utf16(DIGITAL_SIGNATURE)
                    || e.name_utf16 == utf16(DIGITAL_SIGNATURE_EX)))
        })
        .map(|(e, i)| {
            let mut key = e.name_bytes();
            key.extend_from_slice(&[0, 0]);
            (key, i)
        })
        .collect();
    kids.sort();
    Ok(kids.into_iter().map(|(_, i)| i).collect())
}

fn hash_dir(
    r: &mut dyn platform::ReadSeek,
    cf: &CompoundFile,
    dir: usize,
    root: bool,
    d: &mut ring::digest::Context,
) -> Result<(), Error> {
    for i in sorted_children(cf, dir, root)? {
        let Some(e) = cf.entry(i) else { continue };
        match e.kind {
            EntryKind::Stream if e.size > 0 => {
                cf.stream_chunks(&mut *r, i, u64::MAX, &mut |c| d.update(c))?;
            }
            EntryKind::Storage => hash_dir(r, cf, i, false, d)?,
            _ => {}
        }
    }
    if let Some(e) = cf.entry(dir) {
        d.update(&e.clsid);
    }
    Ok(())
}

fn metadata(e: &format_cfb::Entry, d: &mut ring::digest::Context) {
    if e.kind != EntryKind::Root {
        d.update(&e.name_bytes());
    }
    if e.kind != EntryKind::Stream {
        d.update(&e.clsid);
    } else {
        d.update(&(e.size as u32).to_le_bytes());
    }
    d.update(&e.state_bits);
    if e.kind != EntryKind::Root {
        d.update(&e.created);
        d.update(&e.modified);
    }
}

fn prehash_dir(
    cf: &CompoundFile,
    dir: usize,
    root: bool,
    d: &mut ring::digest::Context,
) -> Result<(), Error> {
    if let Some(e) = cf.entry(dir) {
        metadata(e, d);
    }
    for i in sorted_children(cf, dir, root)? {
        let Some(e) = cf.entry(i) else { continue };
        match e.kind {
            EntryKind::Stream => metadata(e, d),
            EntryKind::Storage => prehash_dir(cf, i, false, d)?,
            _ => {}
        }
    }
    Ok(())
}

/// The summary information property set's fields.
pub fn summary_information(data: &[u8]) -> Result<Map<String, Value>, Error> {
    let short = || malformed("the summary information stream is truncated");
    let u16_at = |o: usize| -> Result<u16, Error> {
        Ok(u16::from_le_bytes(
            data.get(o..o + 2)
                .ok_or_else(short)?
                .try_into()
                .expect("2 bytes"),
        ))
    };
    let u32_at = |o: usize| -> Result<u32, Error> {
        Ok(u32::from_le_bytes(
            data.get(o..o + 4)
                .ok_or_else(short)?
                .try_into()
                .expect("4 bytes"),
        ))
    };
    if u16_at(0)? != 0xfffe {
        return Err(malformed(
            "the summary information stream has no byte-order mark",
        ));
    }
    let set = u32_at(44)? as usize;
    let count = u32_at(set + 4)? as usize;
    if count > 1024 {
        return Err(malformed(
            "the summary information claims too many properties",
        ));
    }
    let mut out = Map::new();
    for i in 0..count {
        let id = u32_at(set + 8 + 8 * i)?;
        let off = set + u32_at(set + 12 + 8 * i)? as usize;
        let ty = u32_at(off)?;
        let value = match ty {
            30 => {
                let len = u32_at(off + 4)? as usize;
                let bytes = data.get(off + 8..off + 8 + len).ok_or_else(short)?;
                let s: String = bytes
                    .iter()
                    .take_while(|b| **b != 0)
                    .map(|b| char::from(*b))
                    .collect();
                json!(s)
            }
            3 => json!(u32_at(off + 4)? as i32),
            2 => json!(u16_at(off + 4)? as i16),
            _ => continue,
        };
        let name = match id {
            2 => "title",
            3 => "subject",
            4 => "author",
            5 => "keywords",
            6 => "comments",
            7 => "template",
            8 => "last_saved_by",
            9 => "revision",
            14 => "schema",
            15 => "source_flags",
            18 => "creating_application",
            19 => "security",
            _ => continue,
        };
        out.insert(name.into(), value);
    }
    Ok(out)
}

/// The Property table's rows, as (name, value).
fn properties(
    r: &mut dyn platform::ReadSeek,
    cf: &CompoundFile,
    named: &dyn Fn(&str) -> Option<usize>,
) -> Result<Vec<(String, String)>, Error> {
    let (Some(pool_i), Some(data_i)) = (named("!_StringPool"), named("!_StringData")) else {
        return Err(malformed("no string pool: not an MSI database"));
    };
    let pool = cf.read_stream(r, pool_i, MAX_TABLE)?;
    let data = cf.read_stream(r, data_i, MAX_TABLE)?;
    let strings = string_pool(&pool, &data)?;
    let Some(prop_i) = named("!Property") else {
        return Ok(Vec::new());
    };
    let table = cf.read_stream(r, prop_i, MAX_TABLE)?;
    let long_refs = pool.get(3).is_some_and(|b| b & 0x80 != 0);
    let width = if long_refs { 3 } else { 2 };
    let rows = table.len() / (2 * width);
    let reference = |o: usize| -> usize {
        let mut v = usize::from(table[o]) | usize::from(table[o + 1]) << 8;
        if long_refs {
            v |= usize::from(table[o + 2]) << 16;
        }
        v
    };
    let text = |id: usize| strings.get(id).cloned().unwrap_or_default();
    Ok((0..rows)
        .map(|row| {
            (
                text(reference(row * width)),
                text(reference(rows * width + row * width)),
            )
        })
        .collect())
}

/// Strings by id (id 0 is the empty string).
pub fn string_pool(pool: &[u8], data: &[u8]) -> Result<Vec<String>, Error> {
    if pool.len() < 4 {
        return Err(malformed("the string pool is shorter than its header"));
    }
    let codepage = u32::from(u16::from_le_bytes([pool[0], pool[1]]))
        | (u32::from(u16::from_le_bytes([pool[2], pool[3]]) & 0x7fff) << 16);
    let words: Vec<u16> = pool
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let count = words.len() / 2;
    let mut out = vec![String::new()];
    let mut offset = 0usize;
    let mut i = 1usize;
    while i < count {
        let (len, refs) = (words[i * 2], words[i * 2 + 1]);
        let len = if len == 0 && refs == 0 {
            i += 1;
            out.push(String::new());
            continue;
        } else if len == 0 {
            // Over 64 KiB: the next entry holds the length, low word then high word.
            let lo = words.get(i * 2 + 2).copied().unwrap_or(0);
            let hi = words.get(i * 2 + 3).copied().unwrap_or(0);
            i += 2;
            (usize::from(hi) << 16) | usize::from(lo)
        } else {
            i += 1;
            usize::from(len)
        };
        let bytes = data
            .get(offset..offset + len)
            .ok_or_else(|| malformed("a string runs past the string data"))?;
        offset += len;
        out.push(if codepage == 65001 {
            String::from_utf8_lossy(bytes).into_owned()
        } else {
            // Windows-1252 and the like: ASCII is exact; other bytes are shown as Latin-1.
            bytes.iter().map(|b| char::from(*b)).collect()
        });
    }
    Ok(out)
}
