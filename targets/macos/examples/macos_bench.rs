//! The cost of `inspect` on large artifacts: bytes read from the file, bytes decompressed,
//! wall time, and the time of one SHA-256 pass over the same file for scale.
//! Example: `cargo run --release -p target-macos --example macos_bench -- big.zip big.pkg`

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::time::Instant;

use dist_testkit::cost::Counting;
use platform::{InspectContext, Limits, Probe, Target};
use sha2::Digest;
use target_macos::MacosTarget;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = std::env::args().skip(1);
    println!("file\tkind\tMB\tread MB\tinflated MB\tinspect s\tsha256 s\tstate");
    for a in args {
        let (mut r, read) = Counting::wrap(BufReader::with_capacity(
            64 * 1024,
            std::fs::File::open(&a)?,
        ));
        let t = Instant::now();
        let probe = Probe::read(&a, &mut r, &Limits::default())?;
        let d = MacosTarget.detect(&probe).ok_or("not a macOS artifact")?;
        let ctx = InspectContext::new(&probe.file_name, probe.size, Limits::default(), 0);
        r.seek(SeekFrom::Start(0))?;
        let i = MacosTarget.inspect(&mut r, &d.kind, &ctx)?;
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
        // A disk image: what the metadata pass read of the image (the chunks it decompressed)
        // apart from the verification pass (the data fork's CRC32 over the whole file).
        if let Some(dmg) = i.inspection.details.get("dmg") {
            println!(
                "  dmg metadata pass: {} of {} chunks, {:.2} MB of the image read; verification pass: {:.1} MB",
                dmg["chunks"]["read"],
                dmg["chunks"]["total"],
                mb(dmg["chunks"]["stored_bytes_read"].as_u64().unwrap_or(0)),
                mb(dmg["verification_bytes_read"].as_u64().unwrap_or(0)),
            );
        }
    }
    Ok(())
}
