//! Chains from a leaf to a root set the caller supplies (Apple's roots, an Authenticode
//! store, ...). Signatures alone decide; validity periods are the caller's to judge (an
//! expired but genuine chain is a finding about time, not about trust).

use crate::cert::Certificate;
use crate::signature::Verdict;

/// Longest chain walked (leaf, intermediates, root).
pub const MAX_CHAIN: usize = 6;

#[derive(Debug, Clone)]
pub struct Chain<'a> {
    /// The chain ends at (or is signed by) a supplied root.
    pub trusted: bool,
    /// Leaf first, then the intermediates taken from the pool; not the trusted root itself
    /// unless the leaf is one.
    pub certs: Vec<&'a Certificate>,
}

/// Walks from `leaf` through `pool` (certificates the signature carries) to one of `roots`.
/// Certificates in the pool that look like roots are never trusted for themselves: only the
/// supplied roots end a chain.
pub fn build_chain<'a>(
    leaf: &'a Certificate,
    pool: &[&'a Certificate],
    roots: &[Certificate],
) -> Chain<'a> {
    let mut certs = vec![leaf];
    let mut current = leaf;
    for _ in 0..MAX_CHAIN {
        if roots.iter().any(|r| r.der == current.der) {
            return Chain {
                trusted: true,
                certs,
            };
        }
        if roots
            .iter()
            .any(|r| current.verify_signed_by(r) == Verdict::Valid)
        {
            return Chain {
                trusted: true,
                certs,
            };
        }
        let issuer = pool.iter().copied().find(|c| {
            c.der != current.der
                && current.issued_by_name(c)
                && current.verify_signed_by(c) == Verdict::Valid
        });
        match issuer {
            Some(next) => {
                certs.push(next);
                current = next;
            }
            None => break,
        }
    }
    Chain {
        trusted: false,
        certs,
    }
}
