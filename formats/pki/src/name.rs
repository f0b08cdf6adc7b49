//! X.501 Names as text, in the two conventions dist shows: RFC 4514 (RDNs in reverse of
//! their encoded order, escaped: what `apksigner` and `keytool` print) and OpenSSL's
//! one-line form (encoded order, OpenSSL short names: what `openssl x509 -subject` and
//! Apple's tools print).

use crate::Error;
use crate::der::{Der, OID, SEQUENCE, SET, Tlv, oid_string};

/// Which way to print a Name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Rfc4514,
    OpenSsl,
}

/// (OID, RFC 4514 key, OpenSSL key)
const KEYS: &[(&str, &str, &str)] = &[
    ("2.5.4.3", "CN", "CN"),
    ("2.5.4.6", "C", "C"),
    ("2.5.4.7", "L", "L"),
    ("2.5.4.8", "ST", "ST"),
    ("2.5.4.9", "STREET", "street"),
    ("2.5.4.10", "O", "O"),
    ("2.5.4.11", "OU", "OU"),
    ("2.5.4.5", "SERIALNUMBER", "serialNumber"),
    ("2.5.4.12", "T", "title"),
    ("2.5.4.42", "GIVENNAME", "GN"),
    ("2.5.4.4", "SURNAME", "SN"),
    ("0.9.2342.19200300.100.1.25", "DC", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID", "UID"),
    ("1.2.840.113549.1.9.1", "EMAILADDRESS", "emailAddress"),
];

fn key(oid: &str, style: Style) -> String {
    KEYS.iter()
        .find(|(o, _, _)| *o == oid)
        .map(|(_, rfc, ssl)| match style {
            Style::Rfc4514 => *rfc,
            Style::OpenSsl => *ssl,
        })
        .unwrap_or(oid)
        .to_owned()
}

/// A directory string's text: BMPString as UTF-16BE, UniversalString as UTF-32BE, the rest
/// (UTF8String, PrintableString, IA5String, ...) as UTF-8, lossily.
pub fn string_value(tlv: &Tlv<'_>) -> String {
    match tlv.tag {
        0x1e => {
            let units: Vec<u16> = tlv
                .content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        0x1c => tlv
            .content
            .chunks_exact(4)
            .filter_map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => String::from_utf8_lossy(tlv.content).into_owned(),
    }
}

fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let count = v.chars().count();
    for (i, ch) in v.chars().enumerate() {
        let special = matches!(ch, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (ch == '#' || ch == ' '))
            || (i + 1 == count && ch == ' ');
        if special {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// The attributes of a Name's content (the bytes inside its SEQUENCE), RDN by RDN, in
/// encoded order: (OID, value).
pub fn attributes(name_content: &[u8]) -> Result<Vec<Vec<(String, String)>>, Error> {
    let mut rdns = Vec::new();
    let mut n = Der::new(name_content);
    while !n.is_empty() {
        let set = n.expect(SET)?;
        let mut s = set.inner();
        let mut parts = Vec::new();
        while !s.is_empty() {
            let atv = s.expect(SEQUENCE)?;
            let mut a = atv.inner();
            let oid = a.expect(OID)?;
            let value = a.read()?;
            parts.push((oid_string(oid.content), string_value(&value)));
        }
        rdns.push(parts);
    }
    Ok(rdns)
}

/// A Name's content as text in `style`.
pub fn format(name_content: &[u8], style: Style) -> Result<String, Error> {
    let mut rdns: Vec<String> = attributes(name_content)?
        .into_iter()
        .map(|parts| {
            parts
                .into_iter()
                .map(|(oid, v)| match style {
                    Style::Rfc4514 => format!("{}={}", key(&oid, style), escape(&v)),
                    Style::OpenSsl => format!("{}={v}", key(&oid, style)),
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    let sep = match style {
        Style::Rfc4514 => {
            rdns.reverse();
            ", "
        }
        Style::OpenSsl => ", ",
    };
    Ok(rdns.join(sep))
}

/// The first value of attribute `oid` in a Name's content.
pub fn first(name_content: &[u8], oid: &str) -> Option<String> {
    attributes(name_content)
        .ok()?
        .into_iter()
        .flatten()
        .find(|(o, _)| o == oid)
        .map(|(_, v)| v)
}

/// Organizational unit: Apple puts a developer's team id there.
pub const OU: &str = "2.5.4.11";

#[cfg(test)]
mod tests {
    use super::*;

    // SEQUENCE content { SET { C=US } SET { CN=a,b } }
    const NAME: [u8; 27] = [
        0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'U', b'S', 0x31, 0x0c,
        0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x03, b'a', b',', b'b',
    ];

    #[test]
    fn names_print_in_rfc4514_order_with_escapes() {
        assert_eq!(format(&NAME, Style::Rfc4514).unwrap(), "CN=a\\,b, C=US");
    }

    #[test]
    fn names_print_in_openssl_order() {
        assert_eq!(format(&NAME, Style::OpenSsl).unwrap(), "C=US, CN=a,b");
        assert_eq!(first(&NAME, "2.5.4.3").as_deref(), Some("a,b"));
    }
}
