//! Issue 10, "Signature truth", for IPAs: files made by `fixtures/ios/crafted/make.py` change
//! what `_CodeSignature/CodeResources` seals, or nested code, after signing. Codesign (the
//! reference) runs on macOS only, so each verdict is fixed here. Then the mutated-signed-file
//! property over the fixtures (and, with `DIST_CORPUS`, the real IPAs).

use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

use dist_testkit::cost::{self, Budget};
use dist_testkit::mutate::Rng;
use dist_testkit::{corpus, files_with, signed};
use platform::{Inspection, Limits, Parse, SignatureState, registry};
use target_ios as _;

/// 2027-01-01T00:00:00Z, as the fixture tests.
const NOW: i64 = 1_798_761_600;

fn fixtures() -> PathBuf {
    corpus::fixtures("ios")
}

fn inspect_bytes(name: &str, data: &[u8]) -> Option<Inspection> {
    registry()
        .inspect(
            name,
            &mut Cursor::new(data),
            None,
            platform::Limits::default(),
            NOW,
        )
        .ok()
        .map(|i| i.inspection)
}

fn crafted(name: &str) -> Inspection {
    let data = std::fs::read(fixtures().join("crafted").join(name)).unwrap();
    inspect_bytes(name, &data).unwrap_or_else(|| panic!("{name} is not detected"))
}

/// The crafted file reads invalid, and the finding names what changed.
fn assert_broken(name: &str, says: &str) {
    let i = crafted(name);
    assert_eq!(i.signature.state, SignatureState::Invalid, "{name}");
    assert_eq!(i.signature.digest_ok, Some(false), "{name}");
    let f = i
        .findings
        .iter()
        .find(|f| f.code == "ios.signature.invalid")
        .unwrap_or_else(|| panic!("{name}: no ios.signature.invalid in {:?}", i.findings));
    assert!(f.message.contains(says), "{name}: {}", f.message);
}

#[test]
fn the_original_verifies() {
    let i = inspect_bytes(
        "tiny-adhoc.ipa",
        &std::fs::read(fixtures().join("tiny-adhoc.ipa")).unwrap(),
    )
    .unwrap();
    // Chains to the test root, not Apple: untrusted, digests good.
    assert_eq!(i.signature.state, SignatureState::Untrusted);
    assert_eq!(i.signature.digest_ok, Some(true));
    assert_eq!(i.details["seal"]["problems"], serde_json::json!([]));
    assert!(i.details["seal"]["files_checked"].as_u64().unwrap() >= 7);
}

#[test]
fn a_changed_icon_breaks_the_seal() {
    assert_broken("changed-icon.ipa", "AppIcon60x60@2x.png was changed");
}

#[test]
fn an_added_dylib_breaks_the_seal() {
    assert_broken("added-dylib.ipa", "Frameworks/Evil.dylib was added");
}

#[test]
fn an_added_jsbundle_breaks_the_seal() {
    assert_broken("added-jsbundle.ipa", "main.jsbundle was added");
}

#[test]
fn a_missing_sealed_file_breaks_the_seal() {
    assert_broken(
        "missing-file.ipa",
        "AppIcon60x60@3x.png is sealed but missing",
    );
}

#[test]
fn changed_extension_code_is_verified_like_the_main_executable() {
    assert_broken(
        "changed-extension-code.ipa",
        "PlugIns/Widget.appex: its code signature does not verify",
    );
}

#[test]
fn a_file_the_rules_omit_does_not_break_the_seal() {
    let i = crafted("omitted-ds-store.ipa");
    assert_eq!(i.signature.state, SignatureState::Untrusted);
    assert_eq!(i.signature.digest_ok, Some(true));
}

/// Item 6 for every target: a small IPA that inflates to 256 MiB is refused within its
/// decompression budget, with `ios.zip.limit`, and does not read as verified. The cost is
/// counted in bytes: no more decompressed than the budget, no re-reading of the file.
#[test]
fn an_inflate_bomb_is_a_limit_finding() {
    let name = "inflate-bomb.ipa";
    let data = std::fs::read(fixtures().join("crafted").join(name)).unwrap();
    let (i, cost) = cost::inspect(name, &data, None, Limits::default(), NOW);
    let i = i.expect("detected").inspection;
    let size = data.len() as u64;
    assert!(
        cost.inflated <= Limits::default().inflate_budget(size),
        "{cost:?}"
    );
    Budget::default().check(size, cost).unwrap();
    assert_eq!(i.parse, Parse::Reject);
    assert!(
        i.findings.iter().any(|f| f.code == "ios.zip.limit"),
        "{:?}",
        i.findings
    );
    assert_ne!(i.signature.digest_ok, Some(true));
}

/// The members of an IPA and their bytes, in order.
fn members(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(data)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().unwrap().into_owned(), b)
        })
        .collect()
}

fn rezip(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (n, b) in members {
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        if n.ends_with('/') {
            w.add_directory(n.clone(), o).unwrap();
        } else {
            w.start_file(n.clone(), o).unwrap();
            w.write_all(b).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// The bytes an IPA's signatures cover, as (member, byte range) pairs: every file its seals
/// list by digest, each `CodeResources`, each `Info.plist`, and the first page of each thin
/// executable (its header and load commands: code page 0). Zip header fields are not
/// covered: members are rewritten whole.
fn covered(members: &[(String, Vec<u8>)]) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    for (i, (name, body)) in members.iter().enumerate() {
        if body.is_empty() {
            continue;
        }
        let Some(dir_end) = name.rfind("/_CodeSignature/CodeResources") else {
            continue;
        };
        out.push((i, 0..body.len()));
        let dir = &name[..dir_end + 1];
        let v = plist::Value::from_reader(Cursor::new(body)).unwrap();
        let d = v.as_dictionary().unwrap();
        let files = d
            .get("files2")
            .or_else(|| d.get("files"))
            .and_then(|f| f.as_dictionary())
            .unwrap();
        for (rel, e) in files {
            let hashed = e.as_data().is_some()
                || e.as_dictionary()
                    .is_some_and(|e| e.contains_key("hash2") || e.contains_key("hash"));
            if let Some(j) = members
                .iter()
                .position(|(n, b)| hashed && !b.is_empty() && *n == format!("{dir}{rel}"))
            {
                out.push((j, 0..members[j].1.len()));
            }
        }
        if let Some(j) = members
            .iter()
            .position(|(n, _)| *n == format!("{dir}Info.plist"))
        {
            out.push((j, 0..members[j].1.len()));
        }
        // The bundle's own executable, when thin (a fat header's padding is covered by no
        // slice): its first page.
        let info = &members
            .iter()
            .find(|(n, _)| *n == format!("{dir}Info.plist"))
            .unwrap()
            .1;
        let exe = plist::Value::from_reader(Cursor::new(info))
            .ok()
            .and_then(|v| {
                v.as_dictionary()?
                    .get("CFBundleExecutable")?
                    .as_string()
                    .map(str::to_owned)
            });
        if let Some(exe) = exe
            && let Some(j) = members
                .iter()
                .position(|(n, _)| *n == format!("{dir}{exe}"))
            && members[j].1.starts_with(&[0xcf, 0xfa, 0xed, 0xfe])
        {
            out.push((j, 0..members[j].1.len().min(0x1000)));
        }
    }
    out
}

/// No change to a covered byte reads `digest_ok: true`.
#[test]
fn no_mutation_of_covered_bytes_reads_verified() {
    let mut files = vec![
        fixtures().join("tiny-adhoc.ipa"),
        fixtures().join("tiny-appstore.ipa"),
    ];
    if let Some(c) = corpus::dir() {
        for name in ["icyleaf-iphone.ipa", "icyleaf-embedded.ipa"] {
            let p = c.join("ios").join(name);
            assert!(
                p.exists(),
                "DIST_CORPUS is set but {} is missing",
                p.display()
            );
            files.push(p);
        }
    }
    let mut rng = Rng::new(0x1234_5678_9abc_def1);
    let mut runs = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(path).unwrap();
        let base = members(&data);
        let original = inspect_bytes(&name, &rezip(&base)).unwrap();
        assert_eq!(
            original.signature.digest_ok,
            Some(true),
            "{name} rewritten unchanged must still verify: {:?}",
            original.findings
        );
        let cov = covered(&base);
        assert!(cov.len() >= 3, "{name}: {cov:?}");
        for _ in 0..30 {
            let (j, range) = &cov[rng.below(cov.len())];
            let at = range.start + rng.below(range.len());
            let mut m = base.clone();
            m[*j].1[at] ^= 1 << rng.below(8);
            if let Some(i) = inspect_bytes(&name, &rezip(&m)) {
                assert_ne!(
                    i.signature.digest_ok,
                    Some(true),
                    "{name}: byte {at} of {} changed, still verifies",
                    m[*j].0
                );
            }
            runs += 1;
        }
    }
    println!("{runs} mutations of covered bytes, none verified");
}

/// A real Apple-signed IPA whose extension is swapped for other, validly signed code (the
/// fixture's widget): it reads invalid, although the swapped-in code verifies on its own.
/// (This IPA's seal lists the extension's files one by one; a seal that lists nested code by
/// CodeDirectory hash is checked by `seal::listed_cdhash`, with no such IPA in the corpus.)
/// Needs `DIST_CORPUS` (fails when it is set and the file is missing).
#[test]
fn a_swapped_extension_breaks_a_real_apps_seal() {
    let Some(c) = corpus::dir() else {
        return;
    };
    let path = c.join("ios/icyleaf-embedded.ipa");
    assert!(
        path.exists(),
        "DIST_CORPUS is set but {} is missing",
        path.display()
    );
    let real = members(&std::fs::read(&path).unwrap());
    let tiny = members(&std::fs::read(fixtures().join("tiny-adhoc.ipa")).unwrap());
    let (ext, widget) = (
        "Payload/Demo.app/PlugIns/Notification.appex/",
        "Payload/Tiny.app/PlugIns/Widget.appex/",
    );
    let mut swapped: Vec<(String, Vec<u8>)> = real
        .iter()
        .filter(|(n, _)| !n.starts_with(ext) || n == ext)
        .cloned()
        .collect();
    swapped.extend(tiny.iter().filter_map(|(n, b)| {
        n.strip_prefix(widget)
            .map(|r| (format!("{ext}{r}"), b.clone()))
    }));
    let i = inspect_bytes("swapped.ipa", &rezip(&swapped)).unwrap();
    assert_eq!(
        i.signature.state,
        SignatureState::Invalid,
        "{:?}",
        i.findings
    );
    let f = i
        .findings
        .iter()
        .find(|f| f.code == "ios.signature.invalid")
        .expect("an invalid finding");
    for says in [
        "PlugIns/Notification.appex/_CodeSignature/CodeResources was changed after signing",
        "PlugIns/Notification.appex/Widget was added after signing",
        "PlugIns/Notification.appex/Notification is sealed but missing",
    ] {
        assert!(f.message.contains(says), "{says}: {}", f.message);
    }
    // The swapped-in extension verifies on its own.
    let nested = i.details["seal"]["nested_code"].as_array().unwrap();
    assert!(
        nested.iter().any(|n| n["state"] == "untrusted"),
        "{nested:?}"
    );
}

/// (parse, state, digest_ok): what a flipped covered bit must change.
fn code_verdict(name: &str, bytes: &[u8]) -> String {
    match registry().inspect(
        name,
        &mut std::io::Cursor::new(bytes),
        None,
        Limits::default(),
        NOW,
    ) {
        Ok(i) => {
            let i = i.inspection;
            format!(
                "{:?} {:?} {:?}",
                i.parse, i.signature.state, i.signature.digest_ok
            )
        }
        Err(e) => format!("refused: {e}"),
    }
}

#[test]
/// The signed-bytes property for bare Mach-O files (code pages up to the code limit) and
/// provisioning profiles (the plist the CMS digests), with `dist-testkit`'s description of
/// what each covers.
fn flipping_a_signed_code_or_profile_byte_changes_the_verdict() {
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    let exts = ["macho", "mobileprovision"];
    let mut files = files_with(&fixtures(), &exts);
    files.extend(corpus::platform_files("ios", &exts).unwrap_or_default());
    for (fi, path) in files.iter().enumerate() {
        let data = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let coverage = match path.extension().and_then(|e| e.to_str()) {
            Some("macho") => signed::macho_code(&data),
            Some("mobileprovision") if data.first() == Some(&0x30) => signed::cms_content(&data),
            _ => None,
        };
        let Some(coverage) = coverage else { continue };
        let original = code_verdict(&name, &data);
        // Only a signature that holds can be broken.
        if !original.ends_with("Some(true)") {
            continue;
        }
        match signed::flips_change_the_verdict(&data, &coverage, 24, fi as u64 + 1, |b| {
            code_verdict(&name, b)
        }) {
            Ok(n) => checked.push(format!("{name} ({}, {n} flips)", coverage.format)),
            Err(e) => failures.extend(e.into_iter().map(|f| format!("{name}: {f}"))),
        }
    }
    println!("{}", checked.join("\n"));
    assert!(
        checked.iter().any(|c| c.contains("macho-code"))
            && checked.iter().any(|c| c.contains("cms-content")),
        "no signed Mach-O or profile was checked: {checked:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
