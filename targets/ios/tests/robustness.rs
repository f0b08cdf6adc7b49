//! Deterministic mutations (`dist-testkit`'s mutator) of every fixture and, when the corpus is
//! required, every iOS corpus file: `inspect` must answer (a result or an error) without
//! panicking, within a budget of bytes read and decompressed (the signed-bytes property is
//! in `signature_truth.rs`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use dist_testkit::corpus;
use dist_testkit::cost::{self, Budget, Cost};
use dist_testkit::mutate::{Plan, mutations};
use platform::{Kind, Limits};
use target_ios::IosTarget;

const NOW: i64 = 1_798_761_600;
const EXTS: &[&str] = &["ipa", "macho", "mobileprovision"];
/// Mach-O header fields that hold counts and sizes (ncmds, sizeofcmds, fat arch offsets).
const MACHO_FIELDS: [usize; 6] = [4, 8, 16, 20, 24, 28];

fn files() -> Vec<PathBuf> {
    corpus::fixtures_and_corpus("ios", EXTS)
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
fn mutated_inputs_never_panic_and_stay_in_budget() {
    let limits = limits();
    let budget = Budget::default();
    let mut failures = Vec::new();
    let mut runs = 0;
    let mut worst = (0.0f64, String::new());
    for (fi, path) in files().iter().enumerate() {
        let data = corpus::read(path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The kind the intact file has, to drive that parser directly on broken bytes.
        let kind: Option<Kind> = cost::inspect(&name, &data, None, limits, NOW)
            .0
            .ok()
            .map(|i| i.inspection.kind);
        let plan = Plan::new(48).with_hot_spots(MACHO_FIELDS);
        for m in mutations(&data, &plan, 0x9e37_79b9_7f4a_7c15 ^ fi as u64) {
            runs += 1;
            let size = m.bytes.len() as u64;
            let r = catch_unwind(AssertUnwindSafe(|| {
                let mut costs = vec![cost::inspect(&name, &m.bytes, None, limits, NOW).1];
                if let Some(kind) = &kind {
                    costs.push(
                        cost::inspect(&name, &m.bytes, Some((&IosTarget, kind)), limits, NOW).1,
                    );
                }
                costs
            }));
            match r {
                Err(_) => failures.push(format!("{name} {}: panicked", m.name)),
                Ok(costs) => {
                    for c in costs {
                        track(&mut worst, size, c, &name, &m.name);
                        if let Err(e) = budget.check(size, c) {
                            failures.push(format!("{name} {}: {e}", m.name));
                        }
                    }
                }
            }
        }
    }
    println!(
        "{runs} mutated inputs; most read per byte of file {:.2} ({})",
        worst.0, worst.1
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn track(worst: &mut (f64, String), size: u64, c: Cost, name: &str, what: &str) {
    let ratio = c.read as f64 / size.max(1) as f64;
    if ratio > worst.0 {
        *worst = (ratio, format!("{name} {what}"));
    }
}
