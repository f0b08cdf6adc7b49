//! Android binary XML (AXML), as `AndroidManifest.xml` is stored in an APK. Produces a flat
//! list of start elements with typed attribute values, the same shape the protobuf manifest
//! of an App Bundle is read into (see `pb.rs`).

use crate::Error;

const RES_STRING_POOL: u16 = 0x0001;
const RES_XML: u16 = 0x0003;
const RES_XML_RESOURCE_MAP: u16 = 0x0180;
const RES_XML_START_ELEMENT: u16 = 0x0102;
const RES_XML_END_ELEMENT: u16 = 0x0103;
const UTF8_FLAG: u32 = 0x100;

/// An attribute's typed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    /// A resource id (`@string/app_name`).
    Ref(u32),
    Other,
}

impl Value {
    pub fn as_string(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub name: String,
    /// The framework attribute id, when the file names one (survives name obfuscation).
    pub res_id: Option<u32>,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub depth: u32,
    pub name: String,
    pub attrs: Vec<Attr>,
}

impl Element {
    /// An attribute by framework id first (robust to stripped names), then by name.
    pub fn attr(&self, name: &str, res_id: Option<u32>) -> Option<&Value> {
        if let Some(id) = res_id
            && let Some(a) = self.attrs.iter().find(|a| a.res_id == Some(id))
        {
            return Some(&a.value);
        }
        self.attrs.iter().find(|a| a.name == name).map(|a| &a.value)
    }
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn bad(what: impl Into<String>) -> Error {
    Error::Axml(what.into())
}

/// A string pool: strings are decoded on demand.
#[derive(Debug, Clone)]
pub struct StringPool<'a> {
    chunk: &'a [u8],
    count: usize,
    utf8: bool,
    strings_start: usize,
    offsets_at: usize,
}

impl<'a> StringPool<'a> {
    /// Parses the pool whose chunk is `chunk` (header included).
    pub fn parse(chunk: &'a [u8]) -> Result<Self, Error> {
        let header_size =
            u16le(chunk, 2).ok_or_else(|| bad("string pool header truncated"))? as usize;
        let count = u32le(chunk, 8).ok_or_else(|| bad("string pool header truncated"))? as usize;
        let flags = u32le(chunk, 16).ok_or_else(|| bad("string pool header truncated"))?;
        let strings_start =
            u32le(chunk, 20).ok_or_else(|| bad("string pool header truncated"))? as usize;
        if header_size < 28 || header_size > chunk.len() {
            return Err(bad("string pool header size is wrong"));
        }
        // Each offset takes four bytes: a count that cannot fit is a lie.
        if count.saturating_mul(4) > chunk.len() - header_size {
            return Err(bad(format!(
                "string pool claims {count} strings in {} bytes",
                chunk.len()
            )));
        }
        Ok(Self {
            chunk,
            count,
            utf8: flags & UTF8_FLAG != 0,
            strings_start,
            offsets_at: header_size,
        })
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// String `i`, or `None` if the index or its bytes are out of range.
    pub fn get(&self, i: u32) -> Option<String> {
        let i = i as usize;
        if i >= self.count {
            return None;
        }
        let off = u32le(self.chunk, self.offsets_at + i * 4)? as usize;
        let at = self.strings_start.checked_add(off)?;
        let d = self.chunk.get(at..)?;
        if self.utf8 {
            // UTF-16 length (skipped), then UTF-8 byte length, each 1 or 2 bytes.
            let skip = if d.first()? & 0x80 != 0 { 2 } else { 1 };
            let d = d.get(skip..)?;
            let (len, hdr) = if d.first()? & 0x80 != 0 {
                ((((d[0] & 0x7f) as usize) << 8) | *d.get(1)? as usize, 2)
            } else {
                (d[0] as usize, 1)
            };
            let bytes = d.get(hdr..hdr + len)?;
            Some(String::from_utf8_lossy(bytes).into_owned())
        } else {
            let first = u16le(d, 0)? as usize;
            let (len, hdr): (usize, usize) = if first & 0x8000 != 0 {
                (((first & 0x7fff) << 16) | u16le(d, 2)? as usize, 4)
            } else {
                (first, 2)
            };
            let bytes = d.get(hdr..hdr.checked_add(len.checked_mul(2)?)?)?;
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
    }
}

/// Converts a `Res_value` (data type, data) into a [`Value`].
pub fn res_value(data_type: u8, data: u32, pool: &StringPool<'_>) -> Value {
    match data_type {
        0x01 => Value::Ref(data),
        0x03 => pool.get(data).map(Value::Str).unwrap_or(Value::Other),
        0x10 => Value::Int(data as i32 as i64),
        0x11 => Value::Int(data as i64),
        0x12 => Value::Bool(data != 0),
        _ => Value::Other,
    }
}

/// Parses an AXML document into its start elements, in document order.
pub fn parse(data: &[u8], max_elements: usize) -> Result<Vec<Element>, Error> {
    let ty = u16le(data, 0).ok_or_else(|| bad("file is shorter than a chunk header"))?;
    if ty != RES_XML {
        return Err(bad(format!("not binary XML (chunk type 0x{ty:04x})")));
    }
    let header_size = u16le(data, 2).unwrap_or(0) as usize;
    let size = (u32le(data, 4).unwrap_or(0) as usize).min(data.len());
    if header_size < 8 || header_size > size {
        return Err(bad("bad XML header"));
    }
    let mut pool: Option<StringPool<'_>> = None;
    let mut res_map: &[u8] = &[];
    let mut out = Vec::new();
    let mut depth: u32 = 0;
    let mut at = header_size;
    while at + 8 <= size {
        let cty = u16le(data, at).unwrap_or(0);
        let chdr = u16le(data, at + 2).unwrap_or(0) as usize;
        let csize = u32le(data, at + 4).unwrap_or(0) as usize;
        let end = at.checked_add(csize).filter(|e| *e <= size && csize >= 8);
        let Some(end) = end else {
            return Err(bad(format!(
                "chunk at {at} of {csize} bytes runs past the file"
            )));
        };
        let chunk = &data[at..end];
        match cty {
            RES_STRING_POOL => pool = Some(StringPool::parse(chunk)?),
            RES_XML_RESOURCE_MAP => res_map = chunk.get(chdr.max(8)..).unwrap_or(&[]),
            RES_XML_START_ELEMENT => {
                let p = pool
                    .as_ref()
                    .ok_or_else(|| bad("element before the string pool"))?;
                if out.len() >= max_elements {
                    return Err(bad(format!("more than {max_elements} elements")));
                }
                out.push(start_element(chunk, chdr, p, res_map, depth)?);
                depth = depth.saturating_add(1);
            }
            RES_XML_END_ELEMENT => depth = depth.saturating_sub(1),
            _ => {}
        }
        at = end;
    }
    if pool.is_none() {
        return Err(bad("no string pool"));
    }
    Ok(out)
}

fn start_element(
    chunk: &[u8],
    header_size: usize,
    pool: &StringPool<'_>,
    res_map: &[u8],
    depth: u32,
) -> Result<Element, Error> {
    let ext = header_size;
    let name_idx = u32le(chunk, ext + 4).ok_or_else(|| bad("element truncated"))?;
    let attr_start = u16le(chunk, ext + 8).ok_or_else(|| bad("element truncated"))? as usize;
    let attr_size = u16le(chunk, ext + 10).ok_or_else(|| bad("element truncated"))? as usize;
    let attr_count = u16le(chunk, ext + 12).ok_or_else(|| bad("element truncated"))? as usize;
    let name = pool.get(name_idx).unwrap_or_default();
    if attr_size < 20 {
        return Err(bad(format!("element {name}: attribute size {attr_size}")));
    }
    let mut attrs = Vec::with_capacity(attr_count.min(64));
    for i in 0..attr_count {
        let a = ext + attr_start + i * attr_size;
        let (Some(aname), Some(raw), Some(dt), Some(data)) = (
            u32le(chunk, a + 4),
            u32le(chunk, a + 8),
            chunk.get(a + 15).copied(),
            u32le(chunk, a + 16),
        ) else {
            return Err(bad(format!(
                "element {name}: attribute {i} runs past the chunk"
            )));
        };
        let res_id = (aname as usize)
            .checked_mul(4)
            .and_then(|at| u32le(res_map, at))
            .filter(|id| *id != 0);
        let mut value = res_value(dt, data, pool);
        if value == Value::Other
            && raw != u32::MAX
            && let Some(s) = pool.get(raw)
        {
            value = Value::Str(s);
        }
        attrs.push(Attr {
            name: pool.get(aname).unwrap_or_default(),
            res_id,
            value,
        });
    }
    Ok(Element { depth, name, attrs })
}
