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
fn packages() -> BTreeMap<String, (BTreeSet<String>, Option<String>)> {
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
    let mut map: BTreeMap<String, (BTreeSet<String>, Option<String>)> = BTreeMap::new();
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

#[test]
fn one_decompression_stack() {
    let pkgs = packages();
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
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn one_native_library_per_links_key() {
    let pkgs = packages();
    let mut by_links: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, (_, links)) in &pkgs {
        if let Some(l) = links {
            by_links.entry(l.as_str()).or_default().push(name);
        }
    }
    let clashes: Vec<String> = by_links
        .iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(l, names)| format!("links = \"{l}\": {}", names.join(", ")))
        .collect();
    assert!(clashes.is_empty(), "{}", clashes.join("\n"));
    if let Some(names) = by_links.get("lzma") {
        assert_eq!(
            names,
            &["liblzma-sys"],
            "the lzma side chosen is liblzma-sys (docs/CRATES.md)"
        );
    }
}

/// The policy can fail: the table forbids what the clash is about.
#[test]
fn the_policy_names_the_lzma_clash() {
    let xz = STACK.iter().find(|f| f.format.starts_with("xz")).unwrap();
    assert!(xz.others.contains(&"lzma-sys"));
    assert!(xz.chosen.contains(&"liblzma-sys"));
}
