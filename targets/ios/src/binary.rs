//! The code signature of one Mach-O executable, judged as a whole: every slice's SuperBlob,
//! its CMS over the primary CodeDirectory, the chain to Apple's root, and the code pages.

use std::collections::BTreeSet;

use platform::{Finding, Limits, Signature, SignatureState, Signer};
use serde_json::json;

use format_apple::bytes::Stream;
use format_apple::codesign::{self, EmbeddedSignature};
use format_apple::macho::{self, MachO};
use format_apple::{plistx, rfc3339};

pub struct BinaryReport {
    pub signature: Signature,
    /// CodeDirectory identifier of the first slice.
    pub identifier: Option<String>,
    /// Team from the CodeDirectory, else from the signer certificate's OU.
    pub team_id: Option<String>,
    pub findings: Vec<Finding>,
    pub details: serde_json::Value,
}

impl BinaryReport {
    /// Every CodeDirectory hash (hex, 20 bytes) of every slice.
    pub fn cdhashes(&self) -> Vec<String> {
        self.details
            .get("cdhashes")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.get("cdhash").and_then(|h| h.as_str()).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `bundle_files`: the bundle's Info.plist and `_CodeSignature/CodeResources`, for the
/// special slots (None when not read). `pages` re-reads the executable from its start.
pub fn check(
    m: &MachO,
    pages: Stream<'_>,
    info_plist: Option<&[u8]>,
    resources: Option<&[u8]>,
    now: i64,
    limits: &Limits,
) -> BinaryReport {
    let mut findings = Vec::new();
    let mut sigs: Vec<(u64, &str, Result<EmbeddedSignature, String>)> = Vec::new();
    for s in &m.slices {
        if let Some(raw) = &s.signature {
            sigs.push((
                s.offset,
                &s.arch,
                EmbeddedSignature::parse(raw).map_err(|e| e.to_string()),
            ));
        }
    }
    if sigs.is_empty() {
        return BinaryReport {
            signature: Signature::unsigned(),
            identifier: None,
            team_id: None,
            findings: vec![Finding::error(
                "ios.signature.missing",
                "the executable has no code signature (LC_CODE_SIGNATURE); iOS will not run it",
            )],
            details: json!({}),
        };
    }
    let mut digest_ok = sigs.len() == m.slices.len();
    if !digest_ok {
        findings.push(Finding::error(
            "ios.signature.invalid",
            "some architectures of the executable carry no code signature",
        ));
    }
    let mut errors: Vec<String> = Vec::new();
    let plans: Vec<(u64, Vec<&codesign::CodeDirectory>)> = sigs
        .iter()
        .filter_map(|(off, _, s)| {
            s.as_ref()
                .ok()
                .map(|s| (*off, s.code_directories.iter().collect()))
        })
        .collect();
    match macho::verify_pages(pages, &plans, &crate::macho_limits(limits)) {
        Ok(verdicts) => {
            for ((off, _), v) in plans.iter().zip(verdicts) {
                if let Err(e) = v {
                    let arch = m
                        .slices
                        .iter()
                        .find(|s| s.offset == *off)
                        .map(|s| s.arch.as_str())
                        .unwrap_or("?");
                    errors.push(format!("{arch}: {e}"));
                    digest_ok = false;
                }
            }
        }
        Err(e) => {
            errors.push(format!("reading code pages: {e}"));
            digest_ok = false;
        }
    }

    let mut any_cms = false;
    let mut all_cms = true;
    let mut signature_ok = true;
    let mut chain_ok = true;
    let mut timestamp = false;
    let mut signers: Vec<Signer> = Vec::new();
    let mut identifier = None;
    let mut team_id = None;
    let mut signer_team = None;
    let mut cdhashes = Vec::new();
    let mut entitlements = None;
    let mut expired: BTreeSet<(String, i64)> = BTreeSet::new();
    let mut not_yet: BTreeSet<(String, i64)> = BTreeSet::new();
    for (_, arch, sig) in &sigs {
        let sig = match sig {
            Ok(s) => s,
            Err(e) => {
                errors.push(format!("{arch}: {e}"));
                digest_ok = false;
                signature_ok = false;
                continue;
            }
        };
        let cd = sig.primary();
        identifier.get_or_insert_with(|| cd.identifier.clone());
        if team_id.is_none() {
            team_id = cd.team_id.clone();
        }
        for c in &sig.code_directories {
            cdhashes.push(json!({
                "arch": arch,
                "hash": c.hash_type.name(),
                "cdhash": c.cdhash(),
                "version": format!("{:#x}", c.version),
                "flags": format!("{:#x}", c.flags),
            }));
        }
        if entitlements.is_none()
            && let Some(xml) = sig.entitlements_xml()
            && let Ok(p) = plistx::parse(xml)
        {
            entitlements = Some(plistx::to_json(&p.value));
        }
        if let Err(e) = sig.check_special_slots(info_plist, resources) {
            errors.push(format!("{arch}: {e}"));
            digest_ok = false;
        }
        match sig.cms.as_deref() {
            None | Some([]) => all_cms = false,
            Some(cms) => {
                any_cms = true;
                match codesign::verify_cms(cms, Some(&cd.raw)) {
                    Err(e) => {
                        errors.push(format!("{arch}: {e}"));
                        signature_ok = false;
                    }
                    Ok((_, c)) => {
                        if !c.signature_ok {
                            signature_ok = false;
                            errors.push(format!(
                                "{arch}: CMS {}",
                                c.error.as_deref().unwrap_or("does not verify")
                            ));
                        }
                        chain_ok &= c.chain_ok;
                        timestamp |= c.timestamp;
                        if signer_team.is_none() {
                            signer_team = c.signer_team.clone();
                        }
                        for (subject, sha256) in c.signers {
                            if !signers.iter().any(|s| s.sha256 == sha256) {
                                signers.push(Signer { subject, sha256 });
                            }
                        }
                        for (subject, nb, na) in c.cert_windows {
                            if na < now {
                                expired.insert((subject, na));
                            } else if nb > now {
                                not_yet.insert((subject, nb));
                            }
                        }
                    }
                }
            }
        }
    }
    if team_id.is_none() {
        team_id = signer_team;
    }
    let adhoc = !any_cms;
    if any_cms && !all_cms {
        signature_ok = false;
        errors.push("some architectures are signed ad hoc, others with a certificate".into());
    }
    let state = if !digest_ok || !signature_ok {
        SignatureState::Invalid
    } else if adhoc || !chain_ok {
        SignatureState::Untrusted
    } else {
        SignatureState::Signed
    };
    if !errors.is_empty() {
        findings.push(Finding::error(
            "ios.signature.invalid",
            format!("the code signature does not verify: {}", errors.join("; ")),
        ));
    }
    if adhoc && state != SignatureState::Invalid {
        findings.push(Finding::error(
            "ios.signature.adhoc",
            "the executable is signed ad hoc (no certificate); only a simulator or a jailbroken device runs it",
        ));
    } else if any_cms && !chain_ok {
        findings.push(Finding::error(
            "ios.signature.untrusted",
            "the signing certificate does not chain to the Apple Root CA",
        ));
    }
    for (subject, at) in &expired {
        findings.push(Finding::error(
            "ios.signature.certificate_expired",
            format!("signing certificate {subject} expired {}", rfc3339(*at)),
        ));
    }
    for (subject, at) in &not_yet {
        findings.push(Finding::error(
            "ios.signature.certificate_not_yet_valid",
            format!(
                "signing certificate {subject} is valid only from {}",
                rfc3339(*at)
            ),
        ));
    }
    BinaryReport {
        signature: Signature {
            state,
            schemes: vec![if adhoc { "adhoc" } else { "apple-codesign" }.into()],
            signers,
            digest_ok: Some(digest_ok),
            chain_ok: if adhoc { None } else { Some(chain_ok) },
            timestamp: if adhoc { None } else { Some(timestamp) },
        },
        identifier: identifier.clone(),
        team_id: team_id.clone(),
        findings,
        details: json!({
            "identifier": identifier,
            "team_id": team_id,
            "cdhashes": cdhashes,
            "entitlements": entitlements,
        }),
    }
}
