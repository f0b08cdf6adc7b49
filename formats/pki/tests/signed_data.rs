//! The stack on real files made by real tools: provisioning profiles signed by `openssl cms`
//! under a throwaway root (fixtures/ios), and an RFC 3161 token from `openssl ts`
//! (tests/data/make.sh).

use std::path::PathBuf;

use format_pki::{Certificate, SignedData, TimeStampToken, Verdict, build_chain};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> Vec<u8> {
    let p = root().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_profile_verifies_and_chains_to_the_supplied_root_only() {
    let test_root = Certificate::parse(&read("fixtures/ios/dist-test-root.cer")).unwrap();
    let sd = SignedData::parse(&read("fixtures/ios/adhoc.mobileprovision")).unwrap();
    let content = sd.content.as_deref().expect("the plist is encapsulated");
    assert!(content.starts_with(b"<?xml"), "{:?}", &content[..16]);
    let signer = &sd.signers[0];
    let cert = sd.signer_certificate(signer).expect("signer certificate");
    assert_eq!(signer.digest_matches(content), Ok(Some(true)));
    assert_eq!(signer.verify(cert, content), Verdict::Valid);

    let pool: Vec<&Certificate> = sd.certificates.iter().collect();
    let trusted = build_chain(cert, &pool, std::slice::from_ref(&test_root));
    assert!(trusted.trusted);
    let untrusted = build_chain(cert, &pool, &[]);
    assert!(
        !untrusted.trusted,
        "a pool certificate must not end a chain"
    );
}

#[test]
fn a_tampered_profile_fails_its_digest() {
    let sd = SignedData::parse(&read("fixtures/ios/tampered.mobileprovision")).unwrap();
    let signer = &sd.signers[0];
    let cert = sd.signer_certificate(signer).unwrap();
    let content = sd.content.as_deref().unwrap();
    assert_eq!(signer.digest_matches(content), Ok(Some(false)));
    assert_eq!(signer.verify(cert, content), Verdict::Invalid);
}

#[test]
fn an_rfc3161_token_names_its_time_and_imprint_and_verifies() {
    let token = TimeStampToken::parse(&read("formats/pki/tests/data/token.der")).unwrap();
    let stamped = read("formats/pki/tests/data/stamped.txt");
    // Made in 2026 or later, and not in the far future.
    assert!(
        token.time > 1_767_225_600 && token.time < 4_102_444_800,
        "{}",
        token.time
    );
    let check = token.verify(&stamped);
    assert!(check.imprint_ok);
    assert_eq!(check.signature, Verdict::Valid);

    let mut other = stamped.clone();
    other[0] ^= 1;
    assert!(!token.verify(&other).imprint_ok);

    let root = Certificate::parse(&read("formats/pki/tests/data/root.der")).unwrap();
    let sd = &token.signed_data;
    let tsa = sd
        .signer_certificate(&sd.signers[0])
        .expect("TSA certificate");
    let pool: Vec<&Certificate> = sd.certificates.iter().collect();
    assert!(build_chain(tsa, &pool, std::slice::from_ref(&root)).trusted);
    assert!(!build_chain(tsa, &pool, &[]).trusted);
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let token = read("formats/pki/tests/data/token.der");
    for cut in [0, 1, 10, token.len() / 2, token.len() - 1] {
        assert!(
            TimeStampToken::parse(&token[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    assert!(SignedData::parse(b"\x30\x80\x30\x80\x30\x80").is_err());
}
