//! One Mach-O executable's code signature checked as a whole: every slice's SuperBlob, the
//! special slots against the bundle files the caller read, the CMS over the primary
//! CodeDirectory, the chain to Apple's root and the code pages. iOS and macOS read the same
//! structures; each target turns these facts into its own findings.

use crate::bytes::Stream;
use crate::codesign::{self, EmbeddedSignature};
use crate::macho::{self, MachO};
use crate::plistx;

/// CodeDirectory flag: signed ad hoc (no certificate).
pub const CS_ADHOC: u32 = 0x0002;
/// CodeDirectory flag: the hardened runtime (notarization requires it on macOS).
pub const CS_RUNTIME: u32 = 0x0001_0000;
/// CodeDirectory flag: signed ad hoc by the linker (`ld -adhoc_codesign`, Apple silicon's
/// default), with no resources or entitlements sealed.
pub const CS_LINKER_SIGNED: u32 = 0x0002_0000;

/// One CodeDirectory of one slice.
#[derive(Debug, Clone)]
pub struct Directory {
    pub arch: String,
    pub hash: &'static str,
    /// The first 20 bytes of the directory's hash, hex.
    pub cdhash: String,
    pub version: u32,
    pub flags: u32,
    /// Whether it is the slice's primary directory (the one the CMS signs).
    pub primary: bool,
}

/// What checking one executable's signature found.
#[derive(Debug, Clone, Default)]
pub struct CodeCheck {
    /// Slices with no LC_CODE_SIGNATURE, by architecture.
    pub unsigned_slices: Vec<String>,
    /// Slices with a signature.
    pub signed_slices: usize,
    /// Why a digest or a signature did not verify, one line each.
    pub problems: Vec<String>,
    /// Every code page, special slot and CMS message digest verified.
    pub digest_ok: bool,
    /// Every CMS signature verified.
    pub signature_ok: bool,
    /// Some slice carries a CMS signature (else the code is signed ad hoc).
    pub any_cms: bool,
    /// Every signed slice carries one.
    pub all_cms: bool,
    /// Every signer chains to Apple's root.
    pub chain_ok: bool,
    /// Some signer carries an RFC 3161 time-stamp token.
    pub timestamp: bool,
    /// (subject, certificate SHA-256) of each distinct signer.
    pub signers: Vec<(String, String)>,
    /// The primary CodeDirectory's identifier of the first signed slice.
    pub identifier: Option<String>,
    /// The CodeDirectory's team, else the signer certificate's OU.
    pub team_id: Option<String>,
    pub directories: Vec<Directory>,
    pub entitlements: Option<serde_json::Value>,
    /// (subject, not before, not after) of each certificate of each signer's chain.
    pub cert_windows: Vec<(String, i64, i64)>,
}

impl CodeCheck {
    /// No slice is signed.
    pub fn unsigned(&self) -> bool {
        self.signed_slices == 0
    }

    /// Every primary directory carries `flag`.
    pub fn all_primary(&self, flag: u32) -> bool {
        let mut any = false;
        for d in self.directories.iter().filter(|d| d.primary) {
            any = true;
            if d.flags & flag == 0 {
                return false;
            }
        }
        any
    }
}

/// Checks `m`'s signature. `pages` reads the executable again from its start (pass two);
/// `info_plist` and `resources` are the bundle's Info.plist and CodeResources seal for the
/// special slots (None when the caller did not read them: then they are not checked).
pub fn check_code(
    m: &MachO,
    pages: Stream<'_>,
    info_plist: Option<&[u8]>,
    resources: Option<&[u8]>,
    limits: &macho::Limits,
) -> CodeCheck {
    let mut out = CodeCheck {
        digest_ok: true,
        signature_ok: true,
        all_cms: true,
        chain_ok: true,
        ..CodeCheck::default()
    };
    let mut sigs: Vec<(u64, &str, Result<EmbeddedSignature, String>)> = Vec::new();
    for s in &m.slices {
        match &s.signature {
            Some(raw) => sigs.push((
                s.offset,
                &s.arch,
                EmbeddedSignature::parse(raw).map_err(|e| e.to_string()),
            )),
            None => out.unsigned_slices.push(s.arch.clone()),
        }
    }
    out.signed_slices = sigs.len();
    if sigs.is_empty() {
        out.digest_ok = false;
        out.signature_ok = false;
        out.chain_ok = false;
        out.all_cms = false;
        return out;
    }
    // Named by `unsigned_slices`, not repeated in `problems`.
    if !out.unsigned_slices.is_empty() {
        out.digest_ok = false;
    }
    let plans: Vec<(u64, Vec<&codesign::CodeDirectory>)> = sigs
        .iter()
        .filter_map(|(off, _, s)| {
            s.as_ref()
                .ok()
                .map(|s| (*off, s.code_directories.iter().collect()))
        })
        .collect();
    match macho::verify_pages(pages, &plans, limits) {
        Ok(verdicts) => {
            for ((off, _), v) in plans.iter().zip(verdicts) {
                if let Err(e) = v {
                    let arch = m
                        .slices
                        .iter()
                        .find(|s| s.offset == *off)
                        .map(|s| s.arch.as_str())
                        .unwrap_or("?");
                    out.problems.push(format!("{arch}: {e}"));
                    out.digest_ok = false;
                }
            }
        }
        Err(e) => {
            out.problems.push(format!("reading code pages: {e}"));
            out.digest_ok = false;
        }
    }
    let mut signer_team = None;
    for (_, arch, sig) in &sigs {
        let sig = match sig {
            Ok(s) => s,
            Err(e) => {
                out.problems.push(format!("{arch}: {e}"));
                out.digest_ok = false;
                out.signature_ok = false;
                continue;
            }
        };
        let cd = sig.primary();
        out.identifier.get_or_insert_with(|| cd.identifier.clone());
        if out.team_id.is_none() {
            out.team_id = cd.team_id.clone();
        }
        for (n, c) in sig.code_directories.iter().enumerate() {
            out.directories.push(Directory {
                arch: (*arch).to_owned(),
                hash: c.hash_type.name(),
                cdhash: c.cdhash(),
                version: c.version,
                flags: c.flags,
                primary: n == 0,
            });
        }
        if out.entitlements.is_none()
            && let Some(xml) = sig.entitlements_xml()
            && let Ok(p) = plistx::parse(xml)
        {
            out.entitlements = Some(plistx::to_json(&p.value));
        }
        if let Err(e) = sig.check_special_slots(info_plist, resources) {
            out.problems.push(format!("{arch}: {e}"));
            out.digest_ok = false;
        }
        match sig.cms.as_deref() {
            None | Some([]) => out.all_cms = false,
            Some(cms) => {
                out.any_cms = true;
                match codesign::verify_cms(cms, Some(&cd.raw)) {
                    Err(e) => {
                        out.problems.push(format!("{arch}: {e}"));
                        out.signature_ok = false;
                    }
                    Ok((_, c)) => {
                        if !c.signature_ok {
                            out.signature_ok = false;
                            out.problems.push(format!(
                                "{arch}: CMS {}",
                                c.error.as_deref().unwrap_or("does not verify")
                            ));
                        }
                        out.chain_ok &= c.chain_ok;
                        out.timestamp |= c.timestamp;
                        if signer_team.is_none() {
                            signer_team = c.signer_team.clone();
                        }
                        for (subject, sha256) in c.signers {
                            if !out.signers.iter().any(|s| s.1 == sha256) {
                                out.signers.push((subject, sha256));
                            }
                        }
                        out.cert_windows.extend(c.cert_windows);
                    }
                }
            }
        }
    }
    if out.team_id.is_none() {
        out.team_id = signer_team;
    }
    if out.any_cms && !out.all_cms {
        out.signature_ok = false;
        out.problems
            .push("some architectures are signed ad hoc, others with a certificate".into());
    }
    if !out.any_cms {
        out.chain_ok = false;
    }
    out
}
