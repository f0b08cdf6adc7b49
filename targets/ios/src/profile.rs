//! Provisioning profiles judged for iOS: `formats/apple` opens the CMS, checks it against
//! Apple's root and reads the plist; here those facts become the profile type, findings and
//! the details shown.

use format_apple::plistx;
use format_apple::profile::{Envelope, ProfileFacts};
use format_apple::rfc3339;
use platform::{Finding, Inspection, Signature, SignatureState, Signer};
use plist::Dictionary;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use format_apple::profile::{app_id_matches, looks_like_profile, strip_team};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileType {
    Development,
    Adhoc,
    Enterprise,
    Appstore,
}

/// An Apple provisioning profile, as embedded in an IPA or on its own: the typed part of the
/// iOS target's `details.profile` (of an IPA) or `details` (of a `mobileprovision`). Those
/// objects hold more keys (README, "Platform details"); these are the ones the target reads
/// back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(rename = "type")]
    pub profile_type: ProfileType,
    pub name: String,
    pub team_id: String,
    pub uuid: String,
    /// RFC 3339, UTC: `2022-01-15T06:40:53Z`.
    pub expires: String,
    pub devices: u32,
    pub provisions_all_devices: bool,
    pub get_task_allow: bool,
}

/// The provisioning profile an iOS inspection holds, read back from its details; `None`
/// when there is none (or the details are not the iOS target's).
pub fn profile_of(i: &Inspection) -> Option<Profile> {
    let value = match i.kind.as_str() {
        "mobileprovision" => serde_json::Value::Object(i.details.clone()),
        _ => i.details.get("profile")?.clone(),
    };
    serde_json::from_value(value).ok()
}

/// Everything read from one profile.
#[derive(Debug, Clone)]
pub struct ProfileRead {
    pub profile: Option<Profile>,
    /// Team-prefixed `application-identifier` entitlement.
    pub app_id: Option<String>,
    pub app_id_name: Option<String>,
    pub team_name: Option<String>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub platforms: Vec<String>,
    pub udids: Vec<String>,
    /// SHA-256 of each DeveloperCertificates entry.
    pub developer_cert_sha256: Vec<String>,
    pub signature: Signature,
    /// Reasons to refuse the file (malformed CMS or plist, not signed at all).
    pub rejects: Vec<(String, String)>,
    pub findings: Vec<Finding>,
    pub details: serde_json::Value,
}

pub fn profile_type(all_devices: bool, devices: usize, get_task_allow: bool) -> ProfileType {
    if all_devices {
        ProfileType::Enterprise
    } else if get_task_allow {
        ProfileType::Development
    } else if devices > 0 {
        ProfileType::Adhoc
    } else {
        ProfileType::Appstore
    }
}

/// Reads a profile from its bytes (already bounded by the caller). `now` is Unix seconds.
pub fn read(data: &[u8], now: i64) -> ProfileRead {
    let mut out = ProfileRead {
        profile: None,
        app_id: None,
        app_id_name: None,
        team_name: None,
        created: None,
        expires: None,
        platforms: Vec::new(),
        udids: Vec::new(),
        developer_cert_sha256: Vec::new(),
        signature: Signature::unsigned(),
        rejects: Vec::new(),
        findings: Vec::new(),
        details: json!({}),
    };
    let plist_bytes: Vec<u8> = match format_apple::profile::open(data) {
        Err(e) => {
            out.signature = Signature::unknown();
            out.rejects
                .push(("ios.profile.malformed".into(), format!("profile {e}")));
            return out;
        }
        Ok(Envelope::Cms { check, content }) => {
            out.signature = Signature {
                state: if !check.signature_ok {
                    SignatureState::Invalid
                } else if !check.chain_ok {
                    SignatureState::Untrusted
                } else {
                    SignatureState::Signed
                },
                schemes: vec!["cms".into()],
                signers: check
                    .signers
                    .iter()
                    .map(|(subject, sha256)| Signer {
                        subject: subject.clone(),
                        sha256: sha256.clone(),
                    })
                    .collect(),
                digest_ok: Some(check.digest_ok),
                chain_ok: Some(check.chain_ok),
                timestamp: None,
            };
            if !check.signature_ok {
                out.findings.push(Finding::error(
                    "ios.profile.signature_invalid",
                    format!(
                        "the profile's CMS signature does not verify ({}); it was altered after Apple signed it",
                        check.error.as_deref().unwrap_or("unknown reason")
                    ),
                ));
            } else if !check.chain_ok {
                out.findings.push(Finding::error(
                    "ios.profile.untrusted",
                    "the profile is not signed by Apple (its signer does not chain to the Apple Root CA); iOS will refuse it",
                ));
            }
            for (subject, not_before, not_after) in &check.cert_windows {
                if *not_after < now {
                    out.findings.push(Finding::warning(
                        "ios.profile.signer_expired",
                        format!(
                            "certificate {subject} that signed the profile expired {}",
                            rfc3339(*not_after)
                        ),
                    ));
                } else if *not_before > now {
                    out.findings.push(Finding::warning(
                        "ios.profile.signer_not_yet_valid",
                        format!(
                            "certificate {subject} that signed the profile is valid from {}",
                            rfc3339(*not_before)
                        ),
                    ));
                }
            }
            match content {
                Some(c) => c,
                None => {
                    out.rejects.push((
                        "ios.profile.malformed".into(),
                        "the profile's CMS carries no content".into(),
                    ));
                    return out;
                }
            }
        }
        Ok(Envelope::Bare) => {
            out.rejects.push((
                "ios.profile.unsigned".into(),
                "the profile is a bare plist, not Apple's CMS-signed form; iOS refuses it".into(),
            ));
            data.to_vec()
        }
    };

    let parsed = match plistx::parse(&plist_bytes) {
        Ok(p) => p,
        Err(e) => {
            out.rejects.push((
                "ios.profile.malformed".into(),
                format!("the profile's plist does not parse: {e}"),
            ));
            return out;
        }
    };
    if let Some(e) = &parsed.strict_error {
        out.rejects.push((
            "ios.profile.malformed".into(),
            format!("the profile's plist is invalid ({e}); values below were read leniently"),
        ));
    }
    let Some(d) = parsed.value.as_dictionary() else {
        out.rejects.push((
            "ios.profile.malformed".into(),
            "the profile's plist is not a dictionary".into(),
        ));
        return out;
    };
    fill(&mut out, d, now);
    out
}

fn fill(out: &mut ProfileRead, d: &Dictionary, now: i64) {
    let f = ProfileFacts::from_dictionary(d);
    let all = f.provisions_all_devices;
    let gta = f.get_task_allow;
    out.app_id = f.app_id.clone();
    out.app_id_name = f.app_id_name.clone();
    out.team_name = f.team_name.clone();
    out.created = f.created;
    out.expires = f.expires;
    out.platforms = f.platforms.clone();

    let mut dev_certs = Vec::new();
    for dc in &f.developer_certificates {
        out.developer_cert_sha256.push(dc.sha256.clone());
        match dc
            .certificate
            .as_ref()
            .and_then(|c| c.validity.map(|v| (c, v)))
        {
            Some((c, (_, not_after))) => dev_certs.push(json!({
                "subject": format_apple::roots::subject_string(c),
                "sha256": dc.sha256,
                "expires": rfc3339(not_after),
            })),
            None => dev_certs.push(json!({ "sha256": dc.sha256, "subject": null })),
        }
    }

    let ptype = profile_type(all, f.udids.len(), gta);
    let expires_str = out.expires.map(rfc3339);
    match (&f.name, &f.team_id, &f.uuid, &expires_str) {
        (Some(name), Some(team), Some(uuid), Some(exp)) => {
            out.profile = Some(Profile {
                profile_type: ptype,
                name: name.clone(),
                team_id: team.clone(),
                uuid: uuid.clone(),
                expires: exp.clone(),
                devices: u32::try_from(f.udids.len()).unwrap_or(u32::MAX),
                provisions_all_devices: all,
                get_task_allow: gta,
            })
        }
        _ => out.rejects.push((
            "ios.profile.malformed".into(),
            "the profile lacks one of Name, TeamIdentifier, UUID or ExpirationDate".into(),
        )),
    }

    if let Some(exp) = out.expires
        && exp < now
    {
        out.findings.push(Finding::error(
            "ios.profile.expired",
            format!(
                "the provisioning profile expired {}; iOS will not launch the app",
                rfc3339(exp)
            ),
        ));
    }
    if let Some(c) = out.created
        && c > now
    {
        out.findings.push(Finding::error(
            "ios.profile.not_yet_valid",
            format!(
                "the provisioning profile is dated {} (in the future)",
                rfc3339(c)
            ),
        ));
    }
    if matches!(ptype, ProfileType::Adhoc | ProfileType::Development) {
        out.findings.push(Finding::info(
            "ios.profile.devices",
            format!(
                "the {} profile lists {} device(s); only those can install the app",
                match ptype {
                    ProfileType::Adhoc => "ad hoc",
                    _ => "development",
                },
                f.udids.len()
            ),
        ));
    }

    out.details = json!({
        "name": f.name,
        "uuid": f.uuid,
        "type": ptype,
        "team_id": f.team_id,
        "team_name": out.team_name,
        "app_id": out.app_id,
        "app_id_name": out.app_id_name,
        "created": out.created.map(rfc3339),
        "expires": expires_str,
        "platforms": out.platforms,
        "provisions_all_devices": all,
        "get_task_allow": gta,
        "devices": f.udids.len(),
        "provisioned_devices": f.udids.clone(),
        "entitlements": f.entitlements.map(|e| plistx::to_json(&plist::Value::Dictionary(e))),
        "developer_certificates": dev_certs,
    });
    out.udids = f.udids;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_rule() {
        assert_eq!(profile_type(true, 0, false), ProfileType::Enterprise);
        assert_eq!(profile_type(false, 3, false), ProfileType::Adhoc);
        assert_eq!(profile_type(false, 3, true), ProfileType::Development);
        assert_eq!(profile_type(false, 0, false), ProfileType::Appstore);
    }
}
