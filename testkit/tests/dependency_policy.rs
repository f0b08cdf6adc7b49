//! The workspace's dependency policy, checked on `cargo metadata` (docs/CRATES.md, "One
//! decompression stack"): each compression format is read by one crate, and the side of the
//! `links = "lzma"` clash we did not choose never enters the lock file.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// One compression format: the crates that implement it as chosen, and the other
/// implementations that must not appear beside them.
struct Family {
    format: &'static str,
    chosen: &'static [&'static str],
    others: &'static [&'static str],
}

const STACK: &[Family] = &[
    Family {
        format: "deflate (zip, gzip, zlib, PNG)",
        chosen: &["flate2", "zlib-rs"],
        others: &[
            "miniz_oxide",
            "libz-sys",
            "libz-ng-sys",
            "cloudflare-zlib-sys",
            "libdeflater",
            "libdeflate-sys",
            "inflate",
            "zune-inflate",
            "fdeflate",
            "yazi",
        ],
    },
    Family {
        format: "bzip2",
        chosen: &["bzip2", "libbz2-rs-sys"],
        others: &["bzip2-sys", "bzip2-rs", "bzip2-os"],
    },
    Family {
        format: "xz / lzma",
        chosen: &["liblzma", "liblzma-sys"],
        // lzma-sys (xz2, apple-xar, apple-codesign) links "lzma" like liblzma-sys: the two
        // cannot be linked together.
        others: &[
            "lzma-sys",
            "xz2",
            "lzma-rs",
            "lzma-rust",
            "lzma-rust2",
            "xz4rust",
        ],
    },
    Family {
        format: "zstd",
        chosen: &["zstd", "zstd-safe", "zstd-sys"],
        others: &["ruzstd", "zstd-rs"],
    },
    Family {
        format: "LZFSE (dmg)",
        chosen: &["lzfse_rust"],
        others: &["lzfse", "lzfse-sys"],
    },
];

/// The packages of the lock file as resolved for this host: name -> versions and `links`.
fn packages() -> Packages {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let host = Command::new(&cargo)
        .arg("-vV")
        .output()
        .expect("cargo -vV runs");
    let host = String::from_utf8_lossy(&host.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("cargo -vV names the host");
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host])
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let mut map = Packages::new();
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().expect("name").to_owned();
        let e = map.entry(name).or_default();
        e.0.insert(p["version"].as_str().unwrap_or_default().to_owned());
        if let Some(l) = p["links"].as_str() {
            e.1 = Some(l.to_owned());
        }
    }
    map
}

type Packages = BTreeMap<String, (BTreeSet<String>, Option<String>)>;

/// A package beside a chosen one of its format, or a chosen one in two versions.
fn stack_problems(pkgs: &Packages) -> Vec<String> {
    let mut problems = Vec::new();
    for f in STACK {
        for other in f.others {
            if pkgs.contains_key(*other) {
                problems.push(format!(
                    "{}: {other} is in the lock file, beside the chosen {} (docs/CRATES.md)",
                    f.format,
                    f.chosen.join(" + ")
                ));
            }
        }
        for c in f.chosen {
            if let Some((versions, _)) = pkgs.get(*c)
                && versions.len() > 1
            {
                problems.push(format!(
                    "{}: {c} is in the lock file in {} versions ({})",
                    f.format,
                    versions.len(),
                    versions.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    problems
}

/// Two packages with one `links` key, or the `lzma` key held by other than liblzma-sys.
fn links_problems(pkgs: &Packages) -> Vec<String> {
    let mut by_links: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, (_, links)) in pkgs {
        if let Some(l) = links {
            by_links.entry(l.as_str()).or_default().push(name);
        }
    }
    let mut problems: Vec<String> = by_links
        .iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(l, names)| format!("links = \"{l}\": {}", names.join(", ")))
        .collect();
    if let Some(names) = by_links.get("lzma")
        && names != &["liblzma-sys"]
    {
        problems.push(format!(
            "links = \"lzma\" is held by {} (docs/CRATES.md chose liblzma-sys)",
            names.join(", ")
        ));
    }
    problems
}

#[test]
fn one_decompression_stack() {
    let problems = stack_problems(&packages());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn one_native_library_per_links_key() {
    let problems = links_problems(&packages());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checks fail on what they are about: lzma-sys (the other side of the clash), a second
/// deflate implementation, a chosen crate in two versions.
#[test]
fn the_checks_fail_on_the_clash_and_on_a_second_decompressor() {
    let pkg = |v: &[&str], links: Option<&str>| {
        (
            v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
            links.map(str::to_owned),
        )
    };
    let mut pkgs = Packages::new();
    pkgs.insert("flate2".into(), pkg(&["1.1.0"], None));
    pkgs.insert("liblzma-sys".into(), pkg(&["0.4.0"], Some("lzma")));
    assert!(stack_problems(&pkgs).is_empty());
    assert!(links_problems(&pkgs).is_empty());

    pkgs.insert("lzma-sys".into(), pkg(&["0.1.20"], Some("lzma")));
    assert_eq!(
        stack_problems(&pkgs).len(),
        1,
        "{:?}",
        stack_problems(&pkgs)
    );
    assert_eq!(
        links_problems(&pkgs).len(),
        2,
        "{:?}",
        links_problems(&pkgs)
    );

    pkgs.remove("lzma-sys");
    pkgs.insert("miniz_oxide".into(), pkg(&["0.8.0"], None));
    pkgs.insert("flate2".into(), pkg(&["1.0.0", "1.1.0"], None));
    assert_eq!(
        stack_problems(&pkgs).len(),
        2,
        "{:?}",
        stack_problems(&pkgs)
    );
}
