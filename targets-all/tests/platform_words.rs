//! Issue 14's evidence, as a ratchet: the words the linked targets declare (ids, display
//! names, kinds, install modes) may appear in the shared crates (`platform`, `server`, `cli`,
//! `ui`; outside tests and migrations) only where `platform_words.allow` lists them, and
//! only as often. A new occurrence fails this test (move the knowledge into the target); a
//! removed one fails it too, until the list is lowered, so the list only ever shrinks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dist_targets as _;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The declared words of every linked target.
fn words() -> Vec<String> {
    let mut out = Vec::new();
    for t in platform::registry().targets() {
        out.push(t.id().to_owned());
        out.push(t.display_name().to_owned());
        out.extend(t.kinds().iter().map(|k| k.kind.to_owned()));
        out.extend(t.modes().iter().map(|m| m.id.to_owned()));
    }
    out.sort();
    out.dedup();
    out
}

/// Source files of the shared crates, without test folders.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "tests") {
                sources(&p, out);
            }
        } else if p
            .extension()
            .is_some_and(|e| ["rs", "html", "css", "js"].iter().any(|x| e == *x))
        {
            out.push(p);
        }
    }
}

/// Whole-word, case-sensitive occurrences of `word` in `text`.
fn count(text: &str, word: &str) -> usize {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word)
        .filter(|(at, _)| {
            let before = text[..*at].chars().next_back();
            let after = text[at + word.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
        .count()
}

fn found() -> BTreeMap<(String, String), usize> {
    let root = root();
    let mut files = Vec::new();
    for dir in [
        "platform/src",
        "server/src",
        "cli/src",
        "ui/src",
        "ui/templates",
        "ui/static",
    ] {
        if root.join(dir).is_dir() {
            sources(&root.join(dir), &mut files);
        }
    }
    let words = words();
    let mut out = BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // Unit tests sit at the end of a source file, after `#[cfg(test)]`.
        let text = text.split("\n#[cfg(test)]").next().unwrap_or("");
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for w in &words {
            let n = count(text, w);
            if n > 0 {
                out.insert((rel.clone(), w.clone()), n);
            }
        }
    }
    out
}

#[test]
fn shared_crates_hold_no_more_platform_words_than_listed() {
    let words = words();
    for w in [
        "ios",
        "iOS",
        "android",
        "Android",
        "ipa",
        "apk",
        "testflight",
    ] {
        assert!(words.iter().any(|x| x == w), "{w} not declared: {words:?}");
    }
    let allow_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/platform_words.allow");
    let allow_text = std::fs::read_to_string(&allow_path).unwrap();
    let mut allowed = BTreeMap::new();
    for line in allow_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(parts.len(), 3, "bad line {line:?}: want `path word count`");
        allowed.insert(
            (parts[0].to_owned(), parts[1].to_owned()),
            parts[2].parse::<usize>().unwrap(),
        );
    }
    let found = found();
    let mut problems = Vec::new();
    for (key, n) in &found {
        let listed = allowed.get(key).copied().unwrap_or(0);
        if *n > listed {
            problems.push(format!(
                "{} names {:?} {n} times, {listed} allowed: keep platform knowledge in its target",
                key.0, key.1
            ));
        }
    }
    for (key, listed) in &allowed {
        let n = found.get(key).copied().unwrap_or(0);
        if n < *listed {
            problems.push(format!(
                "{} names {:?} {n} times now, {listed} listed: lower the line in {} to {n}",
                key.0,
                key.1,
                allow_path.display()
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Prints the current counts in the allow-list format (`cargo test -p dist-targets --test
/// platform_words -- --ignored --nocapture`), for lowering the list.
#[test]
#[ignore]
fn print_counts() {
    for ((file, word), n) in found() {
        println!("{file} {word} {n}");
    }
}
