//! Apple's root of trust and the chain check shared by provisioning profiles and code
//! signatures. Time is checked apart from the chain, so that an expired but genuine Apple
//! signature reads as `chain_ok` with an expiry finding.

use std::sync::OnceLock;

use format_pki::name::{OU, Style};
use format_pki::{Certificate, Chain, build_chain};

/// Apple Root CA (2006, RSA 2048), DER, taken from the chain Apple embeds in provisioning
/// profiles. SHA-256 `b0b1730e...f024`, as Apple publishes it at apple.com/certificateauthority.
const APPLE_ROOT_CA: &[u8] = include_bytes!("../certs/AppleRootCA.cer");
pub const APPLE_ROOT_CA_SHA256: &str =
    "b0b1730ecbc7ff4505142c49f1295e6eda6bcaed7e2c68c5be91b5a11001f024";

/// The shipped Apple roots, parsed once.
pub fn apple_roots() -> &'static [Certificate] {
    static ROOTS: OnceLock<Vec<Certificate>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        // The DER is compiled in and checked by a unit test; a parse failure leaves no roots
        // (every chain then reads as untrusted) rather than panicking in a server.
        Certificate::parse(APPLE_ROOT_CA).into_iter().collect()
    })
}

/// The subject in certificate order, OpenSSL short names: `UID=..., CN=..., OU=..., O=..., C=US`.
pub fn subject_string(cert: &Certificate) -> String {
    cert.subject_in(Style::OpenSsl)
}

/// An OU value of the subject: Apple puts the team id there for developer certificates.
pub fn subject_ou(cert: &Certificate) -> Option<String> {
    cert.subject_attribute(OU)
}

/// Whether `leaf` chains, by signatures alone, to a shipped Apple root through `pool`
/// (certificates the signature carries). Root certificates found in `pool` are never trusted
/// for themselves: only the compiled-in ones end a chain.
pub fn chains_to_apple_root<'a>(leaf: &'a Certificate, pool: &[&'a Certificate]) -> Chain<'a> {
    build_chain(leaf, pool, apple_roots())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_root_is_apples() {
        assert_eq!(apple_roots().len(), 1);
        assert_eq!(apple_roots()[0].sha256, APPLE_ROOT_CA_SHA256);
        assert_eq!(
            subject_string(&apple_roots()[0]),
            "C=US, O=Apple Inc., OU=Apple Certification Authority, CN=Apple Root CA"
        );
        // Self-signed: its own signature verifies with its own key.
        assert_eq!(
            apple_roots()[0].verify_signed_by(&apple_roots()[0]),
            format_pki::Verdict::Valid
        );
    }
}
