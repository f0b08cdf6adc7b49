//! Notarization status as far as a file tells it, and what Gatekeeper will say. A stapled
//! ticket sits in `Contents/CodeResources` of an app bundle (beside the seal in
//! `Contents/_CodeSignature/`) and after the xar archive of a pkg (a `t8lr` trailer); both
//! placements are those apple-codesign's stapler writes. A ticket is Apple's signed
//! statement; it cannot be checked against Apple offline, so `stapled` means "a ticket is
//! attached", not "Apple accepted this build".

use platform::Finding;
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

#[cfg(test)]
mod tests {
    use super::*;
    use platform::SignatureState::{Signed, Untrusted};

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
