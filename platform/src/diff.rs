//! What changed between two releases, per platform (issue 12, item 10): the one function
//! behind `GET /api/v1/releases/{a}/diff/{b}`, `dist release diff` and the check `dist ci
//! publish` prints before it promotes. It compares the stored inspections only; it reads no
//! file and knows no platform by name (permissions and entitlements are read from the
//! inspection's `details` keys the targets document for them: `permissions`,
//! `code_signature.entitlements`, `profile.entitlements`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::api::{Artifact, Release};
use crate::{Finding, Inspection, SCHEMA_VERSION};

/// A value before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Strings added and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl SetChange {
    fn of(from: &BTreeSet<String>, to: &BTreeSet<String>) -> Self {
        Self {
            added: to.difference(from).cloned().collect(),
            removed: from.difference(to).cloned().collect(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// One platform (and arch) of the two releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlatformDiff {
    pub platform: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// `added` or `removed` when only one release has this platform; `changed` otherwise.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Change>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Change>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Change>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_os: Option<Change>,
    /// Signer certificates by SHA-256 (`subject (sha256 prefix)`).
    #[serde(default, skip_serializing_if = "SetChange::is_empty")]
    pub signers: SetChange,
    #[serde(default, skip_serializing_if = "SetChange::is_empty")]
    pub permissions: SetChange,
    #[serde(default, skip_serializing_if = "SetChange::is_empty")]
    pub entitlements: SetChange,
    #[serde(default, skip_serializing_if = "SetChange::is_empty")]
    pub archs: SetChange,
    /// Bytes, `to` minus `from`.
    pub size_delta: i64,
    /// Findings of `to` that `from` did not have (by code and message).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseDiff {
    pub schema_version: u32,
    pub from: crate::ReleaseId,
    pub to: crate::ReleaseId,
    pub platforms: Vec<PlatformDiff>,
}

fn change(from: Option<&str>, to: Option<&str>) -> Option<Change> {
    (from != to).then(|| Change {
        from: from.map(str::to_owned),
        to: to.map(str::to_owned),
    })
}

fn signers(i: Option<&Inspection>) -> BTreeSet<String> {
    i.map(|i| {
        i.signature
            .signers
            .iter()
            .map(|s| {
                format!(
                    "{} ({})",
                    s.subject,
                    s.sha256.get(..16).unwrap_or(&s.sha256)
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

fn strings(v: Option<&serde_json::Value>) -> BTreeSet<String> {
    match v {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::Object(o)) => o.keys().cloned().collect(),
        _ => BTreeSet::new(),
    }
}

fn permissions(i: Option<&Inspection>) -> BTreeSet<String> {
    strings(i.and_then(|i| i.details.get("permissions")))
}

fn entitlements(i: Option<&Inspection>) -> BTreeSet<String> {
    let Some(i) = i else {
        return BTreeSet::new();
    };
    let from_sig = strings(
        i.details
            .get("code_signature")
            .and_then(|c| c.get("entitlements")),
    );
    if !from_sig.is_empty() {
        return from_sig;
    }
    strings(i.details.get("profile").and_then(|p| p.get("entitlements")))
}

fn archs(i: Option<&Inspection>) -> BTreeSet<String> {
    i.and_then(|i| i.archs.clone())
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn key(a: &Artifact) -> (String, Option<String>) {
    (
        a.platform
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "unknown".into()),
        a.arch.as_ref().map(|x| x.to_string()),
    )
}

/// Compares `from` with `to`, per platform and arch, in `to`'s artifact order, then what
/// only `from` has.
pub fn diff_releases(from: &Release, to: &Release) -> ReleaseDiff {
    let mut platforms = Vec::new();
    let mut seen = BTreeSet::new();
    for b in &to.artifacts {
        let k = key(b);
        if !seen.insert(k.clone()) {
            continue;
        }
        let a = from.artifacts.iter().find(|a| key(a) == k);
        platforms.push(one(k, a, Some(b)));
    }
    for a in &from.artifacts {
        let k = key(a);
        if seen.insert(k.clone()) {
            platforms.push(one(k, Some(a), None));
        }
    }
    ReleaseDiff {
        schema_version: SCHEMA_VERSION,
        from: from.id.clone(),
        to: to.id.clone(),
        platforms,
    }
}

fn one(
    (platform, arch): (String, Option<String>),
    a: Option<&Artifact>,
    b: Option<&Artifact>,
) -> PlatformDiff {
    let ia = a.and_then(|a| a.inspection.as_ref());
    let ib = b.and_then(|b| b.inspection.as_ref());
    let status = match (a, b) {
        (None, _) => "added",
        (_, None) => "removed",
        _ => "changed",
    };
    let field = |f: fn(&Inspection) -> Option<&str>| change(ia.and_then(f), ib.and_then(f));
    let size = |x: Option<&Artifact>| x.and_then(|x| x.size).unwrap_or(0) as i64;
    let new_findings = match ib {
        Some(ib) => ib
            .findings
            .iter()
            .filter(|f| {
                !ia.is_some_and(|ia| {
                    ia.findings
                        .iter()
                        .any(|g| g.code == f.code && g.message == f.message)
                })
            })
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    PlatformDiff {
        platform,
        arch,
        status: status.into(),
        version: field(|i| i.version.as_deref()),
        build: field(|i| i.build.as_deref()),
        identity: field(|i| i.identity.as_deref()),
        min_os: field(|i| i.min_os.as_deref()),
        signers: SetChange::of(&signers(ia), &signers(ib)),
        permissions: SetChange::of(&permissions(ia), &permissions(ib)),
        entitlements: SetChange::of(&entitlements(ia), &entitlements(ib)),
        archs: SetChange::of(&archs(ia), &archs(ib)),
        size_delta: size(b) - size(a),
        new_findings,
    }
}

/// Human lines for one platform's changes (the CLI prints them; the admin UI may too).
pub fn describe(p: &PlatformDiff) -> Vec<String> {
    let mut out = Vec::new();
    let arch = p
        .arch
        .as_deref()
        .map(|a| format!("/{a}"))
        .unwrap_or_default();
    let head = format!("{}{arch}", p.platform);
    if p.status != "changed" {
        out.push(format!("{head}: {}", p.status));
    }
    let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "(none)".into());
    for (name, c) in [
        ("version", &p.version),
        ("build", &p.build),
        ("identity", &p.identity),
        ("min OS", &p.min_os),
    ] {
        if let Some(c) = c {
            out.push(format!(
                "{head}: {name} {} -> {}",
                show(&c.from),
                show(&c.to)
            ));
        }
    }
    for (name, s) in [
        ("signer", &p.signers),
        ("permission", &p.permissions),
        ("entitlement", &p.entitlements),
        ("arch", &p.archs),
    ] {
        for x in &s.added {
            out.push(format!("{head}: {name} added: {x}"));
        }
        for x in &s.removed {
            out.push(format!("{head}: {name} removed: {x}"));
        }
    }
    if p.size_delta != 0 {
        out.push(format!("{head}: size {:+} bytes", p.size_delta));
    }
    for f in &p.new_findings {
        out.push(format!("{head}: new finding {} {}", f.code, f.message));
    }
    out
}
