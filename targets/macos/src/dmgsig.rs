//! A disk image's own code signature: a SuperBlob at the offset the koly trailer names,
//! whose CodeDirectory holds one digest over every byte of the image before the signature
//! and, in the representation-specific special slot, a digest of the trailer (with the
//! signature's offset set to the end of the property list and its size zeroed, as
//! `codesign` computes it before it knows the signature's size). The CMS signs the
//! CodeDirectory. A notarization ticket is stapled as one more blob of the SuperBlob,
//! outside what is signed.

use std::io::SeekFrom;

use format_apple::codesign::{self, EmbeddedSignature};
use format_udif::Image;
use platform::{Finding, InspectContext, ReadSeek, SignatureState};
use ring::digest;
use serde_json::{Value as Json, json};

use crate::code::{Signing, signing_of_subject};

/// The superblob slot of a stapled notarization ticket.
const SLOT_TICKET: u32 = 0x10002;
/// The representation-specific special slot (for a dmg: the koly trailer).
const SPECIAL_REP: u32 = 6;
const SPECIAL_REQUIREMENTS: u32 = 2;

pub(crate) struct ImageSignature {
    pub state: SignatureState,
    pub signing: Signing,
    pub signers: Vec<(String, String)>,
    pub details: Json,
    pub findings: Vec<Finding>,
}

fn ticket_bytes(blob: &[u8]) -> Option<usize> {
    let be = |o: usize| {
        blob.get(o..o + 4)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4")) as usize)
    };
    let total = be(4)?.min(blob.len());
    let count = be(8)?.min(64);
    let index: Vec<(usize, usize)> = (0..count)
        .filter_map(|i| Some((be(12 + i * 8)?, be(16 + i * 8)?)))
        .collect();
    let (_, off) = index
        .iter()
        .find(|(slot, _)| *slot == SLOT_TICKET as usize)?;
    // The ticket runs to the next blob or the end of the SuperBlob, however it is wrapped.
    let end = index
        .iter()
        .map(|(_, o)| *o)
        .filter(|o| o > off)
        .min()
        .unwrap_or(total);
    end.checked_sub(*off).filter(|n| *n > 0)
}

/// Checks the image's code signature, reading the image from `input`.
pub(crate) fn check(
    input: &mut dyn ReadSeek,
    image: &Image,
    ctx: &InspectContext,
) -> ImageSignature {
    let k = &image.koly;
    let mut out = ImageSignature {
        state: SignatureState::Unsigned,
        signing: Signing::Unsigned,
        signers: Vec::new(),
        details: json!({"present": false}),
        findings: Vec::new(),
    };
    if k.code_signature_length == 0 {
        out.findings.push(Finding::info(
            "macos.dmg.unsigned",
            "the disk image itself is not signed (only the app inside can be): macOS checks the app when it is first opened. Sign the image with codesign and notarize it so that Gatekeeper accepts the download itself",
        ));
        return out;
    }
    let mut problems: Vec<String> = Vec::new();
    let blob = (|| -> std::io::Result<Vec<u8>> {
        input.seek(SeekFrom::Start(k.code_signature_offset))?;
        let mut b = vec![0u8; k.code_signature_length as usize];
        input.read_exact(&mut b)?;
        Ok(b)
    })();
    let blob = match blob {
        Ok(b) => b,
        Err(e) => {
            return invalid(out, format!("the signature cannot be read: {e}"));
        }
    };
    let sig = match EmbeddedSignature::parse(&blob) {
        Ok(s) => s,
        Err(e) => return invalid(out, format!("the signature does not parse: {e}")),
    };
    let ticket = ticket_bytes(&blob);
    let cd = sig.primary();
    // One digest over everything before the signature.
    if cd.n_code != 1 || cd.code_limit != k.code_signature_offset {
        problems.push(format!(
            "the CodeDirectory covers {} bytes in {} slots, not the {} bytes before the signature",
            cd.code_limit, cd.n_code, k.code_signature_offset
        ));
    } else {
        let mut ctx_d = digest::Context::new(cd.hash_type.algorithm());
        let r = (|| -> std::io::Result<()> {
            input.seek(SeekFrom::Start(0))?;
            let mut left = cd.code_limit;
            let mut buf = vec![0u8; 1 << 16];
            while left > 0 {
                let n = left.min(buf.len() as u64) as usize;
                input.read_exact(&mut buf[..n])?;
                ctx_d.update(&buf[..n]);
                left -= n as u64;
            }
            Ok(())
        })();
        match r {
            Ok(()) => {
                let d = ctx_d.finish();
                if cd.code_slot(0) != Some(&d.as_ref()[..cd.hash_size]) {
                    problems.push("the image's contents do not match the signed digest".into());
                }
            }
            Err(e) => problems.push(format!("reading the signed bytes: {e}")),
        }
    }
    // The trailer as it was signed.
    if let Some(slot) = cd
        .special_slot(SPECIAL_REP)
        .filter(|s| s.iter().any(|&b| b != 0))
    {
        let mut t = vec![0u8; 512];
        let got = (|| -> std::io::Result<()> {
            input.seek(SeekFrom::Start(ctx.size - 512))?;
            input.read_exact(&mut t)
        })();
        if got.is_ok() {
            t[296..304].copy_from_slice(&(k.xml_offset + k.xml_length).to_be_bytes());
            t[304..312].copy_from_slice(&0u64.to_be_bytes());
            if cd.hash(&t) != slot {
                problems.push("the image's trailer does not match the signed digest".into());
            }
        } else {
            problems.push("the trailer cannot be read again".into());
        }
    }
    if !cd.special_matches(SPECIAL_REQUIREMENTS, sig.requirements.as_deref()) {
        problems.push("the requirements do not match the signed digest".into());
    }
    let mut details = json!({
        "present": true,
        "identifier": cd.identifier,
        "cdhash": cd.cdhash(),
        "hash": cd.hash_type.name(),
        "ticket": ticket.map(|n| json!({"bytes": n})),
    });
    let cms = sig.cms.as_deref().filter(|c| !c.is_empty());
    match cms {
        None => {
            out.signing = Signing::AdHoc;
            out.state = if problems.is_empty() {
                SignatureState::Untrusted
            } else {
                SignatureState::Invalid
            };
        }
        Some(cms) => match codesign::verify_cms(cms, Some(&cd.raw)) {
            Err(e) => problems.push(e),
            Ok((_, c)) => {
                if !c.signature_ok || !c.digest_ok {
                    problems.push(
                        c.error
                            .clone()
                            .unwrap_or_else(|| "the CMS signature does not verify".into()),
                    );
                }
                out.signing = c
                    .signers
                    .first()
                    .map(|(s, _)| signing_of_subject(s))
                    .unwrap_or(Signing::OtherCertificate);
                out.signers = c.signers.clone();
                details["chain_to_apple"] = json!(c.chain_ok);
                details["team_id"] = json!(c.signer_team);
                out.state = if !problems.is_empty() {
                    SignatureState::Invalid
                } else if c.chain_ok {
                    SignatureState::Signed
                } else {
                    SignatureState::Untrusted
                };
            }
        },
    }
    if !problems.is_empty() {
        out.state = SignatureState::Invalid;
    }
    details["signing"] = json!(out.signing.id());
    details["state"] = json!(out.state);
    details["problems"] = json!(problems);
    details["signers"] = json!(
        out.signers
            .iter()
            .map(|(s, h)| json!({"subject": s, "sha256": h}))
            .collect::<Vec<_>>()
    );
    out.details = details;
    if out.state == SignatureState::Invalid {
        out.findings.push(Finding::error(
            "macos.dmg.signature_invalid",
            format!(
                "the disk image's code signature does not verify ({}): it was altered after signing, and macOS refuses to open it; sign the image again",
                problems.join("; ")
            ),
        ));
    } else if ticket.is_none() && out.signing == Signing::DeveloperId {
        out.findings.push(Finding::info(
            "macos.dmg.not_stapled",
            "the disk image is signed with a Developer ID but no notarization ticket is stapled to it: macOS asks Apple online when it is first opened. Staple the ticket (xcrun stapler staple) after notarizing",
        ));
    }
    out
}

fn invalid(mut out: ImageSignature, why: String) -> ImageSignature {
    out.state = SignatureState::Invalid;
    out.details = json!({"present": true, "state": "invalid", "problems": [why.clone()]});
    out.findings.push(Finding::error(
        "macos.dmg.signature_invalid",
        format!("the disk image's code signature is damaged ({why}); sign the image again"),
    ));
    out
}
