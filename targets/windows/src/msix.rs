//! MSIX/APPX packages and bundles: the manifest (`AppxManifest.xml`, or a bundle's
//! `AppxMetadata/AppxBundleManifest.xml`), the block map (every file's 64 KiB blocks hashed
//! and compared), and the signature `AppxSignature.p7x`, an Authenticode SignedData whose
//! indirect data holds five digests: the zip's local records (`AXPC`), its central directory
//! without the signature's entry (`AXCD`), `[Content_Types].xml` (`AXCT`), the block map
//! (`AXBM`) and, when present, `AppxMetadata/CodeIntegrity.cat` (`AXCI`). A package whose
//! bytes no longer match any of them is `invalid`.

use std::io::Read;

use base64::Engine as _;
use format_zip::{Entry, ZipIndex};
use platform::{Finding, InspectContext, Inspection, ReadSeek};
use serde_json::{Map, Value, json};

use crate::signature::{self, DigestCheck};
use crate::{Error, malformed};

pub const MANIFEST: &str = "AppxManifest.xml";
pub const BUNDLE_MANIFEST: &str = "AppxMetadata/AppxBundleManifest.xml";
pub const BLOCK_MAP: &str = "AppxBlockMap.xml";
pub const CONTENT_TYPES: &str = "[Content_Types].xml";
pub const SIGNATURE: &str = "AppxSignature.p7x";
pub const CODE_INTEGRITY: &str = "AppxMetadata/CodeIntegrity.cat";
/// Block-map block size: every file is hashed in blocks of 64 KiB of its content.
const BLOCK: usize = 64 * 1024;

fn member(
    r: &mut dyn ReadSeek,
    idx: &ZipIndex,
    name: &str,
    ctx: &InspectContext,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(e) = idx.get(name) else {
        return Ok(None);
    };
    Ok(Some(format_zip::read_entry(
        &mut *r,
        e,
        idx.eocd.cd_offset,
        ctx.limits.max_member_bytes,
        &ctx.budget,
    )?))
}

/// An XML member's text, without the byte-order mark Windows tools write.
fn xml_text(data: &[u8]) -> String {
    String::from_utf8_lossy(data)
        .trim_start_matches('\u{feff}')
        .to_owned()
}

/// Reads the package's index and the text of its manifest `name`; without that manifest
/// the file is `not_what` ("not a bundle").
fn open_manifest(
    r: &mut dyn ReadSeek,
    ctx: &InspectContext,
    name: &str,
    not_what: &str,
) -> Result<(ZipIndex, String), Error> {
    let idx = format_zip::read_index(&mut *r, ctx.size, &ctx.limits)?;
    let manifest =
        member(r, &idx, name, ctx)?.ok_or_else(|| malformed(format!("no {name}: {not_what}")))?;
    Ok((idx, xml_text(&manifest)))
}

fn parse_xml<'t>(text: &'t str, what: &str) -> Result<roxmltree::Document<'t>, Error> {
    roxmltree::Document::parse(text)
        .map_err(|e| malformed(format!("{what} is not well-formed XML: {e}")))
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// Canonical form of a distinguished name for comparison: `S=` is `ST=`, parts sorted,
/// spaces around separators dropped.
pub fn dn_key(dn: &str) -> Vec<String> {
    let mut parts: Vec<String> = dn
        .split(',')
        .map(|p| {
            let p = p.trim();
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let k = match k.trim().to_ascii_uppercase().as_str() {
                "S" => "ST".to_owned(),
                other => other.to_owned(),
            };
            format!("{k}={}", v.trim().trim_matches('"'))
        })
        .collect();
    parts.sort();
    parts
}

/// Reads an MSIX or APPX package.
pub fn read_package(
    r: &mut dyn ReadSeek,
    ctx: &InspectContext,
    ins: &mut Inspection,
    pass: crate::Pass,
) -> Result<(), Error> {
    let (idx, text) = open_manifest(r, ctx, MANIFEST, "not an MSIX/APPX package")?;
    let doc = parse_xml(&text, MANIFEST)?;
    let root = doc.root_element();
    let identity =
        child(root, "Identity").ok_or_else(|| malformed("AppxManifest.xml has no Identity"))?;
    let mut details = Map::new();
    ins.identity = identity.attribute("Name").map(str::to_owned);
    ins.version = identity.attribute("Version").map(str::to_owned);
    let publisher = identity.attribute("Publisher").map(str::to_owned);
    if let Some(a) = identity.attribute("ProcessorArchitecture")
        && a != "neutral"
    {
        ins.archs = Some(vec![a.to_owned()]);
    }
    details.insert(
        "identity".into(),
        json!({
            "name": ins.identity,
            "publisher": publisher,
            "version": ins.version,
            "processor_architecture": identity.attribute("ProcessorArchitecture"),
        }),
    );
    if let Some(props) = child(root, "Properties") {
        if let Some(d) = child(props, "DisplayName").and_then(|d| d.text()) {
            let d = d.trim();
            if d.starts_with("ms-resource:") {
                details.insert("display_name_unresolved".into(), json!(d));
                ins.findings.push(Finding::info(
                    "windows.msix.display_name_unresolved",
                    format!("{}: the display name is the resource reference {d}, resolved only from resources.pri on the device; dist shows the identity name instead", ins.file),
                ));
            } else {
                ins.display_name = Some(d.to_owned());
            }
        }
        if let Some(p) = child(props, "PublisherDisplayName").and_then(|d| d.text()) {
            details.insert("publisher_display_name".into(), json!(p.trim()));
        }
    }
    let mut families = Vec::new();
    if let Some(deps) = child(root, "Dependencies") {
        for tdf in deps
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "TargetDeviceFamily")
        {
            let name = tdf.attribute("Name").unwrap_or_default();
            families.push(json!({
                "name": name,
                "min_version": tdf.attribute("MinVersion"),
                "max_version_tested": tdf.attribute("MaxVersionTested"),
            }));
            if ins.min_os.is_none() {
                ins.min_os = tdf.attribute("MinVersion").map(str::to_owned);
                ins.target_sdk = tdf.attribute("MaxVersionTested").map(str::to_owned);
            }
        }
    }
    if let Some(pre) = child(root, "Prerequisites") {
        // Windows 8 packages name the OS versions instead of device families.
        ins.min_os = ins.min_os.take().or(child(pre, "OSMinVersion")
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned()));
        ins.target_sdk = ins.target_sdk.take().or(child(pre, "OSMaxVersionTested")
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned()));
    }
    if !families.is_empty() {
        ins.device_family = Some(
            families
                .iter()
                .filter_map(|f| f["name"].as_str().map(str::to_owned))
                .collect(),
        );
        details.insert("target_device_families".into(), Value::Array(families));
    }
    let capabilities: Vec<String> = child(root, "Capabilities")
        .map(|c| {
            c.children()
                .filter(|n| n.is_element())
                .filter_map(|n| {
                    n.attribute("Name").map(|v| {
                        let ns = n.tag_name().namespace().unwrap_or_default();
                        if ns.contains("restrictedcapabilities") {
                            format!("rescap:{v}")
                        } else {
                            v.to_owned()
                        }
                    })
                })
                .take(256)
                .collect()
        })
        .unwrap_or_default();
    details.insert("capabilities".into(), json!(capabilities));
    if let Some(p) = &publisher {
        details.insert("publisher".into(), json!(p));
    }
    ins.details.append(&mut details);
    if pass == crate::Pass::Metadata {
        return Ok(());
    }
    verify(r, &idx, ctx, ins, publisher.as_deref())
}

/// Reads an MSIX or APPX bundle: its identity and the packages it holds, with their
/// architectures.
pub fn read_bundle(
    r: &mut dyn ReadSeek,
    ctx: &InspectContext,
    ins: &mut Inspection,
    pass: crate::Pass,
) -> Result<(), Error> {
    let (idx, text) = open_manifest(r, ctx, BUNDLE_MANIFEST, "not a bundle")?;
    let doc = parse_xml(&text, BUNDLE_MANIFEST)?;
    let root = doc.root_element();
    let identity =
        child(root, "Identity").ok_or_else(|| malformed("the bundle manifest has no Identity"))?;
    ins.identity = identity.attribute("Name").map(str::to_owned);
    ins.version = identity.attribute("Version").map(str::to_owned);
    let publisher = identity.attribute("Publisher").map(str::to_owned);
    let mut members = Vec::new();
    let mut archs: Vec<String> = Vec::new();
    if let Some(pkgs) = child(root, "Packages") {
        for p in pkgs
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "Package")
            .take(1024)
        {
            let kind = p.attribute("Type").unwrap_or("application");
            let arch = p.attribute("Architecture");
            if kind == "application"
                && let Some(a) = arch
                && a != "neutral"
                && !archs.iter().any(|x| x == a)
            {
                archs.push(a.to_owned());
            }
            let file = p.attribute("FileName").unwrap_or_default();
            members.push(json!({
                "file": file,
                "type": kind,
                "architecture": arch,
                "version": p.attribute("Version"),
                "size": p.attribute("Size").and_then(|s| s.parse::<u64>().ok()),
                "present": idx.get(file).is_some(),
            }));
        }
    }
    if !archs.is_empty() {
        ins.archs = Some(archs);
    }
    ins.details.insert("packages".into(), Value::Array(members));
    ins.details.insert(
        "identity".into(),
        json!({"name": ins.identity, "publisher": publisher, "version": ins.version}),
    );
    if let Some(p) = &publisher {
        ins.details.insert("publisher".into(), json!(p));
    }
    if pass == crate::Pass::Metadata {
        return Ok(());
    }
    verify(r, &idx, ctx, ins, publisher.as_deref())
}

/// Percent-decoding of an OPC part name as stored in the zip.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks the block map against the files and, when signed, the signature's digests.
fn verify(
    r: &mut dyn ReadSeek,
    idx: &ZipIndex,
    ctx: &InspectContext,
    ins: &mut Inspection,
    publisher: Option<&str>,
) -> Result<(), Error> {
    let block_map = member(r, idx, BLOCK_MAP, ctx)?;
    let block_problem = match &block_map {
        Some(bm) => check_block_map(r, idx, ctx, bm)?,
        None => Some("the package has no AppxBlockMap.xml".to_owned()),
    };
    if let Some(p) = &block_problem {
        ins.findings.push(Finding::error(
            "windows.msix.block_map_mismatch",
            format!("{}: {p}; Windows refuses to install a package whose files do not match its block map: rebuild it", ins.file),
        ));
    }
    let Some(p7x) = member(r, idx, SIGNATURE, ctx)? else {
        signature::unsigned(ins);
        return Ok(());
    };
    let blob = p7x
        .strip_prefix(b"PKCX")
        .ok_or_else(|| malformed("AppxSignature.p7x does not start with PKCX"))?
        .to_vec();
    let mut digest_of = |sig: &format_pki::authenticode::Signature| -> Result<DigestCheck, Error> {
        let Some(hash) = sig.hash() else {
            return Ok(signature::unsupported(sig));
        };
        package_digests(r, idx, ctx, hash, &sig.indirect.digest)
    };
    signature::evaluate(ins, &[blob], ctx, &mut digest_of)?;
    if block_problem.is_some() && ins.signature.state != platform::SignatureState::Invalid {
        ins.signature.state = platform::SignatureState::Invalid;
        ins.signature.digest_ok = Some(false);
    }
    // Windows installs a package only when its Publisher is the signer's subject.
    if let (Some(p), Some(s)) = (publisher, ins.signature.signers.first())
        && dn_key(p) != dn_key(&s.subject)
    {
        ins.findings.push(Finding::error(
            "windows.msix.publisher_mismatch",
            format!(
                "{}: the manifest's Publisher \"{p}\" is not the signing certificate's subject \"{}\"; Windows refuses to install it: set Publisher to the certificate's subject and sign again",
                ins.file, s.subject
            ),
        ));
    }
    Ok(())
}

/// Compares every block-map block with the file's content; `Some(problem)` on the first
/// mismatch.
fn check_block_map(
    r: &mut dyn ReadSeek,
    idx: &ZipIndex,
    ctx: &InspectContext,
    bm: &[u8],
) -> Result<Option<String>, Error> {
    let text = xml_text(bm);
    let doc = parse_xml(&text, BLOCK_MAP)?;
    let root = doc.root_element();
    let method = root.attribute("HashMethod").unwrap_or_default();
    let alg: &'static ring::digest::Algorithm = match method {
        "http://www.w3.org/2001/04/xmlenc#sha256" => &ring::digest::SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => &ring::digest::SHA384,
        "http://www.w3.org/2001/04/xmlenc#sha512" => &ring::digest::SHA512,
        other => {
            return Ok(Some(format!(
                "the block map's hash method {other} is not one dist checks"
            )));
        }
    };
    let mut listed = Vec::new();
    for f in root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "File")
    {
        let name = f.attribute("Name").unwrap_or_default().replace('\\', "/");
        let Some(entry) = idx
            .entries
            .iter()
            .find(|e| e.name == name || percent_decode(&e.name) == name)
        else {
            return Ok(Some(format!(
                "the block map lists {name}, which the package does not hold"
            )));
        };
        listed.push(entry.name.clone());
        let want: Vec<Vec<u8>> = f
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "Block")
            .map(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.attribute("Hash").unwrap_or_default())
                    .unwrap_or_default()
            })
            .collect();
        if let Some(problem) = check_blocks(r, idx, ctx, entry, alg, &want)? {
            return Ok(Some(problem));
        }
    }
    for e in &idx.entries {
        let n = e.name.as_str();
        if e.is_dir() || [BLOCK_MAP, CONTENT_TYPES, SIGNATURE, CODE_INTEGRITY].contains(&n) {
            continue;
        }
        if !listed.iter().any(|l| l == n) {
            return Ok(Some(format!(
                "{n} is in the package but not in the block map"
            )));
        }
    }
    Ok(None)
}

fn check_blocks(
    r: &mut dyn ReadSeek,
    idx: &ZipIndex,
    ctx: &InspectContext,
    entry: &Entry,
    alg: &'static ring::digest::Algorithm,
    want: &[Vec<u8>],
) -> Result<Option<String>, Error> {
    let mut rd = format_zip::open_entry(
        &mut *r,
        entry,
        idx.eocd.cd_offset,
        ctx.limits.max_streamed_bytes,
        &ctx.budget,
    )?;
    let mut buf = vec![0u8; BLOCK];
    let mut n_block = 0usize;
    loop {
        let mut filled = 0;
        while filled < BLOCK {
            let n = rd
                .read(&mut buf[filled..])
                .map_err(|e| Error::from(format_zip::read_error(&entry.name, e)))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 && n_block > 0 {
            break;
        }
        if filled == 0 && want.is_empty() {
            break;
        }
        let got = ring::digest::digest(alg, &buf[..filled]);
        match want.get(n_block) {
            Some(w) if w.as_slice() == got.as_ref() => {}
            Some(_) => {
                return Ok(Some(format!(
                    "{}: block {n_block} does not match its block-map hash",
                    entry.name
                )));
            }
            None => {
                return Ok(Some(format!(
                    "{}: holds more blocks than the block map lists",
                    entry.name
                )));
            }
        }
        n_block += 1;
        if filled < BLOCK {
            break;
        }
    }
    if n_block < want.len() {
        return Ok(Some(format!(
            "{}: holds fewer blocks than the block map lists",
            entry.name
        )));
    }
    Ok(None)
}

/// Computes the package digests the signature lists and compares them.
fn package_digests(
    r: &mut dyn ReadSeek,
    idx: &ZipIndex,
    ctx: &InspectContext,
    hash: format_pki::Hash,
    signed: &[u8],
) -> Result<DigestCheck, Error> {
    let Some(list) = signed.strip_prefix(b"APPX") else {
        return Ok(DigestCheck::Mismatch(
            "the signed digest is not an APPX digest list".into(),
        ));
    };
    let len = hash.ring().output_len();
    if list.is_empty() || list.len() % (4 + len) != 0 {
        return Ok(DigestCheck::Mismatch(
            "the signed APPX digest list is malformed".into(),
        ));
    }
    let (axpc, axcd) = zip_digests(r, idx, hash)?;
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for item in list.chunks_exact(4 + len) {
        let (tag, want) = item.split_at(4);
        seen.push(tag.to_vec());
        let got = match tag {
            b"AXPC" => Some(axpc.clone()),
            b"AXCD" => Some(axcd.clone()),
            b"AXCT" => member(r, idx, CONTENT_TYPES, ctx)?.map(|d| hash.digest(&d)),
            b"AXBM" => member(r, idx, BLOCK_MAP, ctx)?.map(|d| hash.digest(&d)),
            b"AXCI" => member(r, idx, CODE_INTEGRITY, ctx)?.map(|d| hash.digest(&d)),
            _ => {
                problems.push(format!("unknown digest {}", String::from_utf8_lossy(tag)));
                continue;
            }
        };
        let what = match tag {
            b"AXPC" => "the zip's file records (AXPC)",
            b"AXCD" => "the central directory (AXCD)",
            b"AXCT" => "[Content_Types].xml (AXCT)",
            b"AXBM" => "the block map (AXBM)",
            _ => "AppxMetadata/CodeIntegrity.cat (AXCI)",
        };
        match got {
            Some(g) if g == want => {}
            Some(_) => problems.push(format!("{what} does not match")),
            None => problems.push(format!("{what} is signed but missing")),
        }
    }
    for required in [b"AXPC", b"AXCD", b"AXCT", b"AXBM"] {
        if !seen.iter().any(|s| s == required) {
            problems.push(format!(
                "the signature does not cover {}",
                String::from_utf8_lossy(required)
            ));
        }
    }
    if idx.get(CODE_INTEGRITY).is_some() && !seen.iter().any(|s| s == b"AXCI") {
        problems.push("AppxMetadata/CodeIntegrity.cat is not covered by the signature".into());
    }
    Ok(if problems.is_empty() {
        DigestCheck::Match
    } else {
        DigestCheck::Mismatch(problems.join("; "))
    })
}

fn u16le(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// The `AXPC` and `AXCD` digests: the local records of every entry but the signature, in
/// central-directory order, and the central directory without the signature's record,
/// closed by end records rewritten for it (counts, size and offset; disk numbers zero).
fn zip_digests(
    r: &mut dyn ReadSeek,
    idx: &ZipIndex,
    hash: format_pki::Hash,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let cd_off = idx.eocd.cd_offset;
    let mut offsets: Vec<u64> = idx.entries.iter().map(|e| e.local_offset).collect();
    offsets.push(cd_off);
    offsets.sort_unstable();
    let mut pc = ring::digest::Context::new(hash.ring());
    let mut data_len = 0u64;
    for e in idx.entries.iter().filter(|e| e.name != SIGNATURE) {
        let end = offsets
            .iter()
            .copied()
            .find(|o| *o > e.local_offset)
            .unwrap_or(cd_off);
        crate::pe::stream(r, e.local_offset, end, &mut |c| pc.update(c))?;
        data_len += end - e.local_offset;
    }
    let cd = format_zip::read_exact_at(
        &mut *r,
        cd_off,
        usize::try_from(idx.eocd.cd_size).map_err(|_| malformed("central directory too large"))?,
    )?;
    let mut cdh = ring::digest::Context::new(hash.ring());
    let mut p = 0usize;
    let mut kept = 0u64;
    let mut cd_size = 0u64;
    while p + 46 <= cd.len() && &cd[p..p + 4] == b"PK\x01\x02" {
        let len = 46 + u16le(&cd, p + 28) + u16le(&cd, p + 30) + u16le(&cd, p + 32);
        if p + len > cd.len() {
            return Err(malformed(
                "a central directory record runs past the directory",
            ));
        }
        let name = &cd[p + 46..p + 46 + u16le(&cd, p + 28)];
        if name != SIGNATURE.as_bytes() {
            cdh.update(&cd[p..p + len]);
            kept += 1;
            cd_size += len as u64;
        }
        p += len;
    }
    let eocd = &idx.eocd.raw;
    if eocd.len() < 22 {
        return Err(malformed("the end of central directory record is short"));
    }
    if let Some(z64) = idx.eocd.zip64 {
        let rec = format_zip::read_exact_at(&mut *r, z64, 56)?;
        let rec_size = u64::from_le_bytes(rec[4..12].try_into().expect("8 bytes"));
        let extra = rec_size.saturating_sub(44).min(1 << 16) as usize;
        let ext = format_zip::read_exact_at(&mut *r, z64 + 56, extra)?;
        cdh.update(b"PK\x06\x06");
        cdh.update(&rec[4..24]);
        cdh.update(&kept.to_le_bytes());
        cdh.update(&kept.to_le_bytes());
        cdh.update(&cd_size.to_le_bytes());
        cdh.update(&data_len.to_le_bytes());
        cdh.update(&ext);
        let loc = format_zip::read_exact_at(&mut *r, idx.eocd.offset.saturating_sub(20), 20)?;
        cdh.update(b"PK\x06\x07");
        cdh.update(&loc[4..8]);
        cdh.update(&(data_len + cd_size).to_le_bytes());
        cdh.update(&loc[16..20]);
    }
    let field16 = |at: usize, v: u64| -> [u8; 2] {
        if u16le(eocd, at) == 0xffff {
            [0xff, 0xff]
        } else {
            (v as u16).to_le_bytes()
        }
    };
    let field32 = |at: usize, v: u64| -> [u8; 4] {
        if eocd[at..at + 4] == [0xff; 4] {
            [0xff; 4]
        } else {
            (v as u32).to_le_bytes()
        }
    };
    cdh.update(b"PK\x05\x06");
    cdh.update(&[0, 0, 0, 0]);
    cdh.update(&field16(8, kept));
    cdh.update(&field16(10, kept));
    cdh.update(&field32(12, cd_size));
    cdh.update(&field32(16, data_len));
    cdh.update(&eocd[20..]);
    Ok((
        pc.finish().as_ref().to_vec(),
        cdh.finish().as_ref().to_vec(),
    ))
}
