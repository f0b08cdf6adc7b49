//! The real corpus (`$DIST_CORPUS`, with `truth.json`): where it is, whether a test may go
//! without it, and a conformance walk over one platform's entries.
//!
//! Without `CI` and `DIST_CORPUS` a corpus test is skipped with a note. With either set, it
//! runs and fails on anything missing: the folder, `truth.json`, a listed file, or a
//! platform with no entries. `CI` without `DIST_CORPUS` is a failure too: a CI run that
//! forgot the corpus must not pass by skipping it.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn set(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether corpus tests must run (and fail on anything missing).
pub fn required() -> bool {
    set("CI") || set("DIST_CORPUS")
}

/// `$DIST_CORPUS`, resolved against the workspace root when relative. `None` (skip) when
/// neither `CI` nor `DIST_CORPUS` is set; panics when `CI` is set without it, or when the
/// folder does not exist.
pub fn dir() -> Option<PathBuf> {
    let Some(v) = std::env::var_os("DIST_CORPUS").filter(|v| !v.is_empty()) else {
        assert!(
            !required(),
            "CI is set but DIST_CORPUS is not: point it at the corpus folder (for example ../shared/fixtures/real)"
        );
        eprintln!("note: DIST_CORPUS is not set; corpus checks skipped");
        return None;
    };
    let p = PathBuf::from(v);
    let p = if p.is_absolute() {
        p
    } else {
        crate::workspace_root().join(p)
    };
    assert!(
        p.is_dir(),
        "DIST_CORPUS is set but {} is not a folder",
        p.display()
    );
    Some(p)
}

/// The corpus files of one platform folder (`ios`, `android`, ...) with one of `exts`;
/// `None` when the corpus is not required. Panics when it is and the folder is missing or
/// holds none.
pub fn platform_files(platform: &str, exts: &[&str]) -> Option<Vec<PathBuf>> {
    let d = dir()?.join(platform);
    assert!(
        d.is_dir(),
        "DIST_CORPUS is set but {} is missing",
        d.display()
    );
    let files = crate::files_with(&d, exts);
    assert!(!files.is_empty(), "{} holds no {exts:?} files", d.display());
    Some(files)
}

/// One `truth.json` entry with its file, which exists.
#[derive(Debug, Clone)]
pub struct Entry {
    /// As listed: `ios/icyleaf-iphone.ipa`.
    pub file: String,
    pub path: PathBuf,
    pub truth: Value,
}

impl Entry {
    /// The base name of the file.
    pub fn name(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }
}

/// The `truth.json` entries of `platform`; `None` when the corpus is not required. Panics
/// when it is and `truth.json`, any listed file or every entry of the platform is missing.
pub fn entries(platform: &str) -> Option<Vec<Entry>> {
    let d = dir()?;
    let truth_path = d.join("truth.json");
    let truth: Value = serde_json::from_slice(
        &std::fs::read(&truth_path).unwrap_or_else(|e| panic!("{}: {e}", truth_path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", truth_path.display()));
    let out: Vec<Entry> = truth
        .as_array()
        .unwrap_or_else(|| panic!("{} is not a list", truth_path.display()))
        .iter()
        .filter(|t| t["platform"] == platform)
        .map(|t| {
            let file = t["file"]
                .as_str()
                .unwrap_or_else(|| panic!("a {platform} entry of truth.json has no file"))
                .to_owned();
            let path = d.join(&file);
            assert!(
                path.is_file(),
                "{} is listed in truth.json but missing from the corpus",
                path.display()
            );
            Entry {
                file,
                path,
                truth: t.clone(),
            }
        })
        .collect();
    assert!(!out.is_empty(), "truth.json lists no {platform} files");
    Some(out)
}

/// Compares `got` with the truth's `want` unless the truth leaves the field null.
pub fn check(field: &str, want: &Value, got: &Value, file: &str, mismatches: &mut Vec<String>) {
    if !want.is_null() && want != got {
        mismatches.push(format!("{file}: {field}: want {want}, got {got}"));
    }
}

/// [`check`] for each of `fields` of `want` and `got`, named `{prefix}{field}` in a mismatch
/// (`prefix` is `""` at the top level, `"signature."` inside the signature).
pub fn check_fields(
    prefix: &str,
    want: &Value,
    got: &Value,
    fields: &[&str],
    file: &str,
    mismatches: &mut Vec<String>,
) {
    for field in fields {
        check(
            &format!("{prefix}{field}"),
            &want[field],
            &got[field],
            file,
            mismatches,
        );
    }
}

/// The conformance walk: runs `compare` on every entry of `platform` (it pushes one line per
/// disagreement), prints `N of M files, all fields` and fails listing every mismatch. Skips
/// only when the corpus is not required.
pub fn conformance(platform: &str, mut compare: impl FnMut(&Entry, &mut Vec<String>)) {
    let Some(entries) = entries(platform) else {
        return;
    };
    let mut mismatches = Vec::new();
    let mut agreeing = 0;
    for e in &entries {
        let before = mismatches.len();
        compare(e, &mut mismatches);
        if mismatches.len() == before {
            agreeing += 1;
        }
    }
    println!("{agreeing} of {} files, all fields", entries.len());
    assert!(
        mismatches.is_empty(),
        "mismatches:\n{}",
        mismatches.join("\n")
    );
}

/// The project's own fixtures of a platform (`fixtures/<platform>`).
pub fn fixtures(platform: &str) -> PathBuf {
    crate::workspace_root().join("fixtures").join(platform)
}

/// The files with one of `exts` among a platform's own fixtures (there must be some) and,
/// when the corpus is required, its corpus folder: what every robustness test walks.
pub fn fixtures_and_corpus(platform: &str, exts: &[&str]) -> Vec<PathBuf> {
    let mut files = crate::files_with(&fixtures(platform), exts);
    assert!(!files.is_empty(), "no fixtures in fixtures/{platform}");
    files.extend(platform_files(platform, exts).unwrap_or_default());
    files
}

/// Reads a file, failing with its name.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
