//! The mutated-signed-file property: flip a bit the signature covers (as `dist-testkit`'s
//! `signed` module describes each format from its specification, independently of the
//! parsers) and the verdict (parse and signature state) must change. Over the fixtures'
//! signed pkgs and Mach-O files and, with `DIST_CORPUS`, the corpus's signed pkg.

mod common;

use dist_testkit::{corpus, files_with, signed};

fn verdict(name: &str) -> impl Fn(&[u8]) -> String + '_ {
    move |d: &[u8]| match common::inspect_bytes(name, d) {
        Ok(i) => format!(
            "{:?}/{:?}",
            i.inspection.parse, i.inspection.signature.state
        ),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn flips_of_covered_bytes_change_the_verdict() {
    let mut files = files_with(&common::fixtures(), &["pkg", "macho"]);
    files.extend(corpus::platform_files("macos", &["pkg"]).unwrap_or_default());
    let mut checked = 0;
    let mut failures = Vec::new();
    for (n, path) in files.iter().enumerate() {
        let data = corpus::read(path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(i) = common::inspect_bytes(&name, &data) else {
            continue;
        };
        // Only intact signatures: a broken one has nothing left to break.
        if i.inspection.parse != platform::Parse::Ok
            || !matches!(
                i.inspection.signature.state,
                platform::SignatureState::Signed | platform::SignatureState::Untrusted
            )
        {
            continue;
        }
        let coverage = signed::xar_toc(&data).or_else(|| signed::macho_code(&data));
        let Some(c) = coverage else {
            failures.push(format!("{name}: signed, but no coverage describes it"));
            continue;
        };
        match signed::flips_change_the_verdict(&data, &c, 48, 0x16 + n as u64, verdict(&name)) {
            Ok(k) => checked += k,
            Err(survived) => failures.extend(survived.into_iter().map(|s| format!("{name}: {s}"))),
        }
    }
    println!("{checked} flips of covered bytes checked");
    assert!(checked > 0, "no signed fixture was checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
