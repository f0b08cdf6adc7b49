//! The code signature of one Mach-O executable judged for iOS: `formats/apple` checks every
//! slice's SuperBlob, CMS, chain and code pages ([`verify::check_code`]); this turns what it
//! found into iOS findings.

use std::collections::BTreeSet;

use platform::{Finding, Limits, Signature, SignatureState, Signer};
use serde_json::json;

use format_apple::bytes::Stream;
use format_apple::macho::MachO;
use format_apple::{rfc3339, verify};

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

/// `info_plist` and `resources`: the bundle's Info.plist and `_CodeSignature/CodeResources`,
/// for the special slots (None when not read). `pages` re-reads the executable from its start.
pub fn check(
    m: &MachO,
    pages: Stream<'_>,
    info_plist: Option<&[u8]>,
    resources: Option<&[u8]>,
    now: i64,
    limits: &Limits,
) -> BinaryReport {
    let c = verify::check_code(
        m,
        pages,
        info_plist,
        resources,
        &crate::macho_limits(limits),
    );
    let mut findings = Vec::new();
    if c.unsigned() {
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
    if !c.unsigned_slices.is_empty() {
        findings.push(Finding::error(
            "ios.signature.invalid",
            "some architectures of the executable carry no code signature",
        ));
    }
    let mut expired: BTreeSet<(String, i64)> = BTreeSet::new();
    let mut not_yet: BTreeSet<(String, i64)> = BTreeSet::new();
    for (subject, nb, na) in &c.cert_windows {
        if *na < now {
            expired.insert((subject.clone(), *na));
        } else if *nb > now {
            not_yet.insert((subject.clone(), *nb));
        }
    }
    let adhoc = !c.any_cms;
    let state = if !c.digest_ok || !c.signature_ok {
        SignatureState::Invalid
    } else if adhoc || !c.chain_ok {
        SignatureState::Untrusted
    } else {
        SignatureState::Signed
    };
    if !c.problems.is_empty() {
        findings.push(Finding::error(
            "ios.signature.invalid",
            format!(
                "the code signature does not verify: {}",
                c.problems.join("; ")
            ),
        ));
    }
    if adhoc && state != SignatureState::Invalid {
        findings.push(Finding::error(
            "ios.signature.adhoc",
            "the executable is signed ad hoc (no certificate); only a simulator or a jailbroken device runs it",
        ));
    } else if c.any_cms && !c.chain_ok {
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
    let cdhashes: Vec<serde_json::Value> = c
        .directories
        .iter()
        .map(|d| {
            json!({
                "arch": d.arch,
                "hash": d.hash,
                "cdhash": d.cdhash,
                "version": format!("{:#x}", d.version),
                "flags": format!("{:#x}", d.flags),
            })
        })
        .collect();
    BinaryReport {
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
        identifier: c.identifier.clone(),
        team_id: c.team_id.clone(),
        findings,
        details: json!({
            "identifier": c.identifier,
            "team_id": c.team_id,
            "cdhashes": cdhashes,
            "entitlements": c.entitlements,
        }),
    }
}
