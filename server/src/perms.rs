//! The data folder is the service user's alone: tokens' hashes, the audit log, unpublished
//! builds. Every distd command starts by setting the umask to 077 ([`restrict_umask`]), so
//! that whatever distd, SQLite (its -wal and -shm files included) or a library creates is
//! 0700/0600; the places where distd itself creates the folder, the database and the blob
//! store also name the mode, so that they stay private even if the umask is ever changed.
//! Existing files and folders are left as they are.

use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use rustix::fs::Mode;

/// Folders distd creates.
pub const DIR_MODE: u32 = 0o700;
/// Files distd creates.
pub const FILE_MODE: u32 = 0o600;

/// umask 077 for the whole process (`rustix`, since `unsafe_code` is forbidden here).
pub fn restrict_umask() {
    rustix::process::umask(Mode::from_raw_mode(0o077));
}

/// `mkdir -m 700`.
pub fn create_dir(path: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new().mode(DIR_MODE).create(path)
}

/// `mkdir -p -m 700` (missing parents get the same mode).
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)
}

/// Creates an empty 0600 file if there is none (before SQLite opens a new database, whose
/// -wal and -shm files then take the database's mode).
pub fn ensure_file(path: &Path) -> io::Result<()> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
