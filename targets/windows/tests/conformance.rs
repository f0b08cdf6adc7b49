//! Conformance against the real corpus: every Windows entry of `$DIST_CORPUS/truth.json`,
//! field by field (the walk, and its failure on a missing file, is `dist-testkit`'s). A
//! field the truth leaves null is not checked.

mod common;

use dist_testkit::corpus::{self, check_fields};

#[test]
fn windows_corpus_matches_truth() {
    corpus::conformance("windows", |e, mismatches| {
        let file = e.file.as_str();
        let t = &e.truth;
        let data = corpus::read(&e.path);
        let got = match common::inspect_bytes(e.name(), &data) {
            Ok(i) => serde_json::to_value(i.inspection).unwrap(),
            Err(err) => {
                mismatches.push(format!("{file}: {err}"));
                return;
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
            mismatches,
        );
        check_fields(
            "signature.",
            &t["signature"],
            &got["signature"],
            &["state", "schemes", "digest_ok", "chain_ok"],
            file,
            mismatches,
        );
        for w in t["signature"]["signers"].as_array().into_iter().flatten() {
            let found = got["signature"]["signers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|g| g["sha256"] == w["sha256"] && g["subject"] == w["subject"]);
            if !found {
                mismatches.push(format!(
                    "{file}: signer {} ({}) missing: got {}",
                    w["subject"], w["sha256"], got["signature"]["signers"]
                ));
            }
        }
    });
}

/// The tampered APPX says which digest broke; the signed MSI reports its timestamp time.
#[test]
fn corpus_signatures_say_what_they_found() {
    let Some(d) = corpus::dir() else { return };
    let i =
        common::inspect_path(&d.join("windows/msixpkg-SignedTamperedCD-TRUST_E_BAD_DIGEST.appx"))
            .inspection;
    let f = i
        .findings
        .iter()
        .find(|f| f.code == "windows.signature.digest_mismatch")
        .expect("a digest finding");
    assert!(f.message.contains("AXCD"), "{}", f.message);
    let i = common::inspect_path(&d.join("windows/signify-putty.msi")).inspection;
    let sigs = i.details["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2, "SHA-1 and nested SHA-256 signatures");
    assert_eq!(sigs[1]["depth"], 1);
    assert_eq!(sigs[0]["timestamp"]["time"], "2025-02-01T11:26:40Z");
    assert_eq!(
        i.details["properties"]["UpgradeCode"],
        "{DCE70C63-8808-4646-B16B-A677BD298385}"
    );
    assert_eq!(i.details["summary"]["template"], "Intel;1033");
}
