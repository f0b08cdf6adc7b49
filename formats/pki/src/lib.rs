//! The one DER / X.509 / CMS (PKCS#7) stack of the workspace: a bounded TLV reader (DER, and
//! BER's indefinite lengths and constructed strings, which Apple's provisioning profiles
//! use), certificates, CMS SignedData with its signer infos, signature checks through `ring`
//! (and `p256` for ECDSA P-256 with SHA-512, which `ring` lacks), chains built to a root set
//! the caller supplies, RFC 3161 time-stamp tokens, and Authenticode (the PKCS #7 form that
//! signs Windows files: indirect data, nested signatures, countersignatures).
//!
//! A format crate: it depends on no crate of the workspace, knows no platform (which roots
//! to trust is the caller's choice) and produces no findings, only parsed facts, verdicts
//! and typed errors. Every length is checked against the bytes that remain before use.
//! Targets depend on `platform` and `formats/*`, never on each other; formats never depend
//! on targets.

pub mod authenticode;
pub mod cert;
pub mod chain;
pub mod cms;
pub mod der;
pub mod name;
pub mod prehashed;
pub mod signature;
pub mod time;
pub mod timestamp;

pub use cert::Certificate;
pub use chain::{Chain, build_chain};
pub use cms::{SignedData, SignerId, SignerInfo};
pub use signature::{Hash, KeyKind, SigKind, Verdict, verify};
pub use timestamp::TimeStampToken;

/// Why bytes are not the structure they claim to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("malformed DER: {0}")]
    Der(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
}

pub(crate) fn bad(what: impl Into<String>) -> Error {
    Error::Der(what.into())
}

/// SHA-256 of `data`, lowercase hex (how certificates are named everywhere in dist).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}
