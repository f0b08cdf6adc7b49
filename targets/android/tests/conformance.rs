//! Conformance against the real corpus: every Android entry of `$DIST_CORPUS/truth.json`,
//! field by field (the walk, and its failure on a missing file, is `dist-testkit`'s). A
//! field the truth leaves null is not checked.

mod common;

use dist_testkit::corpus::{self, check_fields};
use serde_json::Value;

fn signer_set(v: &Value) -> Vec<String> {
    let mut s: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["sha256"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    s.sort();
    s
}

fn rdns(v: &Value) -> Vec<String> {
    let mut r: Vec<String> = v
        .as_str()
        .unwrap_or_default()
        .split(", ")
        .map(str::to_owned)
        .collect();
    r.sort();
    r
}

#[test]
fn android_corpus_matches_truth() {
    corpus::conformance("android", |e, mismatches| {
        let file = e.file.as_str();
        let t = &e.truth;
        let got = serde_json::to_value(common::inspect_path(&e.path).inspection).unwrap();
        check_fields(
            "",
            t,
            &got,
            &[
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
            mismatches,
        );
        check_fields(
            "signature.",
            &t["signature"],
            &got["signature"],
            &["state", "schemes"],
            file,
            mismatches,
        );
        let want = &t["signature"]["signers"];
        if !want.is_null() && signer_set(want) != signer_set(&got["signature"]["signers"]) {
            mismatches.push(format!(
                "{file}: signer sha256: want {:?} got {:?}",
                signer_set(want),
                signer_set(&got["signature"]["signers"])
            ));
        }
        // Subjects, where the truth prints them, compared as a set of RDNs: the truth's
        // order depends on its oracle (apksigner and keytool print RFC 4514 order, openssl
        // the encoded order).
        for w in want.as_array().into_iter().flatten() {
            let found = got["signature"]["signers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|g| g["sha256"] == w["sha256"]);
            if let Some(g) = found
                && rdns(&g["subject"]) != rdns(&w["subject"])
            {
                mismatches.push(format!(
                    "{file}: signer subject: want {} got {}",
                    w["subject"], g["subject"]
                ));
            }
        }
    });
}
