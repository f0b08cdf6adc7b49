//! An IPA's zip, read through `formats/zip`, the reader detection uses too (so what
//! detection lists is what inspection reads), with every decompressed byte charged to the
//! inspection's budget. A spent budget is remembered, so the inspection can say so
//! (`ios.zip.limit`) rather than report what it could not finish checking.

use std::io::Read;

use format_apple::seal::{BundleFiles, MAX_LINK};
use format_zip::{self as zipindex, Entry, ZipError, ZipIndex};
use platform::{InflateBudget, ReadSeek};

pub enum Member {
    Missing,
    Data(Vec<u8>),
}

pub struct Archive<'a> {
    r: &'a mut dyn ReadSeek,
    pub index: ZipIndex,
    budget: InflateBudget,
    /// The first cap a read ran into, if any.
    pub limit_hit: Option<String>,
}

impl<'a> Archive<'a> {
    pub fn open(
        r: &'a mut dyn ReadSeek,
        size: u64,
        limits: &platform::Limits,
        budget: &InflateBudget,
    ) -> Result<Self, ZipError> {
        let index = zipindex::read_index(r, size, limits)?;
        Ok(Self {
            r,
            index,
            budget: budget.clone(),
            limit_hit: None,
        })
    }

    pub fn entry(&self, name: &str) -> Option<Entry> {
        self.index.get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        self.index.entries.iter().map(|e| e.name.clone()).collect()
    }

    fn note(&mut self, e: &ZipError) {
        if let ZipError::Limit(m) = e
            && self.limit_hit.is_none()
        {
            self.limit_hit = Some(m.clone());
        }
    }

    /// A whole member, at most `limit` bytes.
    pub fn read(&mut self, name: &str, limit: u64) -> Result<Member, String> {
        let Some(e) = self.entry(name) else {
            return Ok(Member::Missing);
        };
        if e.size > limit {
            return Err(format!(
                "{name}: {} bytes declared, more than the limit of {limit}",
                e.size
            ));
        }
        match zipindex::read_entry(self.r, &e, self.index.eocd.cd_offset, limit, &self.budget) {
            Ok(d) => Ok(Member::Data(d)),
            Err(err) => {
                self.note(&err);
                Err(format!("{name}: {err}"))
            }
        }
    }

    /// Streams a member through `f` (at most `limit` bytes).
    pub fn stream<T>(
        &mut self,
        e: &Entry,
        limit: u64,
        f: impl FnOnce(&mut dyn Read) -> T,
    ) -> Result<T, String> {
        let opened =
            zipindex::open_entry(self.r, e, self.index.eocd.cd_offset, limit, &self.budget)
                .map(|mut r| f(&mut r));
        opened.map_err(|err| {
            if let ZipError::Limit(m) = &err
                && self.limit_hit.is_none()
            {
                self.limit_hit = Some(m.clone());
            }
            format!("{}: {err}", e.name)
        })
    }

    /// Hashes a member with SHA-1 and SHA-256 in one pass.
    pub fn digests(&mut self, e: &Entry, limit: u64) -> Result<(Vec<u8>, Vec<u8>), String> {
        let out = self.stream(e, limit, format_apple::seal::file_digests)?;
        out.map_err(|err| {
            let z = zipindex::read_error(&e.name, err);
            self.note(&z);
            z.to_string()
        })
    }
}

/// One bundle folder of the archive as the seal check reads it (`formats/apple`'s
/// [`BundleFiles`]): paths relative to `dir`, digests streamed under `limit` bytes.
pub struct BundleDir<'z, 'a> {
    zip: &'z mut Archive<'a>,
    dir: String,
    limit: u64,
}

impl<'z, 'a> BundleDir<'z, 'a> {
    pub fn new(zip: &'z mut Archive<'a>, dir: &str, limit: u64) -> Self {
        Self {
            zip,
            dir: dir.to_owned(),
            limit,
        }
    }

    fn entry(&self, rel: &str) -> Result<Entry, String> {
        self.zip
            .entry(&format!("{}{rel}", self.dir))
            .ok_or_else(|| format!("{rel} is not in the archive"))
    }
}

impl BundleFiles for BundleDir<'_, '_> {
    fn files(&self) -> Vec<(String, bool)> {
        let dir = self.dir.as_str();
        self.zip
            .index
            .entries
            .iter()
            .filter(|e| !e.is_dir() && e.name.starts_with(dir) && e.name.len() > dir.len())
            .map(|e| (e.name[dir.len()..].to_owned(), e.is_symlink()))
            .collect()
    }

    fn digests(&mut self, rel: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
        let e = self.entry(rel)?;
        self.zip.digests(&e, self.limit)
    }

    fn link_target(&mut self, rel: &str) -> Result<Vec<u8>, String> {
        let name = format!("{}{rel}", self.dir);
        match self.zip.read(&name, MAX_LINK)? {
            Member::Data(d) => Ok(d),
            Member::Missing => Err(format!("{rel} is not in the archive")),
        }
    }
}
