//! Provisioning profiles: a CMS SignedData (BER, indefinite lengths) around an XML plist.
//! [`open`] checks the CMS signature and its chain to Apple's root; [`ProfileFacts`] reads
//! what the plist says. Judging them (expiry, type, device lists) is the target's.

use format_pki::Certificate;
use plist::Dictionary;

use crate::codesign::{self, CmsCheck};
use crate::plistx::{get_bool, get_date, get_str};

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

/// Whether a profile (as far as `head` shows its plist) is for macOS: its `Platform` array
/// names `OSX` and not `iOS`. Mac profiles (`.provisionprofile`) and iOS ones share a format.
pub fn is_macos_profile(head: &[u8]) -> bool {
    let key = b"<key>Platform</key>";
    let Some(at) = head.windows(key.len()).position(|w| w == key) else {
        return false;
    };
    let rest = &head[at..];
    let end = rest
        .windows(8)
        .position(|w| w == b"</array>")
        .unwrap_or(rest.len().min(256));
    let list = &rest[..end];
    find(list, b"<string>OSX</string>") && !find(list, b"<string>iOS</string>")
}

fn trim_start(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b);
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// How a profile's plist is wrapped.
#[derive(Debug, Clone)]
pub enum Envelope {
    /// Apple's form: CMS, checked, with the plist it carries (`None` when it carries none).
    Cms {
        check: CmsCheck,
        content: Option<Vec<u8>>,
    },
    /// A bare plist (iOS refuses these).
    Bare,
}

/// Opens a profile's envelope (bytes already bounded by the caller). An error says why the
/// CMS does not parse.
pub fn open(data: &[u8]) -> Result<Envelope, String> {
    if data.first() != Some(&0x30) {
        return Ok(Envelope::Bare);
    }
    let (sd, check) = codesign::verify_cms(data, None)?;
    Ok(Envelope::Cms {
        check,
        content: sd.content,
    })
}

/// One `DeveloperCertificates` entry.
#[derive(Debug, Clone)]
pub struct DeveloperCertificate {
    pub sha256: String,
    /// `None` when the entry is not a certificate that parses.
    pub certificate: Option<Certificate>,
}

/// What a profile's plist says.
#[derive(Debug, Clone, Default)]
pub struct ProfileFacts {
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub team_id: Option<String>,
    pub team_name: Option<String>,
    /// Team-prefixed `application-identifier` entitlement.
    pub app_id: Option<String>,
    pub app_id_name: Option<String>,
    /// Unix seconds.
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub platforms: Vec<String>,
    pub udids: Vec<String>,
    pub provisions_all_devices: bool,
    pub get_task_allow: bool,
    pub entitlements: Option<Dictionary>,
    pub developer_certificates: Vec<DeveloperCertificate>,
}

fn strings(d: &Dictionary, key: &str) -> Vec<String> {
    d.get(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_string().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl ProfileFacts {
    pub fn from_dictionary(d: &Dictionary) -> Self {
        let ents = d.get("Entitlements").and_then(|v| v.as_dictionary());
        let developer_certificates = d
            .get("DeveloperCertificates")
            .and_then(|v| v.as_array())
            .map(|list| {
                list.iter()
                    .filter_map(|v| v.as_data())
                    .map(|der| DeveloperCertificate {
                        sha256: format_pki::sha256_hex(der),
                        certificate: Certificate::parse(der).ok(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        ProfileFacts {
            name: get_str(d, "Name").map(str::to_owned),
            uuid: get_str(d, "UUID").map(str::to_owned),
            team_id: strings(d, "TeamIdentifier").into_iter().next(),
            team_name: get_str(d, "TeamName").map(str::to_owned),
            app_id: ents
                .and_then(|e| get_str(e, "application-identifier"))
                .map(str::to_owned),
            app_id_name: get_str(d, "AppIDName").map(str::to_owned),
            created: get_date(d, "CreationDate"),
            expires: get_date(d, "ExpirationDate"),
            platforms: strings(d, "Platform"),
            udids: strings(d, "ProvisionedDevices"),
            provisions_all_devices: get_bool(d, "ProvisionsAllDevices").unwrap_or(false),
            get_task_allow: ents
                .and_then(|e| get_bool(e, "get-task-allow"))
                .unwrap_or(false),
            entitlements: ents.cloned(),
            developer_certificates,
        }
    }
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
    fn wildcards() {
        assert!(app_id_matches("*", "com.acme.app"));
        assert!(app_id_matches("com.acme.*", "com.acme.app"));
        assert!(!app_id_matches("com.acme.*", "com.other.app"));
        assert!(app_id_matches("com.acme.app", "com.acme.app"));
        assert!(!app_id_matches("com.acme.app", "com.acme.app2"));
        assert_eq!(strip_team("ABCDE12345.com.acme.*"), "com.acme.*");
    }
}
