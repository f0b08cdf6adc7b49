//! `resources.arsc`: just enough of the resource table to resolve a resource id to its values
//! across configurations (the app label's default string, the icon's file per density).

use crate::Error;
use crate::axml::{StringPool, Value, res_value};

const RES_TABLE: u16 = 0x0002;
const RES_STRING_POOL: u16 = 0x0001;
const RES_TABLE_PACKAGE: u16 = 0x0200;
const RES_TABLE_TYPE: u16 = 0x0201;
const FLAG_COMPLEX: u16 = 0x0001;
const FLAG_COMPACT: u16 = 0x0008;
const TYPE_FLAG_SPARSE: u8 = 0x01;
const TYPE_FLAG_OFFSET16: u8 = 0x02;

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A value of a resource in one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigValue {
    /// The configuration is the default one (no qualifiers).
    pub default: bool,
    /// Screen density qualifier (0 = any, 0xfffe = anydpi, 0xffff = nodpi).
    pub density: u16,
    pub value: Value,
}

/// The parsed table: borrowed chunks, walked on each lookup.
pub struct Table<'a> {
    pool: StringPool<'a>,
    packages: Vec<(u32, &'a [u8])>,
}

fn bad(what: impl Into<String>) -> Error {
    Error::Arsc(what.into())
}

impl<'a> Table<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Self, Error> {
        if u16le(data, 0) != Some(RES_TABLE) {
            return Err(bad("not a resource table"));
        }
        let hdr = u16le(data, 2).unwrap_or(0) as usize;
        let size = (u32le(data, 4).unwrap_or(0) as usize).min(data.len());
        let mut pool = None;
        let mut packages = Vec::new();
        let mut at = hdr.max(12);
        while at + 8 <= size {
            let ty = u16le(data, at).unwrap_or(0);
            let csize = u32le(data, at + 4).unwrap_or(0) as usize;
            let end = at
                .checked_add(csize)
                .filter(|e| *e <= size && csize >= 8)
                .ok_or_else(|| bad(format!("chunk at {at} runs past the table")))?;
            let chunk = &data[at..end];
            match ty {
                RES_STRING_POOL if pool.is_none() => pool = Some(StringPool::parse(chunk)?),
                RES_TABLE_PACKAGE => {
                    let id = u32le(chunk, 8).ok_or_else(|| bad("package header truncated"))?;
                    packages.push((id, chunk));
                }
                _ => {}
            }
            at = end;
        }
        Ok(Self {
            pool: pool.ok_or_else(|| bad("no global string pool"))?,
            packages,
        })
    }

    /// Every configuration's value of resource `id`.
    pub fn values(&self, id: u32) -> Vec<ConfigValue> {
        let pkg_id = id >> 24;
        let type_id = ((id >> 16) & 0xff) as u8;
        let entry_id = (id & 0xffff) as usize;
        let mut out = Vec::new();
        for (pid, chunk) in &self.packages {
            if *pid != pkg_id {
                continue;
            }
            let hdr = u16le(chunk, 2).unwrap_or(0) as usize;
            let mut at = hdr;
            while at + 8 <= chunk.len() {
                let ty = u16le(chunk, at).unwrap_or(0);
                let csize = u32le(chunk, at + 4).unwrap_or(0) as usize;
                let Some(end) = at
                    .checked_add(csize)
                    .filter(|e| *e <= chunk.len() && csize >= 8)
                else {
                    break;
                };
                if ty == RES_TABLE_TYPE
                    && chunk.get(at + 8) == Some(&type_id)
                    && let Some(v) = self.type_entry(&chunk[at..end], entry_id)
                {
                    out.push(v);
                }
                at = end;
            }
        }
        out
    }

    fn type_entry(&self, t: &[u8], entry_id: usize) -> Option<ConfigValue> {
        let hdr = u16le(t, 2)? as usize;
        let flags = *t.get(9)?;
        // Never trust the count beyond what the chunk can hold (4 bytes per slot at most).
        let count = (u32le(t, 12)? as usize).min(t.len().saturating_sub(hdr) / 2);
        let entries_start = u32le(t, 16)? as usize;
        // ResTable_config starts at 20: size(4) imsi(4) locale(4) screenType(4: orientation,
        // touchscreen, density u16) ...
        let cfg_size = (u32le(t, 20)? as usize).min(hdr.saturating_sub(20));
        let cfg = t.get(20 + 4..20 + cfg_size)?;
        let default = cfg.iter().all(|b| *b == 0);
        let density = u16le(t, 20 + 14).unwrap_or(0);
        let offset = if flags & TYPE_FLAG_SPARSE != 0 {
            // Sorted (entry index u16, offset/4 u16) pairs.
            (0..count).find_map(|i| {
                let idx = u16le(t, hdr + i * 4)? as usize;
                (idx == entry_id).then(|| u16le(t, hdr + i * 4 + 2).map(|o| o as usize * 4))?
            })?
        } else if flags & TYPE_FLAG_OFFSET16 != 0 {
            if entry_id >= count {
                return None;
            }
            let o = u16le(t, hdr + entry_id * 2)?;
            if o == 0xffff {
                return None;
            }
            o as usize * 4
        } else {
            if entry_id >= count {
                return None;
            }
            let o = u32le(t, hdr + entry_id * 4)?;
            if o == u32::MAX {
                return None;
            }
            o as usize
        };
        let e = entries_start.checked_add(offset)?;
        let eflags = u16le(t, e + 2)?;
        let value = if eflags & FLAG_COMPACT != 0 {
            // Compact entry: key u16, flags u16 (data type in the high byte), data u32.
            let dt = (eflags >> 8) as u8;
            res_value(dt, u32le(t, e + 4)?, &self.pool)
        } else if eflags & FLAG_COMPLEX != 0 {
            Value::Other
        } else {
            let esize = u16le(t, e)? as usize;
            let v = e.checked_add(esize)?;
            res_value(*t.get(v + 3)?, u32le(t, v + 4)?, &self.pool)
        };
        Some(ConfigValue {
            default,
            density,
            value,
        })
    }

    /// The string a reference resolves to in the default configuration (or, failing that,
    /// the first configuration that has one), following references a few levels deep.
    pub fn resolve_string(&self, id: u32) -> Option<String> {
        let mut id = id;
        for _ in 0..8 {
            let values = self.values(id);
            let pick = values
                .iter()
                .find(|v| v.default && v.value != Value::Other)
                .or_else(|| values.iter().find(|v| v.value != Value::Other))?;
            match &pick.value {
                Value::Ref(next) => id = *next,
                Value::Str(s) => return Some(s.clone()),
                other => return other.as_string(),
            }
        }
        None
    }

    /// File paths a resource points at, with their densities (icons).
    pub fn resolve_files(&self, id: u32) -> Vec<(u16, String)> {
        let mut out = Vec::new();
        let mut queue = vec![(id, 0u32)];
        let mut seen = std::collections::HashSet::new();
        while let Some((id, depth)) = queue.pop() {
            // References may form cycles or fan out: each id is looked up once, a few levels.
            if depth > 4 || out.len() > 64 || seen.len() > 256 {
                break;
            }
            if !seen.insert(id) {
                continue;
            }
            for v in self.values(id) {
                match v.value {
                    Value::Str(s) => out.push((v.density, s)),
                    Value::Ref(next) => queue.push((next, depth + 1)),
                    _ => {}
                }
            }
        }
        out
    }
}
