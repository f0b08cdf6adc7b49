//! The project's own fixtures (`fixtures/linux`, made by `make.sh` with dpkg-deb, tar, gpg
//! and the `gen.py` generators, each cross-checked by an independent reader): every kind,
//! every compression, signed, unsigned, tampered, untrusted and malformed, without the
//! corpus. The fixtures' keys (`keys/*.pub`) stand for the keys an admin added to the app.

mod common;

use std::ops::Range;

use dist_testkit::corpus;
use dist_testkit::signed::{Coverage, flips_change_the_verdict};
use platform::{Inspection, Parse, SignatureState};

fn keys() -> Vec<Vec<u8>> {
    ["rsa.pub", "ed25519.pub"]
        .iter()
        .map(|k| corpus::read(&common::fixtures().join("keys").join(k)))
        .collect()
}

fn inspect(name: &str) -> Inspection {
    let data = corpus::read(&common::fixtures().join(name));
    common::inspect_with_keys(name, &data, &keys())
        .unwrap_or_else(|e| panic!("{e}"))
        .inspection
}

fn codes(i: &Inspection) -> Vec<&str> {
    i.findings.iter().map(|f| f.code.as_str()).collect()
}

#[test]
fn debs_in_every_compression() {
    for z in ["xz", "gzip", "zstd"] {
        let i = inspect(&format!("hello-dist_1.2.3-4_amd64.{z}.deb"));
        assert_eq!(i.kind.as_str(), "deb");
        assert_eq!(i.parse, Parse::Ok, "{z}: {:?}", i.findings);
        assert_eq!(i.identity.as_deref(), Some("hello-dist"));
        assert_eq!(i.version.as_deref(), Some("1:1.2.3-4"));
        assert_eq!(i.archs, Some(vec!["amd64".to_owned()]));
        let c = &i.details["control"];
        assert_eq!(
            (
                c["epoch"].as_u64(),
                c["upstream_version"].as_str(),
                c["revision"].as_str()
            ),
            (Some(1), Some("1.2.3"), Some("4"))
        );
        assert_eq!(c["depends"], "libc6 (>= 2.34)");
        assert_eq!(c["installed_size_kib"], 1);
        assert_eq!(c["description"], "greets the world");
        assert_eq!(i.details["md5sums"], true);
        assert_eq!(i.signature.state, SignatureState::Unsigned);
    }
}

#[test]
fn deb_signature_members_are_reported_and_bad_order_refused() {
    let i = inspect("signed-debsig.deb");
    assert_eq!(i.details["gpg_members"][0], "_gpgorigin");
    assert_eq!(
        i.signature.state,
        SignatureState::Signed,
        "{:?}",
        i.findings
    );
    assert_eq!(i.signature.schemes, ["debsig"]);
    assert!(i.signature.signers[0].subject.contains("RSA"));
    let i = inspect("tampered-debsig.deb");
    assert_eq!(i.signature.state, SignatureState::Invalid);
    assert!(codes(&i).contains(&"linux.signature.invalid"));
    let data = corpus::read(&common::fixtures().join("signed-debsig.deb"));
    let i = common::inspect_bytes("x.deb", &data).unwrap().inspection;
    assert_eq!(i.signature.state, SignatureState::Unknown);
    assert!(codes(&i).contains(&"linux.deb.signature_unknown_key"));
    let i = inspect("bad-order.deb");
    assert_eq!(i.parse, Parse::Reject);
    assert!(
        i.findings[0].message.contains("in that order"),
        "{:?}",
        i.findings
    );
}

#[test]
fn tarballs_layout_and_archs() {
    for ext in ["gz", "zst", "bz2"] {
        let i = inspect(&format!("app-1.0-x86_64.tar.{ext}"));
        assert_eq!(i.kind.as_str(), "tarball", "{ext}");
        assert_eq!(i.parse, Parse::Ok);
        assert_eq!(i.details["single_top_folder"], "app-1.0");
        assert_eq!(i.archs, Some(vec!["x86_64".to_owned()]));
        assert_eq!(i.details["executables"][0]["path"], "app-1.0/bin/app");
    }
    let i = inspect("flat-aarch64.tar.xz");
    assert_eq!(i.archs, Some(vec!["aarch64".to_owned()]));
    assert!(i.details["single_top_folder"].is_null());
    assert!(codes(&i).contains(&"linux.tarball.no_top_folder"));
}

#[test]
fn rpms_fields_digests_and_signatures() {
    let i = inspect("hello-1.0-1.x86_64.rpm");
    assert_eq!(
        (i.identity.as_deref(), i.version.as_deref()),
        (Some("hello"), Some("1.0-1"))
    );
    assert_eq!(i.signature.state, SignatureState::Unsigned);
    assert_eq!(i.signature.digest_ok, Some(true));
    assert_eq!(i.details["license"], "MIT");
    assert_eq!(
        i.details["requires"][1],
        "rpmlib(CompressedFileNames) <= 3.0.4-1"
    );
    assert!(codes(&i).contains(&"linux.rpm.unsigned"));

    for (f, scheme_key) in [
        ("hello-1.0-1.x86_64-rsa.rpm", "RSA"),
        ("hello-1.0-1.x86_64-eddsa.rpm", "EdDSA"),
    ] {
        let i = inspect(f);
        assert_eq!(
            i.signature.state,
            SignatureState::Signed,
            "{f}: {:?}",
            i.findings
        );
        assert_eq!(i.signature.schemes, ["rpm-v4"]);
        assert!(i.signature.signers[0].subject.contains(scheme_key));
        assert_eq!(i.signature.signers[0].sha256.len(), 64);
    }
    assert_eq!(
        inspect("hello-1.0-1.x86_64-eddsa.rpm").details["payload_compressor"],
        "xz"
    );

    let i = inspect("hello-1.0-1.x86_64-tampered.rpm");
    assert_eq!(i.parse, Parse::Reject);
    assert_eq!(i.signature.state, SignatureState::Invalid);
    assert!(codes(&i).contains(&"linux.rpm.payload_digest"));

    let i = inspect("hello-1.0-1.x86_64-otherkey.rpm");
    assert_eq!(i.signature.state, SignatureState::Unknown);
    assert_eq!(
        i.details["signature"]["key_id"].as_str().map(str::len),
        Some(16)
    );

    let i = inspect("hello-1.0-1.x86_64-v3.rpm");
    assert_eq!(
        i.signature.state,
        SignatureState::Signed,
        "{:?}",
        i.findings
    );
    assert_eq!(i.signature.schemes, ["rpm-v3"]);

    // rpm 6 (tag 278): signed by an untrusted key and by the EdDSA one; the trusted one is
    // checked, the other named. Without the EdDSA key both are unknown and both named.
    let i = inspect("hello-1.0-1.x86_64-v6.rpm");
    assert_eq!(
        i.signature.state,
        SignatureState::Signed,
        "{:?}",
        i.findings
    );
    assert_eq!(i.signature.schemes, ["rpm-v6"]);
    assert!(i.signature.signers[0].subject.contains("EdDSA"));
    let other = i.details["signature"]["other_key_ids"][0].as_str().unwrap();
    assert_eq!(other.len(), 16);
    let data = corpus::read(&common::fixtures().join("hello-1.0-1.x86_64-v6.rpm"));
    let rsa_only = [keys().remove(0)];
    let i = common::inspect_with_keys("hello-1.0-1.x86_64-v6.rpm", &data, &rsa_only)
        .unwrap()
        .inspection;
    assert_eq!(i.signature.state, SignatureState::Unknown);
    let f = i
        .findings
        .iter()
        .find(|f| f.code == "linux.rpm.signature_unknown_key")
        .expect("the unknown keys are named");
    assert!(f.message.contains(other), "{}", f.message);
    // A character changed inside the EdDSA signature's base64 (the second string of tag
    // 278, found through the signature header's index) no longer verifies.
    let be32 = |at: usize| u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
    let count = be32(96 + 8);
    let store = 96 + 16 + 16 * count;
    let entry = (0..count)
        .map(|i| 96 + 16 + 16 * i)
        .find(|&e| be32(e) == 278)
        .expect("tag 278 in the signature header");
    let first = store + be32(entry + 8);
    let second = first + data[first..].iter().position(|b| *b == 0).unwrap() + 1;
    let mut bad = data.clone();
    let c = &mut bad[second + 40];
    *c = if *c == b'A' { b'B' } else { b'A' };
    let i = common::inspect_with_keys("v6.rpm", &bad, &keys())
        .unwrap()
        .inspection;
    assert_ne!(
        i.signature.state,
        SignatureState::Signed,
        "{:?}",
        i.findings
    );

    // ECDSA: P-256 with SHA-256 and SHA-384, P-384 with SHA-384, each against its key; with
    // only the other curve's key trusted, unknown.
    for (f, key) in [
        ("hello-1.0-1.x86_64-p256.rpm", "p256.pub"),
        ("hello-1.0-1.x86_64-p256-sha384.rpm", "p256.pub"),
        ("hello-1.0-1.x86_64-p384.rpm", "p384.pub"),
    ] {
        let data = corpus::read(&common::fixtures().join(f));
        let key = corpus::read(&common::fixtures().join("keys").join(key));
        let i = common::inspect_with_keys(f, &data, &[key])
            .unwrap()
            .inspection;
        assert_eq!(
            i.signature.state,
            SignatureState::Signed,
            "{f}: {:?}",
            i.findings
        );
        assert!(i.signature.signers[0].subject.contains("ECDSA"), "{f}");
        assert_eq!(
            common::inspect_with_keys(f, &data, &keys())
                .unwrap()
                .inspection
                .signature
                .state,
            SignatureState::Unknown,
            "{f}"
        );
    }

    let i = inspect("hello-1.0-1.src.rpm");
    assert_eq!(i.details["source"], true);
    assert_eq!(i.archs, Some(vec!["src".to_owned()]));
}

#[test]
fn appimages_desktop_update_info_and_signatures() {
    let i = inspect("Hello-x86_64.AppImage");
    assert_eq!(i.kind.as_str(), "appimage");
    assert_eq!(i.parse, Parse::Ok);
    assert_eq!(i.display_name.as_deref(), Some("Hello"));
    assert_eq!(i.version.as_deref(), Some("1.2.3"));
    assert_eq!(i.identity.as_deref(), Some("hello"));
    assert_eq!(i.details["desktop"]["categories"], "Utility;");
    assert!(
        i.details["update_information"]
            .as_str()
            .unwrap()
            .starts_with("gh-releases-zsync|")
    );
    assert_eq!(i.signature.state, SignatureState::Unsigned);
    let data = corpus::read(&common::fixtures().join("Hello-x86_64.AppImage"));
    let icon = common::inspect_bytes("Hello-x86_64.AppImage", &data)
        .unwrap()
        .icon_png;
    assert!(
        icon.is_some_and(|p| p.starts_with(b"\x89PNG")),
        "the .DirIcon symlink is followed"
    );

    for f in [
        "Hello-signed-x86_64.AppImage",
        "Hello-eddsa-xz-x86_64.AppImage",
    ] {
        let i = inspect(f);
        assert_eq!(
            i.signature.state,
            SignatureState::Signed,
            "{f}: {:?}",
            i.findings
        );
        assert_eq!(i.signature.schemes, ["appimage-gpg"]);
        assert!(codes(&i).contains(&"linux.appimage.no_update_info"));
    }
    assert_eq!(
        inspect("Hello-eddsa-xz-x86_64.AppImage").details["squashfs"]["compressor"],
        "xz"
    );
    let i = inspect("Hello-tampered-x86_64.AppImage");
    assert_eq!(i.signature.state, SignatureState::Invalid);
    // Without the key, a signed AppImage is unknown, never signed.
    let data = corpus::read(&common::fixtures().join("Hello-signed-x86_64.AppImage"));
    let i = common::inspect_bytes("x.AppImage", &data)
        .unwrap()
        .inspection;
    assert_eq!(i.signature.state, SignatureState::Unknown);
    assert!(codes(&inspect("NoDesktop-x86_64.AppImage")).contains(&"linux.appimage.no_desktop"));
}

/// Type 1 (an ISO 9660 image made by xorriso around the runtime): the same desktop facts,
/// the update information from the volume descriptor, and no place for a signature.
#[test]
fn type_1_appimages() {
    let i = inspect("Hello1-x86_64.AppImage");
    assert_eq!(i.parse, Parse::Ok, "{:?}", i.findings);
    assert_eq!(i.details["type"], 1);
    assert_eq!(
        (
            i.identity.as_deref(),
            i.version.as_deref(),
            i.display_name.as_deref()
        ),
        (Some("hello"), Some("1.0.1"), Some("Hello One"))
    );
    assert_eq!(i.archs, Some(vec!["x86_64".to_owned()]));
    assert_eq!(
        i.details["update_information"],
        "zsync|https://example.org/Hello1-x86_64.AppImage.zsync"
    );
    assert_eq!(i.signature.state, SignatureState::Unsigned);
    assert!(!codes(&i).contains(&"linux.appimage.no_update_info"));
    let unsigned = i
        .findings
        .iter()
        .find(|f| f.code == "linux.appimage.unsigned")
        .unwrap();
    assert!(unsigned.message.contains("type 1"), "{}", unsigned.message);

    let i = inspect("Hello1-noupdate-x86_64.AppImage");
    assert_eq!(i.details["update_information"], serde_json::Value::Null);
    assert!(codes(&i).contains(&"linux.appimage.no_update_info"));

    // Cut inside the ISO's directory records: an error naming the image, not a panic.
    let data = corpus::read(&common::fixtures().join("Hello1-x86_64.AppImage"));
    for cut in [32 * 1024, 17 * 2048 + 100, data.len() / 2] {
        match common::inspect_with_keys("cut.AppImage", &data[..cut], &keys()) {
            Ok(i) => assert_ne!(i.inspection.parse, Parse::Ok, "cut at {cut}"),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

/// Renamed files are recognised by content, and a file named like a package but holding
/// something else is not taken for one.
#[test]
fn detection_ignores_the_extension() {
    let deb = corpus::read(&common::fixtures().join("hello-dist_1.2.3-4_amd64.xz.deb"));
    assert_eq!(
        common::inspect_bytes("renamed.bin", &deb)
            .unwrap()
            .inspection
            .kind
            .as_str(),
        "deb"
    );
    let rpm = corpus::read(&common::fixtures().join("hello-1.0-1.x86_64.rpm"));
    assert_eq!(
        common::inspect_bytes("x.deb", &rpm)
            .unwrap()
            .inspection
            .kind
            .as_str(),
        "rpm"
    );
    let tgz = corpus::read(&common::fixtures().join("app-1.0-x86_64.tar.gz"));
    assert_eq!(
        common::inspect_bytes("app.256tgz", &tgz)
            .unwrap()
            .inspection
            .kind
            .as_str(),
        "tarball"
    );
    assert!(common::inspect_bytes("x.deb", b"not a package at all").is_err());
    assert!(common::inspect_bytes("x.tar.gz", &[0x1f, 0x8b, 8, 0, 0, 0]).is_err());
}

/// Offsets of an rpm's main header (what the V4 signature and the SHA-256 cover), found
/// from the format: lead 96 bytes, signature header padded to 8.
fn rpm_header(d: &[u8]) -> Range<usize> {
    let be = |at: usize| u32::from_be_bytes(d[at..at + 4].try_into().unwrap()) as usize;
    let sig_len = 16 + 16 * be(96 + 8) + be(96 + 12);
    let start = 96 + sig_len + (8 - sig_len % 8) % 8;
    let len = 16 + 16 * be(start + 8) + be(start + 12);
    start..start + len
}

/// No flip of a byte the signature covers reads `signed`.
#[test]
fn flipped_signed_bytes_never_read_signed() {
    let verdict = |name: &str, d: &[u8]| match common::inspect_with_keys(name, d, &keys()) {
        Ok(i) => format!(
            "{:?}/{:?}",
            i.inspection.parse, i.inspection.signature.state
        ),
        Err(e) => format!("error {e}"),
    };
    let rpm = corpus::read(&common::fixtures().join("hello-1.0-1.x86_64-rsa.rpm"));
    let cov = Coverage {
        format: "rpm-v4",
        what: "the main header",
        ranges: vec![rpm_header(&rpm)],
    };
    let n = flips_change_the_verdict(&rpm, &cov, 200, 7, |d| verdict("x.rpm", d))
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(n, 200);
    let payload = rpm_header(&rpm).end..rpm.len();
    let cov = Coverage {
        format: "rpm-payload",
        what: "the payload (its digest is in the header)",
        ranges: vec![payload],
    };
    flips_change_the_verdict(&rpm, &cov, 100, 8, |d| verdict("x.rpm", d))
        .unwrap_or_else(|e| panic!("{e:#?}"));
    // The same over an ECDSA (P-256) signed header, its key trusted.
    let p256 = [corpus::read(&common::fixtures().join("keys/p256.pub"))];
    let rpm = corpus::read(&common::fixtures().join("hello-1.0-1.x86_64-p256.rpm"));
    let cov = Coverage {
        format: "rpm-v4-ecdsa",
        what: "the main header",
        ranges: vec![rpm_header(&rpm)],
    };
    let n = flips_change_the_verdict(&rpm, &cov, 200, 9, |d| {
        match common::inspect_with_keys("x.rpm", d, &p256) {
            Ok(i) => format!(
                "{:?}/{:?}",
                i.inspection.parse, i.inspection.signature.state
            ),
            Err(e) => format!("error {e}"),
        }
    })
    .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(n, 200);
    // debsigs: the data of the first three ar members (60-byte headers, even padding).
    let deb = corpus::read(&common::fixtures().join("signed-debsig.deb"));
    let mut ranges = Vec::new();
    let mut at = 8;
    for _ in 0..3 {
        let size: usize = std::str::from_utf8(&deb[at + 48..at + 58])
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        ranges.push(at + 60..at + 60 + size);
        at += 60 + size + size % 2;
    }
    let cov = Coverage {
        format: "debsig",
        what: "debian-binary, control and data archives",
        ranges,
    };
    flips_change_the_verdict(&deb, &cov, 100, 10, |d| verdict("x.deb", d))
        .unwrap_or_else(|e| panic!("{e:#?}"));
    let app = corpus::read(&common::fixtures().join("Hello-signed-x86_64.AppImage"));
    // Everything but the two signature sections, sampled over the squashfs and runtime.
    let cov = Coverage {
        format: "appimage-gpg",
        what: "the runtime's code and the squashfs",
        ranges: vec![64..4096, 4096 + 64 + 1024 * 10..app.len()],
    };
    flips_change_the_verdict(&app, &cov, 100, 9, |d| verdict("x.AppImage", d))
        .unwrap_or_else(|e| panic!("{e:#?}"));
}

/// Key pinning through the app's identity rules: the signer's key SHA-256 pinned meets the
/// rule; another key, or a key the app does not trust, does not.
#[test]
fn pinned_keys_through_identity_rules() {
    use platform::{PlatformRules, Target};
    let signed = inspect("hello-1.0-1.x86_64-rsa.rpm");
    let pinned = PlatformRules {
        signer_sha256: vec![signed.signature.signers[0].sha256.clone()],
        ..Default::default()
    };
    let t = target_linux::LinuxTarget;
    assert!(t.check_identity(&signed, &pinned).is_empty());
    let eddsa = inspect("hello-1.0-1.x86_64-eddsa.rpm");
    let f = t.check_identity(&eddsa, &pinned);
    assert_eq!(f[0].code, "identity.signer_not_pinned", "{f:?}");
    let other = inspect("hello-1.0-1.x86_64-otherkey.rpm");
    let f = t.check_identity(&other, &pinned);
    assert!(
        f.iter()
            .any(|f| f.code == "identity.signer_missing" && f.message.contains("OpenPGP key")),
        "{f:?}"
    );
}

/// A channel's next rpm signed by another key, or not at all, is a warning.
#[test]
fn continuity_of_the_signing_key() {
    let rsa = inspect("hello-1.0-1.x86_64-rsa.rpm");
    let same = inspect("hello-1.0-1.x86_64-v3.rpm");
    let other = inspect("hello-1.0-1.x86_64-otherkey.rpm");
    let unsigned = inspect("hello-1.0-1.x86_64.rpm");
    assert!(target_linux::check_continuity(&rsa, &same).is_empty());
    assert_eq!(
        target_linux::check_continuity(&rsa, &other)[0].code,
        "linux.signer.changed"
    );
    assert_eq!(
        target_linux::check_continuity(&rsa, &unsigned)[0].code,
        "linux.signer.dropped"
    );
    assert!(target_linux::check_continuity(&unsigned, &rsa).is_empty());
}

/// A package's version carries packaging parts (a deb's epoch and revision, an rpm's
/// release): a release named after the software's version holds it without a
/// `release.version_mismatch`; another version is still one, and says what would fit.
#[test]
fn package_versions_fit_the_release_named_after_the_software() {
    use platform::versions::{MismatchPolicy, version_mismatch};
    use platform::{Registry, Target};
    let registry = Registry::new([&target_linux::LinuxTarget as &'static dyn Target]);
    let fits = |i: &Inspection, release: &str| {
        version_mismatch(
            &registry,
            i,
            &release.parse().unwrap(),
            &"1".parse().unwrap(),
            MismatchPolicy::Error,
        )
    };
    let deb = inspect("hello-dist_1.2.3-4_amd64.xz.deb");
    assert_eq!(deb.version.as_deref(), Some("1:1.2.3-4"));
    let rpm = inspect("hello-1.0-1.x86_64.rpm");
    assert_eq!(rpm.version.as_deref(), Some("1.0-1"));
    for (i, release) in [
        (&deb, "1.2.3"),
        (&deb, "1.2.3-4"),
        (&rpm, "1.0"),
        (&rpm, "1.0-1"),
    ] {
        assert_eq!(fits(i, release), None, "{} in {release}", i.file);
    }
    let f = fits(&deb, "1.2.4").expect("1.2.3 is not 1.2.4");
    assert!(
        f.message
            .contains("the file also fits a release named 1.2.3-4 or 1.2.3"),
        "{}",
        f.message
    );
    assert!(
        fits(&deb, "4").is_some(),
        "the revision alone is not the version"
    );
    assert!(fits(&rpm, "1").is_some(), "nor the rpm release");
    // An AppImage's X-AppImage-Version is the software's: compared as it is.
    let appimage = inspect("Hello-x86_64.AppImage");
    assert_eq!(appimage.version.as_deref(), Some("1.2.3"));
    assert_eq!(fits(&appimage, "1.2.3"), None);
    assert!(fits(&appimage, "1.2").is_some());
    assert!(
        target_linux::LinuxTarget
            .release_versions(&appimage)
            .is_empty()
    );
}
