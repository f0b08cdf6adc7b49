//! A minimal protobuf reader for the App Bundle's aapt2 protobuf files: `aapt.pb.XmlNode`
//! (the manifest, read into the same element list as binary XML), `aapt.pb.ResourceTable`
//! (to resolve the label) and `BundleConfig` (the bundletool version).

use crate::Error;
use crate::axml::{Attr, Element, Value};

#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
    Fixed64(u64),
}

/// Iterates the fields of one message.
pub struct Fields<'a> {
    data: &'a [u8],
}

fn bad(what: impl Into<String>) -> Error {
    Error::Protobuf(what.into())
}

fn varint(d: &[u8]) -> Result<(u64, usize), Error> {
    let mut v: u64 = 0;
    for (i, b) in d.iter().enumerate().take(10) {
        v |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    Err(bad("truncated or overlong varint"))
}

impl<'a> Fields<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Field<'a>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        let r = (|| {
            let (key, n) = varint(self.data)?;
            let d = &self.data[n..];
            let num = (key >> 3) as u32;
            let (field, used) = match key & 7 {
                0 => {
                    let (v, m) = varint(d)?;
                    (Field::Varint(v), m)
                }
                1 => {
                    let b = d.get(..8).ok_or_else(|| bad("truncated fixed64"))?;
                    (
                        Field::Fixed64(u64::from_le_bytes(b.try_into().unwrap_or_default())),
                        8,
                    )
                }
                2 => {
                    let (len, m) = varint(d)?;
                    let end = (m as u64)
                        .checked_add(len)
                        .filter(|e| *e <= d.len() as u64)
                        .ok_or_else(|| {
                            bad(format!("field {num}: {len} bytes run past the message"))
                        })? as usize;
                    (Field::Bytes(&d[m..end]), end)
                }
                5 => {
                    let b = d.get(..4).ok_or_else(|| bad("truncated fixed32"))?;
                    (
                        Field::Fixed32(u32::from_le_bytes(b.try_into().unwrap_or_default())),
                        4,
                    )
                }
                w => return Err(bad(format!("field {num}: wire type {w} is not supported"))),
            };
            self.data = &d[used..];
            Ok((num, field))
        })();
        if r.is_err() {
            self.data = &[];
        }
        Some(r)
    }
}

fn bytes_field(msg: &[u8], num: u32) -> Result<Option<&[u8]>, Error> {
    for f in Fields::new(msg) {
        if let (n, Field::Bytes(b)) = f?
            && n == num
        {
            return Ok(Some(b));
        }
    }
    Ok(None)
}

fn string_field(msg: &[u8], num: u32) -> Result<Option<String>, Error> {
    Ok(bytes_field(msg, num)?.map(|b| String::from_utf8_lossy(b).into_owned()))
}

fn varint_field(msg: &[u8], num: u32) -> Result<Option<u64>, Error> {
    for f in Fields::new(msg) {
        if let (n, Field::Varint(v)) = f?
            && n == num
        {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// Reads an `XmlNode` tree into start elements in document order.
pub fn parse_xml(data: &[u8], max_elements: usize) -> Result<Vec<Element>, Error> {
    let mut out = Vec::new();
    // Explicit stack: (node bytes, depth); children pushed in reverse to keep order.
    let mut stack = vec![(data, 0u32)];
    while let Some((node, depth)) = stack.pop() {
        if depth > 64 {
            return Err(bad("XML nested deeper than 64 levels"));
        }
        let Some(el) = bytes_field(node, 1)? else {
            continue;
        };
        if out.len() >= max_elements {
            return Err(bad(format!("more than {max_elements} elements")));
        }
        let mut name = String::new();
        let mut attrs = Vec::new();
        let mut children = Vec::new();
        for f in Fields::new(el) {
            match f? {
                (3, Field::Bytes(b)) => name = String::from_utf8_lossy(b).into_owned(),
                (4, Field::Bytes(b)) => attrs.push(attribute(b)?),
                (5, Field::Bytes(b)) => children.push(b),
                _ => {}
            }
        }
        out.push(Element { depth, name, attrs });
        for c in children.into_iter().rev() {
            stack.push((c, depth + 1));
        }
    }
    Ok(out)
}

fn attribute(b: &[u8]) -> Result<Attr, Error> {
    let mut name = String::new();
    let mut text = None;
    let mut res_id = None;
    let mut compiled = None;
    for f in Fields::new(b) {
        match f? {
            (2, Field::Bytes(v)) => name = String::from_utf8_lossy(v).into_owned(),
            (3, Field::Bytes(v)) => text = Some(String::from_utf8_lossy(v).into_owned()),
            (5, Field::Varint(v)) => res_id = Some(v as u32).filter(|v| *v != 0),
            (6, Field::Bytes(v)) => compiled = Some(item(v)?),
            _ => {}
        }
    }
    let value = match compiled {
        Some(v) if v != Value::Other => v,
        _ => text.map(Value::Str).unwrap_or(Value::Other),
    };
    Ok(Attr {
        name,
        res_id,
        value,
    })
}

/// An `aapt.pb.Item`: reference, string, raw string, file or primitive.
fn item(b: &[u8]) -> Result<Value, Error> {
    for f in Fields::new(b) {
        match f? {
            (1, Field::Bytes(r)) => {
                return Ok(varint_field(r, 2)?
                    .map(|id| Value::Ref(id as u32))
                    .unwrap_or(Value::Other));
            }
            (2 | 3, Field::Bytes(s)) => {
                return Ok(Value::Str(string_field(s, 1)?.unwrap_or_default()));
            }
            (5, Field::Bytes(file)) => {
                return Ok(Value::Str(string_field(file, 1)?.unwrap_or_default()));
            }
            (7, Field::Bytes(p)) => return primitive(p),
            _ => {}
        }
    }
    Ok(Value::Other)
}

fn primitive(b: &[u8]) -> Result<Value, Error> {
    for f in Fields::new(b) {
        match f? {
            (6, Field::Varint(v)) => return Ok(Value::Int(v as i64 as i32 as i64)),
            (7, Field::Varint(v)) => return Ok(Value::Int(v as u32 as i64)),
            (8, Field::Varint(v)) => return Ok(Value::Bool(v != 0)),
            _ => {}
        }
    }
    Ok(Value::Other)
}

/// Resolves resource `id` to a string through an `aapt.pb.ResourceTable`, preferring the
/// default configuration and following references a few levels.
pub fn resolve_string(table: &[u8], id: u32) -> Result<Option<String>, Error> {
    let mut id = id;
    for _ in 0..8 {
        let Some(v) = table_value(table, id)? else {
            return Ok(None);
        };
        match v {
            Value::Ref(next) => id = next,
            Value::Str(s) => return Ok(Some(s)),
            other => return Ok(other.as_string()),
        }
    }
    Ok(None)
}

fn id_of(msg: &[u8]) -> Result<Option<u32>, Error> {
    Ok(match bytes_field(msg, 1)? {
        Some(idmsg) => Some(varint_field(idmsg, 1)?.unwrap_or(0) as u32),
        None => None,
    })
}

fn table_value(table: &[u8], id: u32) -> Result<Option<Value>, Error> {
    let (p, t, e) = (id >> 24, (id >> 16) & 0xff, id & 0xffff);
    for f in Fields::new(table) {
        let (2, Field::Bytes(pkg)) = f? else { continue };
        if id_of(pkg)?.unwrap_or(0) != p {
            continue;
        }
        for f in Fields::new(pkg) {
            let (3, Field::Bytes(ty)) = f? else { continue };
            if id_of(ty)?.unwrap_or(0) != t {
                continue;
            }
            for f in Fields::new(ty) {
                let (3, Field::Bytes(entry)) = f? else {
                    continue;
                };
                if id_of(entry)?.unwrap_or(0) != e {
                    continue;
                }
                let mut fallback = None;
                for f in Fields::new(entry) {
                    let (6, Field::Bytes(cv)) = f? else { continue };
                    let config = bytes_field(cv, 1)?.unwrap_or_default();
                    let Some(value) = bytes_field(cv, 2)? else {
                        continue;
                    };
                    let Some(it) = bytes_field(value, 4)? else {
                        continue;
                    };
                    let v = item(it)?;
                    if config.is_empty() {
                        return Ok(Some(v));
                    }
                    fallback.get_or_insert(v);
                }
                return Ok(fallback);
            }
        }
    }
    Ok(None)
}

/// The bundletool version recorded in `BundleConfig.pb`.
pub fn bundletool_version(config: &[u8]) -> Result<Option<String>, Error> {
    match bytes_field(config, 1)? {
        Some(bt) => string_field(bt, 2),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_past_the_end_are_errors() {
        // Field 1, length-delimited, claims 100 bytes.
        let mut f = Fields::new(&[0x0a, 100, 1, 2]);
        assert!(f.next().unwrap().is_err());
        assert!(f.next().is_none());
    }

    #[test]
    fn xml_element_with_attribute() {
        // XmlNode{element{name:"manifest", attribute{name:"package", value:"a.b"}}}
        let attr = [&[0x12, 7][..], b"package", &[0x1a, 3], b"a.b"].concat();
        let el = [
            &[0x1a, 8][..],
            b"manifest",
            &[0x22, attr.len() as u8],
            &attr,
        ]
        .concat();
        let node = [&[0x0a, el.len() as u8][..], &el].concat();
        let els = parse_xml(&node, 10).unwrap();
        assert_eq!(els[0].name, "manifest");
        assert_eq!(
            els[0].attr("package", None),
            Some(&Value::Str("a.b".into()))
        );
    }
}
