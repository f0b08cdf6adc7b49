//! Deterministic mutations of every fixture (and corpus file, when `DIST_CORPUS` is set):
//! truncations, flipped bytes, zeroed ranges, huge declared lengths and a doubled zip central
//! directory. `inspect` must answer (a result or an error) without panicking, each in well
//! under a second.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use platform::{InspectContext, Kind, Limits, Target, registry};
use target_ios::IosTarget;

const NOW: i64 = 1_798_761_600;

fn files() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out: Vec<PathBuf> = std::fs::read_dir(root.join("fixtures/ios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "ipa" || e == "macho" || e == "mobileprovision")
        })
        .collect();
    if let Some(c) = std::env::var_os("DIST_CORPUS") {
        let c = PathBuf::from(c);
        let c = if c.is_absolute() { c } else { root.join(c) };
        let ios = c.join("ios");
        assert!(
            ios.is_dir(),
            "DIST_CORPUS is set but {} is missing",
            ios.display()
        );
        out.extend(
            std::fs::read_dir(ios)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e != "md")),
        );
    }
    out.sort();
    out
}

/// A small deterministic generator (xorshift), so every run mutates the same bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn doubled_central_directory(d: &[u8]) -> Option<Vec<u8>> {
    let eocd = d.windows(4).rposition(|w| w == b"PK\x05\x06")?;
    let e = d.get(eocd..eocd + 22)?;
    let entries = u16::from_le_bytes([e[10], e[11]]);
    let size = u32::from_le_bytes(e[12..16].try_into().ok()?) as usize;
    let off = u32::from_le_bytes(e[16..20].try_into().ok()?) as usize;
    let cd = d.get(off..off.checked_add(size)?)?;
    let mut out = d[..off + size].to_vec();
    out.extend_from_slice(cd);
    let mut end = e.to_vec();
    end[8..10].copy_from_slice(&(entries.wrapping_mul(2)).to_le_bytes());
    end[10..12].copy_from_slice(&(entries.wrapping_mul(2)).to_le_bytes());
    end[12..16].copy_from_slice(&((size * 2) as u32).to_le_bytes());
    out.extend_from_slice(&end);
    Some(out)
}

fn mutations(data: &[u8], seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng(seed | 1);
    let n = data.len();
    let mut out = Vec::new();
    for k in 1..=12 {
        let at = n * k / 13;
        out.push((format!("truncate@{at}"), data[..at].to_vec()));
    }
    out.push(("truncate-last".into(), data[..n.saturating_sub(1)].to_vec()));
    for _ in 0..16 {
        let at = rng.below(n);
        let mut d = data.to_vec();
        d[at] ^= 1 << rng.below(8);
        out.push((format!("flip@{at}"), d));
    }
    // Header regions matter most: flip in the first 256 bytes too.
    for _ in 0..8 {
        let at = rng.below(n.min(256));
        let mut d = data.to_vec();
        d[at] ^= 0xff;
        out.push((format!("flip-head@{at}"), d));
    }
    for _ in 0..6 {
        let at = rng.below(n);
        let len = 1 + rng.below(512);
        let mut d = data.to_vec();
        let end = (at + len).min(n);
        d[at..end].fill(0);
        out.push((format!("zero@{at}+{len}"), d));
    }
    for _ in 0..12 {
        let at = rng.below(n.saturating_sub(4)) & !3;
        let mut d = data.to_vec();
        if at + 4 <= n {
            d[at..at + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
        }
        out.push((format!("huge@{at}"), d));
    }
    // Huge lengths where the formats keep them: Mach-O sizeofcmds, fat arch fields, the zip
    // end record's directory size and offset.
    for at in [4usize, 8, 16, 20, 24, 28] {
        if at + 4 <= n {
            let mut d = data.to_vec();
            d[at..at + 4].copy_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
            out.push((format!("huge-header@{at}"), d));
        }
    }
    if let Some(eocd) = data.windows(4).rposition(|w| w == b"PK\x05\x06") {
        for field in [12usize, 16] {
            let mut d = data.to_vec();
            if eocd + field + 4 <= n {
                d[eocd + field..eocd + field + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0xf0]);
                out.push((format!("eocd-huge+{field}"), d));
            }
        }
    }
    if let Some(d) = doubled_central_directory(data) {
        out.push(("doubled-central-directory".into(), d));
    }
    out
}

#[test]
fn mutated_inputs_never_panic() {
    let limits = Limits {
        max_member_bytes: 8 * 1024 * 1024,
        max_structure_bytes: 4 * 1024 * 1024,
        max_streamed_bytes: 64 * 1024 * 1024,
        ..Limits::default()
    };
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut runs = 0;
    let mut slowest = Duration::ZERO;
    for (fi, path) in files().iter().enumerate() {
        let data = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The kind the intact file has, to drive that parser directly on broken bytes.
        let kind: Option<Kind> = registry()
            .inspect(&name, &mut Cursor::new(&data), None, limits, NOW)
            .ok()
            .map(|i| i.inspection.kind);
        for (what, bytes) in mutations(&data, 0x9e37_79b9_7f4a_7c15 ^ fi as u64) {
            runs += 1;
            let t = Instant::now();
            let r = catch_unwind(AssertUnwindSafe(|| {
                let _ = registry().inspect(&name, &mut Cursor::new(&bytes), None, limits, NOW);
                if let Some(kind) = &kind {
                    let ctx = InspectContext {
                        file_name: name.clone(),
                        size: bytes.len() as u64,
                        limits,
                        now_unix: NOW,
                        budget: limits.budget_for(bytes.len() as u64),
                    };
                    let _ = IosTarget.inspect(&mut Cursor::new(&bytes), kind, &ctx);
                }
            }));
            let took = t.elapsed();
            slowest = slowest.max(took);
            if r.is_err() {
                failures.push(format!("{name} {what}: panicked"));
            }
            if took > Duration::from_secs(1) {
                failures.push(format!("{name} {what}: took {took:?}"));
            }
        }
    }
    println!(
        "{runs} mutated inputs in {:?}, slowest {slowest:?}",
        started.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
