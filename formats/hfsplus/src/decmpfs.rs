//! Files the file system compressed (decmpfs): a `com.apple.decmpfs` extended attribute in
//! the attributes B-tree holds a header (`fpmc`, the type, the size once decompressed) and,
//! for type 3, the zlib data itself; for type 4 the data is in the resource fork, a table of
//! 64 KiB zlib blocks. Other types (LZVN, LZFSE, ...) are named, not read.

use std::collections::HashMap;
use std::io::{Read, Seek};

use crate::{Entry, Error, Volume, be16, be32, btree};

/// Largest decmpfs attribute kept (inline ones are at most a few KiB).
const MAX_ATTR: usize = 1 << 20;
/// Most bytes of decmpfs attributes kept for one volume.
const MAX_ATTRS_TOTAL: usize = 32 << 20;
/// Block size of resource-fork compression.
const BLOCK: u64 = 64 << 10;

const NAME: &str = "com.apple.decmpfs";

impl<R: Read + Seek> Volume<R> {
    fn load_decmpfs(&mut self) -> Result<&HashMap<u32, Vec<u8>>, Error> {
        if self.decmpfs.is_none() {
            let mut map = HashMap::new();
            let af = self.attributes_file.clone();
            if af.logical_size > 0 {
                let name: Vec<u8> = NAME.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
                let mut total = 0usize;
                let bs = self.header.block_size;
                let ext = self.all_extents(8, 0, &af)?;
                btree::walk_leaves(
                    &mut self.r,
                    self.header.offset,
                    bs,
                    ext,
                    af.logical_size,
                    af.total_blocks,
                    "attributes",
                    self.limits.max_records,
                    &mut |rec| {
                        // Key: length, pad, file ID, start block, name length, UTF-16 name.
                        if rec.len() < 14 {
                            return Err(Error::Malformed("an attribute record is short".into()));
                        }
                        let klen = be16(rec, 0) as usize;
                        let nlen = be16(rec, 12) as usize;
                        if 12 + 2 * nlen > klen || 2 + klen > rec.len() {
                            return Err(Error::Malformed("an attribute key is cut short".into()));
                        }
                        if rec[14..14 + 2 * nlen] != name[..] {
                            return Ok(());
                        }
                        let d = &rec[2 + klen..];
                        // Inline data: type 0x10, 8 reserved bytes, size, data.
                        if d.len() < 16 || be32(d, 0) != 0x10 {
                            return Ok(());
                        }
                        let size = be32(d, 12) as usize;
                        if size > MAX_ATTR || 16 + size > d.len() {
                            return Err(Error::Malformed(
                                "a decmpfs attribute is larger than its record".into(),
                            ));
                        }
                        total += size;
                        if total > MAX_ATTRS_TOTAL {
                            return Err(Error::Limit(format!(
                                "the volume's decmpfs attributes exceed {MAX_ATTRS_TOTAL} bytes"
                            )));
                        }
                        map.insert(be32(rec, 4), d[16..16 + size].to_vec());
                        Ok(())
                    },
                )?;
            }
            self.decmpfs = Some(map);
        }
        Ok(self.decmpfs.as_ref().expect("just set"))
    }

    /// The decompressed size a file's decmpfs header states.
    pub(crate) fn decmpfs_size(&mut self, cnid: u32) -> Result<Option<u64>, Error> {
        Ok(self
            .load_decmpfs()?
            .get(&cnid)
            .and_then(|a| header(a).ok())
            .map(|(_, size)| size))
    }

    /// A compressed file's contents, at most `cap` bytes.
    pub(crate) fn read_compressed(&mut self, e: &Entry, cap: u64) -> Result<Vec<u8>, Error> {
        let attr = self.load_decmpfs()?.get(&e.cnid).cloned().ok_or_else(|| {
            Error::Malformed(format!(
                "{} is marked compressed but has no {NAME} attribute",
                e.path
            ))
        })?;
        let (kind, size) =
            header(&attr).map_err(|m| Error::Malformed(format!("{}: {m}", e.path)))?;
        if size > cap {
            return Err(Error::Limit(format!(
                "{}: {size} bytes once decompressed, more than the limit of {cap}",
                e.path
            )));
        }
        let out = match kind {
            1 => attr[16..].to_vec(),
            3 => block(&attr[16..], size, &self.budget)?,
            4 => {
                let rsrc = self.read_rsrc(e, cap.saturating_mul(2).max(1 << 20))?;
                let bad = |m: &str| {
                    Error::Malformed(format!("{}: compressed resource fork: {m}", e.path))
                };
                let get32 = |o: usize, le: bool| -> Result<u32, Error> {
                    let b: [u8; 4] = rsrc
                        .get(o..o + 4)
                        .and_then(|s| s.try_into().ok())
                        .ok_or_else(|| bad("cut short"))?;
                    Ok(if le {
                        u32::from_le_bytes(b)
                    } else {
                        u32::from_be_bytes(b)
                    })
                };
                // The resource data starts where the header says, after a 4-byte length;
                // there a little-endian table of (offset, length) pairs, relative to it.
                let table = get32(0, false)? as usize + 4;
                let n = get32(table, true)? as u64;
                if n != size.div_ceil(BLOCK) {
                    return Err(bad(&format!("{n} blocks for {size} bytes")));
                }
                let mut out = Vec::with_capacity(size as usize);
                for i in 0..n as usize {
                    let off = get32(table + 4 + i * 8, true)? as usize;
                    let len = get32(table + 8 + i * 8, true)? as usize;
                    let data = rsrc
                        .get(table + off..table + off + len)
                        .ok_or_else(|| bad("a block lies outside the fork"))?;
                    let want = BLOCK.min(size - i as u64 * BLOCK);
                    out.extend(block(data, want, &self.budget)?);
                }
                out
            }
            t => {
                return Err(Error::Unsupported(format!(
                    "{} is compressed by the file system with decmpfs type {t} ({}), which this reader does not decompress",
                    e.path,
                    match t {
                        7 | 8 => "LZVN",
                        11 | 12 => "LZFSE",
                        _ => "unknown",
                    }
                )));
            }
        };
        if out.len() as u64 != size {
            return Err(Error::Malformed(format!(
                "{}: decompresses to {} bytes, not the {size} its header states",
                e.path,
                out.len()
            )));
        }
        Ok(out)
    }
}

/// Type and size from a decmpfs header (`fpmc`, little-endian type and size).
fn header(a: &[u8]) -> Result<(u32, u64), String> {
    if a.len() < 16 || &a[..4] != b"fpmc" {
        return Err("the decmpfs attribute has no fpmc header".into());
    }
    Ok((
        u32::from_le_bytes(a[4..8].try_into().expect("4")),
        u64::from_le_bytes(a[8..16].try_into().expect("8")),
    ))
}

/// One zlib block, or stored bytes after a marker byte whose low nibble is 0xF.
fn block(d: &[u8], size: u64, budget: &crate::InflateBudget) -> Result<Vec<u8>, Error> {
    match d.first() {
        Some(b) if b & 0x0f == 0x0f => {
            budget.charge(d.len() as u64 - 1)?;
            Ok(d[1..].to_vec())
        }
        _ => Ok(format_compress::zlib_block(d, size as usize, budget)?),
    }
}
