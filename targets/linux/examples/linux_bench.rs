//! The cost of `inspect` on large artifacts: bytes read from the file by the metadata pass
//! and, apart from them, by the verification passes (an rpm's payload digest, an AppImage's
//! signature digest), bytes decompressed, wall time, and the time of one SHA-256 pass over
//! the same file for scale.
//! Example: `cargo run --release -p target-linux --example linux_bench -- --key k.pub big.deb`
//!
//! Detection's reads (the probe) count as metadata. Which of `inspect`'s reads verify is
//! told from where they fall, per kind, not from inside the target:
//! an rpm's reads at or after the payload's offset (found here from the lead and the two
//! header sizes) are its payload digest pass; an AppImage is inspected once without the keys
//! (its signature names an untrusted key, so no digest pass runs) and once with them, and
//! the difference is its signature pass. A deb's data and a tarball are read to list them
//! and check they decompress: that is their metadata pass, and they have no other.

use std::cell::RefCell;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::rc::Rc;
use std::time::Instant;

use platform::{InspectContext, Inspected, Limits, Probe, Target};
use sha2::Digest;
use target_linux::LinuxTarget;

/// Every read as (offset, bytes).
type Log = Rc<RefCell<Vec<(u64, u64)>>>;

struct Counting<R> {
    inner: R,
    pos: u64,
    log: Log,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.log.borrow_mut().push((self.pos, n as u64));
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(pos)?;
        Ok(self.pos)
    }
}

struct Run {
    inspected: Inspected,
    /// The reads of detection (the probe's first and last bytes), then of `inspect`.
    probe: Vec<(u64, u64)>,
    log: Vec<(u64, u64)>,
    inflated: u64,
    seconds: f64,
    kind: String,
}

fn inspect(path: &str, keys: &[Vec<u8>]) -> Result<Run, Box<dyn std::error::Error>> {
    let log: Log = Rc::default();
    let mut r = Counting {
        inner: BufReader::with_capacity(64 * 1024, std::fs::File::open(path)?),
        pos: 0,
        log: log.clone(),
    };
    let t = Instant::now();
    let probe = Probe::read(path, &mut r, &Limits::default())?;
    let d = LinuxTarget.detect(&probe).ok_or("not a Linux artifact")?;
    let probe_reads = std::mem::take(&mut *log.borrow_mut());
    let mut ctx = InspectContext::new(&probe.file_name, probe.size, Limits::default(), 0);
    ctx.trusted_keys = keys.to_vec();
    r.seek(SeekFrom::Start(0))?;
    let inspected = LinuxTarget.inspect(&mut r, &d.kind, &ctx)?;
    let seconds = t.elapsed().as_secs_f64();
    let log = log.borrow().clone();
    Ok(Run {
        inspected,
        probe: probe_reads,
        log,
        inflated: ctx.budget.used(),
        seconds,
        kind: d.kind.to_string(),
    })
}

/// Where an rpm's payload starts: the 96-byte lead, the signature header padded to 8
/// bytes, then the main header (each 16 bytes, 16 per index entry, and its store).
fn rpm_payload_at(path: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let mut f = std::fs::File::open(path)?;
    let mut at = 96u64;
    for pad in [true, false] {
        let mut intro = [0u8; 16];
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(&mut intro)?;
        let count = u64::from(u32::from_be_bytes(intro[8..12].try_into()?));
        let store = u64::from(u32::from_be_bytes(intro[12..16].try_into()?));
        at += 16 + 16 * count + store;
        if pad {
            at = at.div_ceil(8) * 8;
        }
    }
    Ok(at)
}

fn sha256_seconds(path: &str) -> Result<f64, Box<dyn std::error::Error>> {
    let t = Instant::now();
    let mut f = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let _ = h.finalize();
    Ok(t.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut keys = Vec::new();
    let mut args = std::env::args().skip(1);
    println!(
        "file\tkind\tMB\tmetadata read MB\tverification read MB\tinflated MB\tinspect s\tsha256 s\tstate"
    );
    while let Some(a) = args.next() {
        if a == "--key" {
            keys.push(std::fs::read(args.next().ok_or("--key needs a file")?)?);
            continue;
        }
        let run = inspect(&a, &keys)?;
        let total: u64 = run.probe.iter().chain(&run.log).map(|(_, n)| n).sum();
        let verification = match run.kind.as_str() {
            "rpm" => {
                let at = rpm_payload_at(&a)?;
                run.log
                    .iter()
                    .filter(|(o, _)| *o >= at)
                    .map(|(_, n)| n)
                    .sum()
            }
            "appimage" => {
                let bare = inspect(&a, &[])?;
                total
                    - bare
                        .probe
                        .iter()
                        .chain(&bare.log)
                        .map(|(_, n)| n)
                        .sum::<u64>()
            }
            _ => 0,
        };
        let sha_s = sha256_seconds(&a)?;
        let mb = |b: u64| b as f64 / 1e6;
        let i = &run.inspected.inspection;
        println!(
            "{}\t{}\t{:.1}\t{:.2}\t{:.1}\t{:.1}\t{:.2}\t{:.2}\t{:?}/{:?}",
            i.file,
            run.kind,
            mb(std::fs::metadata(&a)?.len()),
            mb(total - verification),
            mb(verification),
            mb(run.inflated),
            run.seconds,
            sha_s,
            i.parse,
            i.signature.state
        );
    }
    Ok(())
}
