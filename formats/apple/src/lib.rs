//! Apple formats that more than one target reads (iOS today, macOS next): Mach-O files thin
//! and fat and their load commands ([`macho`]), embedded code signatures with their
//! CodeDirectories, page hashes and CMS ([`codesign`]), bundle resource seals
//! (`_CodeSignature/CodeResources`, [`seal`]), provisioning profiles ([`profile`]), one executable's signature
//! checked as a whole ([`verify`]), property lists ([`plistx`]) and Apple's root certificate with the chain check to it ([`roots`]).
//!
//! A format crate: it reads and verifies, it does not judge. It produces parsed facts,
//! verdicts and typed errors, never findings, and knows no `platform` type; the targets turn
//! what it reports into findings and install advice. It never touches the network or the
//! filesystem, never executes anything, and bounds every length by the limits it is handed.
//! X.509 and CMS come from `formats/pki`, the one such stack of the workspace. Targets depend
//! on `platform` and `formats/*`, never on each other; formats never depend on targets.

pub mod bytes;
pub mod codesign;
pub mod macho;
pub mod plistx;
pub mod profile;
pub mod roots;
pub mod seal;
pub mod verify;

/// Unix seconds as RFC 3339 (`2021-01-15T06:40:53Z`), the form findings and details show.
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
    #[test]
    fn dates() {
        assert_eq!(super::rfc3339(1_610_692_853), "2021-01-15T06:40:53Z");
    }
}
