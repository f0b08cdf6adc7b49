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
