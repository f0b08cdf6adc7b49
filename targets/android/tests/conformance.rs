//! Conformance against the real corpus: every Android entry of `$DIST_CORPUS/truth.json`,
//! field by field. A field the truth leaves null is not checked.

mod common;

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
    let Some(corpus) = common::corpus() else {
        eprintln!("DIST_CORPUS is not set: skipping the corpus conformance test");
        return;
    };
    let truth_path = corpus.join("truth.json");
    let truth: Value = serde_json::from_slice(
        &std::fs::read(&truth_path).unwrap_or_else(|e| panic!("{}: {e}", truth_path.display())),
    )
    .expect("truth.json parses");
    let entries: Vec<&Value> = truth
        .as_array()
        .expect("truth.json is a list")
        .iter()
        .filter(|e| e["platform"] == "android")
        .collect();
    assert!(!entries.is_empty(), "no android entries in truth.json");

    let mut mismatches = Vec::new();
    let mut agreeing = 0;
    for t in &entries {
        let file = t["file"].as_str().expect("file");
        let path = corpus.join(file);
        assert!(
            path.exists(),
            "{} is missing from the corpus",
            path.display()
        );
        let got = serde_json::to_value(common::inspect_path(&path).inspection).unwrap();
        let before = mismatches.len();
        for field in [
            "parse",
            "kind",
            "identity",
            "version",
            "build",
            "min_os",
            "target_sdk",
            "archs",
            "display_name",
        ] {
            if !t[field].is_null() && t[field] != got[field] {
                mismatches.push(format!(
                    "{file}: {field}: want {} got {}",
                    t[field], got[field]
                ));
            }
        }
        for field in ["state", "schemes"] {
            let want = &t["signature"][field];
            if !want.is_null() && *want != got["signature"][field] {
                mismatches.push(format!(
                    "{file}: signature.{field}: want {want} got {}",
                    got["signature"][field]
                ));
            }
        }
        let want = &t["signature"]["signers"];
        if !want.is_null() && signer_set(want) != signer_set(&got["signature"]["signers"]) {
            mismatches.push(format!(
                "{file}: signer sha256: want {:?} got {:?}",
                signer_set(want),
                signer_set(&got["signature"]["signers"])
            ));
        }
        // Subjects, where the truth prints them, in the same RDN order.
        if let Some(ws) = want.as_array() {
            for w in ws {
                let found = got["signature"]["signers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|g| g["sha256"] == w["sha256"]);
                // Compared as a set of RDNs: the truth's order depends on its oracle (apksigner
                // and keytool print RFC 4514 order, openssl the encoded order).
                if let Some(g) = found
                    && rdns(&g["subject"]) != rdns(&w["subject"])
                {
                    mismatches.push(format!(
                        "{file}: signer subject: want {} got {}",
                        w["subject"], g["subject"]
                    ));
                }
            }
        }
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
