//! `inspect` on the largest iOS file at hand and on a generated ~200 MB IPA (the fixture app
//! plus a large stored asset), printing bytes read against file size: inspect reads the zip
//! index and the few members it parses, never the whole archive.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use platform::{Limits, registry};
use target_ios as _;

const NOW: i64 = 1_798_761_600;

/// Counts the bytes actually read through it.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

fn inspect_counting(path: &Path) -> (u64, u64) {
    let size = std::fs::metadata(path).unwrap().len();
    let mut r = Counting {
        inner: io::BufReader::with_capacity(8192, File::open(path).unwrap()),
        read: 0,
    };
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let i = registry()
        .inspect(&name, &mut r, None, Limits::default(), NOW)
        .unwrap();
    assert_eq!(i.inspection.parse, platform::Parse::Ok, "{name}");
    (r.read, size)
}

/// The fixture IPA's members plus a 200 MB stored asset, written once into the target dir.
fn big_ipa() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = root.join("target/ios-bench-200mb.ipa");
    if out.exists() {
        return out;
    }
    let src = File::open(root.join("fixtures/ios/tiny-adhoc.ipa")).unwrap();
    let mut src = zip::ZipArchive::new(src).unwrap();
    let tmp = out.with_extension("tmp");
    let mut w = zip::ZipWriter::new(File::create(&tmp).unwrap());
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    w.start_file("Payload/Tiny.app/Assets.car", stored).unwrap();
    let mut block = vec![0u8; 1 << 20];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..200 {
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        w.write_all(&block).unwrap();
    }
    for i in 0..src.len() {
        let f = src.by_index_raw(i).unwrap();
        w.raw_copy_file(f).unwrap();
    }
    w.finish().unwrap();
    std::fs::rename(&tmp, &out).unwrap();
    out
}

fn largest_ios_file() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("fixtures/ios")];
    if let Some(c) = std::env::var_os("DIST_CORPUS") {
        let c = PathBuf::from(c);
        dirs.push(if c.is_absolute() { c } else { root.join(c) }.join("ios"));
    }
    dirs.iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "ipa" || e == "macho" || e == "mobileprovision")
                && !p.to_string_lossy().contains("tampered")
                && !p.to_string_lossy().contains("truncated")
        })
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let largest = largest_ios_file();
    let big = big_ipa();
    for p in [&largest, &big] {
        let (read, size) = inspect_counting(p);
        println!(
            "{}: read {read} of {size} bytes ({:.4}%)",
            p.file_name().unwrap().to_string_lossy(),
            read as f64 * 100.0 / size as f64
        );
    }
    let (read, size) = inspect_counting(&big);
    assert!(read * 100 < size, "read {read} of {size}: not under 1%");
    let mut g = c.benchmark_group("inspect");
    g.sample_size(20);
    g.bench_function(
        largest.file_name().unwrap().to_string_lossy().into_owned(),
        |b| b.iter(|| inspect_counting(&largest)),
    );
    g.bench_function("generated-200mb.ipa", |b| b.iter(|| inspect_counting(&big)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
