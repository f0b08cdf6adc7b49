//! A few megabytes set aside in `DATA/space-reserve` so that `distd gc` works on a full disk:
//! gc only deletes, but each removal is an audit row, and SQLite needs room to write it. gc
//! gives the reserve back first, removes what it may, and sets it aside again when it can.
//! `distd serve` sets it aside at start when there is room.

use std::io;
use std::path::{Path, PathBuf};

/// Bytes held back: room for thousands of audit rows before the first removal frees more.
pub const RESERVE_BYTES: u64 = 4 * 1024 * 1024;

pub fn path(data: &Path) -> PathBuf {
    data.join("space-reserve")
}

/// Sets the reserve aside (allocated, not sparse); does nothing when it exists. A disk too
/// full for it is not an error: the caller logs it.
pub fn ensure(data: &Path) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let p = path(data);
    if std::fs::metadata(&p).is_ok_and(|m| m.len() == RESERVE_BYTES) {
        return Ok(());
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(crate::perms::FILE_MODE)
        .open(&p)?;
    let res = rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::empty(), 0, RESERVE_BYTES)
        .map_err(io::Error::from)
        .or_else(|e| {
            // A file system without fallocate: write the zeros.
            if e.raw_os_error() == Some(95) {
                use std::io::Write;
                let mut f = &f;
                let zeros = vec![0u8; 64 * 1024];
                for _ in 0..RESERVE_BYTES / zeros.len() as u64 {
                    f.write_all(&zeros)?;
                }
                Ok(())
            } else {
                Err(e)
            }
        })
        .and_then(|()| f.sync_all());
    if res.is_err() {
        drop(f);
        let _ = std::fs::remove_file(&p);
    }
    res
}

/// Gives the reserve back; true when there was one.
pub fn release(data: &Path) -> bool {
    std::fs::remove_file(path(data)).is_ok()
}
