//! An app's identity rules: what every artifact of a platform must be to publish.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Finding, Inspection, PlatformId, SignatureState};

/// Rules per platform id.
pub type IdentityRules = BTreeMap<PlatformId, PlatformRules>;

/// Each list, when not empty, is an allow-list. Values are compared exactly, except that an
/// identity ending in `.*` matches any identity under that prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlatformRules {
    /// The `identity` fact: bundle ids, package names, ..., as each target reads them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<String>,
    /// Apple team ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub team_ids: Vec<String>,
    /// Pinned signer certificate SHA-256 values (lowercase hex): every signer must be one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signer_sha256: Vec<String>,
    /// Windows publishers (Authenticode or MSIX subject).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publishers: Vec<String>,
}

/// One identity fact a target reports and an app's identity rules may name. The rule lists of
/// [`PlatformRules`] each name one fact: `identities` the `identity` fact,
/// `team_ids` `team_id`, `signer_sha256` `signer_sha256`, `publishers` `publisher`.
#[derive(Debug, Clone, Copy)]
pub struct IdentityFact {
    pub id: &'static str,
    /// What the fact is on this platform (`the bundle identifier`, ...).
    pub description: &'static str,
}

/// The fact every target reports: [`Inspection::identity`].
pub const IDENTITY: IdentityFact = IdentityFact {
    id: "identity",
    description: "the artifact's identity (its package or bundle name)",
};

fn identity_matches(pattern: &str, identity: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => identity
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == identity,
    }
}

impl PlatformRules {
    /// The identity facts these rules name (each non-empty list names one), with the
    /// rule's JSON field for messages.
    pub fn named_facts(&self) -> Vec<(&'static str, &'static str)> {
        [
            ("identity", "identities", self.identities.is_empty()),
            ("team_id", "team_ids", self.team_ids.is_empty()),
            (
                "signer_sha256",
                "signer_sha256",
                self.signer_sha256.is_empty(),
            ),
            ("publisher", "publishers", self.publishers.is_empty()),
        ]
        .into_iter()
        .filter(|(_, _, empty)| !empty)
        .map(|(fact, field, _)| (fact, field))
        .collect()
    }

    /// Refuses rules that name a fact `declared` does not hold: a rule no artifact of the
    /// platform could ever meet (a team for a platform without teams) is a mistake to say,
    /// not to store.
    pub fn check_declared(
        &self,
        platform: &str,
        display_name: &str,
        declared: &[IdentityFact],
    ) -> Result<(), String> {
        for (fact, field) in self.named_facts() {
            if !declared.iter().any(|d| d.id == fact) {
                let ids: Vec<&str> = declared.iter().map(|d| d.id).collect();
                return Err(format!(
                    "identity.{platform}.{field}: the {display_name} target reports no {fact}, so this rule could never be met; rules for {platform} may name: {}",
                    ids.join(", ")
                ));
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
            && self.team_ids.is_empty()
            && self.signer_sha256.is_empty()
            && self.publishers.is_empty()
    }

    /// The generic check: identity, signer pins, team id (`details.team_id`, the identity fact a target reports) and
    /// publisher (`details.publisher`).
    pub fn check(&self, i: &Inspection) -> Vec<Finding> {
        let mut out = Vec::new();
        if !self.identities.is_empty() {
            match &i.identity {
                Some(id) if self.identities.iter().any(|p| identity_matches(p, id)) => {}
                Some(id) => out.push(Finding::error(
                    "identity.mismatch",
                    format!(
                        "{}: identity {id} is not one the app allows ({})",
                        i.file,
                        self.identities.join(", ")
                    ),
                )),
                None => out.push(Finding::error(
                    "identity.missing",
                    format!(
                        "{}: no identity could be read, and the app requires one of {}",
                        i.file,
                        self.identities.join(", ")
                    ),
                )),
            }
        }
        // A rule that names a team or a signer is met only by a signature that verifies to a
        // trusted root (state `signed`, as each target defines its roots: a vendor chain, or
        // the digests of the pinned certificate itself). A self-made certificate or profile claiming the
        // team, or a signature that does not verify, meets nothing (issue 10, item 4).
        if (!self.team_ids.is_empty()
            || (!self.signer_sha256.is_empty() && !i.signature.signers.is_empty()))
            && i.signature.state != SignatureState::Signed
        {
            out.push(Finding::error(
                "identity.signature_untrusted",
                format!(
                    "{}: the app's rules name {}, which only a verified signature chaining to a trusted root can meet; this signature is {}",
                    i.file,
                    if self.team_ids.is_empty() { "signer certificates" } else { "a team" },
                    serde_json::to_value(i.signature.state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            ));
        }
        if !self.team_ids.is_empty()
            && let Some(state) = i
                .details
                .get("profile_signature")
                .and_then(|p| p.get("state"))
                .and_then(|s| s.as_str())
            && state != "signed"
        {
            out.push(Finding::error(
                "identity.profile_untrusted",
                format!(
                    "{}: the provisioning profile's team cannot meet the app's team rule: the profile's signature is {state}, not one that chains to a trusted root",
                    i.file
                ),
            ));
        }
        if !self.signer_sha256.is_empty() {
            if i.signature.signers.is_empty() {
                out.push(Finding::error(
                    "identity.signer_missing",
                    format!("{}: unsigned, but the app pins signer certificates", i.file),
                ));
            }
            for s in &i.signature.signers {
                if !self
                    .signer_sha256
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(&s.sha256))
                {
                    out.push(Finding::error(
                        "identity.signer_not_pinned",
                        format!(
                            "{}: signer {} (certificate SHA-256 {}) is not pinned for this app",
                            i.file, s.subject, s.sha256
                        ),
                    ));
                }
            }
        }
        if !self.team_ids.is_empty() {
            let team = i
                .details
                .get("team_id")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            match team {
                Some(t) if self.team_ids.contains(&t) => {}
                Some(t) => out.push(Finding::error(
                    "identity.team_mismatch",
                    format!(
                        "{}: team {t} is not one the app allows ({})",
                        i.file,
                        self.team_ids.join(", ")
                    ),
                )),
                None => out.push(Finding::error(
                    "identity.team_missing",
                    format!(
                        "{}: no team id could be read, and the app requires one of {}",
                        i.file,
                        self.team_ids.join(", ")
                    ),
                )),
            }
        }
        if !self.publishers.is_empty() {
            let publisher = i.details.get("publisher").and_then(|v| v.as_str());
            if !publisher.is_some_and(|p| self.publishers.iter().any(|a| a == p)) {
                out.push(Finding::error(
                    "identity.publisher_mismatch",
                    format!(
                        "{}: publisher {} is not one the app allows ({})",
                        i.file,
                        publisher.unwrap_or("(none)"),
                        self.publishers.join(", ")
                    ),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(identity_matches("com.acme.*", "com.acme.app"));
        assert!(!identity_matches("com.acme.*", "com.acmex.app"));
        assert!(!identity_matches("com.acme.*", "com.acme"));
        assert!(identity_matches("com.acme", "com.acme"));
    }

    /// Issue 10, item 4: a pinned signer or a team is met only by a verified signature.
    #[test]
    fn rules_naming_a_signer_or_team_need_a_verified_signature() {
        let mut i = Inspection::new(
            "a.apk",
            1,
            "android".parse().unwrap(),
            "apk".parse().unwrap(),
        );
        i.signature = crate::Signature {
            state: SignatureState::Invalid,
            schemes: vec!["v2".into()],
            signers: vec![crate::Signer {
                subject: "CN=x".into(),
                sha256: "ab".repeat(32),
            }],
            digest_ok: Some(false),
            chain_ok: None,
            timestamp: None,
        };
        let pin = PlatformRules {
            signer_sha256: vec!["ab".repeat(32)],
            ..Default::default()
        };
        let codes: Vec<String> = pin.check(&i).into_iter().map(|f| f.code).collect();
        assert_eq!(codes, ["identity.signature_untrusted"]);
        i.signature.state = SignatureState::Signed;
        assert!(pin.check(&i).is_empty());
        // A team read from an untrusted signature or profile.
        i.signature.state = SignatureState::Untrusted;
        i.details.insert("team_id".into(), "T1".into());
        let team = PlatformRules {
            team_ids: vec!["T1".into()],
            ..Default::default()
        };
        let codes: Vec<String> = team.check(&i).into_iter().map(|f| f.code).collect();
        assert_eq!(codes, ["identity.signature_untrusted"]);
    }

    #[test]
    fn mismatch_is_an_error() {
        let mut i = Inspection::new(
            "a.apk",
            1,
            "android".parse().unwrap(),
            "apk".parse().unwrap(),
        );
        i.identity = Some("com.other".into());
        let rules = PlatformRules {
            identities: vec!["com.acme".into()],
            ..Default::default()
        };
        let f = rules.check(&i);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "identity.mismatch");
    }
}
