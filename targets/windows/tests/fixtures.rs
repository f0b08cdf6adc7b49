//! The project's own Windows fixtures (`fixtures/windows`, made by `make.sh` with
//! osslsigncode, wixl and `gen.py`): each kind read, each signature verdict, the negative
//! cases refused or `invalid`, and identity rules that demand signing.

mod common;

use platform::{Parse, SignatureState};

fn ca() -> Vec<u8> {
    dist_testkit::corpus::read(&common::fixtures().join("keys/ca.cer"))
}

fn inspect(name: &str, trusted: bool) -> platform::Inspection {
    let data = dist_testkit::corpus::read(&common::fixtures().join(name));
    let keys = if trusted { vec![ca()] } else { Vec::new() };
    common::inspect_with_keys(name, &data, &keys)
        .unwrap_or_else(|e| panic!("{e}"))
        .inspection
}

fn codes(i: &platform::Inspection) -> Vec<&str> {
    i.findings.iter().map(|f| f.code.as_str()).collect()
}

#[test]
fn executables() {
    let i = inspect("hello.exe", false);
    assert_eq!((i.kind.as_str(), i.parse), ("exe", Parse::Ok));
    assert_eq!(i.identity.as_deref(), Some("DistHello"));
    assert_eq!(i.version.as_deref(), Some("1.2.3"));
    assert_eq!(i.display_name.as_deref(), Some("Dist Hello"));
    assert_eq!(i.archs, Some(vec!["x64".to_owned()]));
    assert_eq!(i.details["version_info"]["CompanyName"], "Dist Fixtures");
    assert_eq!(i.details["version_info"]["fixed_file_version"], "1.2.3.4");
    assert_eq!(i.details["dotnet"], false);
    assert_eq!(i.signature.state, SignatureState::Unsigned);
    assert!(codes(&i).contains(&"windows.signature.unsigned"));

    let i = inspect("hello-arm64.exe", false);
    assert_eq!(i.archs, Some(vec!["arm64".to_owned()]));

    // Signed by a CA only the app trusts: untrusted without it, signed with it.
    let i = inspect("hello-signed.exe", false);
    assert_eq!(i.signature.state, SignatureState::Untrusted);
    assert_eq!(i.signature.digest_ok, Some(true));
    assert_eq!(i.signature.chain_ok, Some(false));
    assert!(codes(&i).contains(&"windows.signature.untrusted"));
    let i = inspect("hello-signed.exe", true);
    assert_eq!(
        i.signature.state,
        SignatureState::Signed,
        "{:?}",
        i.findings
    );
    assert_eq!(i.signature.timestamp, Some(false));
    assert!(codes(&i).contains(&"windows.signature.no_timestamp"));
    assert_eq!(
        i.signature.signers[0].subject,
        "CN=Dist Fixtures Signer, O=Dist Fixtures, C=GB"
    );
    assert_eq!(i.details["publisher"], i.signature.signers[0].subject);

    let i = inspect("hello-nested.exe", true);
    assert_eq!(i.signature.state, SignatureState::Signed);
    let sigs = i.details["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2);
    assert_eq!(sigs[0]["digest_algorithm"], "sha1");
    assert_eq!(sigs[1]["digest_algorithm"], "sha256");
    assert_eq!(sigs[1]["depth"], 1);

    // ECDSA P-384 over SHA-1 verifies, and a changed signature value does not.
    let i = inspect("hello-ecdsa-sha1.exe", true);
    assert_eq!(
        i.signature.state,
        SignatureState::Signed,
        "{:?}",
        i.findings
    );
    assert_eq!(i.details["signatures"][0]["digest_algorithm"], "sha1");
    let data = dist_testkit::corpus::read(&common::fixtures().join("hello-ecdsa-sha1.exe"));
    let pe = u32::from_le_bytes(data[0x3c..0x40].try_into().unwrap()) as usize;
    let dir = pe + 24 + 112 + 8 * 4;
    let table = u32::from_le_bytes(data[dir..dir + 4].try_into().unwrap()) as usize;
    // The PKCS #7 blob's own length (WIN_CERTIFICATE pads it to 8 bytes): a SEQUENCE with a
    // two-byte length.
    assert_eq!(&data[table + 8..table + 10], &[0x30, 0x82]);
    let end = table + 8 + 4 + u16::from_be_bytes([data[table + 10], data[table + 11]]) as usize;
    // Its last bytes are the signer's signature value (no unsigned attributes: no timestamp).
    for at in end - 40..end {
        let mut d = data.clone();
        d[at] ^= 0x01;
        let got = common::inspect_with_keys("x.exe", &d, &[ca()])
            .unwrap()
            .inspection;
        assert_ne!(
            got.signature.state,
            SignatureState::Signed,
            "byte {at} flipped"
        );
    }

    // RFC 3161 timestamps: verified, time reported, authority chained.
    let i = inspect("hello-timestamped.exe", true);
    assert_eq!(
        i.signature.state,
        SignatureState::Signed,
        "{:?}",
        i.findings
    );
    assert_eq!(i.signature.timestamp, Some(true));
    let ts = &i.details["signatures"][0]["timestamp"];
    assert_eq!(ts["kind"], "rfc3161");
    assert_eq!(ts["verified"], true);
    assert_eq!(ts["authority"], "CN=Dist Fixtures TSA");
    assert_eq!(ts["authority_trusted"], true);
    assert!(codes(&i).is_empty(), "{:?}", i.findings);
    let i = inspect("hello-timestamp-early.exe", true);
    assert_eq!(
        i.details["signatures"][0]["timestamp"]["time"],
        "2023-11-14T22:13:20Z"
    );
    assert!(codes(&i).contains(&"windows.signature.timestamp_outside_validity"));
    // A changed time in the token breaks the authority's signature over it.
    let mut d = dist_testkit::corpus::read(&common::fixtures().join("hello-timestamp-early.exe"));
    let at = d
        .windows(14)
        .position(|w| w == b"20231114221320")
        .expect("the token's genTime");
    d[at + 3] = b'4';
    let i = common::inspect_with_keys("x.exe", &d, &[ca()])
        .unwrap()
        .inspection;
    assert_eq!(i.signature.timestamp, Some(false), "{:?}", i.findings);
    assert!(codes(&i).contains(&"windows.signature.timestamp_invalid"));

    // A certificate without the code-signing usage does not make a trusted signature.
    let i = inspect("hello-tls-signed.exe", true);
    assert_eq!(i.signature.state, SignatureState::Untrusted);
    assert_eq!(i.signature.digest_ok, Some(true));
    assert!(codes(&i).contains(&"windows.signature.not_code_signing"));

    let i = inspect("hello-tampered.exe", true);
    assert_eq!(i.signature.state, SignatureState::Invalid);
    assert_eq!(i.signature.digest_ok, Some(false));
    assert!(codes(&i).contains(&"windows.signature.digest_mismatch"));

    let i = inspect("hello-truncated.exe", true);
    assert_eq!(i.parse, Parse::Reject, "{:?}", i.findings);
    assert!(codes(&i).contains(&"windows.pe.malformed"));
}

#[test]
fn zipped_app_reads_its_main_executable() {
    let i = inspect("hello-app.zip", false);
    assert_eq!(i.kind.as_str(), "zip");
    assert_eq!(i.details["main_executable"], "Hello/hello.exe");
    assert_eq!(i.identity.as_deref(), Some("DistHello"));
    assert_eq!(i.archs, Some(vec!["x64".to_owned()]));
    assert_eq!(i.signature.state, SignatureState::Unsigned);
}

#[test]
fn msi_packages() {
    let i = inspect("hello.msi", false);
    assert_eq!((i.kind.as_str(), i.parse), ("msi", Parse::Ok));
    assert_eq!(i.identity.as_deref(), Some("Dist Hello"));
    assert_eq!(i.version.as_deref(), Some("1.2.3"));
    assert_eq!(i.archs, Some(vec!["x64".to_owned()]));
    assert_eq!(i.details["properties"]["Manufacturer"], "Dist Fixtures");
    assert_eq!(
        i.details["properties"]["UpgradeCode"],
        "{66666666-7777-8888-9999-AAAAAAAAAAAA}"
    );
    assert_eq!(i.details["summary"]["template"], "x64;1033");
    assert_eq!(i.signature.state, SignatureState::Unsigned);

    let i = inspect("hello-signed.msi", true);
    assert_eq!(
        i.signature.state,
        SignatureState::Signed,
        "{:?}",
        i.findings
    );
    let i = inspect("hello-tampered.msi", true);
    assert_eq!(i.signature.state, SignatureState::Invalid);
    assert!(codes(&i).contains(&"windows.signature.digest_mismatch"));
}

#[test]
fn msix_packages() {
    let i = inspect("hello.msix", false);
    assert_eq!((i.kind.as_str(), i.parse), ("msix", Parse::Ok));
    assert_eq!(i.identity.as_deref(), Some("Dist.Hello"));
    assert_eq!(i.version.as_deref(), Some("1.2.3.0"));
    assert_eq!(i.display_name.as_deref(), Some("Dist Hello"));
    assert_eq!(i.min_os.as_deref(), Some("10.0.17763.0"));
    assert_eq!(i.target_sdk.as_deref(), Some("10.0.22621.0"));
    assert_eq!(i.device_family, Some(vec!["Windows.Desktop".to_owned()]));
    assert_eq!(
        i.details["capabilities"],
        serde_json::json!(["internetClient", "rescap:runFullTrust"])
    );
    assert_eq!(i.signature.state, SignatureState::Unsigned);

    let i = inspect("hello-signed.msix", true);
    assert_eq!(
        i.signature.state,
        SignatureState::Signed,
        "{:?}",
        i.findings
    );
    assert!(!codes(&i).contains(&"windows.msix.publisher_mismatch"));

    let i = inspect("hello-tampered.msix", true);
    assert_eq!(i.signature.state, SignatureState::Invalid);
    assert!(codes(&i).contains(&"windows.msix.block_map_mismatch"));

    let i = inspect("hello-publisher-mismatch.msix", true);
    assert!(codes(&i).contains(&"windows.msix.publisher_mismatch"));
    assert!(i.has_errors());
}

#[test]
fn msix_bundles_list_their_packages() {
    let i = inspect("hello.msixbundle", false);
    assert_eq!((i.kind.as_str(), i.parse), ("msixbundle", Parse::Ok));
    assert_eq!(i.identity.as_deref(), Some("Dist.Hello"));
    assert_eq!(i.archs, Some(vec!["x64".to_owned(), "arm64".to_owned()]));
    let pkgs = i.details["packages"].as_array().unwrap();
    assert_eq!(pkgs.len(), 2);
    assert_eq!(pkgs[1]["architecture"], "arm64");
    assert_eq!(pkgs[1]["present"], true);
    assert_eq!(i.signature.state, SignatureState::Unsigned);
    let i = inspect("hello-signed.msixbundle", true);
    assert_eq!(
        i.signature.state,
        SignatureState::Signed,
        "{:?}",
        i.findings
    );
    let i = inspect("hello-signed.msixbundle", false);
    assert_eq!(i.signature.state, SignatureState::Untrusted);
}

/// A renamed file is read for what it is.
#[test]
fn detection_is_by_content() {
    for (from, to, kind) in [
        ("hello.exe", "hello.bin", "exe"),
        ("hello.msi", "package.dat", "msi"),
        ("hello.msix", "hello.256appx", "appx"),
        ("hello.msix", "renamed.zip", "msix"),
        ("hello.msixbundle", "bundle.appxbundle", "appxbundle"),
    ] {
        let data = dist_testkit::corpus::read(&common::fixtures().join(from));
        let i = common::inspect_bytes(to, &data).unwrap().inspection;
        assert_eq!(i.kind.as_str(), kind, "{from} as {to}");
    }
}

/// Pinned signers or publishers make an unsigned file an error, and a publisher pin is met
/// only by a signature that verifies to a trusted root.
#[test]
fn identity_rules_demand_signing() {
    use platform::Target as _;
    let t = target_windows::WindowsTarget;
    let rules = platform::PlatformRules {
        publishers: vec!["CN=Dist Fixtures Signer, O=Dist Fixtures, C=GB".into()],
        ..Default::default()
    };
    let f = t.check_identity(&inspect("hello.exe", false), &rules);
    assert!(
        f.iter().any(|f| f.code == "windows.signature.required"),
        "{f:?}"
    );
    let f = t.check_identity(&inspect("hello-signed.exe", false), &rules);
    assert!(
        f.iter().any(|f| f.code == "identity.signature_untrusted"),
        "{f:?}"
    );
    let f = t.check_identity(&inspect("hello-signed.exe", true), &rules);
    assert!(f.is_empty(), "{f:?}");
}

/// Installer technologies and UPX, from their marks: an NSIS first header after the
/// sections, Inno Setup's data marker, a `.wixburn` section, UPX section names.
#[test]
fn installer_marks() {
    let base = dist_testkit::corpus::read(&common::fixtures().join("hello.exe"));
    let with_overlay = |tail: &[u8]| {
        let mut d = base.clone();
        d.extend_from_slice(tail);
        d
    };
    let rename_section = |index: usize, name: &[u8; 8]| {
        let mut d = base.clone();
        let pe = u32::from_le_bytes(d[0x3c..0x40].try_into().unwrap()) as usize;
        let at = pe + 24 + 240 + 40 * index;
        d[at..at + 8].copy_from_slice(name);
        d
    };
    let mut nsis = vec![0u8; 4];
    nsis.extend_from_slice(b"\xef\xbe\xad\xdeNullsoftInst");
    for (data, want) in [
        (with_overlay(&nsis), Some("nsis")),
        (
            with_overlay(b"Inno Setup Setup Data (6.2.0)"),
            Some("inno-setup"),
        ),
        (rename_section(1, b".wixburn"), Some("wix-burn")),
        (base.clone(), None),
    ] {
        let i = common::inspect_bytes("setup.exe", &data)
            .unwrap()
            .inspection;
        assert_eq!(i.details.get("installer").and_then(|v| v.as_str()), want);
    }
    let i = common::inspect_bytes("packed.exe", &rename_section(0, b"UPX0\0\0\0\0"))
        .unwrap()
        .inspection;
    assert_eq!(i.details["upx"], true);
    assert!(i.findings.iter().any(|f| f.code == "windows.pe.upx"));
}

/// A `dll`, a driver (`sys`, native subsystem) and an EFI application are told apart by
/// their headers, for `dist inspect`.
#[test]
fn image_kinds() {
    let base = dist_testkit::corpus::read(&common::fixtures().join("hello.exe"));
    let pe = u32::from_le_bytes(base[0x3c..0x40].try_into().unwrap()) as usize;
    let mut dll = base.clone();
    dll[pe + 23] |= 0x20; // IMAGE_FILE_DLL
    let mut sys = base.clone();
    sys[pe + 24 + 68] = 1; // native subsystem
    let mut efi = base.clone();
    efi[pe + 24 + 68] = 10; // EFI application
    for (data, kind) in [(dll, "dll"), (sys, "sys"), (efi, "efi")] {
        let i = common::inspect_bytes("image.bin", &data)
            .unwrap()
            .inspection;
        assert_eq!(i.kind.as_str(), kind);
    }
}
