//! Conformance against the real corpus: every iOS entry of `$DIST_CORPUS/truth.json`, every
//! field the truth fills (the walk, and its failure on a missing file, is `dist-testkit`'s).

use dist_testkit::corpus::{self, check, check_fields};
use platform::{Limits, registry};
use serde_json::Value;
use target_ios as _;

/// 2026-11-21T00:00:00Z: fixed so that expiry findings do not drift.
const NOW: i64 = 1_795_219_200;

#[test]
fn truth_json_ios_entries() {
    corpus::conformance("ios", |e, errors| {
        let rel = e.file.as_str();
        let t = &e.truth;
        let mut f = std::fs::File::open(&e.path).unwrap_or_else(|err| panic!("{rel}: {err}"));
        let got = match registry().inspect(e.name(), &mut f, None, Limits::default(), NOW) {
            Ok(i) => serde_json::to_value(&i.inspection).unwrap(),
            Err(err) => {
                errors.push(format!("{rel}: {err}"));
                return;
            }
        };
        check_fields(
            "",
            t,
            &got,
            &[
                "platform",
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
            ],
            rel,
            errors,
        );
        let (ts, gs) = (&t["signature"], &got["signature"]);
        check_fields(
            "signature.",
            ts,
            gs,
            &["state", "schemes", "digest_ok", "chain_ok"],
            rel,
            errors,
        );
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
            check("signer.sha256", &w["sha256"], &g["sha256"], rel, errors);
            check("signer.subject", &w["subject"], &g["subject"], rel, errors);
        }
        if let Some(tp) = t.get("profile").filter(|p| !p.is_null()) {
            // The profile is an iOS detail: `details.profile` of an IPA, `details` of a
            // profile on its own.
            let gp = if got["kind"] == "mobileprovision" {
                &got["details"]
            } else {
                &got["details"]["profile"]
            };
            for (k, v) in tp.as_object().unwrap() {
                check(&format!("profile.{k}"), v, &gp[k], rel, errors);
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
    });
}
