//! Hostile inputs: deterministic mutations (`dist-testkit`'s mutator) of every fixture and,
//! when the corpus is required, every Linux corpus file, plus hand-made truncations and
//! huge sizes. `inspect` must answer (Ok or a typed error) without panicking, within a
//! budget of bytes read and decompressed.

mod common;

use std::path::PathBuf;

use dist_testkit::cost::{self, Budget};
use dist_testkit::mutate::{Plan, mutations};
use dist_testkit::{corpus, files_with};
use platform::{Limits, Parse};

const EXTS: &[&str] = &["deb", "rpm", "appimage", "gz", "xz", "zst", "bz2", "tgz"];

fn files() -> Vec<PathBuf> {
    corpus::fixtures_and_corpus("linux", EXTS)
}

#[test]
fn mutated_inputs_never_panic_and_stay_in_budget() {
    let budget = Budget::default();
    let mut total = 0;
    let files = files();
    for (fi, path) in files.iter().enumerate() {
        let data = corpus::read(path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let plan = Plan::new(if data.len() > 300_000 { 30 } else { 100 });
        for m in mutations(&data, &plan, fi as u64 + 0x5eed) {
            let size = m.bytes.len() as u64;
            let r = std::panic::catch_unwind(|| {
                cost::inspect(&name, &m.bytes, None, Limits::default(), common::NOW).1
            });
            let c = r.unwrap_or_else(|_| panic!("{name} {}: inspect panicked", m.name));
            if let Err(e) = budget.check(size, c) {
                panic!("{name} {}: {e}", m.name);
            }
            total += 1;
        }
    }
    println!("{total} mutations of {} files", files.len());
}

/// Truncations of every fixture (a third, a half, the last bytes): a truncated package is
/// refused with a finding (or not detected at all), never accepted as whole.
#[test]
fn truncated_files_are_refused() {
    for path in files_with(&common::fixtures(), EXTS) {
        let data = corpus::read(&path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // An AppImage's squashfs is padded to 4 KiB: cutting the padding loses nothing.
        let last = if name.ends_with(".AppImage") {
            data.len() - 4096
        } else {
            data.len() - 7
        };
        for cut in [data.len() / 3, data.len() / 2, last] {
            // Err: no target recognises the cut file, which is a refusal too.
            if let Ok(i) = common::inspect_bytes(&name, &data[..cut]) {
                assert_eq!(
                    i.inspection.parse,
                    Parse::Reject,
                    "{name} cut to {cut} bytes was accepted: {:?}",
                    i.inspection.findings
                );
            }
        }
    }
}

/// Length fields set to huge values are refused before anything is allocated.
#[test]
fn huge_lengths_are_refused() {
    // An ar member claiming 9 GB.
    let mut deb =
        b"!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n".to_vec();
    deb.extend_from_slice(b"control.tar.gz  0           0     0     100644  9999999999`\n");
    let i = common::inspect_bytes("x.deb", &deb).unwrap().inspection;
    assert_eq!(i.parse, Parse::Reject);
    assert!(
        i.findings[0].message.contains("past the end"),
        "{:?}",
        i.findings
    );
    // An rpm header claiming 4 GB of store.
    let mut rpm = vec![0u8; 96];
    rpm[..4].copy_from_slice(&[0xed, 0xab, 0xee, 0xdb]);
    rpm[4] = 3;
    rpm.extend_from_slice(&[
        0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
    ]);
    let i = common::inspect_bytes("x.rpm", &rpm).unwrap().inspection;
    assert_eq!(i.parse, Parse::Reject);
    assert!(
        i.findings.iter().any(|f| f.code == "linux.limit"),
        "{:?}",
        i.findings
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A tarball that inflates a thousandfold is refused at the decompression budget (a
/// finding, not minutes of CPU), and an entry that would unpack outside the folder is an
/// error finding.
#[test]
fn bombs_and_unsafe_paths_are_findings() {
    let mut tar = format_tar::ustar_header("big/zeros", 64 << 20, 0o644, b'0').to_vec();
    tar.resize(512 + (64 << 20) + 1024, 0);
    let bomb = gzip(&tar);
    assert!(
        bomb.len() * 200 < tar.len(),
        "{} bytes compressed",
        bomb.len()
    );
    let i = common::inspect_bytes("bomb.tar.gz", &bomb)
        .unwrap()
        .inspection;
    assert_eq!(i.parse, Parse::Reject);
    assert!(
        i.findings.iter().any(|f| f.code == "linux.limit"),
        "{:?}",
        i.findings
    );

    let mut tar = format_tar::ustar_header("../../etc/evil", 4, 0o644, b'0').to_vec();
    tar.extend_from_slice(b"evil");
    tar.resize(512 * 2 + 1024, 0);
    let i = common::inspect_bytes("evil.tar.gz", &gzip(&tar))
        .unwrap()
        .inspection;
    assert!(
        i.findings
            .iter()
            .any(|f| f.code == "linux.tarball.unsafe_path"),
        "{:?}",
        i.findings
    );
}
