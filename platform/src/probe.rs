//! What detection sees of a file: its name, its first and last bytes, for zip files the list
//! of member names, and for tar streams (compressed or not) their first entry names. Built once per file by the registry and shown to every target.

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
    /// The first entry names of a tar stream, when the file starts with one (compressed
    /// with a codec `formats/compress` knows, or not): its index as far as
    /// [`TAR_PROBE_ENTRIES`] entries, [`TAR_PROBE_READ`] stored bytes and
    /// [`TAR_PROBE_INFLATE`] decompressed bytes reach. `None` when the file is no tar or
    /// the probe was built without a reader.
    pub tar_entries: Option<Vec<String>>,
}

/// Most entry names [`Probe::tar_entries`] lists.
pub const TAR_PROBE_ENTRIES: usize = 64;
/// Most stored bytes read for [`Probe::tar_entries`]: a bzip2 block (900 KB) and several zstd
/// or xz blocks of incompressible data fit, so a first header that lies past the probe's
/// head is still reached.
pub const TAR_PROBE_READ: u64 = 4 << 20;
/// Most decompressed bytes for [`Probe::tar_entries`] (a large first entry's data is
/// decompressed to reach the next header; past this the names so far are the answer).
pub const TAR_PROBE_INFLATE: u64 = 8 << 20;

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
            tar_entries: None,
        };
        if !probe.looks_like_zip() && probe.may_start_a_tar() {
            reader.seek(SeekFrom::Start(0))?;
            probe.tar_entries = first_tar_entries(&mut *reader)?;
        }
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

    /// Whether the head is a compressed stream `formats/compress` knows or a ustar header:
    /// the files whose first entries [`Probe::tar_entries`] lists.
    fn may_start_a_tar(&self) -> bool {
        format_compress::Codec::sniff(&self.head) != format_compress::Codec::None
            || self.head.get(257..262) == Some(b"ustar")
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

/// The first entry names of the tar stream `reader` starts, within the `TAR_PROBE_*` bounds;
/// `None` when it is no tar (or a compressed stream of something else). A name is listed as
/// soon as its header is read, so a first entry too large to skip still names itself.
fn first_tar_entries<R: Read>(reader: R) -> std::io::Result<Option<Vec<String>>> {
    let mut magic = [0u8; 16];
    let mut raw = reader.take(TAR_PROBE_READ);
    let mut n = 0;
    while n < magic.len() {
        match raw.read(&mut magic[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let codec = format_compress::Codec::sniff(&magic[..n]);
    let budget = format_compress::InflateBudget::new(TAR_PROBE_INFLATE);
    let stream = std::io::Cursor::new(magic[..n].to_vec()).chain(raw);
    let Ok(dec) = format_compress::decoder(codec, stream, &budget) else {
        return Ok(None);
    };
    let mut tar = format_tar::Reader::new(dec, 0);
    let names = std::cell::RefCell::new(Vec::new());
    let mut visit = |e: &format_tar::Entry, _: &mut dyn Read| {
        names.borrow_mut().push(e.path.clone());
        Ok(())
    };
    while names.borrow().len() < TAR_PROBE_ENTRIES {
        match tar.next_entry_with(&mut visit) {
            Ok(Some(e)) if e.kind != format_tar::EntryType::File => names.borrow_mut().push(e.path),
            Ok(Some(_)) => {}
            // The end, a cut stream, a bound reached, or no tar at all: what was read is
            // the answer (nothing, for no tar).
            Ok(None) | Err(_) => break,
        }
    }
    let names = names.into_inner();
    Ok((!names.is_empty()).then_some(names))
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
