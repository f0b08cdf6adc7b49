//! Apple's root of trust and the chain check shared by provisioning profiles and code
//! signatures. Time is checked apart from the chain, so that an expired but genuine Apple
//! signature reads as `chain_ok` with an expiry finding.

use std::sync::OnceLock;

use x509_certificate::CapturedX509Certificate;

/// Apple Root CA (2006, RSA 2048), DER, taken from the chain Apple embeds in provisioning
/// profiles. SHA-256 `b0b1730e...f024`, as Apple publishes it at apple.com/certificateauthority.
const APPLE_ROOT_CA: &[u8] = include_bytes!("../certs/AppleRootCA.cer");
pub const APPLE_ROOT_CA_SHA256: &str =
    "b0b1730ecbc7ff4505142c49f1295e6eda6bcaed7e2c68c5be91b5a11001f024";

/// Longest chain we walk (leaf, intermediates, root).
const MAX_CHAIN: usize = 6;

/// The shipped Apple roots, parsed once.
pub fn apple_roots() -> &'static [CapturedX509Certificate] {
    static ROOTS: OnceLock<Vec<CapturedX509Certificate>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        // The DER is compiled in and checked by a unit test; a parse failure leaves no roots
        // (every chain then reads as untrusted) rather than panicking in a server.
        CapturedX509Certificate::from_der(APPLE_ROOT_CA.to_vec())
            .into_iter()
            .collect()
    })
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

pub fn cert_sha256(cert: &CapturedX509Certificate) -> String {
    sha256_hex(cert.constructed_data())
}

/// The subject in certificate order, OpenSSL short names: `UID=..., CN=..., OU=..., O=..., C=US`.
pub fn subject_string(cert: &CapturedX509Certificate) -> String {
    let mut parts = Vec::new();
    for rdn in cert.subject_name().iter() {
        for atv in rdn.iter() {
            let oid = atv.typ.to_string();
            let key = match oid.as_str() {
                "2.5.4.3" => "CN",
                "2.5.4.6" => "C",
                "2.5.4.7" => "L",
                "2.5.4.8" => "ST",
                "2.5.4.10" => "O",
                "2.5.4.11" => "OU",
                "2.5.4.5" => "serialNumber",
                "0.9.2342.19200300.100.1.1" => "UID",
                "1.2.840.113549.1.9.1" => "emailAddress",
                other => other,
            };
            let value = atv.to_string().unwrap_or_else(|_| "?".to_owned());
            parts.push(format!("{key}={value}"));
        }
    }
    parts.join(", ")
}

/// An OU value of the subject: Apple puts the team id there for developer certificates.
pub fn subject_ou(cert: &CapturedX509Certificate) -> Option<String> {
    cert.subject_name()
        .iter_organizational_unit()
        .next()
        .and_then(|v| v.to_string().ok())
}

/// Whether `leaf` chains, by signatures alone, to a shipped Apple root through `pool`
/// (certificates the signature carries). Root certificates found in `pool` are never trusted
/// for themselves: only the compiled-in ones end a chain.
pub fn chains_to_apple_root<'a>(
    leaf: &'a CapturedX509Certificate,
    pool: &[&'a CapturedX509Certificate],
) -> ChainResult<'a> {
    let roots = apple_roots();
    let mut chain: Vec<&'a CapturedX509Certificate> = vec![leaf];
    let mut current = leaf;
    for _ in 0..MAX_CHAIN {
        if roots
            .iter()
            .any(|r| r.constructed_data() == current.constructed_data())
        {
            return ChainResult { ok: true, chain };
        }
        if roots
            .iter()
            .any(|r| current.verify_signed_by_certificate(r).is_ok())
        {
            return ChainResult { ok: true, chain };
        }
        let issuer = pool.iter().copied().find(|c| {
            c.constructed_data() != current.constructed_data()
                && c.subject_name() == current.issuer_name()
                && current.verify_signed_by_certificate(c).is_ok()
        });
        match issuer {
            Some(next) => {
                chain.push(next);
                current = next;
            }
            None => break,
        }
    }
    ChainResult { ok: false, chain }
}

pub struct ChainResult<'a> {
    pub ok: bool,
    /// Leaf first; the certificates whose validity periods matter.
    pub chain: Vec<&'a CapturedX509Certificate>,
}

/// Validity as Unix seconds.
pub fn validity(cert: &CapturedX509Certificate) -> (i64, i64) {
    (
        cert.validity_not_before().timestamp(),
        cert.validity_not_after().timestamp(),
    )
}

pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_root_is_apples() {
        assert_eq!(apple_roots().len(), 1);
        assert_eq!(cert_sha256(&apple_roots()[0]), APPLE_ROOT_CA_SHA256);
        assert_eq!(
            subject_string(&apple_roots()[0]),
            "C=US, O=Apple Inc., OU=Apple Certification Authority, CN=Apple Root CA"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(1_610_692_853), "2021-01-15T06:40:53Z");
    }
}
