//! A bounded TLV reader. DER by default; [`Der::ber`] also takes BER's indefinite lengths
//! (Apple signs provisioning profiles that way). Every length is checked against the bytes
//! that remain, and indefinite lengths nest at most [`MAX_DEPTH`] deep.

use std::borrow::Cow;

use crate::{Error, bad};

pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
/// `[0]` and `[1]`, constructed, context-specific.
pub const CONTEXT_0: u8 = 0xa0;
pub const CONTEXT_1: u8 = 0xa1;
/// A constructed OCTET STRING (BER: the value in chunks).
const OCTET_STRING_CONSTRUCTED: u8 = 0x24;

/// Deepest nesting of indefinite lengths (and of constructed strings) followed.
pub const MAX_DEPTH: u32 = 32;

/// One TLV: its tag, its content, and the whole encoding.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
    ber: bool,
}

impl<'a> Tlv<'a> {
    /// A reader over this TLV's content, in the mode it was read with.
    pub fn inner(&self) -> Der<'a> {
        Der {
            data: self.content,
            ber: self.ber,
            depth: 0,
        }
    }

    /// The bytes of an OCTET STRING, joined when BER splits it into chunks.
    pub fn octets(&self) -> Result<Cow<'a, [u8]>, Error> {
        match self.tag {
            OCTET_STRING => Ok(Cow::Borrowed(self.content)),
            OCTET_STRING_CONSTRUCTED if self.ber => {
                let mut out = Vec::new();
                join_chunks(self.inner(), &mut out, 0)?;
                Ok(Cow::Owned(out))
            }
            t => Err(Error::Der(format!(
                "expected an OCTET STRING, found tag 0x{t:02x}"
            ))),
        }
    }
}

fn join_chunks(mut d: Der<'_>, out: &mut Vec<u8>, depth: u32) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Err(bad("constructed OCTET STRING nests too deep"));
    }
    while !d.is_empty() {
        let t = d.read()?;
        match t.tag {
            OCTET_STRING => out.extend_from_slice(t.content),
            OCTET_STRING_CONSTRUCTED => join_chunks(t.inner(), out, depth + 1)?,
            other => {
                return Err(Error::Der(format!(
                    "chunk of an OCTET STRING has tag 0x{other:02x}"
                )));
            }
        }
    }
    Ok(())
}

/// Reads TLVs one after another out of a slice.
#[derive(Debug, Clone)]
pub struct Der<'a> {
    data: &'a [u8],
    ber: bool,
    depth: u32,
}

impl<'a> Der<'a> {
    /// A strict DER reader: definite lengths only.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            ber: false,
            depth: 0,
        }
    }

    /// A BER reader: indefinite lengths and chunked strings too.
    pub fn ber(data: &'a [u8]) -> Self {
        Self {
            data,
            ber: true,
            depth: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    pub fn read(&mut self) -> Result<Tlv<'a>, Error> {
        let d = self.data;
        let tag = *d.first().ok_or_else(|| bad("unexpected end of data"))?;
        if tag & 0x1f == 0x1f {
            return Err(bad("multi-byte tags are not used by these structures"));
        }
        let first = *d.get(1).ok_or_else(|| bad("truncated length"))?;
        if first == 0x80 {
            return self.read_indefinite(tag);
        }
        let (len, hdr) = if first < 0x80 {
            (first as usize, 2usize)
        } else {
            let n = (first & 0x7f) as usize;
            if n > 4 {
                return Err(bad("oversized length"));
            }
            let bytes = d.get(2..2 + n).ok_or_else(|| bad("truncated length"))?;
            let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, 2 + n)
        };
        let end = hdr
            .checked_add(len)
            .filter(|e| *e <= d.len())
            .ok_or_else(|| bad("length runs past the data"))?;
        self.data = &d[end..];
        Ok(Tlv {
            tag,
            content: &d[hdr..end],
            raw: &d[..end],
            ber: self.ber,
        })
    }

    /// An indefinite length: the content runs to the end-of-contents octets (`00 00`) that
    /// follow its last child.
    fn read_indefinite(&mut self, tag: u8) -> Result<Tlv<'a>, Error> {
        if !self.ber {
            return Err(bad("indefinite length in DER"));
        }
        if tag & 0x20 == 0 {
            return Err(bad("indefinite length on a primitive value"));
        }
        if self.depth >= MAX_DEPTH {
            return Err(bad("indefinite lengths nest too deep"));
        }
        let d = self.data;
        let mut inner = Der {
            data: &d[2..],
            ber: true,
            depth: self.depth + 1,
        };
        loop {
            if inner.data.starts_with(&[0, 0]) {
                break;
            }
            if inner.is_empty() {
                return Err(bad("indefinite length without end-of-contents"));
            }
            inner.read()?;
        }
        let content_end = d.len() - inner.data.len();
        self.data = &inner.data[2..];
        Ok(Tlv {
            tag,
            content: &d[2..content_end],
            raw: &d[..content_end + 2],
            ber: true,
        })
    }

    pub fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, Error> {
        let t = self.read()?;
        if t.tag != tag {
            return Err(Error::Der(format!(
                "expected tag 0x{tag:02x}, found 0x{:02x}",
                t.tag
            )));
        }
        Ok(t)
    }

    /// Takes the next TLV only if it has `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, Error> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// An OID's dotted form.
pub fn oid_string(content: &[u8]) -> String {
    let mut parts: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for b in content {
        acc = (acc << 7) | (*b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let (a, b2) = if acc < 40 {
                    (0, acc)
                } else if acc < 80 {
                    (1, acc - 40)
                } else {
                    (2, acc - 80)
                };
                parts.push(a);
                parts.push(b2);
            } else {
                parts.push(acc);
            }
            acc = 0;
        }
        if acc > (u64::MAX >> 8) {
            return "invalid".into();
        }
    }
    parts
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// The OID of an AlgorithmIdentifier SEQUENCE.
pub fn algorithm_oid(alg: &Tlv<'_>) -> Result<String, Error> {
    Ok(oid_string(alg.inner().expect(OID)?.content))
}

/// An INTEGER's two's-complement bytes without redundant sign octets, so that two encodings
/// compare equal exactly when their values do (as `apksigner` and Android compare them, by
/// BigInteger). A serial with its high bit set carries a leading zero in DER (it is
/// positive); without that zero the same bytes are a negative number and another serial.
pub fn integer_value(b: &[u8]) -> &[u8] {
    let mut v = b;
    while v.len() > 1 && ((v[0] == 0x00 && v[1] & 0x80 == 0) || (v[0] == 0xff && v[1] & 0x80 != 0))
    {
        v = &v[1..];
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_decodes() {
        assert_eq!(
            oid_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]),
            "1.2.840.113549.1.1.1"
        );
        assert_eq!(oid_string(&[0x55, 0x04, 0x03]), "2.5.4.3");
    }

    #[test]
    fn lengths_are_bounded() {
        // Claims 0x7fffffff bytes of content in a 6-byte buffer.
        let mut d = Der::new(&[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]);
        assert!(d.read().is_err());
        let mut d = Der::new(&[0x30, 0x80, 0x00, 0x00]);
        assert!(d.read().is_err(), "DER refuses indefinite lengths");
        let mut d = Der::ber(&[0x30, 0x80, 0x02, 0x01, 0x05]);
        assert!(d.read().is_err(), "no end-of-contents");
    }

    #[test]
    fn ber_indefinite_lengths_and_chunked_strings() {
        // SEQUENCE (indefinite) { OCTET STRING (constructed, indefinite) { "ab", "c" } }, 0x05
        let data = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x00,
            0x00, 0x05,
        ];
        let mut d = Der::ber(&data);
        let seq = d.expect(SEQUENCE).unwrap();
        assert_eq!(seq.raw.len(), 15);
        assert_eq!(d.peek_tag(), Some(0x05));
        let s = seq.inner().read().unwrap();
        assert_eq!(&*s.octets().unwrap(), b"abc");
    }

    #[test]
    fn deep_indefinite_nesting_is_refused() {
        let mut data = Vec::new();
        for _ in 0..100 {
            data.extend_from_slice(&[0x30, 0x80]);
        }
        data.extend(std::iter::repeat_n(0u8, 200));
        assert!(Der::ber(&data).read().is_err());
    }

    #[test]
    fn serials_compare_by_value() {
        assert_ne!(
            integer_value(&[0x00, 0x80, 0x01]),
            integer_value(&[0x80, 0x01])
        );
        assert_eq!(
            integer_value(&[0x00, 0x00, 0x80, 0x01]),
            integer_value(&[0x00, 0x80, 0x01])
        );
        assert_eq!(integer_value(&[0x00, 0x01]), integer_value(&[0x01]));
        assert_eq!(integer_value(&[0xff, 0x80]), integer_value(&[0x80]));
        assert_eq!(integer_value(&[0x00]), [0x00]);
    }
}
