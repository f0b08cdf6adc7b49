//! The zip reader is `format_zip`, the one that detection uses too (so a crafted APK
//! cannot show detection one set of members and the verifier another). APK signature
//! verification needs its raw offsets (the APK Signing Block sits just before the central
//! directory, and the v2 digest covers the end record with its offset patched). Android
//! adds one rule: no zip64, which Android's own verifier refuses for APKs.

use platform::{Limits, ReadSeek};

// Members are read as the shared reader reads them; its errors convert into this crate's.
pub use format_zip::{
    Entry, Eocd, Window, ZipIndex, data_offset, open_entry, read_entry, read_exact_at,
};

use crate::Error;

impl From<format_zip::ZipError> for Error {
    fn from(e: format_zip::ZipError) -> Self {
        use format_zip::ZipError;
        match e {
            ZipError::Io(e) => Error::Io(e),
            ZipError::Limit(m) => Error::Limit(m),
            ZipError::Malformed(m) => Error::Zip(m),
            other => Error::Zip(other.to_string()),
        }
    }
}

fn no_zip64(eocd: &Eocd) -> Result<(), Error> {
    if eocd.zip64.is_some() {
        return Err(Error::Zip(
            "zip64 archives are not supported for Android artifacts".into(),
        ));
    }
    Ok(())
}

/// Finds the end record (refusing zip64).
pub fn find_eocd(r: &mut dyn ReadSeek, size: u64) -> Result<Eocd, Error> {
    let e = format_zip::find_eocd(r, size)?;
    no_zip64(&e)?;
    Ok(e)
}

/// Reads the end record and the central directory (refusing zip64).
pub fn read_index(r: &mut dyn ReadSeek, size: u64, limits: &Limits) -> Result<ZipIndex, Error> {
    let i = format_zip::read_index(r, size, limits)?;
    no_zip64(&i.eocd)?;
    Ok(i)
}
