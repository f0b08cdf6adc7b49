//! Conformance against the real corpus: every macOS entry of `$DIST_CORPUS/truth.json` that
//! this target reads (app archives, packages and disk images), field by field. A field the truth leaves null is not checked; signer SHA-256 values are.

mod common;

use dist_testkit::corpus::{self, check_fields};

/// Kinds this target does not read yet: the walk lists them and leaves them out.
const LATER: &[&str] = &[];

#[test]
fn macos_corpus_matches_truth() {
    let Some(entries) = corpus::entries("macos") else {
        return;
    };
    let (later, ours): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|e| LATER.contains(&e.truth["kind"].as_str().unwrap_or("")));
    let mut mismatches = Vec::new();
    let mut agreeing = 0;
    for e in &ours {
        let before = mismatches.len();
        let file = e.file.as_str();
        let t = &e.truth;
        let data = corpus::read(&e.path);
        let got = match common::inspect_bytes(e.name(), &data) {
            Ok(i) => serde_json::to_value(i.inspection).unwrap(),
            Err(err) => {
                mismatches.push(format!("{file}: {err}"));
                continue;
            }
        };
        check_fields(
            "",
            t,
            &got,
            &[
                "platform",
                "parse",
                "kind",
                "identity",
                "version",
                "build",
                "min_os",
                "target_sdk",
                "archs",
                "display_name",
            ],
            file,
            &mut mismatches,
        );
        check_fields(
            "signature.",
            &t["signature"],
            &got["signature"],
            &["state", "schemes", "digest_ok", "chain_ok", "timestamp"],
            file,
            &mut mismatches,
        );
        for w in t["signature"]["signers"].as_array().into_iter().flatten() {
            let found = got["signature"]["signers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|g| {
                    (w["sha256"].is_null() || g["sha256"] == w["sha256"])
                        && (w["subject"].is_null() || g["subject"] == w["subject"])
                });
            if !found {
                mismatches.push(format!(
                    "{file}: signer {w} missing: got {}",
                    got["signature"]["signers"]
                ));
            }
        }
        if mismatches.len() == before {
            agreeing += 1;
        }
    }
    let left_out: Vec<&str> = later.iter().map(|e| e.file.as_str()).collect();
    println!(
        "{agreeing} of {} files, all fields{}",
        ours.len(),
        if left_out.is_empty() {
            String::new()
        } else {
            format!(" ({} left out: {})", left_out.len(), left_out.join(", "))
        }
    );
    assert!(
        mismatches.is_empty(),
        "mismatches:\n{}",
        mismatches.join("\n")
    );
}
