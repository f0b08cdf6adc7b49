//! Authenticode verdicts, shared by PE, MSI and MSIX: every signature (nested ones too) is
//! checked for the file's digest (computed by the caller the format's way), the message
//! digest over its indirect data, the signer's signature, its timestamp, and its chain to
//! the trust store. The verdict follows the contract: `signed` when all of it verifies and
//! the primary signature chains to a trusted root, `untrusted` when only the chain fails,
//! `invalid` when anything does not verify.

use format_pki::authenticode::{self, Signature as Sig};
use format_pki::signature::Verdict;
use format_pki::{Certificate, build_chain};
use platform::{Finding, InspectContext, Inspection, Signature, SignatureState, Signer};
use serde_json::{Value, json};

use crate::Error;

/// How the file's own digest compares with what a signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestCheck {
    Match,
    Mismatch(String),
    Unsupported(String),
}

/// The verdict for a signature whose digest algorithm is not one this reader computes.
pub fn unsupported(sig: &Sig) -> DigestCheck {
    DigestCheck::Unsupported(format!(
        "digest algorithm {}",
        sig.indirect.digest_algorithm
    ))
}

/// Compares the file's digest with what `sig` says. `compute` makes the digest for one
/// algorithm; `cache` keeps it, so the file is read once per algorithm however many
/// signatures use it. `what` names the digest in a mismatch ("package", "image").
pub fn check_digest(
    sig: &Sig,
    cache: &mut Vec<(format_pki::Hash, Vec<u8>)>,
    what: &str,
    compute: impl FnOnce(format_pki::Hash) -> Result<Vec<u8>, Error>,
) -> Result<DigestCheck, Error> {
    let Some(hash) = sig.hash() else {
        return Ok(unsupported(sig));
    };
    let got = match cache.iter().find(|(h, _)| *h == hash) {
        Some((_, d)) => d.clone(),
        None => {
            let d = compute(hash)?;
            cache.push((hash, d.clone()));
            d
        }
    };
    Ok(if got == sig.indirect.digest {
        DigestCheck::Match
    } else {
        DigestCheck::Mismatch(format!(
            "the {what} digest is {}, the signature says {}",
            hex::encode(&got),
            hex::encode(&sig.indirect.digest)
        ))
    })
}

/// Marks an inspection unsigned, with the finding that says what it means.
pub fn unsigned(ins: &mut Inspection) {
    ins.signature = Signature::unsigned();
    ins.findings.push(Finding::warning(
        "windows.signature.unsigned",
        format!(
            "{}: not signed; SmartScreen shows \"Windows protected your PC\" and managed machines may block it: sign it with Authenticode (signtool sign /fd sha256 /tr <timestamp url>)",
            ins.file
        ),
    ));
}

fn time_text(t: i64) -> Value {
    time_rfc3339(t).map(Value::String).unwrap_or(Value::Null)
}

fn time_rfc3339(t: i64) -> Option<String> {
    // Civil date from Unix days (Howard Hinnant's algorithm): no calendar crate needed here.
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ))
}

/// Checks every signature in `blobs` (each a PKCS #7 blob, with nested signatures) and
/// writes the verdict, signers, findings and `details.signatures` into `ins`.
pub fn evaluate(
    ins: &mut Inspection,
    blobs: &[Vec<u8>],
    ctx: &InspectContext,
    digest_of: &mut dyn FnMut(&Sig) -> Result<DigestCheck, Error>,
) -> Result<(), Error> {
    let file = ins.file.clone();
    let mut sigs = Vec::new();
    for blob in blobs {
        match authenticode::parse_all(blob) {
            Ok(v) => sigs.extend(v),
            Err(e) => {
                ins.signature = Signature {
                    state: SignatureState::Invalid,
                    schemes: vec!["Authenticode".into()],
                    signers: Vec::new(),
                    digest_ok: None,
                    chain_ok: None,
                    timestamp: None,
                };
                ins.findings.push(Finding::error(
                    "windows.signature.malformed",
                    format!("{file}: the Authenticode signature does not parse ({e}); sign the file again"),
                ));
                return Ok(());
            }
        }
    }
    let roots = trust_roots(ctx);
    let mut state = SignatureState::Signed;
    let mut digest_all = true;
    let mut signers: Vec<Signer> = Vec::new();
    let mut details = Vec::new();
    let mut primary_chain = None;
    let mut primary_timestamp = None;
    for (i, sig) in sigs.iter().enumerate() {
        let dc = digest_of(sig)?;
        let sc = sig.verify_signer();
        let pool: Vec<&Certificate> = sig.signed_data.certificates.iter().collect();
        let chain = sc
            .certificate
            .as_ref()
            .map(|c| build_chain(c, &pool, &roots));
        // Windows takes a signer only with the code-signing usage (or no usage limits).
        let code_signing = sc.certificate.as_ref().is_none_or(|c| {
            c.extended_key_usage().is_none_or(|u| {
                u.iter()
                    .any(|o| o == "1.3.6.1.5.5.7.3.3" || o == "2.5.29.37.0")
            })
        });
        if !code_signing {
            ins.findings.push(Finding::warning(
                "windows.signature.not_code_signing",
                format!(
                    "{file}: the signer's certificate is not for code signing (its extended key usage lacks it); Windows does not trust it for Authenticode: sign with a code-signing certificate"
                ),
            ));
        }
        let chain_trusted = code_signing && chain.as_ref().is_some_and(|c| c.trusted);
        let chain_subjects: Vec<String> = chain
            .as_ref()
            .map(|c| c.certs.iter().map(|c| c.subject.clone()).collect())
            .unwrap_or_default();
        let ts = sig.timestamp();
        let ts_trusted = ts.as_ref().and_then(|t| {
            let a = t.authority.as_ref()?;
            let tpool: Vec<&Certificate> = t.pool.iter().chain(pool.iter().copied()).collect();
            Some(build_chain(a, &tpool, &roots).trusted)
        });
        let alg = sig
            .hash()
            .map(|h| format!("{h:?}").to_ascii_lowercase())
            .unwrap_or_else(|| sig.indirect.digest_algorithm.clone());
        let what = if sigs.len() > 1 {
            format!("signature {} ({alg})", i + 1)
        } else {
            format!("the signature ({alg})")
        };
        match &dc {
            DigestCheck::Match => {}
            DigestCheck::Mismatch(why) => {
                digest_all = false;
                state = SignatureState::Invalid;
                ins.findings.push(Finding::error(
                    "windows.signature.digest_mismatch",
                    format!("{file}: {what} does not cover these bytes: {why}; the file was changed after signing, so Windows treats it as unsigned or refuses it: rebuild and sign again"),
                ));
            }
            DigestCheck::Unsupported(why) => {
                digest_all = false;
                if state == SignatureState::Signed || state == SignatureState::Untrusted {
                    state = SignatureState::Unknown;
                }
                ins.findings.push(Finding::warning(
                    "windows.signature.unsupported",
                    format!("{file}: {what} could not be checked: {why}"),
                ));
            }
        }
        if !sc.content_digest_ok {
            digest_all = false;
            state = SignatureState::Invalid;
            ins.findings.push(Finding::error(
                "windows.signature.digest_mismatch",
                format!("{file}: {what}: the signed message digest does not match the signed content; the signature was tampered with"),
            ));
        }
        match &sc.signature {
            Verdict::Valid => {}
            Verdict::Invalid => {
                state = SignatureState::Invalid;
                ins.findings.push(Finding::error(
                    "windows.signature.invalid",
                    format!("{file}: {what}: the signer's signature does not verify{}; sign the file again",
                        if sc.certificate.is_none() { " (its certificate is missing)" } else { "" }),
                ));
            }
            Verdict::Unsupported(why) => {
                if state != SignatureState::Invalid {
                    state = SignatureState::Unknown;
                }
                ins.findings.push(Finding::warning(
                    "windows.signature.unsupported",
                    format!(
                        "{file}: {what}: the signer's algorithm cannot be checked here ({why})"
                    ),
                ));
            }
        }
        if let Some(c) = &sc.certificate
            && !signers.iter().any(|s| s.sha256 == c.sha256)
        {
            signers.push(Signer {
                subject: c.subject.clone(),
                sha256: c.sha256.clone(),
            });
        }
        if i == 0 {
            primary_chain = Some((chain_trusted, chain_subjects.clone()));
            primary_timestamp = Some(ts.clone());
        }
        details.push(json!({
            "depth": sig.depth,
            "digest_algorithm": alg,
            "digest_ok": dc == DigestCheck::Match && sc.content_digest_ok,
            "signature_ok": sc.signature == Verdict::Valid,
            "signer": sc.certificate.as_ref().map(|c| json!({
                "subject": c.subject,
                "sha256": c.sha256,
                "not_before": c.validity.map(|v| time_text(v.0)),
                "not_after": c.validity.map(|v| time_text(v.1)),
            })),
            "chain": chain_subjects,
            "chain_trusted": chain_trusted,
            "timestamp": ts.as_ref().map(|t| json!({
                "kind": t.kind.as_str(),
                "time": t.time.map(time_text),
                "verified": t.verified,
                "authority": t.authority.as_ref().map(|a| a.subject.clone()),
                "authority_trusted": ts_trusted,
                "problem": t.problem,
            })),
        }));
    }
    let (chain_ok, chain_subjects) = primary_chain.unwrap_or((false, Vec::new()));
    let ts = primary_timestamp.flatten();
    let ts_ok = ts.as_ref().is_some_and(|t| t.verified);
    if state == SignatureState::Signed && !chain_ok {
        state = SignatureState::Untrusted;
        ins.findings.push(Finding::warning(
            "windows.signature.untrusted",
            format!(
                "{file}: the signature verifies, but its chain ({}) does not end at a root dist trusts; Windows will not trust it either unless that root is installed. Sign with a certificate from a public code-signing CA, or add your root to the app in PEM (dist app add-key APP --platform windows root.pem)",
                if chain_subjects.is_empty() { "no certificate".to_owned() } else { chain_subjects.join(" <- ") }
            ),
        ));
    }
    match &ts {
        None => ins.findings.push(Finding::warning(
            "windows.signature.no_timestamp",
            format!("{file}: the signature has no timestamp, so it stops being valid when the signing certificate expires; sign with /tr <timestamp url>"),
        )),
        Some(t) if !t.verified => ins.findings.push(Finding::warning(
            "windows.signature.timestamp_invalid",
            format!(
                "{file}: the timestamp does not verify ({}); the signature lives only as long as its certificate",
                t.problem.clone().unwrap_or_default()
            ),
        )),
        Some(_) => {}
    }
    // An expired signer certificate is fine under a verified timestamp taken while it was valid.
    if let Some(c) = sigs.first().and_then(|s| s.signer_certificate())
        && let Some((nb, na)) = c.validity
    {
        let at = ts.as_ref().filter(|t| t.verified).and_then(|t| t.time);
        match at {
            Some(t) if t < nb || t > na => ins.findings.push(Finding::warning(
                "windows.signature.timestamp_outside_validity",
                format!("{file}: the timestamp lies outside the signing certificate's validity"),
            )),
            None if ctx.now_unix > na => ins.findings.push(Finding::warning(
                "windows.signature.expired",
                format!("{file}: the signing certificate expired and no verified timestamp shows the file was signed before that; Windows treats the signature as expired"),
            )),
            _ => {}
        }
    }
    // An MSIX's publisher is its manifest's (checked against the signer by its reader).
    if let Some(first) = signers.first()
        && !ins.details.contains_key("publisher")
    {
        ins.details
            .insert("publisher".into(), Value::String(first.subject.clone()));
    }
    ins.details
        .insert("signatures".into(), Value::Array(details));
    ins.signature = Signature {
        state,
        schemes: vec!["Authenticode".into()],
        signers,
        digest_ok: Some(digest_all),
        chain_ok: Some(chain_ok),
        timestamp: Some(ts_ok),
    };
    Ok(())
}

fn trust_roots(ctx: &InspectContext) -> Vec<Certificate> {
    crate::trust::roots(ctx)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339() {
        assert_eq!(super::time_rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::time_rfc3339(1_700_000_000).unwrap(),
            "2023-11-14T22:13:20Z"
        );
    }
}
