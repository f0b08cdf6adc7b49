//! Deterministic mutations of every fixture (and, with `DIST_CORPUS`, every Android corpus
//! file): truncations, flipped bytes, zeroed ranges, huge declared lengths and a doubled
//! central directory. `inspect` must answer (Ok or a typed error) without panicking, quickly.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A tiny deterministic generator (xorshift), so failures reproduce.
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

fn eocd(d: &[u8]) -> Option<usize> {
    (0..d.len().saturating_sub(21))
        .rev()
        .find(|&i| d[i..].starts_with(b"PK\x05\x06"))
}

fn mutations(data: &[u8], budget: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rng = Rng(seed | 1);
    let n = data.len();
    // Truncations: evenly spread plus the last bytes (the end record).
    for k in 0..budget / 4 {
        let at = n * k / (budget / 4).max(1);
        out.push((format!("truncate@{at}"), data[..at].to_vec()));
    }
    for back in [1, 2, 10, 22, 40, 100] {
        let at = n.saturating_sub(back);
        out.push((format!("truncate@{at}"), data[..at].to_vec()));
    }
    for _ in 0..budget / 4 {
        let at = rng.below(n);
        let mut d = data.to_vec();
        d[at] ^= 1 << rng.below(8);
        out.push((format!("flip@{at}"), d));
    }
    for _ in 0..budget / 8 {
        let at = rng.below(n);
        let len = 1 + rng.below(512);
        let mut d = data.to_vec();
        let end = (at + len).min(n);
        d[at..end].fill(0);
        out.push((format!("zero@{at}+{len}"), d));
    }
    // Huge declared lengths: 0xffffffff / 0x7fffffff written over u32 fields, at random
    // offsets and at every field of the end record.
    let mut spots: Vec<usize> = (0..budget / 8)
        .map(|_| rng.below(n.saturating_sub(4)))
        .collect();
    if let Some(e) = eocd(data) {
        spots.extend([e + 8, e + 10, e + 12, e + 16, e + 20]);
        // The first central directory record's sizes and offsets.
        let cd = u32::from_le_bytes(data[e + 16..e + 20].try_into().unwrap()) as usize;
        if cd + 46 <= n {
            spots.extend([cd + 20, cd + 24, cd + 28, cd + 30, cd + 42]);
        }
        // A doubled central directory, end record adjusted to claim both copies.
        let size = u32::from_le_bytes(data[e + 12..e + 16].try_into().unwrap()) as usize;
        if cd + size <= e {
            let mut d = data[..e].to_vec();
            d.extend_from_slice(&data[cd..cd + size]);
            let mut rec = data[e..].to_vec();
            let count = u16::from_le_bytes([rec[10], rec[11]]).wrapping_mul(2);
            rec[8..10].copy_from_slice(&count.to_le_bytes());
            rec[10..12].copy_from_slice(&count.to_le_bytes());
            rec[12..16].copy_from_slice(&((size * 2) as u32).to_le_bytes());
            d.extend_from_slice(&rec);
            out.push(("doubled-cd".into(), d));
        }
    }
    // Signing block size fields (the 8 bytes before the magic, and the block's head).
    if let Some(m) = data.windows(16).position(|w| w == b"APK Sig Block 42") {
        spots.extend([m.saturating_sub(8), m.saturating_sub(4)]);
    }
    for at in spots {
        if at + 4 > n {
            continue;
        }
        for v in [u32::MAX, 0x7fff_ffff] {
            let mut d = data.to_vec();
            d[at..at + 4].copy_from_slice(&v.to_le_bytes());
            out.push((format!("len{v:x}@{at}"), d));
        }
    }
    out
}

#[test]
fn mutated_inputs_never_panic() {
    let mut files: Vec<PathBuf> = common::artifacts(&common::fixtures());
    assert!(!files.is_empty(), "no fixtures in fixtures/android");
    if let Some(c) = common::corpus() {
        files.extend(common::artifacts(&c.join("android")));
    }
    let started = Instant::now();
    let mut total = 0;
    let mut slowest = (Duration::ZERO, String::new());
    for (fi, path) in files.iter().enumerate() {
        let data = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Big files get fewer mutations: each inspect may stream the whole file.
        let budget = if data.len() > 1_000_000 { 8 } else { 120 };
        for (what, bytes) in mutations(&data, budget, fi as u64 + 0x9e37_79b9) {
            let t = Instant::now();
            let r = std::panic::catch_unwind(|| common::inspect_bytes(&name, &bytes));
            let took = t.elapsed();
            assert!(r.is_ok(), "{name} {what}: inspect panicked");
            assert!(
                took < Duration::from_secs(1),
                "{name} {what}: took {took:?}"
            );
            if took > slowest.0 {
                slowest = (took, format!("{name} {what}"));
            }
            total += 1;
        }
    }
    println!(
        "{total} mutations of {} files in {:?}; slowest {:?} ({})",
        files.len(),
        started.elapsed(),
        slowest.0,
        slowest.1
    );
}
