//! The cost of `inspect` on large artifacts: bytes read from the file, bytes decompressed,
//! wall time, and the time of one SHA-256 pass over the same file for scale.
//! Example: `cargo run --release -p target-linux --example linux_bench -- --key k.pub big.deb`

use std::cell::Cell;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::rc::Rc;
use std::time::Instant;

use platform::{InspectContext, Limits, Probe, Target};
use sha2::Digest;
use target_linux::LinuxTarget;

struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut keys = Vec::new();
    let mut args = std::env::args().skip(1);
    println!("file\tkind\tMB\tread MB\tinflated MB\tinspect s\tsha256 s\tstate");
    while let Some(a) = args.next() {
        if a == "--key" {
            keys.push(std::fs::read(args.next().ok_or("--key needs a file")?)?);
            continue;
        }
        let read = Rc::new(Cell::new(0));
        let mut r = Counting {
            inner: BufReader::with_capacity(64 * 1024, std::fs::File::open(&a)?),
            read: read.clone(),
        };
        let t = Instant::now();
        let probe = Probe::read(&a, &mut r, &Limits::default())?;
        let d = LinuxTarget.detect(&probe).ok_or("not a Linux artifact")?;
        let mut ctx = InspectContext::new(&probe.file_name, probe.size, Limits::default(), 0);
        ctx.trusted_keys = keys.clone();
        r.seek(SeekFrom::Start(0))?;
        let i = LinuxTarget.inspect(&mut r, &d.kind, &ctx)?;
        let inspect_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut f = BufReader::with_capacity(1 << 20, std::fs::File::open(&a)?);
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
        let sha_s = t.elapsed().as_secs_f64();
        let mb = |b: u64| b as f64 / 1e6;
        println!(
            "{}\t{}\t{:.1}\t{:.1}\t{:.1}\t{:.2}\t{:.2}\t{:?}/{:?}",
            probe.file_name,
            d.kind,
            mb(probe.size),
            mb(read.get()),
            mb(ctx.budget.used()),
            inspect_s,
            sha_s,
            i.inspection.parse,
            i.inspection.signature.state
        );
    }
    Ok(())
}
