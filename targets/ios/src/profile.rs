//! Provisioning profiles: a CMS SignedData (BER, indefinite lengths) around an XML plist.
//! The CMS signature is checked and chained to Apple's root; time is judged separately.

use platform::{Finding, Profile, ProfileType, Signature, SignatureState, Signer};
use plist::Dictionary;
use serde_json::json;
use x509_certificate::CapturedX509Certificate;

use crate::certs;
use crate::codesign;
use crate::plistx::{self, get_bool, get_date, get_str};

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

/// Whether bytes look like a provisioning profile: CMS (DER SEQUENCE, definite or
/// indefinite length) whose content carries a plist, or a bare plist with profile keys.
pub fn looks_like_profile(head: &[u8]) -> bool {
    let cms = head.len() > 32
        && head[0] == 0x30
        && matches!(head[1], 0x80 | 0x82 | 0x83)
        // signedData OID 1.2.840.113549.1.7.2 within the first bytes
        && find(&head[..head.len().min(64)], &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]);
    if cms {
        return find(head, b"<plist") || find(head, b"bplist00");
    }
    let t = trim_start(head);
    (t.starts_with(b"<?xml") || t.starts_with(b"<plist") || t.starts_with(b"<!DOCTYPE plist"))
        && (find(head, b"<key>ProvisionedDevices</key>")
            || find(head, b"<key>ProvisionsAllDevices</key>")
            || (find(head, b"<key>TeamIdentifier</key>")
                && find(head, b"<key>ExpirationDate</key>")))
}

fn trim_start(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b);
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
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
    let plist_bytes: Vec<u8> = if data.first() == Some(&0x30) {
        match codesign::verify_cms(data, None) {
            Err(e) => {
                out.signature = Signature::unknown();
                out.rejects
                    .push(("ios.profile.malformed".into(), format!("profile {e}")));
                return out;
            }
            Ok((sd, check)) => {
                let content = sd.signed_content().map(<[u8]>::to_vec);
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
                                certs::rfc3339(*not_after)
                            ),
                        ));
                    } else if *not_before > now {
                        out.findings.push(Finding::warning(
                            "ios.profile.signer_not_yet_valid",
                            format!(
                                "certificate {subject} that signed the profile is valid from {}",
                                certs::rfc3339(*not_before)
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
        }
    } else {
        out.rejects.push((
            "ios.profile.unsigned".into(),
            "the profile is a bare plist, not Apple's CMS-signed form; iOS refuses it".into(),
        ));
        data.to_vec()
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
    let ents = d.get("Entitlements").and_then(|v| v.as_dictionary());
    let team_id = d
        .get("TeamIdentifier")
        .and_then(|v| v.as_array())
        .and_then(|a| a.first())
        .and_then(|v| v.as_string())
        .map(str::to_owned);
    let udids: Vec<String> = d
        .get("ProvisionedDevices")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_string().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let all = get_bool(d, "ProvisionsAllDevices").unwrap_or(false);
    let gta = ents
        .and_then(|e| get_bool(e, "get-task-allow"))
        .unwrap_or(false);
    out.app_id = ents
        .and_then(|e| get_str(e, "application-identifier"))
        .map(str::to_owned);
    out.app_id_name = get_str(d, "AppIDName").map(str::to_owned);
    out.team_name = get_str(d, "TeamName").map(str::to_owned);
    out.created = get_date(d, "CreationDate");
    out.expires = get_date(d, "ExpirationDate");
    out.platforms = d
        .get("Platform")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_string().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();

    let mut dev_certs = Vec::new();
    if let Some(list) = d.get("DeveloperCertificates").and_then(|v| v.as_array()) {
        for v in list {
            let Some(der) = v.as_data() else { continue };
            let sha = certs::sha256_hex(der);
            out.developer_cert_sha256.push(sha.clone());
            match CapturedX509Certificate::from_der(der.to_vec()) {
                Ok(c) => {
                    let (_, not_after) = certs::validity(&c);
                    dev_certs.push(json!({
                        "subject": certs::subject_string(&c),
                        "sha256": sha,
                        "expires": certs::rfc3339(not_after),
                    }));
                }
                Err(_) => dev_certs.push(json!({ "sha256": sha, "subject": null })),
            }
        }
    }

    let ptype = profile_type(all, udids.len(), gta);
    let expires_str = out.expires.map(certs::rfc3339);
    match (
        get_str(d, "Name"),
        &team_id,
        get_str(d, "UUID"),
        &expires_str,
    ) {
        (Some(name), Some(team), Some(uuid), Some(exp)) => {
            out.profile = Some(Profile {
                profile_type: ptype,
                name: name.to_owned(),
                team_id: team.clone(),
                uuid: uuid.to_owned(),
                expires: exp.clone(),
                devices: u32::try_from(udids.len()).unwrap_or(u32::MAX),
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
                certs::rfc3339(exp)
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
                certs::rfc3339(c)
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
                udids.len()
            ),
        ));
    }

    out.details = json!({
        "name": get_str(d, "Name"),
        "uuid": get_str(d, "UUID"),
        "type": ptype,
        "team_id": team_id,
        "team_name": out.team_name,
        "app_id": out.app_id,
        "app_id_name": out.app_id_name,
        "created": out.created.map(certs::rfc3339),
        "expires": expires_str,
        "platforms": out.platforms,
        "provisions_all_devices": all,
        "get_task_allow": gta,
        "devices": udids.len(),
        "provisioned_devices": udids,
        "entitlements": ents.map(|e| plistx::to_json(&plist::Value::Dictionary(e.clone()))),
        "developer_certificates": dev_certs,
    });
    out.udids = udids;
}

/// Whether an app id pattern (without the team prefix) covers a bundle id; `*` at the end
/// is Apple's wildcard.
pub fn app_id_matches(pattern: &str, bundle_id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => bundle_id.starts_with(prefix),
        None => pattern == bundle_id,
    }
}

/// `TEAMID.com.acme.app` -> `com.acme.app`.
pub fn strip_team(app_id: &str) -> &str {
    app_id
        .split_once('.')
        .map(|(_, rest)| rest)
        .unwrap_or(app_id)
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

    #[test]
    fn wildcards() {
        assert!(app_id_matches("*", "com.acme.app"));
        assert!(app_id_matches("com.acme.*", "com.acme.app"));
        assert!(!app_id_matches("com.acme.*", "com.other.app"));
        assert!(app_id_matches("com.acme.app", "com.acme.app"));
        assert!(!app_id_matches("com.acme.app", "com.acme.app2"));
        assert_eq!(strip_team("ABCDE12345.com.acme.*"), "com.acme.*");
    }
}
