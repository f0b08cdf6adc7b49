//! Notarization status as far as a file tells it, and what Gatekeeper will say. A stapled
//! ticket sits in `Contents/CodeResources` of an app bundle (beside the seal in
//! `Contents/_CodeSignature/`) and after the xar archive of a pkg (a `t8lr` trailer); both
//! placements are those apple-codesign's stapler writes. A ticket is Apple's signed
//! statement; it cannot be checked against Apple offline, so `stapled` means "a ticket is
//! attached", not "Apple accepted this build". A notarization submission dist.json lists
//! with the file (its id and the status the notary service reported) is the CI job's word,
//! shown beside the file's; where they disagree, [`disagreement`] says so in plain words.

use platform::{Finding, Notarization, NotarizationStatus};
use serde_json::json;

use crate::code::Signing;

/// Whether a ticket is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ticket {
    Absent,
    Present { bytes: usize },
    Unreadable(String),
}

/// What the file says about notarization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A ticket is attached (not checked against Apple: that needs the network).
    Stapled,
    /// Signed with Developer ID, no ticket attached: Gatekeeper asks Apple online.
    NotStapled,
    /// Unsigned, ad hoc, or signed with a certificate Apple does not notarize.
    NotNotarizable,
}

impl Status {
    pub fn id(self) -> &'static str {
        match self {
            Status::Stapled => "stapled",
            Status::NotStapled => "not-stapled",
            Status::NotNotarizable => "not-notarizable",
        }
    }

    pub fn from_id(s: &str) -> Option<Self> {
        Some(match s {
            "stapled" => Status::Stapled,
            "not-stapled" => Status::NotStapled,
            "not-notarizable" => Status::NotNotarizable,
            _ => return None,
        })
    }

    /// What Gatekeeper does when a downloaded copy is first opened.
    pub fn gatekeeper(self) -> &'static str {
        match self {
            Status::Stapled => {
                "A notarization ticket is attached: macOS opens it after a one-time confirmation, also offline. (dist cannot check the ticket with Apple.)"
            }
            Status::NotStapled => {
                "Signed with a Developer ID but no ticket is attached: macOS asks Apple online the first time it opens. If Apple notarized this build it opens after a one-time confirmation; offline, or if it was never notarized, macOS blocks it."
            }
            Status::NotNotarizable => {
                "Not signed for distribution outside the App Store: macOS blocks it on first open (\"Apple could not verify it is free of malware\"). To open it anyway: System Settings › Privacy & Security › Open Anyway (macOS 15 and later; before that, Control-click › Open)."
            }
        }
    }
}

/// The signing kind that counts for notarization: a certificate's name says Developer ID,
/// but only a signature in state `signed` (verified, chained to Apple) is one.
pub fn verified_signing(signing: Signing, state: platform::SignatureState) -> Signing {
    match (signing, state) {
        (Signing::Unsigned, _) => Signing::Unsigned,
        (s, platform::SignatureState::Signed) => s,
        _ => Signing::OtherCertificate,
    }
}

/// Status of a Developer ID (or other) signature with this ticket.
pub fn status(signing: Signing, ticket: &Ticket) -> Status {
    match (signing, ticket) {
        (Signing::DeveloperId, Ticket::Present { .. }) => Status::Stapled,
        (Signing::DeveloperId, _) => Status::NotStapled,
        _ => Status::NotNotarizable,
    }
}

pub fn findings(status: Status, ticket: &Ticket, what: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    match status {
        Status::NotStapled => out.push(Finding::warning(
            "macos.notarization.not_stapled",
            format!("{what} carries no stapled notarization ticket: Macs offline at first open block it; notarize it and run `xcrun stapler staple` before publishing"),
        )),
        Status::NotNotarizable if matches!(ticket, Ticket::Present { .. }) => {
            out.push(Finding::warning(
                "macos.notarization.ticket_without_developer_id",
                format!("{what} carries a stapled ticket but is not signed with a Developer ID: the ticket cannot be for this signature"),
            ))
        }
        _ => {}
    }
    if let Ticket::Unreadable(e) = ticket {
        out.push(Finding::warning(
            "macos.notarization.ticket_unreadable",
            format!("{what}: the stapled ticket could not be read: {e}"),
        ));
    }
    out
}

/// `details.notarization`: `status`, `ticket` (`{where, bytes}` or null), `gatekeeper`.
pub fn details(status: Status, ticket: &Ticket, place: &str) -> serde_json::Value {
    json!({
        "status": status.id(),
        "ticket": match ticket {
            Ticket::Present { bytes } => json!({"where": place, "bytes": bytes}),
            _ => json!(null),
        },
        "checked_with_apple": false,
        "gatekeeper": status.gatekeeper(),
    })
}

/// Where the notarization submission dist.json lists and what the file carries disagree:
/// the finding's code and severity, what it means in plain words (the install page and the
/// admin console show them), and what the release manager should do.
pub struct Disagreement {
    pub code: &'static str,
    pub error: bool,
    pub plain: String,
    pub todo: String,
}

/// Compares the listed submission with the status read from the file (`None` when the file's
/// signature was not read). Agreement is an accepted submission with a ticket stapled.
pub fn disagreement(detected: Option<Status>, claim: &Notarization) -> Option<Disagreement> {
    let id = &claim.submission_id;
    let detected = detected?;
    let stapled = detected == Status::Stapled;
    Some(match (claim.status, detected) {
        (NotarizationStatus::Accepted, Status::Stapled) => return None,
        (NotarizationStatus::Accepted, Status::NotStapled) => Disagreement {
            code: "macos.notarization.accepted_not_stapled",
            error: false,
            plain: "Apple accepted this build, but no ticket is stapled to the file: a Mac that is offline the first time it opens it blocks it".into(),
            todo: format!("run `xcrun stapler staple` on the file notarized as submission {id} and publish the stapled file"),
        },
        (NotarizationStatus::Accepted, _) => Disagreement {
            code: "macos.notarization.accepted_not_developer_id",
            error: true,
            plain: "dist.json says Apple accepted this build, but the file is not signed with a Developer ID that verifies, and Apple notarizes nothing else: the submission was for another file".into(),
            todo: format!("publish the file that was notarized as submission {id}, or correct dist.json"),
        },
        (NotarizationStatus::InProgress, _) => Disagreement {
            code: "macos.notarization.in_progress",
            error: false,
            plain: if stapled {
                "dist.json says Apple was still notarizing this build, yet a ticket is stapled to the file: dist.json is out of date".into()
            } else {
                "Apple had not finished notarizing this build when it was published: until it does, macOS may block it".into()
            },
            todo: format!("wait for the submission (`xcrun notarytool wait {id}`), staple the ticket and publish again with its status"),
        },
        (status, _) => Disagreement {
            code: "macos.notarization.rejected",
            error: true,
            plain: if stapled {
                format!("Apple did not notarize this build (submission {status}), yet a ticket is stapled to the file: the ticket is from another submission")
            } else {
                format!("Apple did not notarize this build (submission {status}): macOS blocks it")
            },
            todo: format!("read `xcrun notarytool log {id}`, fix what it lists, notarize again and publish the stapled file"),
        },
    })
}

/// The findings for a listed submission: at most one, when it and the file disagree.
pub fn submission_findings(
    detected: Option<Status>,
    claim: &Notarization,
    what: &str,
) -> Vec<Finding> {
    disagreement(detected, claim)
        .map(|d| {
            let message = format!(
                "{what}: {} (dist.json: submission {} {}); {}",
                d.plain, claim.submission_id, claim.status, d.todo
            );
            if d.error {
                Finding::error(d.code, message)
            } else {
                Finding::warning(d.code, message)
            }
        })
        .into_iter()
        .collect()
}

/// One line for a page or the admin console: what the file carries beside what dist.json
/// lists, and in plain words where they disagree.
pub fn beside(detected: Option<Status>, claim: Option<&Notarization>) -> Option<String> {
    let file = detected.map(|s| format!("{} (the file)", s.id()));
    let listed = claim.map(|c| format!("submission {} {} (dist.json)", c.submission_id, c.status));
    let mut line = match (file, listed) {
        (None, None) => return None,
        (Some(f), None) => f,
        (None, Some(l)) => format!("{l}; the file's signature was not read"),
        (Some(f), Some(l)) => format!("{f}; {l}"),
    };
    if let Some(d) = claim.and_then(|c| disagreement(detected, c)) {
        line.push_str(&format!(". They disagree: {}", d.plain));
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::SignatureState::{Signed, Untrusted};

    fn claim(status: NotarizationStatus) -> Notarization {
        Notarization {
            submission_id: "2efe2717-52ef-43a5-96dc-0797e4ca1041".into(),
            status,
        }
    }

    #[test]
    fn a_submission_beside_what_the_file_carries() {
        use NotarizationStatus::*;
        assert!(submission_findings(Some(Status::Stapled), &claim(Accepted), "x").is_empty());
        assert!(submission_findings(None, &claim(Rejected), "x").is_empty());
        let code = |d, c| {
            submission_findings(Some(d), &claim(c), "x")
                .first()
                .map(|f| (f.code.clone(), f.severity))
        };
        use platform::Severity::{Error, Warning};
        assert_eq!(
            code(Status::NotStapled, Accepted),
            Some(("macos.notarization.accepted_not_stapled".into(), Warning))
        );
        assert_eq!(
            code(Status::NotNotarizable, Accepted),
            Some(("macos.notarization.accepted_not_developer_id".into(), Error))
        );
        assert_eq!(
            code(Status::NotStapled, InProgress),
            Some(("macos.notarization.in_progress".into(), Warning))
        );
        assert_eq!(
            code(Status::Stapled, Invalid),
            Some(("macos.notarization.rejected".into(), Error))
        );
        assert_eq!(
            code(Status::NotStapled, Rejected),
            Some(("macos.notarization.rejected".into(), Error))
        );
        let line = beside(Some(Status::NotStapled), Some(&claim(Accepted))).unwrap();
        assert!(line.starts_with("not-stapled (the file); submission 2efe2717-52ef-43a5-96dc-0797e4ca1041 accepted (dist.json). They disagree: Apple accepted this build, but no ticket"), "{line}");
        assert_eq!(
            beside(Some(Status::Stapled), None).as_deref(),
            Some("stapled (the file)")
        );
    }

    #[test]
    fn status_follows_signing_and_ticket() {
        let t = Ticket::Present { bytes: 10 };
        let dev = verified_signing(Signing::DeveloperId, Signed);
        assert_eq!(status(dev, &t), Status::Stapled);
        assert_eq!(status(dev, &Ticket::Absent), Status::NotStapled);
        // A Developer ID name on a certificate that does not chain to Apple is not one.
        let fake = verified_signing(Signing::DeveloperId, Untrusted);
        assert_eq!(status(fake, &t), Status::NotNotarizable);
        assert_eq!(
            findings(status(fake, &t), &t, "x")[0].code,
            "macos.notarization.ticket_without_developer_id"
        );
        assert_eq!(
            status(Signing::AdHoc, &Ticket::Absent),
            Status::NotNotarizable
        );
        assert_eq!(
            Status::from_id(Status::NotStapled.id()),
            Some(Status::NotStapled)
        );
    }
}
