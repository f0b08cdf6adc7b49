//! `dist inspect FILE...`: runs the linked targets on local files, no server needed. Also
//! home of the local inspection `dist ci publish` runs before it uploads anything.

use std::fs::File;
use std::path::{Path, PathBuf};

use clap::Args;
use platform::{
    DetectError, Finding, Inspection, InstallMode, Limits, Parse, PlatformId, Severity,
};
use serde_json::json;

use crate::Ctx;
#[cfg(test)]
use crate::exit::Exit;
use crate::exit::Failure;
use crate::ui::{self, or_dash};

pub const AFTER_HELP: &str = "\
Prints the Inspection JSON with --json (one object for one file, an array for several), else
a table. Exits 3 if a file is rejected or has error findings, 2 if a file cannot be read.

Examples:
  dist inspect app-release.apk
  dist inspect --json out/App.ipa out/app.apk";

#[derive(Args)]
pub struct InspectArgs {
    /// Files to inspect
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The platform the files must be (refuses a file of another platform)
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<PlatformId>,
}

/// The result of inspecting one local file.
#[derive(Debug, Clone)]
pub enum Local {
    /// A target read it; `sha256` is filled.
    Inspected(Box<Inspection>),
    /// No target took it, or it is not the platform the caller expected.
    Refused {
        file: String,
        size: u64,
        sha256: Option<String>,
        finding: Finding,
    },
}

impl Local {
    pub fn has_errors(&self) -> bool {
        match self {
            Self::Inspected(i) => i.has_errors(),
            Self::Refused { .. } => true,
        }
    }

    pub fn findings(&self) -> Vec<Finding> {
        match self {
            Self::Inspected(i) => i.findings.clone(),
            Self::Refused { finding, .. } => vec![finding.clone()],
        }
    }

    /// The Inspection JSON, or for a refused file the same shape with what is known.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Inspected(i) => serde_json::to_value(i).unwrap_or(serde_json::Value::Null),
            Self::Refused {
                file,
                size,
                sha256,
                finding,
            } => json!({
                "schema_version": platform::SCHEMA_VERSION,
                "file": file,
                "sha256": sha256,
                "size": size,
                "platform": null,
                "kind": null,
                "parse": Parse::Reject,
                "findings": [finding],
            }),
        }
    }
}

/// Inspects and hashes one file. `name` is the file name shown in findings. The install mode
/// (the one asked for, else the target's default) adds its findings, as the server does at
/// attach. An unreadable file is a usage failure (exit 2); a file no target accepts is
/// [`Local::Refused`].
pub fn inspect_path(
    path: &Path,
    name: &str,
    expected: Option<&PlatformId>,
    install: Option<InstallMode>,
) -> Result<Local, Failure> {
    let unreadable =
        |e: std::io::Error| Failure::usage(format!("{}: cannot read: {e}", path.display()));
    let mut file = File::open(path).map_err(unreadable)?;
    if !file.metadata().map_err(unreadable)?.is_file() {
        return Err(Failure::usage(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    // The digest needs every byte and the parse mostly seeks: on two threads the whole takes
    // about as long as the longer of the two instead of their sum.
    let mut for_hash = File::open(path).map_err(unreadable)?;
    let (result, hashed) = std::thread::scope(|s| {
        let hashing = s.spawn(move || platform::Sha256::of_reader(&mut for_hash));
        let result = platform::registry().inspect(
            name,
            &mut file,
            expected,
            Limits::default(),
            super::now_unix(),
        );
        (result, hashing.join())
    });
    let (sha, size) = hashed
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        .map_err(unreadable)?;
    match result {
        Ok(inspected) => {
            let mut i = inspected.inspection;
            i.sha256 = Some(sha.hex());
            if let Ok(target) = platform::registry().get(i.platform.as_str()) {
                platform::apply_install_mode(target, &mut i, install);
            }
            Ok(Local::Inspected(Box::new(i)))
        }
        Err(DetectError::Io { source, .. }) => Err(unreadable(source)),
        Err(e) => {
            // The codes `dist ci publish` and distd's attach give the same refusal.
            let code = platform::admission::refusal_code(&e);
            Ok(Local::Refused {
                file: name.to_owned(),
                size,
                sha256: Some(sha.hex()),
                finding: Finding::error(code, e.to_string()),
            })
        }
    }
}

pub fn run(args: InspectArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let mut results = Vec::new();
    for path in &args.files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        results.push(inspect_path(path, &name, args.platform.as_ref(), None)?);
    }
    if ctx.json() {
        let doc = if results.len() == 1 {
            results[0].to_json()
        } else {
            serde_json::Value::Array(results.iter().map(Local::to_json).collect())
        };
        ui::print_json(&doc)?;
    } else {
        ctx.ui.lines(&human(&results));
    }
    // Each bad file with its first error, so the reason shows on stderr too.
    let bad: Vec<String> = results
        .iter()
        .filter(|r| r.has_errors())
        .map(|r| {
            let file = match r {
                Local::Inspected(i) => i.file.clone(),
                Local::Refused { file, .. } => file.clone(),
            };
            match r
                .findings()
                .into_iter()
                .find(|f| f.severity == Severity::Error)
            {
                Some(f) => format!("{file} ({}: {})", f.code, f.message),
                None => file,
            }
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        let findings = results
            .iter()
            .flat_map(Local::findings)
            .filter(|f| f.severity == Severity::Error)
            .collect();
        let f = Failure::validation(
            format!("rejected or with error findings: {}", bad.join("; ")),
            findings,
        );
        Err(if ctx.json() { f.with_printed() } else { f }.into())
    }
}

/// The dense table, then each file's findings, as lines (the printer escapes them).
pub fn human(results: &[Local]) -> Vec<String> {
    let mut rows = vec![
        [
            "FILE",
            "PLATFORM",
            "KIND",
            "PARSE",
            "IDENTITY",
            "VERSION",
            "BUILD",
            "SIGNATURE",
            "E/W/I",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    let mut notes = Vec::new();
    for r in results {
        let findings = r.findings();
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let counts = format!(
            "{}/{}/{}",
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        );
        match r {
            Local::Inspected(i) => {
                rows.push(vec![
                    i.file.clone(),
                    i.platform.to_string(),
                    i.kind.to_string(),
                    format!("{:?}", i.parse).to_lowercase(),
                    or_dash(i.identity.as_deref()),
                    or_dash(i.version.as_deref()),
                    or_dash(i.build.as_deref()),
                    format!("{:?}", i.signature.state).to_lowercase()
                        + &if i.signature.schemes.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", i.signature.schemes.join(","))
                        },
                    counts,
                ]);
                if !findings.is_empty() {
                    notes.push(format!("{}:", i.file));
                }
            }
            Local::Refused { file, .. } => {
                rows.push(vec![
                    file.clone(),
                    "-".into(),
                    "-".into(),
                    "reject".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    counts,
                ]);
                notes.push(format!("{file}:"));
            }
        }
        for f in &findings {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            notes.push(format!("  {sev:<7} {:<32} {}", f.code, f.message));
        }
    }
    let mut out = ui::table(&rows);
    if !notes.is_empty() {
        out.push(String::new());
        out.extend(notes);
    }
    out
}

/// Exit code of a set of local results: 3 when any is refused or has error findings.
#[cfg(test)]
fn exit_of(results: &[Local]) -> Exit {
    if results.iter().any(Local::has_errors) {
        Exit::Validation
    } else {
        Exit::Success
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrecognised_file_is_refused_not_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.apk");
        std::fs::write(&p, b"this is text, not a package").unwrap();
        let r = inspect_path(&p, "notes.apk", None, None).unwrap();
        assert!(r.has_errors());
        let v = r.to_json();
        assert_eq!(v["parse"], "reject");
        assert_eq!(v["file"], "notes.apk");
        assert_eq!(v["size"], 27);
        assert_eq!(v["findings"][0]["severity"], "error");
        assert_eq!(v["findings"][0]["code"], "detect.unrecognized");
        assert_eq!(
            v["sha256"],
            platform::Sha256::digest(b"this is text, not a package").hex()
        );
        assert_eq!(exit_of(&[r]), Exit::Validation);
    }

    #[test]
    fn missing_file_is_a_usage_error() {
        let e = inspect_path(Path::new("/nonexistent/x.apk"), "x.apk", None, None).unwrap_err();
        assert_eq!(e.exit, Exit::Usage);
        assert!(e.message.contains("/nonexistent/x.apk"), "{e}");
    }
}
