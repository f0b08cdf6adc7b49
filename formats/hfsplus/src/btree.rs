//! HFS+ B-trees (catalog, extents overflow, attributes): the header node, then every leaf
//! record in key order by following the leaves' forward links. A walk of the leaves is what
//! a listing needs; every node is bounds-checked and the walk stops after as many nodes as
//! the header counts, so a loop in the links cannot spin.

use std::io::{Read, Seek};

use crate::fork::{Extent, ForkReader};
use crate::{Error, be16, be32};

/// Largest node size accepted (the format allows 512 to 32768).
const MAX_NODE: usize = 32768;

/// What the header node says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub depth: u16,
    pub first_leaf: u32,
    pub node_size: usize,
    pub total_nodes: u32,
}

/// Reads the B-tree stored in a fork and hands every leaf record to `visit`, at most
/// `max_records` of them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn walk_leaves<R: Read + Seek>(
    r: &mut R,
    base: u64,
    block_size: u32,
    extents: Vec<Extent>,
    size: u64,
    total_blocks: u32,
    what: &str,
    max_records: usize,
    visit: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
) -> Result<Header, Error> {
    let bad = |m: String| Error::Malformed(format!("{what} B-tree: {m}"));
    let mut f = ForkReader::new(r, base, block_size, extents, size, total_blocks)?;
    let mut head = [0u8; 14 + 106];
    f.read_exact(&mut head)
        .map_err(|e| bad(format!("header node: {e}")))?;
    if head[8] != 1 {
        return Err(bad("node 0 is not a header node".into()));
    }
    let h = &head[14..];
    let hdr = Header {
        depth: be16(h, 0),
        first_leaf: be32(h, 10),
        node_size: be16(h, 18) as usize,
        total_nodes: be32(h, 22),
    };
    if !(512..=MAX_NODE).contains(&hdr.node_size) || !hdr.node_size.is_power_of_two() {
        return Err(bad(format!("node size {}", hdr.node_size)));
    }
    if hdr.depth > 16 {
        return Err(bad(format!("depth {}, more than 16", hdr.depth)));
    }
    if (hdr.total_nodes as u64) * hdr.node_size as u64 > size {
        return Err(bad(format!(
            "{} nodes of {} bytes do not fit its {size}-byte file",
            hdr.total_nodes, hdr.node_size
        )));
    }
    let mut node = vec![0u8; hdr.node_size];
    let mut next = hdr.first_leaf;
    let mut seen = 0u32;
    let mut records = 0usize;
    while next != 0 {
        if next >= hdr.total_nodes || seen >= hdr.total_nodes {
            return Err(bad(format!(
                "leaf link to node {next} (of {}) after {seen} leaves",
                hdr.total_nodes
            )));
        }
        seen += 1;
        f.seek_to(next as u64 * hdr.node_size as u64);
        f.read_exact(&mut node)
            .map_err(|e| bad(format!("node {next}: {e}")))?;
        if node[8] as i8 != -1 {
            return Err(bad(format!("node {next} in the leaf chain is not a leaf")));
        }
        let n = be16(&node, 10) as usize;
        let ns = hdr.node_size;
        if 14 + 2 * (n + 1) > ns {
            return Err(bad(format!("node {next} counts {n} records")));
        }
        let off = |i: usize| be16(&node, ns - 2 * (i + 1)) as usize;
        for i in 0..n {
            let (s, e) = (off(i), off(i + 1));
            if s < 14 || s > e || e > ns - 2 * (n + 1) {
                return Err(bad(format!("node {next} record {i} at {s}..{e}")));
            }
            records += 1;
            if records > max_records {
                return Err(Error::Limit(format!(
                    "the {what} B-tree holds more than {max_records} records"
                )));
            }
            visit(&node[s..e])?;
        }
        next = be32(&node, 0);
    }
    Ok(hdr)
}
