//! Conformance against the real corpus: every iOS entry of `$DIST_CORPUS/truth.json`, every
//! field the truth fills.

use std::fs::File;
use std::path::PathBuf;

use platform::{Limits, registry};
use serde_json::Value;
use target_ios as _;

/// 2026-11-21T00:00:00Z: fixed so that expiry findings do not drift.
const NOW: i64 = 1_795_219_200;

fn corpus() -> Option<PathBuf> {
    let v = std::env::var_os("DIST_CORPUS")?;
    let p = PathBuf::from(v);
    Some(if p.is_absolute() {
        p
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(p)
    })
}

fn check(field: &str, want: &Value, got: &Value, file: &str, errors: &mut Vec<String>) {
    if !want.is_null() && want != got {
        errors.push(format!("{file}: {field}: want {want}, got {got}"));
    }
}

#[test]
fn truth_json_ios_entries() {
    let Some(dir) = corpus() else {
        eprintln!("DIST_CORPUS not set: corpus conformance skipped");
        return;
    };
    let truth: Vec<Value> =
        serde_json::from_reader(File::open(dir.join("truth.json")).expect("truth.json")).unwrap();
    let mut total = 0;
    let mut agreeing = 0;
    let mut errors = Vec::new();
    for t in truth.iter().filter(|t| t["platform"] == "ios") {
        total += 1;
        let rel = t["file"].as_str().unwrap();
        let path = dir.join(rel);
        let mut f = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let before = errors.len();
        let got = match registry().inspect(
            rel.rsplit('/').next().unwrap(),
            &mut f,
            None,
            Limits::default(),
            NOW,
        ) {
            Ok(i) => serde_json::to_value(&i.inspection).unwrap(),
            Err(e) => {
                errors.push(format!("{rel}: {e}"));
                continue;
            }
        };
        check(
            "platform",
            &t["platform"],
            &got["platform"],
            rel,
            &mut errors,
        );
        for field in [
            "kind",
            "parse",
            "identity",
            "version",
            "build",
            "min_os",
            "target_sdk",
            "archs",
            "device_family",
            "display_name",
        ] {
            check(field, &t[field], &got[field], rel, &mut errors);
        }
        let (ts, gs) = (&t["signature"], &got["signature"]);
        for field in ["state", "schemes", "digest_ok", "chain_ok"] {
            check(
                &format!("signature.{field}"),
                &ts[field],
                &gs[field],
                rel,
                &mut errors,
            );
        }
        let want_signers: Vec<&Value> = ts["signers"].as_array().unwrap().iter().collect();
        let got_signers = gs["signers"].as_array().cloned().unwrap_or_default();
        if want_signers.len() != got_signers.len() {
            errors.push(format!(
                "{rel}: signature.signers: want {}, got {}",
                want_signers.len(),
                got_signers.len()
            ));
        }
        for (w, g) in want_signers.iter().zip(&got_signers) {
            check(
                "signer.sha256",
                &w["sha256"],
                &g["sha256"],
                rel,
                &mut errors,
            );
            check(
                "signer.subject",
                &w["subject"],
                &g["subject"],
                rel,
                &mut errors,
            );
        }
        if let Some(tp) = t.get("profile").filter(|p| !p.is_null()) {
            for (k, v) in tp.as_object().unwrap() {
                check(
                    &format!("profile.{k}"),
                    v,
                    &got["profile"][k],
                    rel,
                    &mut errors,
                );
            }
        }
        if got["parse"] == "reject"
            && !got["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["severity"] == "error")
        {
            errors.push(format!("{rel}: rejected without an error finding"));
        }
        if errors.len() == before {
            agreeing += 1;
        }
    }
    println!("{agreeing} of {total} files, all fields");
    assert!(total > 0, "truth.json lists no ios files");
    assert!(errors.is_empty(), "mismatches:\n{}", errors.join("\n"));
}
