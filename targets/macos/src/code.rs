//! A Mach-O executable's code signature judged for macOS: `formats/apple` checks every
//! slice's SuperBlob, CMS, chain and code pages ([`verify::check_code`]); this says which
//! kind of signing it is (Developer ID, Apple Development, Mac App Store, another
//! certificate, ad hoc, linker-signed ad hoc), whether the hardened runtime is on, and
//! which findings that earns.

use std::collections::BTreeSet;
use std::io::Read;

use format_apple::bytes::Stream;
use format_apple::macho::{self, MachO};
use format_apple::rfc3339;
use format_apple::verify::{self, CS_LINKER_SIGNED, CS_RUNTIME, CodeCheck};
use platform::{Finding, Limits, Signature, SignatureState, Signer};
use serde_json::json;

use crate::tree::Tree;

/// How an executable is signed, as Gatekeeper tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Unsigned,
    /// Ad hoc, by the linker (`ld -adhoc_codesign`, the default on Apple silicon).
    LinkerSigned,
    /// Ad hoc, by `codesign -s -`.
    AdHoc,
    DeveloperId,
    AppleDevelopment,
    /// Apple Distribution / 3rd Party Mac Developer Application: for the Mac App Store only.
    AppStore,
    /// A certificate that is none of Apple's developer kinds.
    OtherCertificate,
}

impl Signing {
    pub fn id(self) -> &'static str {
        match self {
            Signing::Unsigned => "unsigned",
            Signing::LinkerSigned => "linker-signed",
            Signing::AdHoc => "adhoc",
            Signing::DeveloperId => "developer-id",
            Signing::AppleDevelopment => "apple-development",
            Signing::AppStore => "app-store",
            Signing::OtherCertificate => "other-certificate",
        }
    }
}

/// The common name (CN) in a subject written as "CN=..., OU=...": what names the kind of
/// an Apple certificate. Empty when the subject has none.
pub(crate) fn common_name(subject: &str) -> &str {
    subject
        .split(", ")
        .find_map(|p| p.strip_prefix("CN="))
        .unwrap_or("")
}

/// The kind of an Apple code-signing certificate, from its subject's common name.
pub fn signing_of_subject(subject: &str) -> Signing {
    let cn = common_name(subject);
    if cn.starts_with("Developer ID Application:") {
        Signing::DeveloperId
    } else if cn.starts_with("Apple Development:") || cn.starts_with("Mac Developer:") {
        Signing::AppleDevelopment
    } else if cn.starts_with("Apple Distribution:")
        || cn.starts_with("3rd Party Mac Developer Application:")
    {
        Signing::AppStore
    } else {
        Signing::OtherCertificate
    }
}

/// What the target concludes about one executable.
pub struct CodeReport {
    pub signature: Signature,
    pub signing: Signing,
    pub hardened_runtime: bool,
    pub identifier: Option<String>,
    pub team_id: Option<String>,
    pub cdhashes: Vec<String>,
    pub findings: Vec<Finding>,
    pub details: serde_json::Value,
}

/// The caps a Mach-O read takes from the inspection's limits.
pub fn macho_limits(l: &Limits) -> macho::Limits {
    macho::Limits {
        max_structure_bytes: l.max_structure_bytes,
        max_streamed_bytes: l.max_streamed_bytes,
    }
}

/// Judges `c` for the executable called `what` in messages.
pub fn judge(c: &CodeCheck, now: i64, what: &str) -> CodeReport {
    let mut findings = Vec::new();
    if c.unsigned() {
        return CodeReport {
            signature: Signature::unsigned(),
            signing: Signing::Unsigned,
            hardened_runtime: false,
            identifier: None,
            team_id: None,
            cdhashes: Vec::new(),
            findings: vec![Finding::warning(
                "macos.signature.missing",
                format!(
                    "{what} has no code signature: Gatekeeper blocks it on first open, and Apple silicon Macs do not run unsigned arm64 code at all; sign it with a Developer ID Application certificate"
                ),
            )],
            details: json!({"signing": "unsigned"}),
        };
    }
    let adhoc = !c.any_cms;
    let signing = if adhoc {
        if c.all_primary(CS_LINKER_SIGNED) {
            Signing::LinkerSigned
        } else {
            Signing::AdHoc
        }
    } else {
        c.signers
            .first()
            .map(|(s, _)| signing_of_subject(s))
            .unwrap_or(Signing::OtherCertificate)
    };
    let hardened_runtime = c.all_primary(CS_RUNTIME);
    let state = if !c.digest_ok || !c.signature_ok {
        SignatureState::Invalid
    } else if adhoc || !c.chain_ok {
        SignatureState::Untrusted
    } else {
        SignatureState::Signed
    };
    if !c.unsigned_slices.is_empty() {
        findings.push(Finding::error(
            "macos.signature.invalid",
            format!(
                "{what}: architectures {} carry no code signature; macOS reports the app as damaged",
                c.unsigned_slices.join(", ")
            ),
        ));
    }
    if !c.problems.is_empty() {
        findings.push(Finding::error(
            "macos.signature.invalid",
            format!(
                "{what}: the code signature does not verify ({}); macOS reports the app as damaged and refuses to open it: sign it again after the last change",
                c.problems.join("; ")
            ),
        ));
    }
    if state != SignatureState::Invalid {
        match signing {
            Signing::AdHoc | Signing::LinkerSigned => findings.push(Finding::warning(
                "macos.signature.adhoc",
                format!("{what} is signed ad hoc only{} (no certificate): Gatekeeper blocks it on first open and it cannot be notarized; sign it with a Developer ID Application certificate", if signing == Signing::LinkerSigned { ", by the linker" } else { "" }),
            )),
            Signing::AppleDevelopment => findings.push(Finding::warning(
                "macos.signature.development",
                format!("{what} is signed with an Apple Development certificate, meant for the developer's own Macs: Gatekeeper blocks it elsewhere and it cannot be notarized; sign distributed builds with Developer ID Application"),
            )),
            Signing::AppStore => findings.push(Finding::warning(
                "macos.signature.app_store",
                format!("{what} is signed for the Mac App Store: outside the store Gatekeeper blocks it; sign direct downloads with Developer ID Application"),
            )),
            Signing::OtherCertificate => findings.push(Finding::warning(
                "macos.signature.not_developer_id",
                format!("{what} is signed by {}, not a Developer ID Application certificate: Gatekeeper blocks it and it cannot be notarized", c.signers.first().map(|s| s.0.as_str()).unwrap_or("an unknown certificate")),
            )),
            Signing::DeveloperId | Signing::Unsigned => {}
        }
        if !adhoc && !c.chain_ok {
            findings.push(Finding::error(
                "macos.signature.untrusted",
                format!("{what}: the signing certificate does not chain to the Apple Root CA"),
            ));
        }
        if signing == Signing::DeveloperId && !hardened_runtime {
            findings.push(Finding::warning(
                "macos.signature.no_hardened_runtime",
                format!("{what} is signed without the hardened runtime: notarization will fail; sign with `codesign --options runtime`"),
            ));
        }
        if signing == Signing::DeveloperId && !c.timestamp {
            findings.push(Finding::warning(
                "macos.signature.no_timestamp",
                format!("{what} carries no secure timestamp: notarization will fail, and the signature stops being accepted when the certificate expires; sign with `codesign --timestamp`"),
            ));
        }
    }
    let mut expired: BTreeSet<(String, i64)> = BTreeSet::new();
    for (subject, _, na) in &c.cert_windows {
        if *na < now {
            expired.insert((subject.clone(), *na));
        }
    }
    for (subject, at) in &expired {
        // A secure timestamp proves the signature was made while the certificate was
        // valid: Gatekeeper keeps accepting it after expiry.
        if c.timestamp {
            findings.push(Finding::info(
                "macos.signature.certificate_expired",
                format!("{what}: signing certificate {subject} expired {}; the secure timestamp keeps the signature valid", rfc3339(*at)),
            ));
        } else {
            findings.push(Finding::warning(
                "macos.signature.certificate_expired",
                format!("{what}: signing certificate {subject} expired {} and the signature has no secure timestamp: macOS no longer accepts it; sign again", rfc3339(*at)),
            ));
        }
    }
    let cdhashes: Vec<String> = c
        .directories
        .iter()
        .filter(|d| d.primary)
        .map(|d| d.cdhash.clone())
        .collect();
    let dirs: Vec<serde_json::Value> = c
        .directories
        .iter()
        .map(|d| {
            json!({
                "arch": d.arch, "hash": d.hash, "cdhash": d.cdhash,
                "version": format!("{:#x}", d.version), "flags": format!("{:#x}", d.flags),
            })
        })
        .collect();
    CodeReport {
        signature: Signature {
            state,
            schemes: vec![if adhoc { "adhoc" } else { "apple-codesign" }.into()],
            signers: c
                .signers
                .iter()
                .map(|(subject, sha256)| Signer {
                    subject: subject.clone(),
                    sha256: sha256.clone(),
                })
                .collect(),
            digest_ok: Some(c.digest_ok),
            chain_ok: if adhoc { None } else { Some(c.chain_ok) },
            timestamp: if adhoc { None } else { Some(c.timestamp) },
        },
        signing,
        hardened_runtime,
        identifier: c.identifier.clone(),
        team_id: c.team_id.clone(),
        cdhashes,
        findings,
        details: json!({
            "signing": signing.id(),
            "identifier": c.identifier,
            "team_id": c.team_id,
            "hardened_runtime": hardened_runtime,
            "timestamp": if adhoc { None } else { Some(c.timestamp) },
            "code_directories": dirs,
            "entitlements": c.entitlements,
        }),
    }
}

/// Scans and checks the executable at `path` of `tree`: headers first, then the code pages
/// in a second read.
pub fn check_in_tree(
    tree: &mut dyn Tree,
    path: &str,
    info: Option<&[u8]>,
    resources: Option<&[u8]>,
    limits: &Limits,
) -> Result<(MachO, CodeCheck), String> {
    let ml = macho_limits(limits);
    let mut scanned = None;
    tree.stream(path, limits.max_streamed_bytes, &mut |r: &mut dyn Read| {
        scanned = Some(macho::scan(r, &ml).map_err(|e| e.to_string()));
        Ok(())
    })?;
    let m = scanned
        .unwrap_or_else(|| Err("not read".into()))
        .map_err(|e| format!("{path} does not read as Mach-O: {e}"))?;
    let mut checked = None;
    tree.stream(path, limits.max_streamed_bytes, &mut |r: &mut dyn Read| {
        checked = Some(verify::check_code(
            &m,
            Stream::new(&mut *r),
            info,
            resources,
            &ml,
        ));
        // Read the rest (the signature's padding), so a zip member's CRC is checked: a
        // change there is not signed content, but it is a corrupt archive.
        std::io::copy(r, &mut std::io::sink())
            .map(|_| ())
            .map_err(|e| format!("{path} is corrupt: {e}"))
    })?;
    let c = checked.ok_or_else(|| format!("{path} could not be read again"))?;
    Ok((m, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_kinds() {
        assert_eq!(
            signing_of_subject("UID=Z, CN=Developer ID Application: A B (Z), OU=Z, O=A, C=US"),
            Signing::DeveloperId
        );
        assert_eq!(
            signing_of_subject("UID=S, CN=Apple Development: S W (4), OU=7, O=N, C=US"),
            Signing::AppleDevelopment
        );
        assert_eq!(
            signing_of_subject("CN=3rd Party Mac Developer Application: X (T)"),
            Signing::AppStore
        );
        assert_eq!(
            signing_of_subject("C=AU, CN=My Test Certificate"),
            Signing::OtherCertificate
        );
    }
}
