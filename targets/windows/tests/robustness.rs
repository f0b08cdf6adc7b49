//! Hostile inputs: deterministic mutations (`dist-testkit`'s mutator) of every fixture and,
//! when the corpus is required, every Windows corpus file: `inspect` answers (Ok or a typed
//! error) without panicking, within a budget of bytes read and decompressed. And no flip of
//! a byte an Authenticode signature covers leaves a file `signed`.

mod common;

use std::path::PathBuf;

use dist_testkit::cost::{self, Budget};
use dist_testkit::mutate::{Plan, mutations};
use dist_testkit::signed::{self, flips_change_the_verdict};
use dist_testkit::{corpus, files_with};
use platform::Limits;

const EXTS: &[&str] = &["exe", "msi", "msix", "appx", "msixbundle", "zip"];

fn files() -> Vec<PathBuf> {
    corpus::fixtures_and_corpus("windows", EXTS)
}

#[test]
fn mutated_inputs_never_panic_and_stay_in_budget() {
    let budget = Budget::default();
    let mut total = 0;
    let files = files();
    for (fi, path) in files.iter().enumerate() {
        let data = corpus::read(path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let plan = Plan::new(if data.len() > 300_000 { 20 } else { 80 });
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

fn verdict(name: &str, keys: &[Vec<u8>]) -> impl Fn(&[u8]) -> String {
    let name = name.to_owned();
    let keys = keys.to_vec();
    move |d: &[u8]| match common::inspect_with_keys(&name, d, &keys) {
        Ok(i) => format!(
            "{:?} {:?}",
            i.inspection.parse, i.inspection.signature.state
        ),
        Err(e) => format!("refused: {e}"),
    }
}

/// Flipping any bit the signature covers turns a `signed` file into something else.
#[test]
fn no_flip_of_covered_bytes_reads_signed() {
    let ca = corpus::read(&common::fixtures().join("keys/ca.cer"));
    let keys = vec![ca];
    let mut checked = 0;
    for (name, coverage) in [
        (
            "hello-signed.exe",
            signed::authenticode_pe as fn(&[u8]) -> _,
        ),
        ("hello-nested.exe", signed::authenticode_pe),
        ("hello-signed.msix", signed::appx_records),
        ("hello-signed.msixbundle", signed::appx_records),
        ("hello-signed.msi", signed::msi_streams),
    ] {
        let data = corpus::read(&common::fixtures().join(name));
        let c = coverage(&data).unwrap_or_else(|| panic!("{name}: no coverage"));
        assert!(c.len() > 1024, "{name}: only {} covered bytes", c.len());
        let v = verdict(name, &keys);
        assert_eq!(
            v(&data),
            "Ok Signed",
            "{name} must read signed to start with"
        );
        let samples = if data.len() > 100_000 { 60 } else { 200 };
        match flips_change_the_verdict(&data, &c, samples, 0x51de, v) {
            Ok(n) => checked += n,
            Err(survived) => panic!("{name}:\n{}", survived.join("\n")),
        }
    }
    println!("{checked} covered-byte flips, none read signed");
}

/// Truncations of every fixture: refused with a finding (or not detected at all), never
/// accepted as whole.
#[test]
fn truncated_files_are_refused() {
    for path in files_with(&common::fixtures(), EXTS) {
        let data = corpus::read(&path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for cut in [data.len() / 3, data.len() / 2, data.len() - 7] {
            if let Ok(i) = common::inspect_bytes(&name, &data[..cut]) {
                let i = i.inspection;
                assert!(
                    i.parse == platform::Parse::Reject
                        || i.signature.state == platform::SignatureState::Invalid,
                    "{name} cut to {cut} bytes was accepted: {:?} {:?}",
                    i.signature.state,
                    i.findings
                );
            }
        }
    }
}

/// Lengths set to huge values are refused before anything is allocated.
#[test]
fn huge_lengths_are_refused() {
    let mut d = corpus::read(&common::fixtures().join("hello-signed.exe"));
    // The certificate table's size field: 4 GiB.
    let pe = u32::from_le_bytes(d[0x3c..0x40].try_into().unwrap()) as usize;
    let cert_dir = pe + 24 + 112 + 8 * 4;
    d[cert_dir + 4..cert_dir + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let i = common::inspect_bytes("huge.exe", &d).unwrap().inspection;
    assert_eq!(i.parse, platform::Parse::Reject);
    assert!(
        i.findings.iter().any(|f| f.code == "windows.limit"),
        "{:?}",
        i.findings
    );
}
