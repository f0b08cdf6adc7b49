//! Channel addressing: which artifact of a release a stable channel URL
//! (`/d/{app}/{channel}/{platform}[/{arch}][?kind=]`) names, and what a target sees when it
//! serves a document that follows a channel ([`crate::Target::channel_document`]).
//!
//! The rule, in order: the `kind` and the `arch` asked for, then the target's preferred kind
//! order ([`crate::Target::preferred_kinds`]; a kind in it beats a kind not in it), then,
//! when the URL names no arch, an artifact for every architecture over per-architecture
//! ones. What is left is either one artifact or a choice the caller has to make.

use crate::Inspection;

/// One file artifact of the release a channel points at, as the choice sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub kind: &'a str,
    /// Canonical architecture name; `None` for an artifact that runs on every one.
    pub arch: Option<&'a str>,
}

/// The outcome of [`pick`]: indexes into the candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    One(usize),
    /// The rule does not decide between these (two of the same kind and arch, several
    /// architectures and none asked for, or kinds the target does not rank).
    Choice(Vec<usize>),
    /// Nothing matches what was asked.
    None,
}

/// Chooses the artifact a channel URL names. `order` is the target's preferred kinds, best
/// first.
pub fn pick(
    cands: &[Candidate<'_>],
    arch: Option<&str>,
    kind: Option<&str>,
    order: &[&str],
) -> Pick {
    let mut left: Vec<usize> = (0..cands.len())
        .filter(|&i| kind.is_none_or(|k| cands[i].kind == k))
        .filter(|&i| arch.is_none_or(|a| cands[i].arch == Some(a)))
        .collect();
    let rank = |i: usize| order.iter().position(|k| *k == cands[i].kind);
    if let Some(best) = left.iter().filter_map(|&i| rank(i)).min() {
        left.retain(|&i| rank(i) == Some(best));
    }
    // Without an arch in the URL, an artifact for every architecture is what it means.
    if arch.is_none() && left.iter().any(|&i| cands[i].arch.is_none()) {
        left.retain(|&i| cands[i].arch.is_none());
    }
    match left.as_slice() {
        [] => Pick::None,
        [one] => Pick::One(*one),
        _ => Pick::Choice(left),
    }
}

/// One artifact a channel document may list.
#[derive(Debug, Clone)]
pub struct ChannelArtifact<'a> {
    pub inspection: &'a Inspection,
    pub arch: Option<&'a str>,
    pub size: u64,
    pub sha256: &'a str,
    /// The absolute channel URL that serves this file and follows the channel when it moves
    /// (`.../d/{app}/{channel}/{platform}[/{arch}]?kind=...`).
    pub url: String,
}

/// What a target gets to build a channel document: the channel, the release it points at
/// now and that release's attached files of the target's platform.
#[derive(Debug, Clone)]
pub struct ChannelContext<'a> {
    /// The document asked for: the last segment of `/d/{app}/{channel}/{platform}/feed/{name}`.
    pub name: &'a str,
    pub app: &'a str,
    pub app_name: &'a str,
    pub channel: &'a str,
    pub release_id: &'a str,
    pub version: &'a str,
    pub build: &'a str,
    pub notes: Option<&'a str>,
    pub published_at: Option<&'a str>,
    /// The document's own absolute URL.
    pub url: String,
    pub artifacts: Vec<ChannelArtifact<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c<'a>(kind: &'a str, arch: Option<&'a str>) -> Candidate<'a> {
        Candidate { kind, arch }
    }

    #[test]
    fn the_preferred_order_decides_between_kinds() {
        let cands = [c("aab", None), c("apk", None)];
        assert_eq!(pick(&cands, None, None, &["apk", "aab"]), Pick::One(1));
        // A ranked kind beats one the target does not rank.
        let cands = [c("other", None), c("apk", None)];
        assert_eq!(pick(&cands, None, None, &["apk"]), Pick::One(1));
        // Without an order, two kinds are a choice.
        assert_eq!(pick(&cands, None, None, &[]), Pick::Choice(vec![0, 1]));
        // Two kinds neither of which is ranked: a choice.
        let cands = [c("x", None), c("y", None)];
        assert_eq!(pick(&cands, None, None, &["apk"]), Pick::Choice(vec![0, 1]));
        // A ranked kind for one architecture still beats unranked ones for all of them.
        let cands = [c("x", None), c("apk", Some("arm64"))];
        assert_eq!(pick(&cands, None, None, &["apk"]), Pick::One(1));
    }

    #[test]
    fn kind_and_arch_narrow_first() {
        let cands = [
            c("apk", Some("arm64")),
            c("apk", Some("x86_64")),
            c("aab", None),
        ];
        let order = ["apk", "aab"];
        // No arch asked: the best kind first, then the arch is the caller's choice.
        assert_eq!(pick(&cands, None, None, &order), Pick::Choice(vec![0, 1]));
        // An artifact for every architecture wins over per-architecture ones of its kind.
        let mixed = [c("apk", Some("arm64")), c("apk", None)];
        assert_eq!(pick(&mixed, None, None, &order), Pick::One(1));
        assert_eq!(pick(&mixed, Some("arm64"), None, &order), Pick::One(0));
        assert_eq!(pick(&cands, Some("x86_64"), None, &order), Pick::One(1));
        assert_eq!(
            pick(&cands, None, Some("apk"), &order),
            Pick::Choice(vec![0, 1])
        );
        assert_eq!(pick(&cands, Some("arm64"), Some("aab"), &order), Pick::None);
        assert_eq!(pick(&cands, Some("riscv64"), None, &order), Pick::None);
    }

    #[test]
    fn two_of_the_same_kind_and_arch_are_a_choice() {
        let cands = [c("apk", None), c("apk", None)];
        assert_eq!(pick(&cands, None, None, &["apk"]), Pick::Choice(vec![0, 1]));
        assert_eq!(pick(&[], None, None, &["apk"]), Pick::None);
    }
}
