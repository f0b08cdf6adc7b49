//! Deterministic mutations (`dist-testkit`'s mutator) of real DER and BER: certificates,
//! CMS signed profiles (DER from OpenSSL, and Apple's BER ones from the corpus when it is
//! required) and an RFC 3161 token. Every parse and check answers without panicking.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use dist_testkit::mutate::{Plan, mutations};
use dist_testkit::{corpus, files_with};
use format_pki::{Certificate, SignedData, TimeStampToken, build_chain};

fn files() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = files_with(&corpus::fixtures("ios"), &["mobileprovision", "cer"]);
    out.extend(files_with(&root.join("tests/data"), &["der"]));
    out.extend(corpus::platform_files("ios", &["mobileprovision"]).unwrap_or_default());
    assert!(out.len() >= 4, "{out:?}");
    out
}

/// Everything the stack does with bytes of unknown shape.
fn exercise(bytes: &[u8]) {
    if let Ok(sd) = SignedData::parse(bytes) {
        let content = sd.content.clone().unwrap_or_default();
        let pool: Vec<&Certificate> = sd.certificates.iter().collect();
        for s in &sd.signers {
            if let Some(cert) = sd.signer_certificate(s) {
                let _ = s.verify(cert, &content);
                let _ = build_chain(cert, &pool, &sd.certificates);
            }
            if let Some(t) = &s.timestamp_token {
                let _ = TimeStampToken::parse(t).map(|t| t.verify(&s.signature));
            }
        }
    }
    if let Ok(t) = TimeStampToken::parse(bytes) {
        let _ = t.verify(bytes);
    }
    if let Ok(c) = Certificate::parse(bytes) {
        let _ = c.verify_signed_by(&c);
        let _ = c.subject_in(format_pki::name::Style::OpenSsl);
    }
}

#[test]
fn mutated_der_and_ber_never_panic() {
    let mut runs = 0;
    let mut failures = Vec::new();
    for (fi, path) in files().iter().enumerate() {
        let data = corpus::read(path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for m in mutations(&data, &Plan::new(64), 0x5eed ^ fi as u64) {
            runs += 1;
            if catch_unwind(AssertUnwindSafe(|| exercise(&m.bytes))).is_err() {
                failures.push(format!("{name} {}: panicked", m.name));
            }
        }
    }
    println!("{runs} mutated inputs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
