//! Grants: short-lived capabilities that pages put in links for clients that cannot send a
//! cookie (a phone fetching an OTA manifest and its file, a `curl` command copied from a page).
//! A grant is `<expiry unix seconds>.<base64url HMAC-SHA256>` over one artifact id and one
//! purpose, so it opens nothing else and nothing after it expires. It is minted per request
//! and never stored.
//!
//! The key lives in `DATA/grant-key` (hex, 0600), is backed up with the data folder, and
//! `distd grant-key rotate` replaces it; the previous key keeps verifying until the grants it
//! signed expire, so a rotation does not break a page someone has open.

use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use ring::hmac;

use crate::util;

pub const KEY_FILE: &str = "grant-key";
pub const PREVIOUS_KEY_FILE: &str = "grant-key.previous";
/// Default lifetime of a grant.
pub const DEFAULT_TTL_SECS: u64 = 3600;

/// What a grant opens on its artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The artifact's bytes.
    Download,
    /// The install page's documents: an OTA manifest, the icon.
    Document,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Download => "download",
            Self::Document => "document",
        }
    }
}

pub struct GrantKeys {
    current: hmac::Key,
    previous: Option<hmac::Key>,
    ttl_secs: u64,
}

impl GrantKeys {
    /// Reads the keys of a data folder, making the current one on first use.
    pub fn load_or_create(data: &Path, ttl_secs: u64) -> io::Result<Self> {
        let path = data.join(KEY_FILE);
        let current = match read_key(&path)? {
            Some(k) => k,
            None => {
                write_new_key(&path)?;
                read_key(&path)?.ok_or_else(|| io::Error::other("grant key vanished"))?
            }
        };
        Ok(Self {
            current: hmac::Key::new(hmac::HMAC_SHA256, &current),
            previous: read_key(&data.join(PREVIOUS_KEY_FILE))?
                .map(|k| hmac::Key::new(hmac::HMAC_SHA256, &k)),
            ttl_secs,
        })
    }

    /// A grant for `artifact` and `purpose`, valid for the configured lifetime from `now`.
    pub fn mint(&self, artifact: &str, purpose: Purpose, now_unix: i64) -> String {
        let exp = now_unix.saturating_add(i64::try_from(self.ttl_secs).unwrap_or(i64::MAX));
        let tag = hmac::sign(&self.current, &message(artifact, purpose, exp));
        format!(
            "{exp}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// Whether `grant` opens `purpose` on `artifact` at `now` (constant-time compare).
    pub fn verify(&self, grant: &str, artifact: &str, purpose: Purpose, now_unix: i64) -> bool {
        let Some((exp, tag)) = grant.split_once('.') else {
            return false;
        };
        let (Ok(exp), Ok(tag)) = (
            exp.parse::<i64>(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tag),
        ) else {
            return false;
        };
        if exp <= now_unix {
            return false;
        }
        let msg = message(artifact, purpose, exp);
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .any(|k| hmac::verify(k, &msg, &tag).is_ok())
    }
}

fn message(artifact: &str, purpose: Purpose, exp: i64) -> Vec<u8> {
    format!("dist-grant-v1\0{}\0{artifact}\0{exp}", purpose.as_str()).into_bytes()
}

fn read_key(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read_to_string(path) {
        Ok(text) => hex::decode(text.trim())
            .ok()
            .filter(|k| k.len() == 32)
            .map(Some)
            .ok_or_else(|| {
                io::Error::other(format!(
                    "{} is not a 64-digit hex key; restore it from a backup or delete it to make a new one (open grant links stop working)",
                    path.display()
                ))
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes a fresh random key to `path` (0600) through a temporary file and a rename, so a
/// crash leaves the old key or the new one.
fn write_new_key(path: &Path) -> io::Result<()> {
    let mut key = [0u8; 32];
    util::random_bytes(&mut key)?;
    let tmp: PathBuf = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(format!("{}\n", hex::encode(key)).as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// `distd grant-key rotate`: the current key becomes the previous one (still verifying until
/// its grants expire) and a new key signs from the next start of distd on.
pub fn rotate(data: &Path) -> io::Result<()> {
    let path = data.join(KEY_FILE);
    if path.exists() {
        std::fs::rename(&path, data.join(PREVIOUS_KEY_FILE))?;
    }
    write_new_key(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_bind_artifact_purpose_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let keys = GrantKeys::load_or_create(dir.path(), 60).unwrap();
        let g = keys.mint("art_1", Purpose::Download, 1000);
        assert!(keys.verify(&g, "art_1", Purpose::Download, 1000));
        assert!(!keys.verify(&g, "art_2", Purpose::Download, 1000));
        assert!(!keys.verify(&g, "art_1", Purpose::Document, 1000));
        assert!(!keys.verify(&g, "art_1", Purpose::Download, 1060));
        let (exp, tag) = g.split_once('.').unwrap();
        let later = format!("{}.{tag}", exp.parse::<i64>().unwrap() + 3600);
        assert!(!keys.verify(&later, "art_1", Purpose::Download, 1000));
        assert!(!keys.verify("garbage", "art_1", Purpose::Download, 1000));
        assert!(!keys.verify("", "art_1", Purpose::Download, 1000));
    }

    #[test]
    fn rotation_keeps_the_previous_key_verifying() {
        let dir = tempfile::tempdir().unwrap();
        let old = GrantKeys::load_or_create(dir.path(), 60).unwrap();
        let g = old.mint("art_1", Purpose::Document, 1000);
        rotate(dir.path()).unwrap();
        let new = GrantKeys::load_or_create(dir.path(), 60).unwrap();
        assert!(new.verify(&g, "art_1", Purpose::Document, 1000));
        let g2 = new.mint("art_1", Purpose::Document, 1000);
        assert_ne!(g, g2);
        rotate(dir.path()).unwrap();
        let newer = GrantKeys::load_or_create(dir.path(), 60).unwrap();
        assert!(
            !newer.verify(&g, "art_1", Purpose::Document, 1000),
            "two rotations retire a key"
        );
        assert!(newer.verify(&g2, "art_1", Purpose::Document, 1000));
    }
}
