//! The `koly` trailer: the last 512 bytes of a UDIF image, big-endian.

use crate::{Error, KOLY_SIZE, MAX_DISK_BYTES, MAX_MAP_BYTES, SECTOR, be32, be64};

/// A UDIF checksum: a type (2 = CRC32), a size in bits and up to 128 bytes of value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    pub kind: u32,
    pub bits: u32,
    pub first_word: u32,
}

impl Checksum {
    pub(crate) fn parse(d: &[u8], o: usize) -> Self {
        Self {
            kind: be32(d, o),
            bits: be32(d, o + 4),
            first_word: be32(d, o + 8),
        }
    }

    /// The CRC32 value, when this is a CRC32 checksum.
    pub fn crc32(&self) -> Option<u32> {
        (self.kind == 2 && self.bits == 32).then_some(self.first_word)
    }

    /// `crc32`, `none` or `type N`.
    pub fn name(&self) -> String {
        match self.kind {
            0 => "none".into(),
            2 => "crc32".into(),
            k => format!("type {k}"),
        }
    }
}

/// The fields of the trailer this reader uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Koly {
    pub version: u32,
    pub flags: u32,
    pub data_fork_offset: u64,
    pub data_fork_length: u64,
    pub rsrc_fork_offset: u64,
    pub rsrc_fork_length: u64,
    pub segment_number: u32,
    pub segment_count: u32,
    pub data_checksum: Checksum,
    pub xml_offset: u64,
    pub xml_length: u64,
    /// The embedded code signature (a superblob as in Mach-O), zero when unsigned.
    pub code_signature_offset: u64,
    pub code_signature_length: u64,
    pub master_checksum: Checksum,
    pub image_variant: u32,
    pub sector_count: u64,
}

impl Koly {
    /// Parses the trailer of a file of `size` bytes; every region it names must lie before
    /// the trailer.
    pub fn parse(t: &[u8], size: u64) -> Result<Self, Error> {
        if t.len() != KOLY_SIZE as usize || !t.starts_with(b"koly") {
            return Err(Error::NotUdif(
                "the last 512 bytes are not a koly trailer".into(),
            ));
        }
        let header_size = be32(t, 8);
        if header_size != KOLY_SIZE as u32 {
            return Err(Error::Malformed(format!(
                "the trailer says it is {header_size} bytes long, not 512"
            )));
        }
        let k = Self {
            version: be32(t, 4),
            flags: be32(t, 12),
            data_fork_offset: be64(t, 24),
            data_fork_length: be64(t, 32),
            rsrc_fork_offset: be64(t, 40),
            rsrc_fork_length: be64(t, 48),
            segment_number: be32(t, 56),
            segment_count: be32(t, 60),
            data_checksum: Checksum::parse(t, 80),
            xml_offset: be64(t, 216),
            xml_length: be64(t, 224),
            code_signature_offset: be64(t, 296),
            code_signature_length: be64(t, 304),
            master_checksum: Checksum::parse(t, 352),
            image_variant: be32(t, 488),
            sector_count: be64(t, 492),
        };
        let end = size - KOLY_SIZE;
        let within = |what: &str, off: u64, len: u64| -> Result<(), Error> {
            if off.checked_add(len).is_none_or(|e| e > end) {
                return Err(Error::Malformed(format!(
                    "the trailer's {what} ({len} bytes at {off}) runs past the end of the image ({end} bytes before the trailer)"
                )));
            }
            Ok(())
        };
        within("data fork", k.data_fork_offset, k.data_fork_length)?;
        within("resource fork", k.rsrc_fork_offset, k.rsrc_fork_length)?;
        within("property list", k.xml_offset, k.xml_length)?;
        within(
            "code signature",
            k.code_signature_offset,
            k.code_signature_length,
        )?;
        for (what, len) in [
            ("property list", k.xml_length),
            ("resource fork", k.rsrc_fork_length),
            ("code signature", k.code_signature_length),
        ] {
            if len > MAX_MAP_BYTES {
                return Err(Error::Limit(format!(
                    "the image's {what} is {len} bytes, more than the limit of {MAX_MAP_BYTES}"
                )));
            }
        }
        if k.sector_count
            .checked_mul(SECTOR)
            .is_none_or(|b| b > MAX_DISK_BYTES)
        {
            return Err(Error::Limit(format!(
                "the trailer counts {} sectors, more than a disk of {MAX_DISK_BYTES} bytes",
                k.sector_count
            )));
        }
        if k.segment_count > 1 {
            return Err(Error::Malformed(format!(
                "segment {} of {}: a segmented image is read only whole",
                k.segment_number, k.segment_count
            )));
        }
        Ok(k)
    }
}
