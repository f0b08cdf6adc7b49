//! Deterministic mutations (`dist-testkit`'s mutator) of every fixture and, when the corpus is
//! required, every Android corpus file: `inspect` must answer (Ok or a typed error) without
//! panicking, within a budget of bytes read and decompressed (the signed-bytes property is
//! in `signature_truth.rs`).

mod common;

use std::path::PathBuf;

use dist_testkit::corpus;
use dist_testkit::cost::{self, Budget};
use dist_testkit::mutate::{Plan, mutations};
use platform::Limits;

const EXTS: &[&str] = &["apk", "aab"];

fn files() -> Vec<PathBuf> {
    corpus::fixtures_and_corpus("android", EXTS)
}

#[test]
fn mutated_inputs_never_panic_and_stay_in_budget() {
    let budget = Budget::default();
    let mut total = 0;
    let mut worst = (0.0f64, String::new());
    let files = files();
    for (fi, path) in files.iter().enumerate() {
        let data = corpus::read(path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Big files get fewer mutations: each inspect may stream the whole file.
        let plan = Plan::new(if data.len() > 1_000_000 { 8 } else { 120 }).with_hot_spots(
            // The signing block's size fields (before its magic, and at its head).
            data.windows(16)
                .position(|w| w == b"APK Sig Block 42")
                .map(|m| [m.saturating_sub(8), m.saturating_sub(4)])
                .into_iter()
                .flatten(),
        );
        for m in mutations(&data, &plan, fi as u64 + 0x9e37_79b9) {
            let size = m.bytes.len() as u64;
            let r = std::panic::catch_unwind(|| {
                cost::inspect(&name, &m.bytes, None, Limits::default(), common::NOW).1
            });
            let c = r.unwrap_or_else(|_| panic!("{name} {}: inspect panicked", m.name));
            if let Err(e) = budget.check(size, c) {
                panic!("{name} {}: {e}", m.name);
            }
            let ratio = c.read as f64 / size.max(1) as f64;
            if ratio > worst.0 {
                worst = (ratio, format!("{name} {}", m.name));
            }
            total += 1;
        }
    }
    println!(
        "{total} mutations of {} files; most read per byte of file {:.2} ({})",
        files.len(),
        worst.0,
        worst.1
    );
}
