//! API documents into the console's view values (`ui::admin`): one release as a table row,
//! one artifact's inspection as labelled facts, findings grouped by severity.

use serde_json::Value;

use platform::api::{Artifact, Release};
use platform::{Finding, Inspection, Severity, SignatureState};
use ui::admin::{ArtifactView, Counts, Fact, FindingGroup, FindingView, ReleaseRowView};

pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// `3 d`, `5 h`, `12 min`, `40 s` since an RFC 3339 time (empty when it does not parse).
pub fn age(at: &str) -> String {
    let Some(t) = crate::util::parse_time(at) else {
        return String::new();
    };
    let s = (time::OffsetDateTime::now_utc() - t).whole_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

/// `2026-12-02 07:54 UTC` from an RFC 3339 time as stored (to the minute: dense tables); the
/// value unchanged when it does not parse.
pub fn minute(at: &str) -> String {
    match crate::util::parse_time(at) {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        None => at.to_owned(),
    }
}

fn inspections(r: &Release) -> impl Iterator<Item = &Inspection> {
    r.artifacts.iter().filter_map(|a| a.inspection.as_ref())
}

pub fn counts<'a>(findings: impl Iterator<Item = &'a Finding>) -> Counts {
    let mut c = Counts::default();
    for f in findings {
        match f.severity {
            Severity::Error => c.errors += 1,
            Severity::Warning => c.warnings += 1,
            Severity::Info => c.infos += 1,
        }
    }
    c
}

/// One release as a row: platforms of its artifacts, findings by severity, commit and CI run.
pub fn release_row(r: &Release) -> ReleaseRowView {
    let mut platforms: Vec<&str> = r
        .artifacts
        .iter()
        .filter_map(|a| a.platform.as_ref().map(|p| p.as_str()))
        .collect();
    platforms.sort_unstable();
    platforms.dedup();
    let source = r.source.as_ref();
    ReleaseRowView {
        id: r.id.to_string(),
        version: r.version.to_string(),
        build: r.build.to_string(),
        status: r.status.as_str().to_owned(),
        platforms: platforms.join(", "),
        findings: counts(inspections(r).flat_map(|i| i.findings.iter())),
        created_at: r.created_at.clone(),
        age: age(&r.created_at),
        commit: source.and_then(|s| s.commit.clone()),
        // Only a web address becomes a link (no `javascript:` from a manifest).
        ci_url: source
            .and_then(|s| s.ci_url.clone())
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
    }
}

/// Findings grouped by severity, errors first; the same code and message once.
pub fn finding_groups<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<FindingGroup> {
    let mut seen = std::collections::BTreeSet::new();
    let mut groups: Vec<FindingGroup> = [Severity::Error, Severity::Warning, Severity::Info]
        .into_iter()
        .map(|s| FindingGroup {
            severity: severity(s),
            findings: Vec::new(),
        })
        .collect();
    for f in findings {
        if !seen.insert((f.code.clone(), f.message.clone())) {
            continue;
        }
        let i = match f.severity {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Info => 2,
        };
        groups[i].findings.push(finding(f));
    }
    groups.retain(|g| !g.findings.is_empty());
    groups
}

pub fn finding(f: &Finding) -> FindingView {
    FindingView {
        severity: severity(f.severity).to_owned(),
        code: f.code.clone(),
        message: f.message.clone(),
    }
}

/// Each file's findings and `extra` (the release's own, as [`version_findings`]).
pub fn release_findings(r: &Release, extra: &[Finding]) -> Vec<FindingGroup> {
    finding_groups(inspections(r).flat_map(|i| i.findings.iter()).chain(extra))
}

/// The `release.version_mismatch` findings the publish weighed (and `dist ci publish` printed)
/// for files that declare another version or build than the release, at the severity the
/// app's setting gives them: a file's inspection does not hold them, since they are about the
/// release it is in.
pub fn version_findings(
    registry: &platform::Registry,
    r: &Release,
    policy: platform::versions::MismatchPolicy,
) -> Vec<Finding> {
    inspections(r)
        .filter_map(|i| {
            platform::versions::version_mismatch(registry, i, &r.version, &r.build, policy)
        })
        .collect()
}

fn yes_no(v: Option<bool>) -> Option<&'static str> {
    v.map(|b| if b { "yes" } else { "no" })
}

/// A JSON value in a few words: strings as they are, lists joined, objects as `key: value`.
fn words(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                // `{"name": ...}` lists (permissions with attributes) read by their names.
                Value::Object(o) => o.get("name").map_or_else(|| words(i), words),
                _ => words(i),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| match v {
                Value::Object(_) | Value::Array(_) => {
                    let n = match v {
                        Value::Object(o) => o.len(),
                        Value::Array(a) => a.len(),
                        _ => 0,
                    };
                    format!("{k}: ({n})")
                }
                _ => format!("{k}: {}", words(v)),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The keys of an object value, or the words of a list (entitlements are a dictionary).
fn keys_or_words(v: &Value) -> String {
    match v {
        Value::Object(o) => o.keys().cloned().collect::<Vec<_>>().join(", "),
        other => words(other),
    }
}

/// The readable summary of an inspection: identity, signature and chain, profile,
/// permissions and entitlements, archs, notarization, then what else the target reported.
pub fn facts(i: &Inspection) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut add = |label: &str, value: String| {
        if !value.is_empty() {
            out.push(Fact {
                label: label.to_owned(),
                value,
            });
        }
    };
    if i.parse == platform::Parse::Reject {
        add("Parse", "rejected (see the error findings)".into());
    }
    add("Identity", i.identity.clone().unwrap_or_default());
    add("Name", i.display_name.clone().unwrap_or_default());
    add(
        "Version (file)",
        match (&i.version, &i.build) {
            (Some(v), Some(b)) => format!("{v} ({b})"),
            (Some(v), None) => v.clone(),
            (None, Some(b)) => format!("build {b}"),
            (None, None) => String::new(),
        },
    );
    add("Min OS", i.min_os.clone().unwrap_or_default());
    add("Target SDK", i.target_sdk.clone().unwrap_or_default());
    add("Archs", i.archs.as_deref().unwrap_or_default().join(", "));
    add(
        "Devices",
        i.device_family.as_deref().unwrap_or_default().join(", "),
    );
    let sig = &i.signature;
    let state = match sig.state {
        SignatureState::Signed => "signed",
        SignatureState::Unsigned => "unsigned",
        SignatureState::Invalid => "invalid",
        SignatureState::Untrusted => "untrusted chain",
        SignatureState::Unknown => "unknown",
    };
    let mut signature = state.to_owned();
    if !sig.schemes.is_empty() {
        signature.push_str(&format!(" ({})", sig.schemes.join(", ")));
    }
    for (what, v) in [
        ("digests verify", yes_no(sig.digest_ok)),
        ("chain verifies", yes_no(sig.chain_ok)),
        ("timestamped", yes_no(sig.timestamp)),
    ] {
        if let Some(v) = v {
            signature.push_str(&format!("; {what}: {v}"));
        }
    }
    add("Signature", signature);
    add(
        "Signers",
        sig.signers
            .iter()
            .map(|s| {
                format!(
                    "{} (sha256 {})",
                    s.subject,
                    &s.sha256[..s.sha256.len().min(16)]
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    );
    let d = &i.details;
    for (key, label) in [("team_id", "Team"), ("publisher", "Publisher")] {
        if let Some(v) = d.get(key) {
            add(label, words(v));
        }
    }
    if let Some(p) = d.get("profile") {
        add("Profile", words(p));
    }
    if let Some(p) = d.get("permissions") {
        add("Permissions", words(p));
    }
    let entitlements = d
        .get("code_signature")
        .and_then(|c| c.get("entitlements"))
        .or_else(|| d.get("profile").and_then(|p| p.get("entitlements")));
    if let Some(e) = entitlements {
        add("Entitlements", keys_or_words(e));
    }
    if let Some(n) = d.get("notarization") {
        add("Notarization", words(n));
    }
    let shown = [
        "team_id",
        "publisher",
        "profile",
        "permissions",
        "notarization",
    ];
    let other: Vec<&str> = d
        .keys()
        .map(String::as_str)
        .filter(|k| !shown.contains(k))
        .collect();
    add("Other details", other.join(", "));
    out
}

pub fn artifact(a: &Artifact) -> ArtifactView {
    let file = a
        .file_name
        .as_ref()
        .map(|f| f.to_string())
        .or_else(|| a.inspection.as_ref().map(|i| i.file.clone()))
        .unwrap_or_else(|| a.link.clone().unwrap_or_default());
    ArtifactView {
        id: a.id.to_string(),
        file,
        platform: a
            .platform
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        kind: a.kind.as_ref().map(|k| k.to_string()).unwrap_or_default(),
        arch: a.arch.as_ref().map(|k| k.to_string()).unwrap_or_default(),
        size: a
            .size
            .map(|n| format!("{} ({n} bytes)", platform::units::human_size(n)))
            .unwrap_or_default(),
        sha256: a.sha256.map(|d| d.to_string()).unwrap_or_default(),
        attached: a.attached,
        facts: {
            let mut f = a.inspection.as_ref().map(facts).unwrap_or_default();
            // The CI job's word, beside the file's own "Notarization" fact; a disagreement
            // is one of the inspection's findings.
            if let Some(n) = &a.notarization {
                f.push(Fact {
                    label: "Notarization submission".into(),
                    value: format!("{} {} (dist.json)", n.submission_id, n.status),
                });
            }
            f
        },
        raw_json: a
            .inspection
            .as_ref()
            .and_then(|i| serde_json::to_string_pretty(i).ok())
            .unwrap_or_default(),
        download_url: a.download_url.clone(),
        install_url: a.install_url.clone(),
        link: a
            .link
            .clone()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inspection_reads_as_facts_in_words() {
        let mut i = Inspection::new("a.ipa", 10, "ios".parse().unwrap(), "ipa".parse().unwrap());
        i.identity = Some("com.acme".into());
        i.archs = Some(vec!["arm64".into()]);
        i.signature.state = SignatureState::Untrusted;
        i.signature.schemes = vec!["apple-codesign".into()];
        i.signature.chain_ok = Some(false);
        i.signature.signers = vec![platform::Signer {
            subject: "CN=Acme".into(),
            sha256: "ab".repeat(32),
        }];
        let d: serde_json::Map<String, Value> = serde_json::from_value(serde_json::json!({
            "team_id": "ABCDE12345",
            "permissions": [{"name": "CAMERA", "max_sdk": 30}, "INTERNET"],
            "code_signature": {"entitlements": {"get-task-allow": true, "aps-environment": "production"}},
            "profile": {"name": "Acme Ad Hoc", "devices": ["a", "b"]},
            "notarization": "stapled",
            "extensions": [],
        }))
        .unwrap();
        i.details = d;
        let facts: Vec<(String, String)> =
            facts(&i).into_iter().map(|f| (f.label, f.value)).collect();
        let get = |l: &str| {
            facts
                .iter()
                .find(|(k, _)| k == l)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("no {l}: {facts:?}"))
        };
        assert_eq!(get("Identity"), "com.acme");
        assert_eq!(get("Archs"), "arm64");
        assert_eq!(
            get("Signature"),
            "untrusted chain (apple-codesign); chain verifies: no"
        );
        assert_eq!(get("Signers"), "CN=Acme (sha256 abababababababab)");
        assert_eq!(get("Team"), "ABCDE12345");
        assert_eq!(get("Permissions"), "CAMERA, INTERNET");
        assert_eq!(get("Entitlements"), "aps-environment, get-task-allow");
        assert_eq!(get("Profile"), "devices: (2); name: Acme Ad Hoc");
        assert_eq!(get("Notarization"), "stapled");
        assert_eq!(get("Other details"), "code_signature, extensions");
    }

    #[test]
    fn ages_in_the_largest_unit() {
        let ago = |s: i64| {
            crate::util::format_time(time::OffsetDateTime::now_utc() - time::Duration::seconds(s))
        };
        assert_eq!(age(&ago(5)), "5 s");
        assert_eq!(age(&ago(125)), "2 min");
        assert_eq!(age(&ago(7200)), "2 h");
        assert_eq!(age(&ago(3 * 86_400 + 5)), "3 d");
        assert_eq!(age("not a time"), "");
        assert_eq!(
            minute("2026-12-02T07:54:38.273008Z"),
            "2026-12-02 07:54 UTC"
        );
        assert_eq!(minute("never"), "never");
    }
}
