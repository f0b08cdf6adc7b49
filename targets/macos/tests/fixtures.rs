//! The project's own fixtures (`fixtures/macos/make.sh`): each file's expected verdict,
//! findings and details. Nothing there chains to Apple, so a signature that verifies reads
//! `untrusted`; negative cases are tampered, truncated, unsigned, ad hoc and wrong-platform
//! files.

mod common;

use platform::{Inspection, Parse, SignatureState};

use common::{codes, has, inspect};

// --- installer packages ------------------------------------------------------------------

#[test]
fn signed_product_archive() {
    let i = inspect("signed-product.pkg");
    assert_eq!(i.kind.as_str(), "pkg");
    assert_eq!(i.parse, Parse::Ok, "{:?}", i.findings);
    assert_eq!(i.identity.as_deref(), Some("com.dist.tiny"));
    assert_eq!(i.version.as_deref(), Some("1.2.0"));
    assert_eq!(i.build.as_deref(), Some("42"));
    assert_eq!(i.min_os.as_deref(), Some("11.0"));
    assert_eq!(i.archs, Some(vec!["arm64".into(), "x86_64".into()]));
    assert_eq!(i.display_name.as_deref(), Some("Tiny Mac"));
    // The RSA signature and every checksum verify; the chain ends at the test root.
    assert_eq!(i.signature.state, SignatureState::Untrusted);
    assert_eq!(i.signature.schemes, vec!["xar".to_owned()]);
    assert_eq!(i.signature.digest_ok, Some(true));
    assert_eq!(i.signature.chain_ok, Some(false));
    assert!(
        i.signature.signers[0]
            .subject
            .contains("Developer ID Installer: Dist Test")
    );
    let d = &i.details;
    assert_eq!(d["pkg_type"], "product");
    assert_eq!(d["packages"][0]["payload"], "gzip cpio");
    assert_eq!(d["toc"]["checksum_ok"], true);
    assert_eq!(
        d["installer_signature"]["signing"],
        "developer-id-installer"
    );
    assert_eq!(d["installer_signature"]["x_signature"], "verified");
    // A Developer ID name on a certificate Apple did not issue is not notarizable.
    assert_eq!(d["notarization"]["status"], "not-notarizable");
    assert!(has(&i, "macos.pkg.signature_untrusted"), "{:?}", codes(&i));
}

/// Issue 16: the app inside a package's Payload (gzip odc cpio written by bsdtar; pbzx of a
/// newc cpio written by GNU cpio) is found where the PackageInfo's <bundle> says and read by
/// the app reader: its identity, archs, signature and seal.
#[test]
fn the_app_in_a_payload_is_read() {
    for (name, payload) in [
        ("app-payload-gzip-odc.pkg", "gzip cpio"),
        ("app-payload-pbzx-newc.pkg", "pbzx"),
    ] {
        let i = inspect(name);
        assert_eq!(i.parse, Parse::Ok, "{name}: {:?}", i.findings);
        let p = &i.details["packages"][0];
        assert_eq!(p["payload"], payload, "{name}");
        let apps = p["apps"].as_array().unwrap();
        assert_eq!(apps.len(), 1, "{name}: {p}");
        let a = &apps[0];
        assert_eq!(a["path"], "Tiny.app", "{name}");
        assert_eq!(a["identity"], "com.dist.tiny", "{name}");
        assert_eq!(a["version"], "1.2.0");
        assert_eq!(a["build"], "42");
        assert_eq!(a["min_os"], "11.0");
        assert_eq!(a["archs"], serde_json::json!(["x86_64", "arm64"]), "{name}");
        // Its seal and code directory verify; the chain ends at the test root.
        assert_eq!(a["signature"], "untrusted", "{name}: {a}");
        assert_eq!(a["signing"], "developer-id", "{name}");
        assert_eq!(a["hardened_runtime"], true, "{name}");
        assert_eq!(a["notarization"], "not-notarizable", "{name}");
        assert!(
            a["signer"]
                .as_str()
                .unwrap()
                .contains("Developer ID Application: Dist Test"),
            "{a}"
        );
        // No hostArchitectures in either package: the archs are the app's.
        assert_eq!(
            i.archs,
            Some(vec!["x86_64".to_owned(), "arm64".to_owned()]),
            "{name}"
        );
        assert_eq!(
            i.details["archs_source"],
            "the main executables of the apps in the Payload"
        );
        assert!(
            has(&i, "macos.pkg.app_not_notarizable"),
            "{name}: {:?}",
            codes(&i)
        );
    }
    // The product archive's Distribution names the product.
    let i = inspect("app-payload-pbzx-newc.pkg");
    assert_eq!(i.details["pkg_type"], "product");
    assert_eq!(i.identity.as_deref(), Some("com.dist.tiny"));
    // A PackageInfo that lists an app its Payload does not hold says so.
    let i = inspect("signed-product.pkg");
    assert!(has(&i, "macos.pkg.bundle_missing"), "{:?}", codes(&i));
    assert_eq!(i.details["packages"][0]["apps"], serde_json::json!([]));
}

/// A Payload changed inside a package whose checksums are not signed: the cpio reader meets
/// the damage as an error finding, never a panic; a payload that is not cpio says so.
#[test]
fn a_broken_payload_is_an_error_finding() {
    let good = std::fs::read(common::fixtures().join("app-payload-gzip-odc.pkg")).unwrap();
    let x = {
        let mut c = std::io::Cursor::new(&good);
        let limits = format_xar::Limits {
            max_structure_bytes: 1 << 20,
            max_files: 100,
        };
        format_xar::open(&mut c, good.len() as u64, &limits).unwrap()
    };
    let d = x.file("Payload").unwrap().data.clone().unwrap();
    let at = (x.heap_start + d.offset) as usize;
    // Replace the stored gzip Payload by plain bytes that are no cpio, same length.
    let mut bad = good.clone();
    for b in &mut bad[at..at + d.length as usize] {
        *b = b'x';
    }
    let i = common::inspect_bytes("bad-payload.pkg", &bad)
        .unwrap()
        .inspection;
    assert!(has(&i, "macos.pkg.payload_malformed"), "{:?}", codes(&i));
    let f = i
        .findings
        .iter()
        .find(|f| f.code == "macos.pkg.payload_malformed")
        .unwrap();
    assert!(f.message.contains("cpio"), "{}", f.message);
}

#[test]
fn a_stapled_ticket_is_seen_after_the_archive() {
    let i = inspect("signed-product-stapled.pkg");
    assert_eq!(i.signature.state, SignatureState::Untrusted);
    assert_eq!(i.details["notarization"]["ticket"]["bytes"], 22);
    // The ticket cannot make a test certificate a Developer ID.
    assert!(has(&i, "macos.notarization.ticket_without_developer_id"));
}

#[test]
fn a_changed_payload_or_signature_is_invalid() {
    for (name, says) in [
        ("tampered-payload.pkg", "Tiny.pkg/Payload was changed"),
        ("bad-signature.pkg", "does not verify"),
    ] {
        let i = inspect(name);
        assert_eq!(i.signature.state, SignatureState::Invalid, "{name}");
        assert_eq!(i.signature.digest_ok, Some(false), "{name}");
        let f = i
            .findings
            .iter()
            .find(|f| f.code == "macos.pkg.signature_invalid")
            .unwrap_or_else(|| panic!("{name}: {:?}", codes(&i)));
        assert!(f.message.contains(says), "{name}: {}", f.message);
    }
}

#[test]
fn a_truncated_package_is_refused() {
    let i = inspect("truncated.pkg");
    assert_eq!(i.parse, Parse::Reject);
    assert!(has(&i, "macos.pkg.malformed"), "{:?}", codes(&i));
}

#[test]
fn flat_component_packages() {
    let i = inspect("component-unsigned.pkg");
    assert_eq!(i.parse, Parse::Ok);
    assert_eq!(i.identity.as_deref(), Some("com.dist.tiny.pkg"));
    assert_eq!(i.version.as_deref(), Some("1.2.0"));
    assert_eq!(i.build.as_deref(), Some("42"));
    assert_eq!(i.signature.state, SignatureState::Unsigned);
    assert_eq!(i.details["pkg_type"], "component");
    assert!(has(&i, "macos.pkg.unsigned"));
    let p = inspect("component-pbzx.pkg");
    assert_eq!(p.details["packages"][0]["payload"], "pbzx");
    assert_eq!(p.identity.as_deref(), Some("com.dist.tiny.pbzx"));
}

// --- app bundles -------------------------------------------------------------------------

/// The Developer ID signed, hardened, universal app: every digest verifies, the chain ends
/// at the test root.
fn assert_devid_app(i: &Inspection, kind: &str) {
    assert_eq!(i.kind.as_str(), kind);
    assert_eq!(i.parse, Parse::Ok, "{:?}", i.findings);
    assert_eq!(i.identity.as_deref(), Some("com.dist.tiny"));
    assert_eq!(i.version.as_deref(), Some("1.2.0"));
    assert_eq!(i.build.as_deref(), Some("42"));
    assert_eq!(i.min_os.as_deref(), Some("11.0"));
    assert_eq!(i.display_name.as_deref(), Some("Tiny Mac"));
    assert_eq!(i.archs, Some(vec!["x86_64".into(), "arm64".into()]));
    assert_eq!(
        i.signature.state,
        SignatureState::Untrusted,
        "{:?}",
        i.findings
    );
    assert_eq!(i.signature.schemes, vec!["apple-codesign".to_owned()]);
    assert_eq!(i.signature.digest_ok, Some(true));
    assert_eq!(i.signature.chain_ok, Some(false));
    let d = &i.details;
    assert_eq!(d["universal"], true);
    assert_eq!(d["code_signature"]["signing"], "developer-id");
    assert_eq!(d["code_signature"]["hardened_runtime"], true);
    assert_eq!(d["seal"]["problems"], serde_json::json!([]));
    assert!(
        d["seal"]["files_checked"].as_u64().unwrap() >= 1,
        "{}",
        d["seal"]
    );
    assert!(has(i, "macos.signature.untrusted"), "{:?}", codes(i));
    assert!(!has(i, "macos.signature.no_hardened_runtime"));
    // Not chained to Apple: not a Developer ID signature for Gatekeeper.
    assert_eq!(d["notarization"]["status"], "not-notarizable");
    assert!(
        d.get("team_id").is_none(),
        "a team only from a chain that verifies"
    );
}

#[test]
fn developer_id_app_zip_and_tar() {
    assert_devid_app(&inspect("devid.zip"), "app-zip");
    let t = inspect("devid.tar.zst");
    assert_devid_app(&t, "app-tar");
    assert_eq!(t.details["compression"], "zstd");
}

#[test]
fn a_stapled_app_ticket_is_seen_in_contents() {
    let i = inspect("devid-stapled.zip");
    assert_eq!(
        i.signature.state,
        SignatureState::Untrusted,
        "{:?}",
        i.findings
    );
    assert_eq!(
        i.details["notarization"]["ticket"]["where"],
        "Contents/CodeResources"
    );
    assert!(has(&i, "macos.notarization.ticket_without_developer_id"));
}

#[test]
fn tampered_and_truncated_apps() {
    let i = inspect("tampered.zip");
    assert_eq!(i.signature.state, SignatureState::Invalid);
    let f = i
        .findings
        .iter()
        .find(|f| f.code == "macos.signature.invalid")
        .unwrap_or_else(|| panic!("{:?}", codes(&i)));
    assert!(
        f.message.contains("InfoPlist.strings was changed"),
        "{}",
        f.message
    );
    let t = inspect("truncated.zip");
    assert_eq!(t.parse, Parse::Reject, "{:?}", t.findings);
}

#[test]
fn signing_kinds_and_their_findings() {
    let i = inspect("no-runtime-intel.tar.gz");
    assert_eq!(i.details["code_signature"]["hardened_runtime"], false);
    assert!(
        has(&i, "macos.signature.no_hardened_runtime"),
        "{:?}",
        codes(&i)
    );
    assert!(has(&i, "macos.build.no_apple_silicon"));
    assert_eq!(i.archs, Some(vec!["x86_64".into()]));
    assert_eq!(i.details["compression"], "gzip");

    let d = inspect("development.tar.bz2");
    assert_eq!(d.details["code_signature"]["signing"], "apple-development");
    assert!(has(&d, "macos.signature.development"), "{:?}", codes(&d));

    let l = inspect("linker-signed.tar.xz");
    assert_eq!(l.signature.state, SignatureState::Untrusted);
    assert_eq!(l.signature.schemes, vec!["adhoc".to_owned()]);
    assert_eq!(l.details["code_signature"]["signing"], "linker-signed");
    assert!(has(&l, "macos.signature.adhoc"));
    // No LSMinimumSystemVersion: from the executable, and said so.
    assert_eq!(l.min_os.as_deref(), Some("11.0.0"));
    assert!(
        l.details["min_os_source"]
            .as_str()
            .unwrap()
            .contains("LC_BUILD_VERSION")
    );

    let u = inspect("unsigned.zip");
    assert_eq!(u.signature.state, SignatureState::Unsigned);
    assert!(has(&u, "macos.signature.missing"));
    assert_eq!(u.details["notarization"]["status"], "not-notarizable");

    let w = inspect("wrong-platform.zip");
    assert!(has(&w, "macos.build.not_macos"), "{:?}", codes(&w));
}

#[test]
fn an_embedded_profile_of_another_team() {
    let i = inspect("profile-team-mismatch.zip");
    assert!(has(&i, "macos.profile.team_mismatch"), "{:?}", codes(&i));
    assert_eq!(i.details["profile"]["team_id"], "OTHERTEAM1");
    assert_eq!(i.signature.digest_ok, Some(true));
}

#[test]
fn bare_macho_and_profile() {
    let m = inspect("tiny-universal.macho");
    assert_eq!(m.kind.as_str(), "macho");
    assert_eq!(m.signature.state, SignatureState::Untrusted);
    assert_eq!(m.details["code_signature"]["signing"], "developer-id");
    assert_eq!(m.identity.as_deref(), Some("com.dist.tiny"));
    let p = inspect("tiny.provisionprofile");
    assert_eq!(p.kind.as_str(), "mobileprovision");
    assert_eq!(p.platform.as_str(), "macos");
    assert_eq!(p.identity.as_deref(), Some("DISTTEST01.com.dist.tiny"));
    assert_eq!(p.details["platforms"], serde_json::json!(["OSX"]));
    assert_eq!(p.signature.state, SignatureState::Untrusted);
}

#[test]
fn nested_versioned_framework_is_verified_and_its_swap_caught() {
    let i = inspect("nested-framework.zip");
    assert_eq!(
        i.signature.state,
        SignatureState::Untrusted,
        "{:?}",
        i.findings
    );
    let nested = &i.details["seal"]["nested_code"];
    assert_eq!(
        nested[0]["path"],
        "Nested.app/Contents/Frameworks/Kit.framework"
    );
    assert_eq!(nested[0]["state"], "untrusted");
    assert_eq!(i.details["seal"]["problems"], serde_json::json!([]));
    let c = inspect("nested-changed.zip");
    assert_eq!(c.signature.state, SignatureState::Invalid);
    let f = c
        .findings
        .iter()
        .find(|f| f.code == "macos.signature.invalid")
        .unwrap_or_else(|| panic!("{:?}", codes(&c)));
    assert!(
        f.message
            .contains("Kit.framework: its code is not the code the seal lists"),
        "{}",
        f.message
    );
}

/// Payloads written by Apple's pkgbuild (gzip odc cpio, `./` names) in the real corpus: the
/// apps the PackageInfo lists are found and read (these are script apps: no Mach-O, so no
/// archs, and no signature). `corpus::read` fails when DIST_CORPUS is set and a file is gone.
#[test]
fn pkgbuild_payloads_in_the_corpus() {
    let Some(dir) = dist_testkit::corpus::dir() else {
        return;
    };
    for (name, app, build) in [
        ("gino0631-Product.pkg", "My Test App.app", "1.0.0.20170409"),
        ("sparkle-test.pkg", "sparklepkgtest.app", ""),
    ] {
        let i = common::inspect_path(&dir.join("macos").join(name)).inspection;
        let p = &i.details["packages"][0];
        assert_eq!(p["payload"], "gzip cpio", "{name}");
        let apps = p["apps"].as_array().unwrap();
        assert_eq!(apps.len(), 1, "{name}: {p}");
        assert_eq!(apps[0]["path"], app, "{name}");
        assert_eq!(apps[0]["signature"], "unsigned", "{name}");
        if !build.is_empty() {
            assert_eq!(apps[0]["build"], build, "{name}");
        }
        assert_eq!(i.archs, None, "{name}: no Mach-O, no archs");
    }
}
