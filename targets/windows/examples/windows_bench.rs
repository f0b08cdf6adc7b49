//! The cost of `inspect` on large Windows artifacts: bytes read by the metadata pass alone,
//! bytes read and decompressed by the whole inspection (signatures verified), wall times, and
//! one SHA-256 pass over the same file for scale.
//! Example: `cargo run --release -p target-windows --example windows_bench -- --key ca.cer big.exe`

use std::cell::Cell;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::rc::Rc;
use std::time::Instant;

use dist_testkit::cost::Counting;
use platform::{InspectContext, Limits, Probe, Target};
use target_windows::WindowsTarget;

/// A file reader that counts the bytes read through it.
type FileReader = Counting<BufReader<std::fs::File>>;

fn open(path: &str) -> std::io::Result<(FileReader, Rc<Cell<u64>>)> {
    Ok(Counting::wrap(BufReader::with_capacity(
        64 * 1024,
        std::fs::File::open(path)?,
    )))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut keys = Vec::new();
    let mut args = std::env::args().skip(1);
    println!(
        "file\tkind\tMB\tmetadata read KB\tmetadata s\tverify read MB\tinflated MB\tinspect s\tsha256 s\tstate"
    );
    while let Some(a) = args.next() {
        if a == "--key" {
            keys.push(std::fs::read(args.next().ok_or("--key needs a file")?)?);
            continue;
        }
        // The metadata pass (probe included), then the whole inspection, each on a fresh reader.
        let (mut r, meta_read) = open(&a)?;
        let t = Instant::now();
        let probe = Probe::read(&a, &mut r, &Limits::default())?;
        let d = WindowsTarget
            .detect(&probe)
            .ok_or("not a Windows artifact")?;
        let ctx = InspectContext::new(&probe.file_name, probe.size, Limits::default(), 0);
        r.seek(SeekFrom::Start(0))?;
        WindowsTarget.inspect_metadata(&mut r, &d.kind, &ctx)?;
        let meta_s = t.elapsed().as_secs_f64();

        let (mut r, read) = open(&a)?;
        let t = Instant::now();
        let probe = Probe::read(&a, &mut r, &Limits::default())?;
        let mut ctx = InspectContext::new(&probe.file_name, probe.size, Limits::default(), 0);
        ctx.trusted_keys = keys.clone();
        r.seek(SeekFrom::Start(0))?;
        let i = WindowsTarget.inspect(&mut r, &d.kind, &ctx)?;
        let inspect_s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let mut f = BufReader::with_capacity(1 << 20, std::fs::File::open(&a)?);
        let mut h = ring::digest::Context::new(&ring::digest::SHA256);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let _ = h.finish();
        let sha_s = t.elapsed().as_secs_f64();
        let mb = |b: u64| b as f64 / 1e6;
        println!(
            "{}\t{}\t{:.1}\t{:.1}\t{:.3}\t{:.1}\t{:.1}\t{:.2}\t{:.2}\t{:?}/{:?}",
            probe.file_name,
            d.kind,
            mb(probe.size),
            meta_read.get() as f64 / 1e3,
            meta_s,
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
