//! The resource seal of a bundle and the code nested in it (issue 10, item 3).
//!
//! A bundle's main executable signs `_CodeSignature/CodeResources` through special slot 3 of
//! its CodeDirectory; CodeResources in turn lists a digest for every other file of the bundle
//! (`files2`, or `files` in the old format) and the rules that say which files belong to the
//! seal (`rules2`/`rules`: a regular expression per rule, the heaviest matching rule wins;
//! `omit` leaves a file out, `optional` lets it be missing, `nested` marks code signed on its
//! own). Checking the code signature alone left every other file unverified: a changed icon,
//! an added `Frameworks/Evil.dylib` or `main.jsbundle` still read `digest_ok: true`.
//!
//! Here every file is compared with the seal (changed, missing and added files break it) and
//! every nested code item (`PlugIns/*.appex`, `Frameworks/*.framework`, `Frameworks/*.dylib`,
//! watch and clip apps, XPC services) is verified like the main executable, its own seal
//! included, and its CodeDirectory hash compared with the one its parent's seal lists.

use std::collections::{BTreeMap, BTreeSet};

use plist::Value;
use regex::{Regex, RegexBuilder};

/// Most rules a seal may carry (Apple's own carry about ten; each unlisted file is matched
/// against every rule), and most problems reported per bundle.
const MAX_RULES: usize = 64;
const MAX_PROBLEMS: usize = 20;
/// Longest symbolic-link target read.
pub const MAX_LINK: u64 = 4096;
/// Most nested code items verified in one IPA.
pub const MAX_NESTED: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealed {
    File {
        sha1: Option<Vec<u8>>,
        sha256: Option<Vec<u8>>,
    },
    Symlink(String),
    /// Nested code: its CodeDirectory hash (20 bytes) when the seal records it.
    Nested(Option<Vec<u8>>),
}

#[derive(Debug, Clone)]
pub struct SealEntry {
    pub kind: Sealed,
    pub optional: bool,
}

#[derive(Debug)]
struct Rule {
    re: Regex,
    weight: f64,
    omit: bool,
    optional: bool,
    exclude: bool,
}

#[derive(Debug)]
pub struct Seal {
    pub files: BTreeMap<String, SealEntry>,
    rules: Vec<Rule>,
}

fn number(v: &Value) -> Option<f64> {
    v.as_real()
        .or_else(|| v.as_signed_integer().map(|i| i as f64))
        .or_else(|| v.as_unsigned_integer().map(|i| i as f64))
}

/// Parses CodeResources: `files2`/`rules2` when present (the format iOS checks), else the
/// original `files`/`rules`.
pub fn parse(data: &[u8], max_files: usize) -> Result<Seal, String> {
    let v = Value::from_reader(std::io::Cursor::new(data)).map_err(|e| e.to_string())?;
    let d = v
        .into_dictionary()
        .ok_or_else(|| "CodeResources is not a dictionary".to_owned())?;
    let (files_key, rules_key) = if d.contains_key("files2") {
        ("files2", "rules2")
    } else {
        ("files", "rules")
    };
    let mut files = BTreeMap::new();
    if let Some(list) = d.get(files_key).and_then(Value::as_dictionary) {
        if list.len() > max_files {
            return Err(format!(
                "CodeResources lists {} files, more than the limit of {max_files}",
                list.len()
            ));
        }
        for (name, v) in list {
            let entry = match v {
                Value::Data(h) => SealEntry {
                    kind: Sealed::File {
                        sha1: Some(h.clone()),
                        sha256: None,
                    },
                    optional: false,
                },
                Value::Dictionary(e) => {
                    let optional = e
                        .get("optional")
                        .and_then(Value::as_boolean)
                        .unwrap_or(false);
                    let kind = if let Some(t) = e.get("symlink").and_then(Value::as_string) {
                        Sealed::Symlink(t.to_owned())
                    } else if e.contains_key("cdhash") || e.contains_key("requirement") {
                        Sealed::Nested(e.get("cdhash").and_then(Value::as_data).map(<[u8]>::to_vec))
                    } else {
                        let sha1 = e.get("hash").and_then(Value::as_data).map(<[u8]>::to_vec);
                        let sha256 = e.get("hash2").and_then(Value::as_data).map(<[u8]>::to_vec);
                        if sha1.is_none() && sha256.is_none() {
                            return Err(format!("CodeResources: {name} has no digest"));
                        }
                        Sealed::File { sha1, sha256 }
                    };
                    SealEntry { kind, optional }
                }
                _ => {
                    return Err(format!(
                        "CodeResources: {name} is neither data nor a dictionary"
                    ));
                }
            };
            files.insert(name.clone(), entry);
        }
    }
    let mut rules = Vec::new();
    if let Some(list) = d.get(rules_key).and_then(Value::as_dictionary) {
        if list.len() > MAX_RULES {
            return Err(format!(
                "CodeResources has {} rules, more than the limit of {MAX_RULES}",
                list.len()
            ));
        }
        for (pattern, v) in list {
            let re = RegexBuilder::new(pattern)
                .size_limit(1 << 20)
                .dfa_size_limit(1 << 20)
                .build()
                .map_err(|e| format!("CodeResources rule {pattern}: {e}"))?;
            let (weight, omit, optional, exclude) = match v {
                Value::Boolean(b) => (1.0, false, false, !b),
                Value::Dictionary(r) => (
                    r.get("weight").and_then(number).unwrap_or(1.0),
                    r.get("omit").and_then(Value::as_boolean).unwrap_or(false),
                    r.get("optional")
                        .and_then(Value::as_boolean)
                        .unwrap_or(false),
                    false,
                ),
                _ => (1.0, false, false, false),
            };
            rules.push(Rule {
                re,
                weight,
                omit,
                optional,
                exclude,
            });
        }
    }
    Ok(Seal { files, rules })
}

impl Seal {
    /// The heaviest rule matching `path`, if any.
    fn rule(&self, path: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| r.re.is_match(path))
            .max_by(|a, b| a.weight.total_cmp(&b.weight))
    }

    /// Whether `path`, absent from the list, may be absent from the seal.
    fn leaves_out(&self, path: &str) -> bool {
        match self.rule(path) {
            None => true,
            Some(r) => r.omit || r.exclude,
        }
    }

    /// Whether a listed file may be missing (its own flag or its rule's).
    fn may_miss(&self, path: &str, e: &SealEntry) -> bool {
        e.optional || self.rule(path).is_some_and(|r| r.optional || r.omit)
    }
}

/// Where nested code sits in a bundle, by its first path components.
pub fn nested_root(rel: &str) -> Option<String> {
    let mut parts = rel.splitn(3, '/');
    let (dir, item) = (parts.next()?, parts.next()?);
    let deeper = parts.next().is_some();
    let bundle = match dir {
        "PlugIns" | "Extensions" => item.ends_with(".appex"),
        "Frameworks" | "SharedFrameworks" => {
            item.ends_with(".framework") || (!deeper && item.ends_with(".dylib"))
        }
        "Watch" | "AppClips" => item.ends_with(".app"),
        "XPCServices" => item.ends_with(".xpc"),
        _ => false,
    };
    (bundle && item.len() > 1).then(|| format!("{dir}/{item}"))
}

/// What checking one bundle found.
#[derive(Debug, Default)]
pub struct SealReport {
    pub problems: Vec<String>,
    pub files_checked: usize,
}

impl SealReport {
    fn problem(&mut self, p: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        } else if self.problems.len() == MAX_PROBLEMS {
            self.problems.push("(more problems not listed)".into());
        }
    }
}

/// The files of one bundle as the seal check sees them, wherever they are stored (a zip
/// member list for an IPA; a dmg or a pkg payload later). Paths are relative to the bundle
/// root.
pub trait BundleFiles {
    /// Every file (not folder) under the bundle root: its relative path and whether it is a
    /// symbolic link.
    fn files(&self) -> Vec<(String, bool)>;
    /// SHA-1 and SHA-256 of a file's bytes, streamed under the reader's own caps.
    fn digests(&mut self, rel: &str) -> Result<(Vec<u8>, Vec<u8>), String>;
    /// A symbolic link's target, at most [`MAX_LINK`] bytes.
    fn link_target(&mut self, rel: &str) -> Result<Vec<u8>, String>;
}

/// SHA-1 and SHA-256 of everything `r` yields, in one pass: the two digests a seal lists
/// for a file. The caller's reader carries the size cap.
pub fn file_digests(r: &mut dyn std::io::Read) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut s1 = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    let mut s256 = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        s1.update(&buf[..n]);
        s256.update(&buf[..n]);
    }
    Ok((
        s1.finish().as_ref().to_vec(),
        s256.finish().as_ref().to_vec(),
    ))
}

/// Compares the files of a bundle with its seal. `exe` is the bundle's executable (sealed
/// by the code signature, not the seal). Files under nested code roots are left to those
/// roots' own seals.
pub fn check_files(bundle: &mut dyn BundleFiles, exe: &str, seal: &Seal) -> SealReport {
    let mut report = SealReport::default();
    let files = bundle.files();
    let present: BTreeSet<String> = files.iter().map(|(rel, _)| rel.clone()).collect();
    let nested_listed: Vec<&String> = seal
        .files
        .iter()
        .filter(|(_, e)| matches!(e.kind, Sealed::Nested(_)))
        .map(|(k, _)| k)
        .collect();
    for (rel, is_symlink) in &files {
        let rel = rel.as_str();
        if rel.starts_with("_CodeSignature/") || rel == exe {
            continue;
        }
        // Inside nested code: that code's own signature and seal cover it.
        if let Some(root) = nested_root(rel)
            && rel != root
            && nested_listed.iter().any(|n| **n == root)
        {
            continue;
        }
        match seal.files.get(rel).map(|s| &s.kind) {
            Some(Sealed::File { sha1, sha256 }) => {
                if *is_symlink {
                    report.problem(format!("{rel} is a symbolic link, sealed as a file"));
                    continue;
                }
                match bundle.digests(rel) {
                    Ok((d1, d256)) => {
                        report.files_checked += 1;
                        let ok = match (sha256, sha1) {
                            (Some(want), _) => *want == d256,
                            (None, Some(want)) => *want == d1,
                            (None, None) => false,
                        };
                        if !ok {
                            report.problem(format!("{rel} was changed after signing"));
                        }
                    }
                    Err(err) => report.problem(format!("{rel} cannot be read: {err}")),
                }
            }
            Some(Sealed::Symlink(target)) => match bundle.link_target(rel) {
                Ok(d) if *is_symlink && d == target.as_bytes() => {
                    report.files_checked += 1;
                }
                Ok(_) => report.problem(format!(
                    "{rel} is not the symbolic link to {target} the seal lists"
                )),
                Err(err) => report.problem(format!("{rel} cannot be read: {err}")),
            },
            // A nested dylib listed by its CodeDirectory hash: checked as nested code.
            Some(Sealed::Nested(_)) => {}
            None => {
                if !seal.leaves_out(rel) {
                    report.problem(format!(
                        "{rel} was added after signing (the seal does not list it)"
                    ));
                }
            }
        }
    }
    for (name, e) in &seal.files {
        let here = match e.kind {
            Sealed::Nested(_) => {
                present.contains(name)
                    || present.iter().any(|p| {
                        p.strip_prefix(name.as_str())
                            .is_some_and(|r| r.starts_with('/'))
                    })
            }
            _ => present.contains(name),
        };
        if !here && !seal.may_miss(name, e) {
            report.problem(format!("{name} is sealed but missing"));
        }
    }
    report
}

/// The 20-byte CodeDirectory hash a parent's seal lists for nested code at `rel`.
pub fn listed_cdhash(seal: &Seal, rel: &str) -> Option<Option<String>> {
    match seal.files.get(rel).map(|e| &e.kind) {
        Some(Sealed::Nested(h)) => Some(h.as_ref().map(hex::encode)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(xml: &str) -> Seal {
        parse(xml.as_bytes(), 1000).unwrap()
    }

    const RULES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>files2</key><dict>
  <key>a.png</key><dict><key>hash2</key><data>AAAA</data></dict>
  <key>en.lproj/x.strings</key><dict><key>hash2</key><data>AAAA</data><key>optional</key><true/></dict>
  <key>PlugIns/W.appex</key><dict><key>cdhash</key><data>AAAA</data><key>requirement</key><string>x</string></dict>
</dict>
<key>rules2</key><dict>
  <key>^.*</key><true/>
  <key>^Info\.plist$</key><dict><key>omit</key><true/><key>weight</key><real>20</real></dict>
  <key>^(Frameworks|PlugIns)/</key><dict><key>nested</key><true/><key>weight</key><real>10</real></dict>
  <key>^(.*/)?\.DS_Store$</key><dict><key>omit</key><true/><key>weight</key><real>2000</real></dict>
</dict></dict></plist>"#;

    #[test]
    fn rules_weigh_and_omit() {
        let s = seal(RULES);
        assert!(s.leaves_out("Info.plist"));
        assert!(s.leaves_out("sub/.DS_Store"));
        assert!(!s.leaves_out("main.jsbundle"));
        assert!(!s.leaves_out("Frameworks/Evil.dylib"));
        assert_eq!(
            listed_cdhash(&s, "PlugIns/W.appex"),
            Some(Some("000000".into()))
        );
        let opt = s.files.get("en.lproj/x.strings").unwrap();
        assert!(s.may_miss("en.lproj/x.strings", opt));
        assert!(!s.may_miss("a.png", s.files.get("a.png").unwrap()));
    }

    #[test]
    fn nested_roots() {
        assert_eq!(
            nested_root("PlugIns/W.appex/W"),
            Some("PlugIns/W.appex".into())
        );
        assert_eq!(
            nested_root("Frameworks/E.dylib"),
            Some("Frameworks/E.dylib".into())
        );
        assert_eq!(nested_root("Frameworks/x/E.dylib"), None);
        assert_eq!(
            nested_root("Frameworks/F.framework/F"),
            Some("Frameworks/F.framework".into())
        );
        assert_eq!(nested_root("a.png"), None);
    }

    #[test]
    fn a_bad_rule_or_a_huge_list_is_an_error_not_a_panic() {
        let bad = RULES.replace(r"^.*", "(");
        assert!(parse(bad.as_bytes(), 1000).is_err());
        assert!(parse(RULES.as_bytes(), 1).is_err());
        assert!(parse(b"not a plist", 10).is_err());
    }
}
