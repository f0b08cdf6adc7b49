//! Deterministic mutations (`dist-testkit`'s mutator) of every fixture and, when the corpus
//! is required, every macOS corpus file this target reads: `inspect` must answer (a result
//! or an error) without panicking, within a budget of bytes read and decompressed; and no
//! mutation of bytes a signature covers reads `signed`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use dist_testkit::cost::{self, Budget, Cost};
use dist_testkit::mutate::{Plan, mutations};
use dist_testkit::{corpus, signed};
use platform::{Kind, Limits, SignatureState};
use target_macos::MacosTarget;

const NOW: i64 = 1_795_000_000;
const EXTS: &[&str] = &[
    "dmg",
    "zip",
    "pkg",
    "xz",
    "gz",
    "zst",
    "bz2",
    "macho",
    "provisionprofile",
];
/// Header fields that hold counts and sizes: xar's header size and TOC lengths, Mach-O's
/// ncmds and sizeofcmds (and fat arch offsets).
const HOT: [usize; 8] = [4, 8, 12, 16, 20, 24, 28, 32];

fn files() -> Vec<PathBuf> {
    corpus::fixtures_and_corpus("macos", EXTS)
}

fn limits() -> Limits {
    Limits {
        max_member_bytes: 8 * 1024 * 1024,
        max_structure_bytes: 4 * 1024 * 1024,
        max_streamed_bytes: 64 * 1024 * 1024,
        ..Limits::default()
    }
}

#[test]
fn mutated_inputs_never_panic_stay_in_budget_and_never_read_signed() {
    let limits = limits();
    let budget = Budget::default();
    let mut failures = Vec::new();
    let mut runs = 0;
    let mut worst = (0.0f64, String::new());
    for (fi, path) in files().iter().enumerate() {
        let started = std::time::Instant::now();
        let data = corpus::read(path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let intact = cost::inspect(&name, &data, None, limits, NOW).0.ok();
        let kind: Option<Kind> = intact.as_ref().map(|i| i.inspection.kind.clone());
        let signature = intact.map(|i| i.inspection.signature);
        let plan = Plan::new(if data.len() > 300_000 { 24 } else { 48 }).with_hot_spots(HOT);
        for m in mutations(&data, &plan, 0x5eed_0016 ^ fi as u64) {
            runs += 1;
            let size = m.bytes.len() as u64;
            let r = catch_unwind(AssertUnwindSafe(|| {
                let mut out = vec![cost::inspect(&name, &m.bytes, None, limits, NOW)];
                if let Some(kind) = &kind {
                    out.push(cost::inspect(
                        &name,
                        &m.bytes,
                        Some((&MacosTarget, kind)),
                        limits,
                        NOW,
                    ));
                }
                out
            }));
            match r {
                Err(_) => failures.push(format!("{name} {}: panicked", m.name)),
                Ok(results) => {
                    for (res, c) in results {
                        track(&mut worst, size, c, &name, &m.name);
                        if let Err(e) = budget.check(size, c) {
                            failures.push(format!("{name} {}: {e}", m.name));
                        }
                        // A change to bytes the signature covers never reads signed with
                        // the same verdict. (A zip member's bytes are covered only as far
                        // as they decompress into signed content: a change to a CMS's
                        // unsigned timestamp token may keep `signed` and lose `timestamp`.)
                        if let Ok(i) = res
                            && i.inspection.signature.state == SignatureState::Signed
                            && signature.as_ref() == Some(&i.inspection.signature)
                            && touches_covered(&data, &m.bytes)
                        {
                            failures.push(format!("{name} {}: still reads signed", m.name));
                        }
                    }
                }
            }
        }
        println!("{name}: {:.1} s", started.elapsed().as_secs_f64());
    }
    println!(
        "{runs} mutated inputs of {} files; most read per byte of file {:.2} ({})",
        files().len(),
        worst.0,
        worst.1
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether `changed` differs from `data` in a byte a signature covers (`dist-testkit`'s
/// description of each format), or drops covered bytes.
fn touches_covered(data: &[u8], changed: &[u8]) -> bool {
    let Some(c) = signed::xar_toc(data)
        .or_else(|| {
            // Sealed resources of the bundle: not the executables (their signature blobs
            // carry unsigned parts) nor what codesign's rules omit.
            signed::zip_members(data, |n| {
                !n.contains("/MacOS/") && !n.ends_with("/PkgInfo") && !n.starts_with("__MACOSX/")
            })
        })
        .or_else(|| signed::macho_code(data))
    else {
        return false;
    };
    c.ranges
        .iter()
        .any(|r| r.end > changed.len() || r.clone().any(|at| data[at] != changed[at]))
}

fn track(worst: &mut (f64, String), size: u64, c: Cost, name: &str, what: &str) {
    let ratio = c.read as f64 / size.max(1) as f64;
    if ratio > worst.0 {
        *worst = (ratio, format!("{name} {what}"));
    }
}
