//! Build script shared by distd and dist (`build = "../scripts/version-build.rs"` in each
//! Cargo.toml): sets `DIST_VERSION_LONG` to `<crate version> (<commit>)` for `--version`.
//! The commit comes from `DIST_COMMIT` when set (a build from a source tarball, or the image
//! script), else from `git rev-parse --short=12 HEAD`, else it reads `unknown`.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=DIST_COMMIT");
    let commit = match std::env::var("DIST_COMMIT") {
        Ok(c) if !c.is_empty() => c,
        _ => {
            // Rebuild when HEAD moves: HEAD itself, the branch it points at, packed refs.
            let mut watch = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
            if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
                watch.push(r);
            }
            for w in watch {
                if let Some(p) = git(&["rev-parse", "--git-path", &w])
                    && Path::new(&p).exists()
                {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned())
        }
    };
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=DIST_COMMIT={commit}");
    println!("cargo:rustc-env=DIST_VERSION_LONG={version} ({commit})");
}
