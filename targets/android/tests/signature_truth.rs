//! Issue 10, "Signature truth": crafted APKs (made by `fixtures/android/crafted/make.py`) that
//! used to read `signed`, each compared with `apksigner verify` and `jarsigner -verify` when
//! those are installed (CI installs them) and with a fixed expected verdict either way; and
//! the mutated-signed-file property.
#![allow(clippy::bool_assert_comparison)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use dist_testkit::cost::{self, Budget};
use dist_testkit::mutate::Rng;
use dist_testkit::{corpus, files_with, signed};
use platform::{Inspection, Parse, Probe, SignatureState, Target};
use target_android::AndroidTarget;

fn crafted(name: &str) -> PathBuf {
    common::fixtures().join("crafted").join(name)
}

fn codes(i: &Inspection) -> Vec<&str> {
    i.findings.iter().map(|f| f.code.as_str()).collect()
}

/// `apksigner verify` over the given SDK range: `Some(true)` when it verifies, `None` when
/// apksigner is not installed.
fn apksigner(path: &Path, min_sdk: u32, max_sdk: Option<u32>) -> Option<bool> {
    let mut c = Command::new("apksigner");
    c.arg("verify")
        .arg("--min-sdk-version")
        .arg(min_sdk.to_string());
    if let Some(m) = max_sdk {
        c.arg("--max-sdk-version").arg(m.to_string());
    }
    let out = c.arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(out.status.success() && !text.contains("DOES NOT VERIFY"))
}

/// The certificate SHA-256 values `apksigner verify --print-certs` names for an SDK range.
fn apksigner_signers(path: &Path, min_sdk: u32, max_sdk: u32) -> Option<Vec<String>> {
    let out = Command::new("apksigner")
        .args(["verify", "--print-certs", "--min-sdk-version"])
        .arg(min_sdk.to_string())
        .arg("--max-sdk-version")
        .arg(max_sdk.to_string())
        .arg(path)
        .output()
        .ok()?;
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("certificate SHA-256 digest:"))
            .filter_map(|l| l.rsplit(' ').next().map(str::to_owned))
            .collect(),
    )
}

/// `jarsigner -verify`: `Some(true)` when every entry is signed ("jar verified." and no
/// "unsigned entries" warning), `None` when jarsigner is not installed.
fn jarsigner(path: &Path) -> Option<bool> {
    let out = Command::new("jarsigner")
        .arg("-verify")
        .arg(path)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.contains("jar verified.") && !text.contains("unsigned entries"))
}

fn not_signed(i: &Inspection) -> bool {
    i.signature.state != SignatureState::Signed && i.signature.digest_ok != Some(true)
}

/// The reference tools accept the untouched fixtures, so their "no" below means something.
#[test]
fn reference_tools_accept_the_originals() {
    let v1 = common::fixtures().join("signed-v1-only.apk");
    let all = common::fixtures().join("signed-v1v2v3.apk");
    for (p, max) in [(&v1, Some(23)), (&all, None)] {
        if let Some(ok) = apksigner(p, 21, max) {
            assert!(ok, "apksigner refuses {}", p.display());
        }
        if let Some(ok) = jarsigner(p) {
            assert!(ok, "jarsigner refuses {}", p.display());
        }
        assert_eq!(
            common::inspect_path(p).inspection.signature.state,
            SignatureState::Signed
        );
    }
}

/// Item 1: an entry added to MANIFEST.MF but not to the `.SF` read signed.
#[test]
fn v1_manifest_entry_missing_from_the_sf_is_invalid() {
    let p = crafted("v1-entry-not-in-sf.apk");
    let i = common::inspect_path(&p).inspection;
    assert_eq!(
        i.signature.state,
        SignatureState::Invalid,
        "{:?}",
        i.findings
    );
    assert_eq!(i.signature.digest_ok, Some(false));
    let msg = &i
        .findings
        .iter()
        .find(|f| f.code == "android.signature.invalid")
        .expect("an invalid finding")
        .message;
    assert!(msg.contains("assets/evil.txt"), "{msg}");
    assert_eq!(apksigner(&p, 21, Some(23)).unwrap_or(false), false);
    assert_eq!(jarsigner(&p).unwrap_or(false), false);
}

/// Item 2: a second central directory between the first and the end record read signed;
/// detection and inspection now read the zip with one parser, and both refuse it.
#[test]
fn bytes_between_central_directory_and_end_record_are_refused() {
    let p = crafted("v2-cd-copy-before-eocd.apk");
    let bytes = std::fs::read(&p).unwrap();
    let probe = Probe::read(
        "x.apk",
        &mut std::io::Cursor::new(&bytes),
        &platform::Limits::default(),
    )
    .unwrap();
    assert!(probe.zip_entries.is_none());
    assert!(
        probe
            .zip_error
            .as_deref()
            .unwrap()
            .contains("no signature covers"),
        "{:?}",
        probe.zip_error
    );
    let i = common::inspect_path(&p).inspection;
    assert_eq!(i.parse, Parse::Reject);
    assert!(
        codes(&i).contains(&"android.zip.malformed"),
        "{:?}",
        i.findings
    );
    assert!(not_signed(&i));
    assert_eq!(apksigner(&p, 21, None).unwrap_or(false), false);
}

/// Item 6: a 266 KB APK whose v1-signed entry inflates to 256 MiB is refused within its
/// decompression budget (100x its size) with `android.zip.limit`. The cost is counted in
/// bytes: no more decompressed than the budget, no re-reading of the file.
#[test]
fn an_inflate_bomb_is_a_limit_finding_not_cpu_seconds() {
    let p = crafted("v1-inflate-bomb.apk");
    let data = std::fs::read(&p).unwrap();
    let limits = platform::Limits::default();
    let (i, cost) = cost::inspect("v1-inflate-bomb.apk", &data, None, limits, common::NOW);
    let i = i.expect("detected").inspection;
    let size = data.len() as u64;
    assert!(cost.inflated <= limits.inflate_budget(size), "{cost:?}");
    Budget::default().check(size, cost).unwrap();
    assert_eq!(i.parse, Parse::Reject);
    assert!(codes(&i).contains(&"android.zip.limit"), "{:?}", i.findings);
    assert!(not_signed(&i));
    assert_eq!(apksigner(&p, 21, Some(23)).unwrap_or(false), false);
}

/// Item 5: PKCS#7 signer matching with a certificate serial whose high bit is set. Serials
/// compare by value, as apksigner's do: a redundant leading zero in the SignerInfo names the
/// same certificate (main read it `invalid`), a missing DER zero names a negative serial and
/// no certificate.
#[test]
fn pkcs7_serials_with_the_high_bit_set_match_by_value() {
    for (name, want) in [
        ("v1-serial-high-bit.apk", true),
        ("v1-serial-redundant-zero.apk", true),
        ("v1-serial-no-zero.apk", false),
    ] {
        let p = crafted(name);
        let i = common::inspect_path(&p).inspection;
        let signed = i.signature.state == SignatureState::Signed;
        assert_eq!(signed, want, "{name}: {:?}", i.findings);
        if want {
            assert_eq!(i.signature.signers[0].subject, "CN=Dist High Bit Serial");
        }
        if let Some(ok) = apksigner(&p, 21, Some(23)) {
            assert_eq!(ok, want, "apksigner on {name}");
        }
    }
}

/// Item 5: after a v3 rotation the v1/v2 signer and the v3 signer are different keys; both
/// are reported, each with its schemes, and each device range with the signer it verifies,
/// as apksigner prints it for that range.
#[test]
fn a_rotated_apk_reports_both_signers_per_sdk_range() {
    let p = common::fixtures().join("rotated.apk");
    let old_key = common::inspect_path(&common::fixtures().join("signed-v1v2v3.apk"))
        .inspection
        .signature
        .signers[0]
        .sha256
        .clone();
    let i = common::inspect_path(&p).inspection;
    assert_eq!(i.signature.state, SignatureState::Signed);
    let shas: Vec<&str> = i
        .signature
        .signers
        .iter()
        .map(|s| s.sha256.as_str())
        .collect();
    assert_eq!(shas.len(), 2, "{shas:?}");
    assert!(shas.contains(&old_key.as_str()));
    let new_key = shas.iter().find(|s| **s != old_key).unwrap().to_string();
    let described = i.details["signers"].as_array().unwrap();
    let schemes = |sha: &str| -> Vec<String> {
        described.iter().find(|d| d["sha256"] == sha).unwrap()["schemes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(schemes(&old_key), ["v1", "v2"]);
    assert_eq!(schemes(&new_key), ["v3"]);
    let ranges = i.details["signers_by_sdk"].as_array().unwrap();
    let at = |sdk: u64| -> Vec<String> {
        ranges
            .iter()
            .find(|r| {
                r["min_sdk"].as_u64().unwrap() <= sdk && sdk <= r["max_sdk"].as_u64().unwrap()
            })
            .map(|r| {
                r["sha256"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(at(21), std::slice::from_ref(&old_key));
    assert_eq!(at(27), std::slice::from_ref(&old_key));
    assert_eq!(at(28), std::slice::from_ref(&new_key));
    assert_eq!(at(34), std::slice::from_ref(&new_key));
    if let Some(s) = apksigner_signers(&p, 21, 27) {
        assert_eq!(s, std::slice::from_ref(&old_key), "apksigner, SDK 21-27");
    }
    if let Some(s) = apksigner_signers(&p, 28, 34) {
        assert_eq!(s, std::slice::from_ref(&new_key), "apksigner, SDK 28+");
    }
    // Pins use every signer a device verifies: pinning only the new key leaves the devices
    // before SDK 28 unpinned.
    let rules = platform::PlatformRules {
        signer_sha256: vec![new_key.clone()],
        ..Default::default()
    };
    let f = AndroidTarget.check_identity(&i, &rules);
    assert!(
        f.iter()
            .any(|f| f.code == "identity.signer_not_pinned" && f.message.contains(&old_key)),
        "{f:?}"
    );
    let rules = platform::PlatformRules {
        signer_sha256: vec![new_key, old_key],
        ..Default::default()
    };
    assert!(AndroidTarget.check_identity(&i, &rules).is_empty());
}

/// Item 5: continuity per device range. An update whose v1/v2 signer changed (old devices)
/// breaks continuity even when its v3 signer (new devices) is the current one.
#[test]
fn continuity_is_checked_per_sdk_range() {
    let current = common::inspect_path(&common::fixtures().join("signed-v1v2v3.apk")).inspection;
    let key = current.signature.signers[0].sha256.clone();
    let mut next = current.clone();
    let key_json = key.clone();
    next.file = "next.apk".into();
    next.details.insert(
        "signers_by_sdk".into(),
        serde_json::json!([
            {"min_sdk": 21, "max_sdk": 27, "sha256": ["ab".repeat(32)]},
            {"min_sdk": 28, "max_sdk": 4294967295u64, "sha256": [key_json]},
        ]),
    );
    let f = AndroidTarget.check_continuity(&current, &next);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].code, "android.signer.changed");
    assert!(f[0].message.contains("SDK 21-27"), "{}", f[0].message);
    // The real rotation: old devices keep the old key, new ones follow the lineage.
    let rotated = common::inspect_path(&common::fixtures().join("rotated.apk")).inspection;
    let f = AndroidTarget.check_continuity(&current, &rotated);
    assert_eq!(
        f.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
        ["android.signer.rotated"]
    );
    // The same rotated APK stored by the old inspector (only the v3 signer, no ranges) as
    // the current release: its update by the same APK keeps continuity.
    let mut stored = rotated.clone();
    stored.details.remove("signers_by_sdk");
    stored.signature.signers.retain(|s| s.sha256 != key);
    assert_eq!(stored.signature.signers.len(), 1);
    assert!(AndroidTarget.check_continuity(&stored, &rotated).is_empty());
}

/// The mutated-signed-file property for APKs: the v2/v3 signature covers every byte of the
/// entries (up to the signing block), the central directory and the end record; a v1-only
/// signature covers what each signed entry inflates to. No change to covered bytes may read
/// `signed` with `digest_ok: true`.
#[test]
fn no_mutation_of_covered_bytes_reads_signed() {
    let mut rng = Rng::new(0x5eed_1234_9876_abcd);
    let mut runs = 0;
    // v2/v3: every byte outside the APK Signing Block (dist-testkit's description of the
    // scheme), over the fixtures and, when required, the corpus.
    let mut files = files_with(&common::fixtures(), &["apk"]);
    files.extend(corpus::platform_files("android", &["apk"]).unwrap_or_default());
    let mut checked = Vec::new();
    for (fi, path) in files.iter().enumerate() {
        let data = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(coverage) = signed::apk_v2(&data) else {
            continue;
        };
        let verdict = |b: &[u8]| match common::inspect_bytes(&name, b) {
            Ok(i) => format!(
                "{:?} {:?}",
                i.inspection.parse, i.inspection.signature.state
            ),
            Err(e) => format!("refused: {e}"),
        };
        // Only a signature that holds can be broken.
        if !verdict(&data).ends_with("Signed") {
            continue;
        }
        match signed::flips_change_the_verdict(&data, &coverage, 40, fi as u64 + 1, verdict) {
            Ok(n) => runs += n,
            Err(e) => panic!("{name}:\n{}", e.join("\n")),
        }
        checked.push(name);
    }
    for name in ["signed-v1v2v3.apk", "rotated.apk", "debuggable.apk"] {
        assert!(checked.iter().any(|c| c == name), "{name} was not checked");
    }
    // v1 only: change one byte of what a signed entry inflates to, rewrite the archive.
    let src = std::fs::read(common::fixtures().join("signed-v1-only.apk")).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&src)).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect();
    // The signed entries and the `.SF` (signed by the PKCS#7 block); the block's own
    // certificates and MANIFEST.MF's main section are covered by nothing.
    let covered: Vec<&String> = names
        .iter()
        .filter(|n| !n.starts_with("META-INF/") || n.ends_with(".SF"))
        .collect();
    for round in 0..40 {
        let target = covered[rng.below(covered.len())];
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for n in &names {
            let mut f = archive.by_name(n).unwrap();
            let method = f.compression();
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut body).unwrap();
            if n == target && !body.is_empty() {
                let at = rng.below(body.len());
                body[at] ^= 1 << rng.below(8);
            }
            let o = zip::write::SimpleFileOptions::default().compression_method(method);
            out.start_file(n.clone(), o).unwrap();
            out.write_all(&body).unwrap();
        }
        let bytes = out.finish().unwrap().into_inner();
        if let Ok(i) = common::inspect_bytes("v1.apk", &bytes) {
            let i = i.inspection;
            assert!(
                !(i.signature.state == SignatureState::Signed
                    && i.signature.digest_ok == Some(true)),
                "round {round}: {target} changed, still reads signed"
            );
        }
        runs += 1;
    }
    println!("{runs} mutations of covered bytes, none read signed");
}
