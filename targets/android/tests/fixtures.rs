//! Behaviour on the project's own fixtures (`fixtures/android`, made by `make.sh`): runs on a
//! fresh clone, without the corpus.

mod common;

use platform::{
    ActionKind, ArtifactView, Client, FileName, Inspection, Kind, Links, Probe, Severity,
    SignatureState, Signer, Target,
};
use target_android::AndroidTarget;

fn fixture(name: &str) -> platform::Inspected {
    common::inspect_path(&common::fixtures().join(name))
}

fn codes(i: &Inspection) -> Vec<(&str, Severity)> {
    i.findings
        .iter()
        .map(|f| (f.code.as_str(), f.severity))
        .collect()
}

#[test]
fn signed_v1v2v3_reads_everything_and_verifies() {
    let got = fixture("signed-v1v2v3.apk");
    let i = &got.inspection;
    assert_eq!(i.kind.as_str(), "apk");
    assert_eq!(i.identity.as_deref(), Some("org.dist.fixture"));
    assert_eq!(
        i.version.as_deref(),
        Some("1.2.3"),
        "versionName through @string"
    );
    assert_eq!(i.build.as_deref(), Some("42"));
    assert_eq!(i.min_os.as_deref(), Some("21"));
    assert_eq!(i.target_sdk.as_deref(), Some("33"));
    assert_eq!(i.display_name.as_deref(), Some("Dist Fixture"));
    assert_eq!(
        i.archs.as_deref(),
        Some(&["arm64-v8a".to_owned(), "x86_64".to_owned()][..])
    );
    assert_eq!(i.device_family.as_deref(), Some(&["tv".to_owned()][..]));
    assert_eq!(i.signature.state, SignatureState::Signed);
    assert_eq!(i.signature.schemes, ["v1", "v2", "v3"]);
    assert_eq!(i.signature.digest_ok, Some(true));
    assert_eq!(i.signature.chain_ok, None);
    assert_eq!(i.signature.signers.len(), 1);
    assert_eq!(
        i.signature.signers[0].subject,
        "CN=Dist Fixture, OU=Test, O=dist, C=DE"
    );
    assert_eq!(i.signature.signers[0].sha256.len(), 64);
    assert!(i.findings.is_empty(), "{:?}", i.findings);
    let perms = i.details["permissions"].as_array().unwrap();
    assert!(perms.iter().any(|p| p == "android.permission.CAMERA"));
    assert!(
        i.details["icon"].as_str().unwrap().contains("mipmap-xhdpi"),
        "densest icon wins"
    );
    assert!(got.icon_png.unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn unsigned_is_an_error() {
    let i = fixture("unsigned.apk").inspection;
    assert_eq!(i.signature.state, SignatureState::Unsigned);
    assert!(i.signature.schemes.is_empty());
    assert!(codes(&i).contains(&("android.signature.unsigned", Severity::Error)));
}

#[test]
fn tampered_is_invalid() {
    let i = fixture("tampered.apk").inspection;
    assert_eq!(i.signature.state, SignatureState::Invalid);
    assert_eq!(i.signature.digest_ok, Some(false));
    let f = i
        .findings
        .iter()
        .find(|f| f.code == "android.signature.invalid")
        .expect("invalid finding");
    assert_eq!(f.severity, Severity::Error);
    assert!(
        f.message.contains("classes.dex") || f.message.contains("digest"),
        "{}",
        f.message
    );
}

#[test]
fn v1_only_with_target_30_plus_is_an_error() {
    let i = fixture("signed-v1-only.apk").inspection;
    assert_eq!(i.signature.state, SignatureState::Signed);
    assert_eq!(i.signature.schemes, ["v1"]);
    assert!(codes(&i).contains(&("android.signature.v1_only", Severity::Error)));
}

#[test]
fn debuggable_and_test_only_warn_and_block_the_tap_install() {
    let i = fixture("debuggable.apk").inspection;
    assert_eq!(i.signature.schemes, ["v2"]);
    assert_eq!(i.signature.state, SignatureState::Signed);
    let c = codes(&i);
    assert!(c.contains(&("android.manifest.debuggable", Severity::Warning)));
    assert!(c.contains(&("android.manifest.test_only", Severity::Warning)));
    let kind: Kind = "apk".parse().unwrap();
    let actions = AndroidTarget.install_actions(
        &view(&kind, &i),
        &links(),
        &Client::new("Mozilla/5.0 (Linux; Android 14; Pixel 8)"),
    );
    let dl = actions
        .iter()
        .find(|a| a.kind == ActionKind::Download)
        .unwrap();
    assert!(!dl.available);
    let adb = actions
        .iter()
        .find(|a| a.kind == ActionKind::CopyCommand)
        .unwrap();
    assert!(
        adb.command
            .as_deref()
            .unwrap()
            .contains("adb install -r -t")
    );
}

#[test]
fn rotation_lineage_is_verified_and_satisfies_continuity() {
    let old = fixture("signed-v1v2v3.apk").inspection;
    let new = fixture("rotated.apk").inspection;
    assert_eq!(new.signature.state, SignatureState::Signed);
    let lineage = new.details["lineage"].as_array().expect("lineage");
    assert_eq!(lineage.len(), 2);
    assert!(lineage.iter().all(|n| n["verified"] == true));
    assert_eq!(
        lineage[0]["sha256"],
        old.signature.signers[0].sha256.as_str()
    );
    let f = AndroidTarget.check_continuity(&old, &new);
    assert!(f.iter().all(|f| f.severity != Severity::Error), "{f:?}");
    assert!(f.iter().any(|f| f.code == "android.signer.rotated"));
}

#[test]
fn a_different_signer_breaks_continuity() {
    let current = fixture("signed-v1v2v3.apk").inspection;
    let mut next = current.clone();
    next.file = "next.apk".into();
    next.signature.signers = vec![Signer {
        subject: "CN=Someone Else".into(),
        sha256: "ab".repeat(32),
    }];
    // As an inspection stored before per-SDK signers were recorded: its signers count for
    // every device.
    next.details.remove("signers_by_sdk");
    let f = AndroidTarget.check_continuity(&current, &next);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].code, "android.signer.changed");
    assert_eq!(f[0].severity, Severity::Error);
    // Same signer: nothing to say.
    assert!(
        AndroidTarget
            .check_continuity(&current, &current)
            .is_empty()
    );
}

#[test]
fn detection_uses_the_index_not_the_name() {
    let bytes = std::fs::read(common::fixtures().join("signed-v1v2v3.apk")).unwrap();
    let renamed = common::inspect_bytes("build-output.zip", &bytes).expect("recognised");
    assert_eq!(renamed.inspection.kind.as_str(), "apk");
    assert_eq!(renamed.inspection.signature.state, SignatureState::Signed);

    // A broken zip named .apk is claimed, then refused with a finding.
    let mut junk = b"PK\x03\x04".to_vec();
    junk.extend_from_slice(&[7u8; 300]);
    let p = Probe::read(
        "broken.apk",
        &mut std::io::Cursor::new(&junk),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(AndroidTarget.detect(&p).unwrap().kind.as_str(), "apk");
    let r = common::inspect_bytes("broken.apk", &junk)
        .unwrap()
        .inspection;
    assert_eq!(r.parse, platform::Parse::Reject);
    assert!(r.findings[0].code.starts_with("android.zip."));
    // The same bytes under another name are nobody's.
    let p = Probe::read(
        "broken.bin",
        &mut std::io::Cursor::new(&junk),
        &Default::default(),
    )
    .unwrap();
    assert!(AndroidTarget.detect(&p).is_none());
}

fn links() -> Links {
    Links {
        base: "https://dist.example".into(),
        download: "https://dist.example/a/1/download".into(),
        icon: None,
        documents: "https://dist.example/a/1/doc".into(),
    }
}

fn view<'a>(kind: &'a Kind, i: &'a Inspection) -> ArtifactView<'a> {
    ArtifactView {
        id: "1",
        file_name: None,
        kind,
        size: i.size,
        sha256: None,
        arch: None,
        install_mode: None,
        link: None,
        inspection: Some(i),
        notarization: None,
        app_name: "Fixture",
    }
}

#[test]
fn install_actions_per_client() {
    let i = fixture("signed-v1v2v3.apk").inspection;
    let kind: Kind = "apk".parse().unwrap();
    let phone = AndroidTarget.install_actions(
        &view(&kind, &i),
        &links(),
        &Client::new("Mozilla/5.0 (Linux; Android 14; Pixel 8)"),
    );
    assert_eq!(phone[0].kind, ActionKind::Download);
    assert!(phone[0].primary && phone[0].available);
    assert!(
        phone[0]
            .caveats
            .iter()
            .any(|c| c.contains("unknown sources"))
    );
    let desk = AndroidTarget.install_actions(
        &view(&kind, &i),
        &links(),
        &Client::new("Mozilla/5.0 (X11; Linux x86_64)"),
    );
    assert_eq!(desk[0].kind, ActionKind::CopyCommand);
    assert!(desk[0].command.as_deref().unwrap().contains("adb install"));
    // A publisher's file name reaches a command people paste: it stays one quoted word.
    let hostile: FileName = "x'; touch pwned; '.apk".parse().unwrap();
    let mut v = view(&kind, &i);
    v.file_name = Some(&hostile);
    let cmd = AndroidTarget.install_actions(
        &v,
        &links(),
        &Client::new("Mozilla/5.0 (X11; Linux x86_64)"),
    )[0]
    .command
    .clone()
    .unwrap();
    assert_eq!(
        cmd,
        r"curl -fL -o 'x'\''; touch pwned; '\''.apk' 'https://dist.example/a/1/download' && adb install -r 'x'\''; touch pwned; '\''.apk'"
    );

    let aab: Kind = "aab".parse().unwrap();
    let a = AndroidTarget.install_actions(
        &view(&aab, &i),
        &links(),
        &Client::new("Mozilla/5.0 (Linux; Android 14; Pixel 8)"),
    );
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].kind, ActionKind::Download);
    assert!(a[0].caveats[0].contains("cannot be installed"));
}

/// A split set built around a fixture: `(name, bytes, stored?)` members.
fn zip_of(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        for (name, data, stored) in members {
            let method = if *stored {
                zip::CompressionMethod::Stored
            } else {
                zip::CompressionMethod::Deflated
            };
            let o = zip::write::SimpleFileOptions::default().compression_method(method);
            w.start_file(*name, o).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
    }
    buf.into_inner()
}

#[test]
fn split_sets_are_read_through_their_base_apk() {
    let base = std::fs::read(common::fixtures().join("signed-v1v2v3.apk")).unwrap();
    let other = std::fs::read(common::fixtures().join("unsigned.apk")).unwrap();
    // bundletool's .apks: base stored, read in place through a window.
    let apks = zip_of(&[
        ("toc.pb", b"", true),
        ("splits/base-master.apk", &base, true),
        ("splits/base-xxhdpi.apk", &other, true),
    ]);
    let i = common::inspect_bytes("app.apks", &apks).unwrap().inspection;
    assert_eq!(i.kind.as_str(), "apks");
    assert_eq!(i.identity.as_deref(), Some("org.dist.fixture"));
    assert_eq!(i.signature.state, SignatureState::Signed);
    assert_eq!(i.details["base_apk"], "splits/base-master.apk");
    assert!(codes(&i).contains(&("android.bundle.split_set", Severity::Info)));
    // An XAPK with a deflated base APK: read into memory within the member limit.
    let xapk = zip_of(&[
        ("manifest.json", b"{}", false),
        ("base.apk", &base, false),
        ("config.xxhdpi.apk", &other, false),
    ]);
    let i = common::inspect_bytes("app.xapk", &xapk).unwrap().inspection;
    assert_eq!(i.kind.as_str(), "xapk");
    assert_eq!(i.display_name.as_deref(), Some("Dist Fixture"));
    assert_eq!(i.signature.state, SignatureState::Signed);
    let kind: Kind = "apks".parse().unwrap();
    let a = AndroidTarget.install_actions(
        &view(&kind, &i),
        &links(),
        &Client::new("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)"),
    );
    assert_eq!(a[0].kind, ActionKind::CopyCommand);
    assert!(
        a[0].command
            .as_deref()
            .unwrap()
            .contains("bundletool install-apks")
    );
}

/// The install page's facts: the oldest Android it runs on and the key it is signed with.
#[test]
fn page_facts_name_the_minimum_and_the_signer() {
    let i = fixture("signed-v1v2v3.apk").inspection;
    let kind: Kind = "apk".parse().unwrap();
    let facts = AndroidTarget.page_facts(&view(&kind, &i));
    assert_eq!(facts[0].label, "Requires");
    assert_eq!(facts[0].value, "Android API level 21 or later");
    assert_eq!(i.signature.signers.len(), 1, "{:?}", i.signature.signers);
    assert_eq!(facts[1].label, "Signing certificate SHA-256");
    assert_eq!(facts[1].value, i.signature.signers[0].sha256);
    assert_eq!(facts.len(), 2);
}
