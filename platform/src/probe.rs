//! What detection sees of a file: its name, its first and last bytes and, for zip files, the
//! list of member names. Built once per file by the registry and shown to every target.

use std::io::{Read, Seek, SeekFrom};

use crate::Limits;

/// Bytes read from each end of the file for magic numbers and trailers (a disk image's
/// 512-byte trailer sits at the very end).
pub const PROBE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// Base name of the file, as given by the user or the upload.
    pub file_name: String,
    pub size: u64,
    /// Up to [`PROBE_BYTES`] from the start.
    pub head: Vec<u8>,
    /// Up to [`PROBE_BYTES`] from the end (overlaps `head` for small files).
    pub tail: Vec<u8>,
    /// Member names, when the file opens as a zip archive.
    pub zip_entries: Option<Vec<String>>,
    /// Why a file that starts like a zip did not open as one.
    pub zip_error: Option<String>,
}

impl Probe {
    /// Reads the probe from `reader`, leaving it at an unspecified position.
    pub fn read<R: Read + Seek + Sized>(
        file_name: &str,
        reader: &mut R,
        limits: &Limits,
    ) -> std::io::Result<Self> {
        let size = reader.seek(SeekFrom::End(0))?;
        reader.seek(SeekFrom::Start(0))?;
        let mut head = Vec::with_capacity(PROBE_BYTES.min(size as usize));
        reader
            .by_ref()
            .take(PROBE_BYTES as u64)
            .read_to_end(&mut head)?;
        let tail_len = (PROBE_BYTES as u64).min(size);
        reader.seek(SeekFrom::Start(size - tail_len))?;
        let mut tail = Vec::with_capacity(tail_len as usize);
        reader.by_ref().take(tail_len).read_to_end(&mut tail)?;

        let mut probe = Probe {
            file_name: base_name(file_name).to_owned(),
            size,
            head,
            tail,
            zip_entries: None,
            zip_error: None,
        };
        if probe.looks_like_zip() {
            reader.seek(SeekFrom::Start(0))?;
            // The same reader every target inspects with: what detection lists is what
            // inspection reads.
            match format_zip::read_index(&mut *reader, size, limits) {
                Ok(index) => {
                    probe.zip_entries = Some(index.entries.into_iter().map(|e| e.name).collect())
                }
                Err(format_zip::ZipError::Io(e))
                    if e.kind() != std::io::ErrorKind::UnexpectedEof =>
                {
                    return Err(e);
                }
                Err(e) => probe.zip_error = Some(e.to_string()),
            }
        }
        Ok(probe)
    }

    /// A zip local header at the start, or an empty archive's end record.
    pub fn looks_like_zip(&self) -> bool {
        self.head.starts_with(b"PK\x03\x04") || self.head.starts_with(b"PK\x05\x06")
    }

    /// The file name's extension, lowercased, without the dot.
    pub fn extension(&self) -> Option<String> {
        let (stem, ext) = self.file_name.rsplit_once('.')?;
        (!stem.is_empty()).then(|| ext.to_ascii_lowercase())
    }

    pub fn has_entry(&self, name: &str) -> bool {
        self.zip_entries
            .as_ref()
            .is_some_and(|e| e.iter().any(|n| n == name))
    }

    pub fn any_entry(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.zip_entries
            .as_ref()
            .is_some_and(|e| e.iter().any(|n| pred(n)))
    }
}

/// The last path component of a name that may carry `/` or `\` folders.
pub fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    #[test]
    fn zip_probe_lists_entries() {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            w.start_file(
                "Payload/App.app/Info.plist",
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            w.write_all(b"x").unwrap();
            w.finish().unwrap();
        }
        let p = Probe::read("dir/app.ipa", &mut buf, &Limits::default()).unwrap();
        assert_eq!(p.file_name, "app.ipa");
        assert_eq!(p.extension().as_deref(), Some("ipa"));
        assert!(p.has_entry("Payload/App.app/Info.plist"));
        assert!(p.zip_error.is_none());
    }

    #[test]
    fn truncated_zip_records_error() {
        let mut data = b"PK\x03\x04".to_vec();
        data.extend_from_slice(&[0u8; 100]);
        let p = Probe::read("x.apk", &mut Cursor::new(data), &Limits::default()).unwrap();
        assert!(p.zip_entries.is_none());
        assert!(p.zip_error.is_some());
    }

    #[test]
    fn small_and_empty_files() {
        let p = Probe::read("e", &mut Cursor::new(Vec::new()), &Limits::default()).unwrap();
        assert_eq!(p.size, 0);
        assert!(p.head.is_empty() && p.tail.is_empty());
        assert_eq!(p.extension(), None);
    }
}
