//! What one inspection costs, in bytes rather than seconds: bytes read from the file and
//! bytes decompressed. Wall-clock limits flake on a shared 2-core machine and say nothing
//! about why; a byte budget is deterministic and names the runaway (a re-read loop, an
//! inflate bomb obeyed).

use std::cell::Cell;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::rc::Rc;

use platform::{DetectError, InspectContext, Inspected, Kind, Limits, Probe, Target, registry};

/// Bytes an inspection read and decompressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    pub read: u64,
    pub inflated: u64,
}

/// The most an inspection of a `size`-byte file may cost.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Bytes read per byte of file, plus a fixed allowance (headers read twice, the probe's
    /// head and tail, a zip index read by detection and again by inspection).
    pub read_per_byte: u64,
    pub read_fixed: u64,
    /// Bytes decompressed per byte of file, plus a fixed allowance.
    pub inflate_per_byte: u64,
    pub inflate_fixed: u64,
}

impl Default for Budget {
    /// Reads: six times the file plus 1 MiB (the most seen over every mutated fixture and
    /// corpus file is under 7x for files under 1 MiB). Decompression: the inspection's own
    /// budget (`Limits::default().max_inflate_ratio` times the file), so a reader that
    /// inflates without charging the budget shows here.
    fn default() -> Self {
        Self {
            read_per_byte: 6,
            read_fixed: 1 << 20,
            inflate_per_byte: platform::Limits::default().max_inflate_ratio,
            inflate_fixed: 0,
        }
    }
}

impl Budget {
    /// `Err` naming what went over, for a `size`-byte file.
    pub fn check(&self, size: u64, cost: Cost) -> Result<(), String> {
        let read = size
            .saturating_mul(self.read_per_byte)
            .saturating_add(self.read_fixed);
        let inflated = size
            .saturating_mul(self.inflate_per_byte)
            .saturating_add(self.inflate_fixed);
        if cost.read > read {
            return Err(format!(
                "read {} bytes of a {size}-byte file, over the budget of {read}",
                cost.read
            ));
        }
        if cost.inflated > inflated {
            return Err(format!(
                "decompressed {} bytes from a {size}-byte file, over the budget of {inflated}",
                cost.inflated
            ));
        }
        Ok(())
    }
}

/// A reader (over bytes unless told otherwise) that counts what is read from it.
pub struct Counting<R = Cursor<Vec<u8>>> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl Counting {
    pub fn new(bytes: Vec<u8>) -> (Self, Rc<Cell<u64>>) {
        Counting::wrap(Cursor::new(bytes))
    }
}

impl<R> Counting<R> {
    /// Counts the bytes read through `inner` (a file, for the benchmarks); the cell is the count.
    pub fn wrap(inner: R) -> (Self, Rc<Cell<u64>>) {
        let read = Rc::new(Cell::new(0));
        (
            Self {
                inner,
                read: read.clone(),
            },
            read,
        )
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// What `platform::registry().inspect` does (probe, detect, inspect under one budget), with
/// the cost measured. `target`/`kind` force one parser instead of detection, to drive it on
/// bytes detection no longer recognises.
pub fn inspect(
    name: &str,
    bytes: &[u8],
    forced: Option<(&dyn Target, &Kind)>,
    limits: Limits,
    now: i64,
) -> (Result<Inspected, DetectError>, Cost) {
    let (mut r, read) = Counting::new(bytes.to_vec());
    let size = bytes.len() as u64;
    let ctx = InspectContext::new(name, size, limits, now);
    let budget = ctx.budget.clone();
    let io = |source| DetectError::Io {
        file: name.to_owned(),
        source,
    };
    let result = (|| {
        let (target, kind) = match forced {
            Some((t, k)) => (t, k.clone()),
            None => {
                let probe = Probe::read(name, &mut r, &limits).map_err(io)?;
                let (t, d) = registry().detect(&probe, None)?;
                (t, d.kind)
            }
        };
        r.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok(target.inspect(&mut r, &kind, &ctx)?)
    })();
    let cost = Cost {
        read: read.get(),
        inflated: budget.used(),
    };
    (result, cost)
}
