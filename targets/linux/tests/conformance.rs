//! Conformance against the real corpus: every Linux entry of `$DIST_CORPUS/truth.json`,
//! field by field (the walk, and its failure on a missing file, is `dist-testkit`'s). The
//! corpus's rpm test key (`rpmtests-rpm.org-rsa-2048-test.pub`) is handed in as the app's
//! trusted key, as the truth's oracle imported it into rpm. A field the truth leaves null
//! is not checked.

mod common;

use dist_testkit::corpus::{self, check_fields};

#[test]
fn linux_corpus_matches_truth() {
    let key =
        corpus::dir().map(|d| corpus::read(&d.join("linux/rpmtests-rpm.org-rsa-2048-test.pub")));
    corpus::conformance("linux", |e, mismatches| {
        let file = e.file.as_str();
        let t = &e.truth;
        let data = corpus::read(&e.path);
        let keys: Vec<Vec<u8>> = key.iter().cloned().collect();
        let got = match common::inspect_with_keys(e.name(), &data, &keys) {
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
            &["state", "schemes", "digest_ok"],
            file,
            mismatches,
        );
        // Signers: the truth names OpenPGP keys by key id and subject; ours carry the same
        // subject and the key id under details.signature.
        for w in t["signature"]["signers"].as_array().into_iter().flatten() {
            let subject_ok = got["signature"]["signers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|g| g["subject"] == w["subject"]);
            if !w["subject"].is_null() && !subject_ok {
                mismatches.push(format!(
                    "{file}: signer {} missing: got {}",
                    w["subject"], got["signature"]["signers"]
                ));
            }
            if let Some(k) = w["key_id"].as_str()
                && got["details"]["signature"]["key_id"] != k
            {
                mismatches.push(format!(
                    "{file}: key id: want {k}, got {}",
                    got["details"]["signature"]["key_id"]
                ));
            }
            if let Some(f) = w["pgp_fingerprint"].as_str()
                && got["details"]["signature"]["fingerprint"] != f
            {
                mismatches.push(format!(
                    "{file}: fingerprint: want {f}, got {}",
                    got["details"]["signature"]["fingerprint"]
                ));
            }
        }
    });
}

/// Without the key, the signed rpm is `unknown` and names the key: a signature cannot read
/// `signed` unless the app trusts its key.
#[test]
fn signed_rpm_without_the_key_is_unknown_with_its_key_id() {
    let Some(d) = corpus::dir() else { return };
    let p = d.join("linux/rpmtests-hello-2.0-1.x86_64-signed.rpm");
    let i = common::inspect_path(&p).inspection;
    assert_eq!(i.signature.state, platform::SignatureState::Unknown);
    assert_eq!(i.details["signature"]["key_id"], "4344591e1964c5fc");
    assert!(
        i.findings
            .iter()
            .any(|f| f.code == "linux.rpm.signature_unknown_key")
    );
}
