//! Criterion bench of `inspect`: the largest APK available (the corpus when `DIST_CORPUS` is
//! set, else the project's fixtures), and a ~200 MB APK-like zip built in a temp dir (a real
//! small unsigned APK plus a large stored asset). Prints bytes read against file size: a
//! signed APK is streamed once for its digests; the big unsigned one must be read well under
//! 1%.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use platform::Limits;
use target_android as _;

/// Counts the bytes that pass through `read`.
struct Counting<R> {
    inner: R,
    read: &'static AtomicU64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

static READ: AtomicU64 = AtomicU64::new(0);

fn inspect(path: &Path) -> (u64, u64) {
    READ.store(0, Ordering::Relaxed);
    let f = std::fs::File::open(path).expect("open");
    let size = f.metadata().expect("metadata").len();
    let mut r = Counting {
        inner: f,
        read: &READ,
    };
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let got = platform::registry()
        .inspect(&name, &mut r, None, Limits::default(), 0)
        .expect("inspect");
    assert_eq!(got.inspection.parse, platform::Parse::Ok, "{name}");
    (READ.load(Ordering::Relaxed), size)
}

fn largest_apk() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("fixtures/android")];
    if let Some(c) = std::env::var_os("DIST_CORPUS") {
        let c = PathBuf::from(c);
        dirs.push(if c.is_absolute() { c } else { root.join(c) }.join("android"));
    }
    dirs.iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "apk"))
        .filter(|p| !p.to_string_lossy().contains("truncated"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("an APK to bench")
}

/// The unsigned fixture's entries copied into a new zip, plus `asset_mb` MiB of stored asset.
fn big_apk(dir: &Path, asset_mb: usize) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let src = std::fs::File::open(root.join("fixtures/android/unsigned.apk")).expect("fixture");
    let mut src = zip::ZipArchive::new(src).expect("fixture zip");
    let out = dir.join("big.apk");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&out).expect("create"));
    for i in 0..src.len() {
        let e = src.by_index_raw(i).expect("entry");
        w.raw_copy_file(e).expect("copy");
    }
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    w.start_file("assets/big.bin", opts).expect("asset");
    let block = vec![0x5au8; 1024 * 1024];
    for _ in 0..asset_mb {
        w.write_all(&block).expect("write");
    }
    w.finish().expect("finish");
    out
}

fn bench(c: &mut Criterion) {
    let largest = largest_apk();
    let (read, size) = inspect(&largest);
    println!(
        "{}: read {read} of {size} bytes ({:.1}%): a signed APK is streamed once to verify its digests",
        largest.display(),
        read as f64 * 100.0 / size as f64
    );
    c.bench_function("inspect largest apk", |b| b.iter(|| inspect(&largest)));

    let tmp = tempfile::tempdir().expect("tempdir");
    let big = big_apk(tmp.path(), 200);
    let (read, size) = inspect(&big);
    let pct = read as f64 * 100.0 / size as f64;
    println!("200 MB APK-like zip (unsigned): read {read} of {size} bytes ({pct:.4}%)");
    assert!(pct < 1.0, "inspect read {pct}% of a 200 MB archive");
    c.bench_function("inspect 200 MB apk-like zip", |b| b.iter(|| inspect(&big)));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
