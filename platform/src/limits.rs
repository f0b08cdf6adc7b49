//! Bounds every reader applies to untrusted artifacts.

/// Caps applied while reading an artifact. A file that exceeds one is refused with a finding,
/// never allowed to exhaust memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries in one archive's index.
    pub max_entries: usize,
    /// Decompressed bytes of a single member a parser reads into memory
    /// (Info.plist, AndroidManifest.xml, a provisioning profile, resources.arsc).
    pub max_member_bytes: u64,
    /// Decompressed bytes a parser may stream through a digest while verifying
    /// (JAR digests, code-signature pages). Caps zip bombs.
    pub max_streamed_bytes: u64,
    /// Nesting of containers (fat Mach-O in an IPA, a plist in CMS, ...).
    pub max_depth: u32,
    /// Length of any single structure read out of a file (a string pool, a certificate list).
    pub max_structure_bytes: u64,
    /// Decompressed bytes one whole inspection may produce, as a multiple of the file's size
    /// (and never more than `max_streamed_bytes`): see [`Limits::inflate_budget`].
    pub max_inflate_ratio: u64,
}

impl Limits {
    /// The decompression budget of one inspection of a `size`-byte file: `size` times
    /// `max_inflate_ratio`, at most `max_streamed_bytes`. Real artifacts inflate to a few
    /// times their size (code and resources compress about 3:1); a 2.4 MB APK whose signed
    /// entries inflate to gigabytes used to take 24 s of CPU and is refused now.
    pub fn inflate_budget(&self, size: u64) -> u64 {
        size.saturating_mul(self.max_inflate_ratio)
            .min(self.max_streamed_bytes)
    }

    /// A fresh decompression budget for one inspection of a `size`-byte file.
    pub fn budget_for(&self, size: u64) -> format_zip::InflateBudget {
        format_zip::InflateBudget::new(self.inflate_budget(size))
    }
}

impl From<&Limits> for format_zip::IndexLimits {
    fn from(l: &Limits) -> Self {
        Self {
            max_entries: l.max_entries,
            max_directory_bytes: l.max_structure_bytes,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 200_000,
            max_member_bytes: 64 * 1024 * 1024,
            max_streamed_bytes: 8 * 1024 * 1024 * 1024,
            max_depth: 8,
            max_structure_bytes: 16 * 1024 * 1024,
            max_inflate_ratio: 100,
        }
    }
}
