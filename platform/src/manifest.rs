//! `dist.json`, the manifest a CI job hands to `dist ci publish`. Parsed once, at the edge,
//! into validated types; every refusal names the field.

use serde::{Deserialize, Serialize};

use crate::{AppSlug, Arch, Build, ChannelName, InstallMode, PlatformId, Version, validate_link};

/// The `schema_version` a manifest is written in today.
pub const MANIFEST_SCHEMA_VERSION: u32 = 2;

/// Every `schema_version` `dist` reads; older ones are migrated on read, with a warning
/// naming the edit (see [`Migration`]).
pub const MANIFEST_READABLE_VERSIONS: [u32; 2] = [1, 2];

/// Largest manifest accepted; a real one is a few hundred bytes.
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema_version: u32,
    pub app: AppSlug,
    /// The app's display name, used when `dist ci publish` creates the app (a token with the
    /// create-app scope); ignored when the app exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    pub version: Version,
    pub build: Build,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    pub artifacts: Vec<ManifestArtifact>,
}

/// Where a release came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestArtifact {
    /// Relative to the manifest's folder; may be a glob. Absent for a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<InstallMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
    /// An https link instead of a file; the artifact's platform decides which links it takes.
    /// Called `testflight_url` in schema_version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The notarization submission of this file (`{"submission_id", "status"}`), shown
    /// beside what the file carries; its platform's target says which files take one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notarization: Option<crate::Notarization>,
}

/// A manifest as read, with what was migrated from an older `schema_version` to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadManifest {
    pub manifest: Manifest,
    pub migration: Option<Migration>,
}

/// How an older manifest was read: the version it declared and the edits that bring the file
/// to [`MANIFEST_SCHEMA_VERSION`] (each names a JSON path, e.g.
/// `artifacts[1]: rename "testflight_url" to "link"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub from: u32,
    pub edits: Vec<String>,
}

impl Migration {
    /// One line for a user: what was read, and the exact edit that updates the file.
    pub fn warning(&self) -> String {
        let mut edits = self.edits.join("; ");
        if edits.is_empty() {
            edits = format!("set \"schema_version\": {MANIFEST_SCHEMA_VERSION}");
        } else {
            edits.push_str(&format!(
                " and set \"schema_version\": {MANIFEST_SCHEMA_VERSION}"
            ));
        }
        format!(
            "schema_version {} is read by migrating it to {MANIFEST_SCHEMA_VERSION}; update the file: {edits}",
            self.from
        )
    }
}

/// A manifest refused, with the JSON path of the bad field (`artifacts[1].path`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ManifestError {
    pub field: String,
    pub message: String,
}

impl ManifestError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Manifest {
    /// Parses and validates manifest bytes, migrating an older `schema_version`; the migration
    /// notes are dropped (a caller that shows them uses [`Manifest::read`]).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        Self::read(bytes).map(|r| r.manifest)
    }

    /// Parses and validates manifest bytes. A version-1 manifest is migrated (its
    /// `testflight_url` fields become `link`) and the edits are returned; any other version
    /// than those in [`MANIFEST_READABLE_VERSIONS`] is refused.
    pub fn read(bytes: &[u8]) -> Result<ReadManifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::new(
                "(file)",
                format!(
                    "{} bytes, more than the {MAX_MANIFEST_BYTES}-byte limit",
                    bytes.len()
                ),
            ));
        }
        // Look at schema_version first so an old or new manifest gets the right message
        // rather than a complaint about a field it renamed.
        let mut raw: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ManifestError::new("(file)", format!("not valid JSON: {e}")))?;
        let readable = MANIFEST_READABLE_VERSIONS
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" and ");
        let version = match raw.get("schema_version") {
            Some(v) => match v.as_u64() {
                Some(n)
                    if MANIFEST_READABLE_VERSIONS
                        .iter()
                        .any(|r| u64::from(*r) == n) =>
                {
                    n as u32
                }
                _ => {
                    return Err(ManifestError::new(
                        "schema_version",
                        format!(
                            "{v} is not supported; this dist reads schema_version {readable} \
                             (write {MANIFEST_SCHEMA_VERSION})"
                        ),
                    ));
                }
            },
            None => {
                return Err(ManifestError::new(
                    "schema_version",
                    format!("missing; add \"schema_version\": {MANIFEST_SCHEMA_VERSION}"),
                ));
            }
        };
        let migration = match version {
            1 => Some(migrate_v1(&mut raw)?),
            _ => {
                refuse_old_fields(&raw)?;
                None
            }
        };
        let manifest = Self::parse_current(&raw)?;
        Ok(ReadManifest {
            manifest,
            migration,
        })
    }

    fn parse_current(raw: &serde_json::Value) -> Result<Self, ManifestError> {
        let manifest: Manifest = serde_path_to_error::deserialize(raw).map_err(|e| {
            let path = e.path().to_string();
            // The root prints as "." and a key that is the empty string as nothing at all.
            let field = if path == "." || path.is_empty() {
                "(file)".to_owned()
            } else {
                path
            };
            let message = plain_message(&field, &e.into_inner().to_string());
            ManifestError::new(field, message)
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), ManifestError> {
        if self.artifacts.is_empty() {
            return Err(ManifestError::new(
                "artifacts",
                "empty; list at least one artifact",
            ));
        }
        if self.artifacts.len() > 256 {
            return Err(ManifestError::new("artifacts", "more than 256 entries"));
        }
        if let Some(notes) = &self.notes
            && notes.len() > 64 * 1024
        {
            return Err(ManifestError::new("notes", "longer than 64 KiB"));
        }
        if let Some(name) = &self.app_name
            && (name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control))
        {
            return Err(ManifestError::new(
                "app_name",
                "1 to 200 characters without control characters, e.g. \"Acme Mobile\"",
            ));
        }
        if let Some(source) = &self.source {
            for (name, value) in [
                ("commit", &source.commit),
                ("branch", &source.branch),
                ("ci_url", &source.ci_url),
            ] {
                if value
                    .as_ref()
                    .is_some_and(|v| v.len() > 2048 || v.chars().any(char::is_control))
                {
                    return Err(ManifestError::new(
                        format!("source.{name}"),
                        "longer than 2048 bytes or holds control characters",
                    ));
                }
            }
        }
        for (n, a) in self.artifacts.iter().enumerate() {
            let field = |f: &str| format!("artifacts[{n}].{f}");
            match (&a.path, &a.link) {
                (Some(_), Some(_)) => {
                    return Err(ManifestError::new(
                        field("link"),
                        "give either path (a file) or link (a link), not both",
                    ));
                }
                (None, None) => {
                    return Err(ManifestError::new(
                        field("path"),
                        "missing; give a file path or a link",
                    ));
                }
                (Some(path), None) => {
                    check_relative_path(path).map_err(|m| ManifestError::new(field("path"), m))?;
                    if let Some(n) = &a.notarization {
                        n.validate().map_err(|m| {
                            ManifestError::new(field("notarization.submission_id"), m)
                        })?;
                    }
                }
                (None, Some(_)) if a.notarization.is_some() => {
                    return Err(ManifestError::new(
                        field("notarization"),
                        "a link has no notarization; list it with the file it belongs to",
                    ));
                }
                (None, Some(url)) => {
                    // The shape only: which links a platform takes, and with which install
                    // mode, its target decides when the release is planned.
                    validate_link(url)
                        .map_err(|e| ManifestError::new(field("link"), e.to_string()))?;
                }
            }
        }
        Ok(())
    }
}

/// Brings a version-1 manifest to the current shape in place: each artifact's
/// `testflight_url` becomes `link`. Returns the edits, by JSON path, that update the file.
fn migrate_v1(raw: &mut serde_json::Value) -> Result<Migration, ManifestError> {
    let mut edits = Vec::new();
    if let Some(artifacts) = raw.get_mut("artifacts").and_then(|a| a.as_array_mut()) {
        for (n, a) in artifacts.iter_mut().enumerate() {
            let Some(obj) = a.as_object_mut() else {
                continue;
            };
            if obj.contains_key("link") {
                return Err(ManifestError::new(
                    format!("artifacts[{n}].link"),
                    format!(
                        "\"link\" is schema_version {MANIFEST_SCHEMA_VERSION}; set \"schema_version\": {MANIFEST_SCHEMA_VERSION}"
                    ),
                ));
            }
            if let Some(url) = obj.remove("testflight_url") {
                obj.insert("link".to_owned(), url);
                edits.push(format!(
                    "artifacts[{n}]: rename \"testflight_url\" to \"link\""
                ));
            }
        }
    }
    raw["schema_version"] = serde_json::Value::from(MANIFEST_SCHEMA_VERSION);
    Ok(Migration { from: 1, edits })
}

/// A current manifest that still uses a version-1 field name gets the rename, not just
/// "unknown field".
fn refuse_old_fields(raw: &serde_json::Value) -> Result<(), ManifestError> {
    let Some(artifacts) = raw.get("artifacts").and_then(|a| a.as_array()) else {
        return Ok(());
    };
    for (n, a) in artifacts.iter().enumerate() {
        if a.get("testflight_url").is_some() {
            return Err(ManifestError::new(
                format!("artifacts[{n}].testflight_url"),
                format!(
                    "renamed in schema_version {MANIFEST_SCHEMA_VERSION}; rename \"testflight_url\" to \"link\""
                ),
            ));
        }
    }
    Ok(())
}

/// Example values for messages that depend on the linked targets: a platform, a file and an
/// install mode this binary really takes, drawn from the registry so that this crate names no
/// platform. Without targets (this crate's own tests) they fall back to placeholders.
struct Examples {
    platform: Option<String>,
    path: String,
    install: Option<String>,
    /// `an artifact object, such as ...`, for a message that expected one.
    artifact: String,
    /// `[{"path": ...}]`.
    artifacts: String,
}

fn examples() -> &'static Examples {
    static EXAMPLES: std::sync::OnceLock<Examples> = std::sync::OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let targets = crate::registry().targets();
        let file = targets.iter().find_map(|t| {
            t.kinds()
                .iter()
                .find(|k| k.publishable)
                .map(|k| (t.id(), k.kind))
        });
        let path = format!(
            r#""out/app-release.{}""#,
            file.map_or("bin", |(_, kind)| kind)
        );
        // A target that takes links answers for any https URL, if only to refuse it.
        let linker = targets
            .iter()
            .find(|t| t.link_artifact("https://example.com/").is_some())
            .map(|t| t.id());
        let mut artifact = format!("an artifact object, such as {{\"path\": {path}}}");
        if let Some(id) = linker {
            artifact.push_str(&format!(
                r#" or {{"platform": "{id}", "link": "https://..."}}"#
            ));
        }
        Examples {
            platform: file.map(|(id, _)| format!(r#""{id}""#)),
            artifacts: format!(r#"[{{"path": {path}}}]"#),
            path,
            install: targets
                .iter()
                .find_map(|t| t.modes().first())
                .map(|m| format!(r#""{}""#, m.id)),
            artifact,
        }
    })
}

/// An example value for a field, by its last path segment, for messages.
fn example_of(field: &str) -> Option<&'static str> {
    let last = field.rsplit('.').next().unwrap_or(field);
    let last = last.split('[').next().unwrap_or(last);
    Some(match last {
        "app" => r#""acme""#,
        "app_name" => r#""Acme Mobile""#,
        "version" => r#""1.4.0""#,
        "build" => r#""1234""#,
        "notes" => r#""Fixes the login crash""#,
        "channel" => r#""beta""#,
        "commit" => r#""3f2c1ab""#,
        "branch" => r#""main""#,
        "ci_url" => r#""https://ci.example.com/builds/1""#,
        "path" => &examples().path,
        "platform" => examples().platform.as_deref()?,
        "install" => examples().install.as_deref()?,
        "arch" => r#""arm64""#,
        "link" => r#""https://...""#,
        "notarization" => {
            r#"{"submission_id": "2efe2717-52ef-43a5-96dc-0797e4ca1041", "status": "accepted"}"#
        }
        "submission_id" => r#""2efe2717-52ef-43a5-96dc-0797e4ca1041""#,
        "status" => r#""accepted""#,
        "source" => r#"{"commit": "3f2c1ab", "branch": "main"}"#,
        "artifacts" => &examples().artifacts,
        _ => return None,
    })
}

/// A serde message in the manifest's terms (issue 12, item 3): JSON kinds instead of Rust
/// type names (`expected struct ManifestArtifact` becomes an object with an example), and an
/// example value for the field.
fn plain_message(field: &str, message: &str) -> String {
    let artifact = &examples().artifact;
    const SOURCE: &str = r#"an object, such as {"commit": "3f2c1ab", "branch": "main", "ci_url": "https://ci.example.com/builds/1"}"#;
    const MANIFEST: &str =
        r#"a JSON object with "schema_version", "app", "version", "build" and "artifacts""#;
    let mut m = message
        .replace(
            "expected struct ManifestArtifact",
            &format!("expected {artifact}"),
        )
        .replace("expected struct Source", &format!("expected {SOURCE}"))
        .replace("expected struct Manifest", &format!("expected {MANIFEST}"))
        .replace("invalid type: map", "invalid type: object")
        .replace("invalid type: sequence", "invalid type: array")
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected an object");
    if (m.contains("expected a string") || m.contains("expected an array"))
        && let Some(ex) = example_of(field)
    {
        let at = m.find(" at line ").unwrap_or(m.len());
        m.insert_str(at, &format!(", such as {ex}"));
    }
    m
}

/// A manifest path must stay inside the manifest's folder: relative, no `..` segment that
/// climbs out, no drive letters or backslashes.
pub fn check_relative_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty".into());
    }
    if path.starts_with('/') || path.contains('\\') || path.contains(':') || path.contains('\0') {
        return Err(format!(
            "{path:?} must be a relative path with '/' separators inside the manifest's folder"
        ));
    }
    let mut depth: i32 = 0;
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("{path:?} escapes the manifest's folder"));
                }
            }
            _ => depth += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{ "schema_version": 2, "app": "acme", "app_name": "Acme", "version": "1.4.0", "build": "1234",
      "notes": "optional text", "channel": "beta",
      "source": {"commit": "abc", "branch": "main", "ci_url": "https://ci/1"},
      "artifacts": [
        {"path": "out/app.ipa", "platform": "ios", "install": "enterprise"},
        {"path": "out/app-release.apk"},
        {"path": "out/*.deb", "arch": "amd64"},
        {"platform": "ios", "link": "https://testflight.apple.com/join/ABCDEFGH"} ] }"#;

    fn err(json: &str) -> ManifestError {
        Manifest::from_json(json.as_bytes()).unwrap_err()
    }

    #[test]
    fn documented_example_parses() {
        let m = Manifest::from_json(GOOD.as_bytes()).unwrap();
        assert_eq!(m.app.as_str(), "acme");
        assert_eq!(m.artifacts.len(), 4);
        assert_eq!(
            m.artifacts[0].install.as_ref().map(|m| m.as_str()),
            Some("enterprise")
        );
    }

    #[test]
    fn names_the_bad_field() {
        assert_eq!(err(&GOOD.replace("\"acme\"", "\"Acme!\"")).field, "app");
        assert_eq!(
            err(&GOOD.replace("\"enterprise\"", "\"Magic!\"")).field,
            "artifacts[0].install"
        );
        assert_eq!(
            err(&GOOD.replace("out/app-release.apk", "../../etc/passwd")).field,
            "artifacts[1].path"
        );
        assert_eq!(
            err(&GOOD.replace("out/app-release.apk", "/etc/passwd")).field,
            "artifacts[1].path"
        );
        assert_eq!(
            err(&GOOD.replace("https://testflight", "http://testflight")).field,
            "artifacts[3].link"
        );
        let unknown = err(&GOOD.replace("\"notes\"", "\"nots\""));
        assert!(unknown.message.contains("unknown field"), "{unknown}");
        // Found by the `manifest` fuzz target: a key that is the empty string used to give
        // an empty field name.
        let empty_key = err(&GOOD.replace("\"version\"", "\"\""));
        assert_eq!(empty_key.field, "(file)", "{empty_key}");
        assert!(
            empty_key.message.contains("unknown field ``"),
            "{empty_key}"
        );
    }

    #[test]
    fn a_notarization_submission_is_checked_where_it_stands() {
        let with = |n: &str| {
            GOOD.replace(
                r#"{"path": "out/app-release.apk"}"#,
                &format!(r#"{{"path": "out/app-release.apk", "notarization": {n}}}"#),
            )
        };
        let id = "2efe2717-52ef-43a5-96dc-0797e4ca1041";
        let m = Manifest::from_json(
            with(&format!(
                r#"{{"submission_id": "{id}", "status": "in-progress"}}"#
            ))
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            m.artifacts[1].notarization.as_ref().map(|n| n.status),
            Some(crate::NotarizationStatus::InProgress)
        );
        let e = err(&with(&format!(
            r#"{{"submission_id": "{id}", "status": "done"}}"#
        )));
        assert_eq!(e.field, "artifacts[1].notarization.status", "{e}");
        assert!(
            e.message.contains("accepted") && e.message.contains("in-progress"),
            "{e}"
        );
        let e = err(&with(r#"{"submission_id": "42", "status": "accepted"}"#));
        assert_eq!(e.field, "artifacts[1].notarization.submission_id", "{e}");
        let e = err(&GOOD.replace(
            r#""link": "https://testflight.apple.com/join/ABCDEFGH""#,
            &format!(
                r#""link": "https://testflight.apple.com/join/ABCDEFGH", "notarization": {{"submission_id": "{id}", "status": "accepted"}}"#
            ),
        ));
        assert_eq!(e.field, "artifacts[3].notarization", "{e}");
    }

    #[test]
    fn schema_version_messages() {
        let e = err(&GOOD.replace("\"schema_version\": 2", "\"schema_version\": 3"));
        assert_eq!(e.field, "schema_version");
        assert!(e.message.contains("reads schema_version 1 and 2"), "{e}");
        let e = err(&GOOD.replace("\"schema_version\": 2", "\"schema_version\": \"2\""));
        assert_eq!(e.field, "schema_version");
        assert_eq!(err(r#"{"app":"a"}"#).field, "schema_version");
        assert_eq!(err("not json").field, "(file)");
    }

    /// Issue 14, item 2: a version-1 manifest reads as the same version-2 manifest, with the
    /// exact edit named; a version-2 manifest with the old field name gets the rename.
    #[test]
    fn version_1_is_migrated_with_the_edit_named() {
        let v1 = GOOD
            .replace("\"schema_version\": 2", "\"schema_version\": 1")
            .replace("\"link\"", "\"testflight_url\"");
        let read = Manifest::read(v1.as_bytes()).unwrap();
        assert_eq!(read.manifest, Manifest::from_json(GOOD.as_bytes()).unwrap());
        assert_eq!(read.manifest.schema_version, 2);
        let m = read.migration.unwrap();
        assert_eq!(m.from, 1);
        assert_eq!(
            m.warning(),
            "schema_version 1 is read by migrating it to 2; update the file: \
             artifacts[3]: rename \"testflight_url\" to \"link\" and set \"schema_version\": 2"
        );
        assert!(Manifest::read(GOOD.as_bytes()).unwrap().migration.is_none());
        let plain_v1 = r#"{"schema_version": 1, "app": "acme", "version": "1.0", "build": "1",
            "artifacts": [{"path": "a.apk"}]}"#;
        let m = Manifest::read(plain_v1.as_bytes())
            .unwrap()
            .migration
            .unwrap();
        assert!(m.edits.is_empty());
        assert!(
            m.warning().ends_with("set \"schema_version\": 2"),
            "{}",
            m.warning()
        );

        let old_in_v2 = err(&GOOD.replace("\"link\"", "\"testflight_url\""));
        assert_eq!(old_in_v2.field, "artifacts[3].testflight_url");
        assert!(old_in_v2.message.contains("to \"link\""), "{old_in_v2}");
        let new_in_v1 = err(&GOOD.replace("\"schema_version\": 2", "\"schema_version\": 1"));
        assert_eq!(new_in_v1.field, "artifacts[3].link");
    }

    /// Issue 12, item 3: messages speak JSON, never Rust type names, and show an example.
    #[test]
    fn errors_never_name_rust_types() {
        let head = r#"{"schema_version": 2, "app": "acme", "version": "1.0", "build": "1", "#;
        let cases = [
            (
                r#""artifacts": ["app.apk"]}"#,
                "artifacts[0]",
                r#"{"path": "#,
            ),
            (
                r#""artifacts": {"path": "a"}}"#,
                "artifacts",
                "expected an array",
            ),
            (
                r#""source": "abc", "artifacts": [{"path": "a"}]}"#,
                "source",
                r#"{"commit""#,
            ),
            (
                r#""artifacts": [{"path": 5}]}"#,
                "artifacts[0].path",
                "out/app-release.",
            ),
            (
                r#""artifacts": [{"path": "a", "arch": 5}]}"#,
                "artifacts[0].arch",
                r#""arm64""#,
            ),
            (
                r#""channel": 5, "artifacts": [{"path": "a"}]}"#,
                "channel",
                r#""beta""#,
            ),
            (
                r#""notes": [], "artifacts": [{"path": "a"}]}"#,
                "notes",
                "invalid type: array",
            ),
            (
                r#""artifacts": [{"path": "a", "install": "X!"}]}"#,
                "artifacts[0].install",
                "a-z, 0-9",
            ),
        ];
        for (tail, field, wanted) in cases {
            let e = err(&format!("{head}{tail}"));
            assert_eq!(e.field, field, "{e}");
            assert!(e.message.contains(wanted), "{e}");
            for rust in ["struct", "Manifest", "Source", "enum", "sequence", " map"] {
                assert!(!e.message.contains(rust), "{rust:?} in {e}");
            }
        }
        let e = err(r#"{"schema_version": 2, "version": 1}"#);
        assert!(e.message.contains("\"1.4.0\""), "{e}");
    }

    #[test]
    fn paths() {
        assert!(check_relative_path("out/a.apk").is_ok());
        assert!(check_relative_path("out/../a.apk").is_ok());
        assert!(check_relative_path("out/../../a.apk").is_err());
        assert!(check_relative_path("C:/a.apk").is_err());
        assert!(check_relative_path("out\\a.apk").is_err());
    }
}
