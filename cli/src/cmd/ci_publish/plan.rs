//! Steps 1 and 2: read the manifest, expand its globs, inspect and hash every file locally and
//! run the checks that can stop the job before any upload.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use platform::api::{App, Artifact, ArtifactSpec, Release};
use platform::manifest::{MAX_MANIFEST_BYTES, Manifest, ManifestArtifact, check_relative_path};
use platform::versions::{MismatchPolicy, version_mismatch};
use platform::{Admission, FileName, Finding, IdentityRules, Kind, Limits, Severity, Sha256};

use super::doc::ArtifactDoc;
use crate::exit::{Exit, Failure};
use crate::ui::{Tone, Ui, human_size};

// ---- step 1: the manifest and its files ----

/// One artifact of the expanded manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        /// Index in the manifest's `artifacts`.
        entry: usize,
        /// Canonical path, inside the manifest's folder.
        path: PathBuf,
        name: FileName,
    },
    Link {
        entry: usize,
        url: String,
    },
}

/// Reads and validates the manifest; returns it with its folder, canonicalised, and the
/// migration note when it was written in an older `schema_version` (the caller shows it).
pub fn load_manifest(path: &Path) -> Result<(Manifest, PathBuf, Option<String>), Failure> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| Failure::manifest(format!("cannot read manifest {shown}: {e}")))?;
    if !meta.is_file() {
        return Err(Failure::manifest(format!(
            "manifest {shown} is not a regular file"
        )));
    }
    if meta.len() > MAX_MANIFEST_BYTES as u64 {
        return Err(Failure::manifest(format!(
            "manifest {shown}: {} bytes, more than the {MAX_MANIFEST_BYTES}-byte limit",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::manifest(format!("cannot read manifest {shown}: {e}")))?;
    let read =
        Manifest::read(&bytes).map_err(|e| Failure::manifest(format!("manifest {shown}: {e}")))?;
    let manifest = read.manifest;
    let warning = read
        .migration
        .map(|m| format!("manifest {shown}: {}", m.warning()));
    let canonical = std::fs::canonicalize(path)
        .map_err(|e| Failure::manifest(format!("cannot resolve manifest {shown}: {e}")))?;
    let dir = canonical
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| Failure::manifest(format!("manifest {shown} has no folder")))?;
    Ok((manifest, dir, warning))
}

/// Expands each entry's path (a glob) inside `dir`. Refuses an entry that matches no file,
/// a match that resolves outside `dir` (through `..` or a symlink), and a file two entries
/// match.
pub fn expand(manifest: &Manifest, dir: &Path) -> Result<Vec<Entry>, Failure> {
    let dir_text = dir.to_str().ok_or_else(|| {
        Failure::manifest(format!(
            "the manifest's folder {} is not UTF-8",
            dir.display()
        ))
    })?;
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let mut out = Vec::new();
    let mut seen: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for (n, a) in manifest.artifacts.iter().enumerate() {
        let field = format!("artifacts[{n}].path");
        let Some(rel) = &a.path else {
            if let Some(url) = &a.link {
                out.push(Entry::Link {
                    entry: n,
                    url: url.clone(),
                });
            }
            continue;
        };
        check_relative_path(rel).map_err(|m| Failure::manifest(format!("{field}: {m}")))?;
        let pattern = format!("{}/{rel}", glob::Pattern::escape(dir_text));
        let paths = glob::glob_with(&pattern, options)
            .map_err(|e| Failure::manifest(format!("{field}: {rel:?} is not a valid glob: {e}")))?;
        let mut matched = 0usize;
        for p in paths {
            let p = p.map_err(|e| Failure::usage(format!("{field}: {e}")))?;
            let canonical = std::fs::canonicalize(&p)
                .map_err(|e| Failure::usage(format!("{field}: {}: {e}", p.display())))?;
            if !canonical.starts_with(dir) {
                return Err(Failure::manifest(format!(
                    "{field}: {} resolves to {}, outside the manifest's folder {}",
                    p.display(),
                    canonical.display(),
                    dir.display()
                )));
            }
            if !canonical.is_file() {
                continue;
            }
            if let Some(first) = seen.insert(canonical.clone(), n) {
                return Err(Failure::manifest(format!(
                    "{field}: {} is also matched by artifacts[{first}].path; list each file once",
                    p.display()
                )));
            }
            let base = p
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = FileName::try_from(base)
                .map_err(|e| Failure::manifest(format!("{field}: {}: {e}", p.display())))?;
            matched += 1;
            out.push(Entry::File {
                entry: n,
                path: canonical,
                name,
            });
        }
        if matched == 0 {
            return Err(Failure::manifest(format!(
                "{field}: {rel:?} matches no file in {}",
                dir.display()
            )));
        }
        if out.len() > 256 {
            return Err(Failure::manifest(
                "the manifest's globs match more than 256 files",
            ));
        }
    }
    Ok(out)
}

// ---- step 2: local checks ----

/// One artifact on its way to the server.
#[derive(Debug, Clone)]
pub(super) struct Planned {
    /// For files; `None` for a TestFlight link.
    pub(super) path: Option<PathBuf>,
    pub(super) spec: ArtifactSpec,
    pub(super) kind: Option<Kind>,
    /// Local findings: the inspection's, install mode and identity checks.
    pub(super) findings: Vec<Finding>,
    /// The local inspection, for version checks.
    pub(super) inspection: Option<platform::Inspection>,
    /// A file's admission, judged again once the app's identity rules are known.
    pub(super) admission: Option<Admission>,
}

impl Planned {
    pub(super) fn blocked(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    pub(super) fn label(&self) -> String {
        match (&self.spec.file_name, &self.spec.link) {
            (Some(n), _) => n.to_string(),
            (None, Some(u)) => u.clone(),
            _ => "(artifact)".into(),
        }
    }

    pub(super) fn local_doc(&self) -> ArtifactDoc {
        ArtifactDoc {
            id: None,
            platform: self.spec.platform.clone(),
            kind: self.kind.clone(),
            file_name: self.spec.file_name.clone(),
            sha256: self.spec.sha256,
            size: self.spec.size,
            uploaded: false,
            download_url: None,
            install_url: None,
            findings: self.findings.clone(),
        }
    }
}

pub(super) fn local_checks(
    manifest: &Manifest,
    entries: &[Entry],
    ui: &Ui,
) -> Result<Vec<Planned>, Failure> {
    let registry = platform::registry();
    let mut planned = Vec::new();
    for e in entries {
        match e {
            Entry::File { entry, path, name } => {
                let m = &manifest.artifacts[*entry];
                let (admission, sha, size) = admit_path(path, name.as_str(), m)?;
                let inspection = admission.inspection().cloned();
                let platform = admission.platform.clone().or_else(|| m.platform.clone());
                let kind = inspection.as_ref().map(|i| i.kind.clone());
                let findings = admission.findings();
                let sha = Some(sha);
                ui.note_lead(
                    Tone::Dim,
                    "checked",
                    &format!(
                        "{name}: {} {}, {}",
                        platform.as_ref().map(|p| p.as_str()).unwrap_or("?"),
                        kind.as_ref().map(|k| k.as_str()).unwrap_or("?"),
                        human_size(size)
                    ),
                );
                planned.push(Planned {
                    path: Some(path.clone()),
                    spec: ArtifactSpec {
                        file_name: Some(name.clone()),
                        sha256: sha,
                        size: Some(size),
                        platform,
                        arch: m.arch.clone(),
                        install: m.install.clone(),
                        link: None,
                        testflight_url: None,
                        notarization: m.notarization.clone(),
                    },
                    kind,
                    findings,
                    inspection,
                    admission: Some(admission),
                });
            }
            Entry::Link { entry, url } => {
                let m = &manifest.artifacts[*entry];
                let admission = platform::admission::admit_link(
                    registry,
                    url,
                    m.platform.as_ref(),
                    m.install.clone(),
                );
                let inspection = admission.inspection().cloned();
                let platform = admission.platform.clone().or_else(|| m.platform.clone());
                let kind = inspection.as_ref().map(|i| i.kind.clone());
                // The entry's place in the manifest, for a refused link.
                let findings = admission
                    .findings()
                    .into_iter()
                    .map(|mut f| {
                        if admission.refused().is_some() && f.code == "link.unsupported" {
                            f.message = format!("artifacts[{entry}].link: {}", f.message);
                        }
                        f
                    })
                    .collect();
                planned.push(Planned {
                    path: None,
                    spec: ArtifactSpec {
                        file_name: None,
                        sha256: None,
                        size: None,
                        platform,
                        arch: m.arch.clone(),
                        install: m.install.clone(),
                        link: Some(url.clone()),
                        testflight_url: None,
                        notarization: None,
                    },
                    kind,
                    findings,
                    inspection,
                    admission: Some(admission),
                });
            }
        }
    }
    Ok(planned)
}

/// Admits one local file with no identity rules yet (they come from the server, later:
/// [`check_identity`]) and hashes it. The digest needs every byte and the parse mostly
/// seeks: on two threads the whole takes about as long as the longer of the two.
fn admit_path(
    path: &Path,
    name: &str,
    entry: &ManifestArtifact,
) -> Result<(Admission, Sha256, u64), Failure> {
    let unreadable =
        |e: std::io::Error| Failure::usage(format!("{}: cannot read: {e}", path.display()));
    let mut file = File::open(path).map_err(unreadable)?;
    let mut for_hash = File::open(path).map_err(unreadable)?;
    let no_rules = IdentityRules::new();
    let req = platform::admission::Request {
        file_name: name,
        hint: entry.platform.as_ref(),
        install: entry.install.clone(),
        arch: entry.arch.as_ref(),
        notarization: entry.notarization.as_ref(),
        rules: &no_rules,
        limits: Limits::default(),
        now_unix: crate::cmd::now_unix(),
        // The app's keys live on the server: a local check reads a signature by one of them
        // as `unknown`, and distd's attach, which has them, reads it as `signed`.
        trusted_keys: &[],
    };
    let (admitted, hashed) = std::thread::scope(|s| {
        let hashing = s.spawn(move || Sha256::of_reader(&mut for_hash));
        let admitted = platform::admit(platform::registry(), &mut file, &req);
        (admitted, hashing.join())
    });
    let (sha, size) = hashed
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        .map_err(unreadable)?;
    let mut admission = admitted.map_err(|e| unreadable(e.source))?;
    if let Some(i) = admission.inspected.as_mut() {
        i.inspection.sha256 = Some(sha.hex());
    }
    Ok((admission, sha, size))
}

/// Issue 12, item 6: an IPA 1.2.3 (5) in release 2.1.0 (10) is worth a word, by the same rule
/// the server applies when it publishes. A warning (printed here, once) unless the app's policy
/// (or `--strict-versions`) makes it an error that stops the job before any upload.
pub(super) fn check_versions(
    manifest: &Manifest,
    planned: &mut [Planned],
    policy: MismatchPolicy,
    ui: &Ui,
) {
    for p in planned.iter_mut() {
        let Some(i) = &p.inspection else { continue };
        let Some(f) = version_mismatch(
            platform::registry(),
            i,
            &manifest.version,
            &manifest.build,
            policy,
        ) else {
            continue;
        };
        if f.severity != Severity::Error {
            ui.warn(&format!("{} {}", f.code, f.message));
        }
        p.findings.push(f);
    }
}

/// Judges every file's admission again under the app's identity rules (the last step of
/// `platform::admit`, which the server runs on attach with the same rules).
pub(super) fn check_identity(app: &App, planned: &mut [Planned]) {
    let registry = platform::registry();
    for p in planned.iter_mut() {
        let Some(a) = p.admission.as_mut() else {
            continue;
        };
        a.judge(registry, &app.identity);
        for f in a.findings() {
            if !p.findings.contains(&f) {
                p.findings.push(f);
            }
        }
    }
}

pub(super) fn blocking_findings(planned: &[Planned]) -> Vec<Finding> {
    planned
        .iter()
        .flat_map(|p| p.findings.iter())
        .filter(|f| f.severity == Severity::Error)
        .cloned()
        .collect()
}

/// The server's artifact for one of ours: same digest and file name, or same link.
pub(super) fn find_artifact<'a>(
    release: &'a Release,
    spec: &ArtifactSpec,
) -> Result<&'a Artifact, Failure> {
    release
        .artifacts
        .iter()
        .find(|a| match (&spec.sha256, &spec.link) {
            (Some(sha), _) => a.sha256.as_ref() == Some(sha) && a.file_name == spec.file_name,
            (None, Some(url)) => a.link.as_ref() == Some(url),
            _ => false,
        })
        .ok_or_else(|| {
            Failure::new(
                Exit::Server,
                "protocol",
                format!(
                    "the server's release {} has no artifact for {}",
                    release.id,
                    spec.file_name
                        .as_ref()
                        .map(|f| f.to_string())
                        .or_else(|| spec.link.clone())
                        .unwrap_or_default()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(artifacts: &str) -> Manifest {
        Manifest::from_json(
            format!(
                r#"{{"schema_version":2,"app":"acme","version":"1.0.0","build":"7","artifacts":{artifacts}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(t.path()).unwrap().join("job");
        std::fs::create_dir_all(dir.join("out/sub")).unwrap();
        for f in [
            "out/b.apk",
            "out/a.apk",
            "out/app.ipa",
            "out/sub/c.apk",
            "out/.hidden.apk",
        ] {
            std::fs::write(dir.join(f), f).unwrap();
        }
        std::fs::write(t.path().join("secret.apk"), "outside").unwrap();
        (t, dir)
    }

    fn names(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Entry::File { entry, name, .. } => format!("{entry}:{name}"),
                Entry::Link { entry, url } => format!("{entry}:{url}"),
            })
            .collect()
    }

    #[test]
    fn globs_expand_sorted_inside_the_manifest_folder() {
        let (_t, dir) = tree();
        let m = manifest(
            r#"[{"path":"out/*.apk"},{"path":"out/app.ipa"},{"platform":"ios","link":"https://testflight.apple.com/join/ABCDEFGH"}]"#,
        );
        let e = expand(&m, &dir).unwrap();
        // `*` does not cross folders and does not match dot files.
        assert_eq!(
            names(&e),
            [
                "0:a.apk",
                "0:b.apk",
                "1:app.ipa",
                "2:https://testflight.apple.com/join/ABCDEFGH"
            ]
        );
        match &e[0] {
            Entry::File { path, .. } => assert_eq!(path, &dir.join("out/a.apk")),
            other => panic!("{other:?}"),
        }
        let e = expand(&manifest(r#"[{"path":"out/**/*.apk"}]"#), &dir).unwrap();
        assert_eq!(names(&e), ["0:a.apk", "0:b.apk", "0:c.apk"]);
    }

    #[test]
    fn empty_glob_is_refused_naming_the_entry() {
        let (_t, dir) = tree();
        let f = expand(
            &manifest(r#"[{"path":"out/a.apk"},{"path":"out/*.deb"}]"#),
            &dir,
        )
        .unwrap_err();
        assert_eq!(f.exit, Exit::Usage);
        assert_eq!(f.code, "invalid_manifest");
        assert!(
            f.message
                .starts_with("artifacts[1].path: \"out/*.deb\" matches no file"),
            "{f}"
        );
        let f = expand(&manifest(r#"[{"path":"missing.apk"}]"#), &dir).unwrap_err();
        assert!(f.message.contains("artifacts[0].path"), "{f}");
    }

    #[test]
    fn escaping_paths_are_refused() {
        let (_t, dir) = tree();
        // `..` that climbs out is refused by the manifest itself.
        let bad = Manifest::from_json(
            br#"{"schema_version":2,"app":"acme","version":"1","build":"1","artifacts":[{"path":"../secret.apk"}]}"#,
        );
        assert!(bad.is_err());
        // A symlink inside the folder that points outside it.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                dir.parent().unwrap().join("secret.apk"),
                dir.join("out/link.apk"),
            )
            .unwrap();
            let f = expand(&manifest(r#"[{"path":"out/link.apk"}]"#), &dir).unwrap_err();
            assert_eq!(f.exit, Exit::Usage);
            assert!(f.message.contains("outside the manifest's folder"), "{f}");
            let f = expand(&manifest(r#"[{"path":"out/*.apk"}]"#), &dir).unwrap_err();
            assert!(f.message.contains("outside the manifest's folder"), "{f}");
        }
    }

    #[test]
    fn a_file_matched_twice_is_refused() {
        let (_t, dir) = tree();
        let f = expand(
            &manifest(r#"[{"path":"out/*.apk"},{"path":"out/a.apk"}]"#),
            &dir,
        )
        .unwrap_err();
        assert!(
            f.message.contains("also matched by artifacts[0].path"),
            "{f}"
        );
    }

    #[test]
    fn manifest_loading_errors_are_exit_2_and_clear() {
        let t = tempfile::tempdir().unwrap();
        let missing = load_manifest(&t.path().join("dist.json")).unwrap_err();
        assert_eq!(
            (missing.exit, missing.code.as_str()),
            (Exit::Usage, "invalid_manifest")
        );
        assert!(
            missing.message.contains("cannot read manifest"),
            "{missing}"
        );
        let p = t.path().join("bad.json");
        std::fs::write(&p, "{not json").unwrap();
        let f = load_manifest(&p).unwrap_err();
        assert!(f.message.contains("not valid JSON"), "{f}");
        std::fs::write(
            &p,
            r#"{"schema_version":3,"app":"acme","version":"1","build":"1","artifacts":[]}"#,
        )
        .unwrap();
        let f = load_manifest(&p).unwrap_err();
        assert!(f.message.contains("schema_version"), "{f}");
        assert!(f.message.contains("reads schema_version 1 and 2"), "{f}");
    }
}
