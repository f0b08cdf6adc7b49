//! The Authenticode trust store: the roots shipped in `trust/` (their source and SHA-256 are
//! in `trust/README.md`, checked by `tests/trust_store.rs`), plus the certificates an app's
//! admin added for the Windows platform (`dist app add-key APP --platform windows root.cer`),
//! which reach an inspection as `InspectContext::trusted_keys`.

use std::sync::OnceLock;

use format_pki::Certificate;
use platform::InspectContext;

/// The shipped roots, by file name.
pub const SHIPPED: &[(&str, &[u8])] = &[
    (
        "Certum-Trusted-Network-CA.cer",
        include_bytes!("../trust/Certum-Trusted-Network-CA.cer"),
    ),
    (
        "DigiCert-Assured-ID-Root-CA.cer",
        include_bytes!("../trust/DigiCert-Assured-ID-Root-CA.cer"),
    ),
    (
        "DigiCert-High-Assurance-EV-Root-CA.cer",
        include_bytes!("../trust/DigiCert-High-Assurance-EV-Root-CA.cer"),
    ),
    (
        "DigiCert-Trusted-Root-G4.cer",
        include_bytes!("../trust/DigiCert-Trusted-Root-G4.cer"),
    ),
    (
        "Entrust-Code-Signing-Root-Certification-Authority-CSBR1.cer",
        include_bytes!("../trust/Entrust-Code-Signing-Root-Certification-Authority-CSBR1.cer"),
    ),
    (
        "GlobalSign-Code-Signing-Root-E45.cer",
        include_bytes!("../trust/GlobalSign-Code-Signing-Root-E45.cer"),
    ),
    (
        "GlobalSign-Code-Signing-Root-R45.cer",
        include_bytes!("../trust/GlobalSign-Code-Signing-Root-R45.cer"),
    ),
    (
        "GlobalSign-Root-CA.cer",
        include_bytes!("../trust/GlobalSign-Root-CA.cer"),
    ),
    (
        "GlobalSign-Timestamping-Root-R45.cer",
        include_bytes!("../trust/GlobalSign-Timestamping-Root-R45.cer"),
    ),
    (
        "Microsoft-Identity-Verification-Root-Certificate-Authority-2020.cer",
        include_bytes!(
            "../trust/Microsoft-Identity-Verification-Root-Certificate-Authority-2020.cer"
        ),
    ),
    (
        "Microsoft-Root-Authority.cer",
        include_bytes!("../trust/Microsoft-Root-Authority.cer"),
    ),
    (
        "Microsoft-Root-Certificate-Authority-2010.cer",
        include_bytes!("../trust/Microsoft-Root-Certificate-Authority-2010.cer"),
    ),
    (
        "Microsoft-Root-Certificate-Authority-2011.cer",
        include_bytes!("../trust/Microsoft-Root-Certificate-Authority-2011.cer"),
    ),
    (
        "Microsoft-Root-Certificate-Authority.cer",
        include_bytes!("../trust/Microsoft-Root-Certificate-Authority.cer"),
    ),
    (
        "SSL-com-Code-Signing-ECC-Root-CA-2022.cer",
        include_bytes!("../trust/SSL-com-Code-Signing-ECC-Root-CA-2022.cer"),
    ),
    (
        "SSL-com-Code-Signing-RSA-Root-CA-2022.cer",
        include_bytes!("../trust/SSL-com-Code-Signing-RSA-Root-CA-2022.cer"),
    ),
    (
        "Sectigo-Public-Code-Signing-Root-E46.cer",
        include_bytes!("../trust/Sectigo-Public-Code-Signing-Root-E46.cer"),
    ),
    (
        "Sectigo-Public-Code-Signing-Root-R46.cer",
        include_bytes!("../trust/Sectigo-Public-Code-Signing-Root-R46.cer"),
    ),
    (
        "Sectigo-Public-Time-Stamping-Root-E46.cer",
        include_bytes!("../trust/Sectigo-Public-Time-Stamping-Root-E46.cer"),
    ),
    (
        "Sectigo-Public-Time-Stamping-Root-R46.cer",
        include_bytes!("../trust/Sectigo-Public-Time-Stamping-Root-R46.cer"),
    ),
    (
        "USERTrust-RSA-Certification-Authority.cer",
        include_bytes!("../trust/USERTrust-RSA-Certification-Authority.cer"),
    ),
    (
        "VeriSign-Universal-Root-Certification-Authority.cer",
        include_bytes!("../trust/VeriSign-Universal-Root-Certification-Authority.cer"),
    ),
];

/// The shipped roots, parsed once.
pub fn shipped() -> &'static [Certificate] {
    static ROOTS: OnceLock<Vec<Certificate>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        SHIPPED
            .iter()
            .map(|(name, der)| {
                Certificate::parse(der)
                    .unwrap_or_else(|e| panic!("shipped root {name} does not parse: {e}"))
            })
            .collect()
    })
}

/// The roots one inspection trusts: the shipped ones and the app's added ones.
pub fn roots(ctx: &InspectContext) -> Vec<Certificate> {
    let mut out = shipped().to_vec();
    out.extend(ctx.trusted_keys.iter().filter_map(|k| parse_added(k).ok()));
    out
}

/// A certificate an admin adds: DER, or PEM with one `CERTIFICATE` block.
pub fn parse_added(bytes: &[u8]) -> Result<Certificate, String> {
    let der = match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN CERTIFICATE-----") => pem_body(text)?,
        _ => bytes.to_vec(),
    };
    Certificate::parse(&der)
        .map_err(|e| format!("not an X.509 certificate (DER or PEM) for Windows signatures: {e}"))
}

fn pem_body(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let start = text
        .find("-----BEGIN CERTIFICATE-----")
        .map(|i| i + "-----BEGIN CERTIFICATE-----".len())
        .ok_or("no BEGIN CERTIFICATE line")?;
    let end = text[start..]
        .find("-----END CERTIFICATE-----")
        .ok_or("no END CERTIFICATE line")?;
    let body: String = text[start..start + end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if text[start + end..].contains("-----BEGIN CERTIFICATE-----") {
        return Err("the PEM holds more than one certificate; add one at a time".into());
    }
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("the PEM body is not base64: {e}"))
}
