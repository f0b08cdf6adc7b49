//! Debian packages: an ar archive of `debian-binary`, `control.tar[.gz|.xz|.zst]` and
//! `data.tar[.*]`, in that order, with optional `_`-prefixed members (debsigs and dpkg-sig
//! put their `_gpg*` signatures there; debsigs' `_gpgorigin` is verified against the trusted
//! keys). The control fields come from the `control` member of
//! the control archive; the data archive is walked once (bounded by the decompression
//! budget) to check it decompresses and to count what it installs.
//!
//! `details` schema: `members` (names in order), `control` (`package`, `version`, `epoch`,
//! `upstream_version`, `revision`, `architecture`, `maintainer`, `depends`, `pre_depends`,
//! `installed_size_kib`, `section`, `priority`, `homepage`, `description`), `md5sums`
//! (bool), `maintainer_scripts` (names), `gpg_members` (names), `data` (`compression`,
//! `entries`, `total_bytes`), `depends` (the Depends line, for the install page),
//! `signature` (`scheme`, `key_id`, `fingerprint`, `verified`) for a debsigs `_gpgorigin`.

use std::io::{Read, SeekFrom};

use format_compress::Codec;
use platform::{Finding, InspectContext, Inspection, ReadSeek, Signature};
use serde_json::{Map, Value, json};

use crate::Error;

/// Members a deb has at most: three, plus a few signatures.
const MAX_MEMBERS: usize = 64;
/// The `control` file and `md5sums` are read into memory up to this size.
const MAX_CONTROL: u64 = 1 << 20;

/// Parses a deb822 paragraph: `Field: value` lines with continuation lines starting with a
/// space or tab. Field names are compared case-insensitively (stored lowercase).
pub fn control_fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break; // one paragraph
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    out
}

/// A Debian version split into epoch, upstream version and revision (Debian Policy 5.6.12).
pub fn split_version(v: &str) -> (Option<&str>, &str, Option<&str>) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (Some(e), r),
        _ => (None, v),
    };
    match rest.rsplit_once('-') {
        Some((u, r)) => (epoch, u, Some(r)),
        None => (epoch, rest, None),
    }
}

/// Checks a version against Debian Policy's characters: an upstream part starting with a
/// digit, of alphanumerics and `.+~-:` (`-` only with a revision, `:` only with an epoch).
pub fn version_ok(v: &str) -> bool {
    let (_, up, rev) = split_version(v);
    up.starts_with(|c: char| c.is_ascii_digit())
        && up
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+~-:".contains(c))
        && rev.is_none_or(|r| {
            !r.is_empty()
                && r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.~".contains(c))
        })
}

fn codec_of(member: &str, base: &str) -> Option<Codec> {
    let rest = member.strip_prefix(base)?;
    match rest {
        "" => Some(Codec::None),
        ".gz" => Some(Codec::Gzip),
        ".xz" => Some(Codec::Xz),
        ".zst" => Some(Codec::Zstd),
        ".bz2" => Some(Codec::Bzip2),
        ".lzma" => Some(Codec::Lzma),
        _ => None,
    }
}

/// Reads the file into `ins` (a fresh, unsigned Inspection; see `crate::inspect_with`).
pub(crate) fn read(
    r: &mut dyn ReadSeek,
    ctx: &InspectContext,
    ins: &mut Inspection,
) -> Result<(), Error> {
    let members = format_ar::members(r, ctx.size, MAX_MEMBERS).map_err(|e| match e {
        format_ar::Error::Io(e) => Error::Io(e),
        other => Error::Malformed(format!("the ar container is malformed: {other}")),
    })?;
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    ins.details.insert("members".into(), json!(names));
    // Order: debian-binary, control.tar*, data.tar*; `_` members may follow any of them.
    let core: Vec<&format_ar::Member> = members
        .iter()
        .filter(|m| !m.name.starts_with('_'))
        .collect();
    let order_ok = core.len() == 3
        && core[0].name == "debian-binary"
        && codec_of(&core[1].name, "control.tar").is_some()
        && codec_of(&core[2].name, "data.tar").is_some()
        && members[0].name == "debian-binary";
    if !order_ok {
        return Err(Error::Malformed(format!(
            "members are {names:?}; a deb holds debian-binary, control.tar[.gz|.xz|.zst] and data.tar[.*] in that order (plus optional _-prefixed members); rebuild it with dpkg-deb --build"
        )));
    }
    let (bin, control, data) = (core[0], core[1], core[2]);
    if bin.size > 64 {
        return Err(Error::Malformed(format!(
            "debian-binary is {} bytes; it holds a format version such as 2.0",
            bin.size
        )));
    }
    let mut v = vec![0u8; bin.size as usize];
    r.seek(SeekFrom::Start(bin.offset))?;
    r.read_exact(&mut v)?;
    let format = String::from_utf8_lossy(&v).trim().to_owned();
    if !format.starts_with("2.") {
        return Err(Error::Malformed(format!(
            "debian-binary says format {format:?}; dpkg reads format 2.x only"
        )));
    }
    ins.details.insert("format".into(), json!(format));

    // The control archive.
    let ccodec = codec_of(&control.name, "control.tar").expect("checked above");
    r.seek(SeekFrom::Start(control.offset))?;
    let window = (&mut *r).take(control.size);
    let dec = format_compress::decoder(ccodec, window, &ctx.budget)
        .map_err(|e| Error::Malformed(e.to_string()))?;
    let mut tar = format_tar::Reader::new(dec, MAX_CONTROL as usize);
    let mut control_text: Option<String> = None;
    let mut md5sums = false;
    let mut scripts = Vec::new();
    let mut count = 0usize;
    while let Some(e) = tar.next_entry().map_err(|e| tar_err(e, &control.name))? {
        count += 1;
        if count > ctx.limits.max_entries {
            return Err(Error::Limit(format!(
                "{} holds more than {} entries",
                control.name, ctx.limits.max_entries
            )));
        }
        match e.path.as_str() {
            "control" => {
                if e.size > MAX_CONTROL {
                    return Err(Error::Limit(format!(
                        "the control file is {} bytes, over {MAX_CONTROL}",
                        e.size
                    )));
                }
                control_text = Some(String::from_utf8_lossy(&e.head).into_owned());
            }
            "md5sums" => md5sums = e.size > 0,
            "preinst" | "postinst" | "prerm" | "postrm" | "config" | "triggers" => {
                scripts.push(e.path.clone())
            }
            _ => {}
        }
    }
    drop(tar);
    let Some(text) = control_text else {
        return Err(Error::Malformed(format!(
            "{} has no control file; dpkg cannot install this package",
            control.name
        )));
    };
    let fields = control_fields(&text);
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut c = Map::new();
    let package = get("package");
    let version = get("version");
    let arch = get("architecture");
    for (field, what) in [
        (&package, "Package"),
        (&version, "Version"),
        (&arch, "Architecture"),
    ] {
        if field.as_deref().is_none_or(str::is_empty) {
            return Err(Error::Malformed(format!(
                "the control file has no {what} field, which dpkg requires"
            )));
        }
    }
    let (package, version, arch) = (
        package.unwrap_or_default(),
        version.unwrap_or_default(),
        arch.unwrap_or_default(),
    );
    if !package
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "+-.".contains(ch))
        || package.len() < 2
    {
        ins.findings.push(Finding::error(
            "linux.deb.package_name",
            format!(
                "{}: Package {package:?} is not a valid Debian package name (lowercase letters, digits, + - .; at least two characters); apt refuses it",
                ins.file
            ),
        ));
    }
    if !version_ok(&version) {
        ins.findings.push(Finding::error(
            "linux.deb.version",
            format!(
                "{}: Version {version:?} is not a valid Debian version (it must start with a digit; see Debian Policy 5.6.12)",
                ins.file
            ),
        ));
    }
    let (epoch, upstream, revision) = split_version(&version);
    c.insert("package".into(), json!(package));
    c.insert("version".into(), json!(version));
    c.insert(
        "epoch".into(),
        json!(epoch.and_then(|e| e.parse::<u64>().ok())),
    );
    c.insert("upstream_version".into(), json!(upstream));
    c.insert("revision".into(), json!(revision));
    c.insert("architecture".into(), json!(arch));
    for (key, field) in [
        ("maintainer", "maintainer"),
        ("depends", "depends"),
        ("pre_depends", "pre-depends"),
        ("section", "section"),
        ("priority", "priority"),
        ("homepage", "homepage"),
    ] {
        c.insert(key.into(), json!(get(field)));
    }
    let installed = get("installed-size").and_then(|s| s.parse::<u64>().ok());
    c.insert("installed_size_kib".into(), json!(installed));
    let description = get("description").map(|d| d.lines().next().unwrap_or("").to_owned());
    c.insert("description".into(), json!(description));
    if let Some(d) = get("depends") {
        ins.details.insert("depends".into(), json!(d));
    }
    ins.identity = Some(package);
    ins.version = Some(version);
    ins.archs = Some(vec![arch]);
    ins.details.insert("control".into(), Value::Object(c));
    ins.details.insert("md5sums".into(), json!(md5sums));
    ins.details
        .insert("maintainer_scripts".into(), json!(scripts));
    if !md5sums {
        ins.findings.push(Finding::warning(
            "linux.deb.no_md5sums",
            format!(
                "{}: the package has no md5sums, so debsums and dpkg --verify cannot check its installed files; build it with dh_md5sums",
                ins.file
            ),
        ));
    }

    // Signatures: debsigs (`_gpgorigin`, ...) and dpkg-sig (`_gpgbuilder`).
    let gpg: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.starts_with("_gpg"))
        .collect();
    ins.details.insert("gpg_members".into(), json!(gpg));
    if !gpg.is_empty() {
        ins.signature = Signature::unknown();
        ins.signature.schemes = vec![if gpg.contains(&"_gpgbuilder") {
            "dpkg-sig".into()
        } else {
            "debsig".into()
        }];
        ins.findings.push(Finding::info(
            "linux.deb.signature_not_verified",
            format!(
                "{}: the package carries {} signature member(s) ({}); dist verifies debsigs' _gpgorigin only, so these are reported, not verified (apt trusts the repository's signed Release file, not the package)",
                ins.file,
                gpg.len(),
                gpg.join(", ")
            ),
        ));
    }

    // The data archive: it must decompress and list; count what it installs.
    let dcodec = codec_of(&data.name, "data.tar").expect("checked above");
    r.seek(SeekFrom::Start(data.offset))?;
    let window = (&mut *r).take(data.size);
    let dec = format_compress::decoder(dcodec, window, &ctx.budget)
        .map_err(|e| Error::Malformed(e.to_string()))?;
    let mut tar = format_tar::Reader::new(dec, 0);
    let (mut entries, mut total) = (0u64, 0u64);
    while let Some(e) = tar.next_entry().map_err(|e| tar_err(e, &data.name))? {
        entries += 1;
        if entries > ctx.limits.max_entries as u64 {
            return Err(Error::Limit(format!(
                "{} holds more than {} entries",
                data.name, ctx.limits.max_entries
            )));
        }
        total = total.saturating_add(e.size);
    }
    drain(tar.into_inner(), &data.name)?;
    ins.details.insert(
        "data".into(),
        json!({"compression": dcodec.name(), "entries": entries, "total_bytes": total}),
    );
    if let Some(origin) = members.iter().find(|m| m.name == "_gpgorigin") {
        verify_debsig(r, ctx, ins, origin, [bin, control, data])?;
    }
    Ok(())
}

/// Bytes of a deb's three members a debsigs signature is checked over, read into memory
/// (ring verifies RSA over a whole message): larger packages are reported, not verified.
const MAX_DEBSIG_MESSAGE: u64 = 16 << 20;

/// debsigs: `_gpgorigin` is a detached OpenPGP signature over the data of `debian-binary`,
/// the control archive and the data archive, concatenated in that order.
fn verify_debsig(
    r: &mut dyn ReadSeek,
    ctx: &InspectContext,
    ins: &mut Inspection,
    origin: &format_ar::Member,
    covered: [&format_ar::Member; 3],
) -> Result<(), Error> {
    ins.findings
        .retain(|f| f.code != "linux.deb.signature_not_verified");
    ins.signature.schemes = vec!["debsig".into()];
    if origin.size > 64 * 1024 {
        return Err(Error::Limit(format!(
            "_gpgorigin is {} bytes; a detached signature is under 64 KiB",
            origin.size
        )));
    }
    let mut sig = vec![0u8; origin.size as usize];
    r.seek(SeekFrom::Start(origin.offset))?;
    r.read_exact(&mut sig)?;
    let parsed = match format_openpgp::parse_signature(&sig) {
        Ok(p) => p,
        Err(e) => {
            ins.signature.state = platform::SignatureState::Invalid;
            ins.findings.push(Finding::error(
                "linux.signature.invalid",
                format!("{}: _gpgorigin does not parse as an OpenPGP signature ({e}); sign the package again with debsigs", ins.file),
            ));
            return Ok(());
        }
    };
    let key_id = parsed.issuer.clone().unwrap_or_default();
    let mut info = json!({"scheme": "debsig", "key_id": key_id, "fingerprint": parsed.issuer_fingerprint, "verified": false});
    let key = crate::trust::key_for(ctx, &key_id);
    let total: u64 = covered.iter().map(|m| m.size).sum();
    let unknown = |ins: &mut Inspection, why: String| {
        ins.signature.state = platform::SignatureState::Unknown;
        ins.findings.push(Finding::warning(
            "linux.deb.signature_unknown_key",
            format!("{}: {why}", ins.file),
        ));
    };
    match key {
        None => unknown(
            ins,
            format!(
                "signed (debsigs) by OpenPGP key {key_id}, which is not among the app's trusted keys, so the signature cannot be checked; add the team's public key to the app"
            ),
        ),
        Some(_) if total > MAX_DEBSIG_MESSAGE => unknown(
            ins,
            format!(
                "the debsigs signature covers {total} bytes, more than the {MAX_DEBSIG_MESSAGE} dist verifies; it is reported, not verified"
            ),
        ),
        Some(key) => {
            let mut msg = Vec::with_capacity(total as usize);
            for m in covered {
                r.seek(SeekFrom::Start(m.offset))?;
                (&mut *r).take(m.size).read_to_end(&mut msg)?;
            }
            match format_openpgp::verify(&parsed, &key, &msg) {
                Ok(()) => {
                    info["verified"] = json!(true);
                    info["fingerprint"] = json!(key.fingerprint);
                    ins.signature.state = platform::SignatureState::Signed;
                    ins.signature.digest_ok = Some(true);
                    ins.signature.signers = vec![crate::trust::signer(&key)];
                }
                Err(format_openpgp::Error::Unsupported(what)) => unknown(
                    ins,
                    format!("the debsigs signature uses {what}, which dist does not verify"),
                ),
                Err(e) => {
                    ins.signature.state = platform::SignatureState::Invalid;
                    ins.signature.digest_ok = Some(false);
                    ins.findings.push(Finding::error(
                        "linux.signature.invalid",
                        format!("{}: {e}: the package was changed after it was signed (debsigs); do not install it", ins.file),
                    ));
                }
            }
        }
    }
    ins.details.insert("signature".into(), info);
    Ok(())
}

/// Reads a stream to its end (charged to the budget through its decoder), so that a cut or
/// corrupt compressed trailer is found.
pub(crate) fn drain(mut r: impl Read, what: &str) -> Result<(), Error> {
    std::io::copy(&mut r, &mut std::io::sink())
        .map(|_| ())
        .map_err(|e| tar_err(format_tar::Error::Io(e), what))
}

/// A tar failure inside member `member`, named for the person reading it.
pub(crate) fn tar_err(e: format_tar::Error, member: &str) -> Error {
    match e {
        format_tar::Error::Io(e) if format_compress::over_limit(&e).is_some() => Error::Io(e),
        format_tar::Error::Io(e) => Error::Malformed(format!(
            "{member} does not decompress: {e}; the package is corrupt, download or build it again"
        )),
        other => Error::Malformed(format!("{member}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_split_and_check() {
        assert_eq!(
            split_version("1:2.10-3ubuntu1"),
            (Some("1"), "2.10", Some("3ubuntu1"))
        );
        assert_eq!(split_version("2.10"), (None, "2.10", None));
        assert_eq!(split_version("1.0-rc-2"), (None, "1.0-rc", Some("2")));
        assert!(version_ok("1:2.10-3"));
        assert!(!version_ok("v1.0"));
        assert!(!version_ok("1.0-"));
    }

    #[test]
    fn control_paragraph_with_continuations() {
        let f = control_fields(
            "Package: hello\nDescription: greets\n the world\n .\nDepends: libc6\n\nPackage: other\n",
        );
        assert_eq!(f[0], ("package".into(), "hello".into()));
        assert_eq!(f[1].1, "greets\nthe world\n.");
        assert_eq!(f.len(), 3);
    }
}
