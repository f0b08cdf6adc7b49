//! The three stages of an upload: blocks gathered from the network, hashed, written.
//!
//! Why: on a small machine the upload path is CPU-bound, and SHA-256 alone takes a core. So
//! the hashing thread does nothing else: the request's task copies the body into aligned
//! 512 KiB [`Block`]s (from a small [`BlockPool`], which is also the back-pressure), the hashing
//! thread hashes each and passes it to a [`BlockWriter`], whose own thread writes it and
//! returns it to the pool. How a block reaches the disk is a [`WriteStrategy`]: with `O_DIRECT`
//! (the default), or through the page cache with write-behind. `O_DIRECT` saves the page-cache
//! copy and its later write-back, CPU the hash needs; write-behind starts each block's
//! write-back as soon as it is written, so the disk is busy the whole upload and the closing
//! fsync finds little left to do. Measured (README, Performance): tied on a throttled slow
//! disk, `O_DIRECT` ahead or tied on the fast data disk, hence the default. Where the
//! filesystem refuses `O_DIRECT` (tmpfs, some network mounts), or a resumed upload starts at
//! an unaligned offset, the blocks go through the page cache. The caller still truncates the
//! file to its real length and fsyncs it before it counts.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use tokio::sync::mpsc;

/// Bytes per block, and so per write. 512 KiB keeps an upload's pool at 4 MiB, so 4 uploads
/// and 4 downloads fit distd in 32 MiB.
pub const BLOCK: usize = 512 * 1024;
/// Offset, length and address alignment `O_DIRECT` asks for (the largest logical block size
/// in common use).
const ALIGN: usize = 4096;
/// Blocks one upload may hold: one filling, one hashing, one being written, and the rest
/// queued between them to absorb scheduling jitter (4 measured slower than 8 here).
pub const POOL: usize = 8;
/// Write-behind drops a block's pages from the cache this many blocks after writing it: by
/// then its write-back has ended, and an upload does not push the cache's hot pages out.
const DROP_BEHIND: u64 = 2 * POOL as u64;

/// How upload blocks are written (`DIST_UPLOAD_WRITES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteStrategy {
    /// `O_DIRECT` where the filesystem allows it, else as `WriteBehind`.
    #[default]
    Direct,
    /// Through the page cache, each block's write-back started at once and its pages dropped
    /// a little later.
    WriteBehind,
}

impl std::str::FromStr for WriteStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "write-behind" => Ok(Self::WriteBehind),
            "direct" => Ok(Self::Direct),
            other => Err(format!(
                "{other:?} is not an upload write strategy: use write-behind or direct"
            )),
        }
    }
}

impl std::fmt::Display for WriteStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::WriteBehind => "write-behind",
            Self::Direct => "direct",
        })
    }
}

/// A `BLOCK`-sized buffer whose start is `ALIGN`-aligned.
pub struct Block {
    mem: Vec<u8>,
    start: usize,
    len: usize,
}

impl Block {
    fn new() -> Self {
        let mem = vec![0u8; BLOCK + ALIGN];
        // Always computable for bytes; a (theoretical) failure only costs O_DIRECT.
        let start = mem.as_ptr().align_offset(ALIGN).min(ALIGN);
        Self { mem, start, len: 0 }
    }

    /// Copies what fits; returns how many bytes were taken.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(BLOCK - self.len);
        let at = self.start + self.len;
        self.mem[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }

    pub fn is_full(&self) -> bool {
        self.len == BLOCK
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&self) -> &[u8] {
        &self.mem[self.start..self.start + self.len]
    }

    /// The bytes, zero-padded to a multiple of `ALIGN` for `O_DIRECT` (the file is cut back
    /// to its real length afterwards).
    fn padded(&mut self) -> &[u8] {
        let end = self.len.next_multiple_of(ALIGN);
        self.mem[self.start + self.len..self.start + end].fill(0);
        &self.mem[self.start..self.start + end]
    }
}

/// Hands out blocks to the request's task; the writer gives them back once written.
pub struct BlockPool {
    free: mpsc::Receiver<Block>,
    allocated: usize,
}

impl BlockPool {
    /// The pool, and where written blocks go back to (for the [`BlockWriter`]).
    pub fn new() -> (Self, mpsc::Sender<Block>) {
        let (give_back, free) = mpsc::channel(POOL);
        (Self { free, allocated: 0 }, give_back)
    }

    /// An empty block: a returned one, a new one while the pool has room, else the next one
    /// returned. `None` when the writer has stopped.
    pub async fn take(&mut self) -> Option<Block> {
        if let Ok(b) = self.free.try_recv() {
            return Some(b);
        }
        if self.allocated < POOL {
            self.allocated += 1;
            return Some(Block::new());
        }
        self.free.recv().await
    }
}

struct Write {
    block: Block,
    pos: u64,
}

/// The file and how it is opened; falls back to the page cache on the first refusal.
struct UploadFile {
    file: File,
    direct: bool,
}

impl UploadFile {
    fn open(path: &Path, try_direct: bool) -> io::Result<Self> {
        #[cfg(target_os = "linux")]
        if try_direct {
            use std::os::unix::fs::OpenOptionsExt;
            match OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_DIRECT)
                .open(path)
            {
                Ok(file) => return Ok(Self { file, direct: true }),
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {}
                Err(e) => return Err(e),
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = try_direct;
        Ok(Self {
            file: OpenOptions::new().write(true).open(path)?,
            direct: false,
        })
    }

    fn write(&mut self, path: &Path, block: &mut Block, pos: u64) -> io::Result<()> {
        if !self.direct {
            self.file.write_all_at(block.bytes(), pos)?;
            self.write_behind(pos, block.len as u64);
            return Ok(());
        }
        match self.file.write_all_at(block.padded(), pos) {
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                *self = Self::open(path, false)?;
                self.file.write_all_at(block.bytes(), pos)
            }
            r => r,
        }
    }
}

impl UploadFile {
    /// Starts the write-back of the bytes just written and drops the pages of a block written
    /// `DROP_BEHIND` blocks ago. Here `POSIX_FADV_DONTNEED` does both: it starts write-back
    /// of dirty pages without waiting, and drops the pages that are clean. Advice only: a
    /// refusal changes speed, never the bytes, so it is ignored.
    fn write_behind(&self, pos: u64, len: u64) {
        use rustix::fs::{Advice, fadvise};
        let _ = fadvise(
            &self.file,
            pos,
            std::num::NonZeroU64::new(len),
            Advice::DontNeed,
        );
        let old = DROP_BEHIND * BLOCK as u64;
        if pos >= old {
            let _ = fadvise(
                &self.file,
                pos - old,
                std::num::NonZeroU64::new(BLOCK as u64),
                Advice::DontNeed,
            );
        }
    }
}

/// Writes blocks, in order, to the upload file on a thread of its own.
pub struct BlockWriter {
    /// Where the next block goes.
    pos: u64,
    to_thread: Option<SyncSender<Write>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl BlockWriter {
    /// Writes from `offset` of the existing file at `path`; written blocks go to `returns`.
    pub fn open(
        path: &Path,
        offset: u64,
        strategy: WriteStrategy,
        returns: mpsc::Sender<Block>,
    ) -> io::Result<Self> {
        let direct = strategy == WriteStrategy::Direct && offset.is_multiple_of(ALIGN as u64);
        let mut file = UploadFile::open(path, direct)?;
        let path = path.to_path_buf();
        let (to_thread, jobs) = sync_channel::<Write>(POOL);
        let thread = std::thread::Builder::new()
            .name("distd-blob-writer".into())
            .spawn(move || -> io::Result<()> {
                for mut w in jobs {
                    file.write(&path, &mut w.block, w.pos)?;
                    w.block.len = 0;
                    // The request may be gone; then the block is simply freed.
                    let _ = returns.try_send(w.block);
                }
                Ok(())
            })?;
        Ok(Self {
            pos: offset,
            to_thread: Some(to_thread),
            thread: Some(thread),
        })
    }

    /// Queues a block; waits while the writer is `POOL` blocks behind.
    pub fn write(&mut self, block: Block) -> io::Result<()> {
        let pos = self.pos;
        self.pos += block.len as u64;
        let sent = self
            .to_thread
            .as_ref()
            .is_some_and(|tx| tx.send(Write { block, pos }).is_ok());
        if sent { Ok(()) } else { Err(self.stop()) }
    }

    /// The writer thread stopped early: its error.
    fn stop(&mut self) -> io::Error {
        match self.join() {
            Err(e) => e,
            Ok(()) => io::Error::other("the blob writer thread stopped"),
        }
    }

    fn join(&mut self) -> io::Result<()> {
        self.to_thread = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("the blob writer thread panicked")),
            None => Ok(()),
        }
    }

    /// Waits for every queued write; returns the end of the bytes written (the file's real
    /// length: an `O_DIRECT` tail was padded).
    pub fn finish(mut self) -> io::Result<u64> {
        self.join()?;
        Ok(self.pos)
    }
}

impl Drop for BlockWriter {
    fn drop(&mut self) {
        // Abandoned: let queued writes end before the caller removes the file.
        let _ = self.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the stages the way an upload does, on one thread.
    fn write_file(
        path: &Path,
        offset: u64,
        data: &[u8],
        piece: usize,
        strategy: WriteStrategy,
    ) -> u64 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (mut pool, returns) = BlockPool::new();
        let mut w = BlockWriter::open(path, offset, strategy, returns).unwrap();
        let mut block = rt.block_on(pool.take()).unwrap();
        for mut chunk in data.chunks(piece) {
            while !chunk.is_empty() {
                let n = block.push(chunk);
                chunk = &chunk[n..];
                if block.is_full() {
                    w.write(block).unwrap();
                    block = rt.block_on(pool.take()).unwrap();
                }
            }
        }
        if !block.is_empty() {
            w.write(block).unwrap();
        }
        let end = w.finish().unwrap();
        OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(end)
            .unwrap();
        end
    }

    #[test]
    fn odd_sized_pieces_land_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(6 * BLOCK + 12_345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        for s in [WriteStrategy::WriteBehind, WriteStrategy::Direct] {
            File::create(&path).unwrap();
            assert_eq!(write_file(&path, 0, &data, 65_537, s), data.len() as u64);
            assert_eq!(std::fs::read(&path).unwrap(), data, "{s}");
        }
    }

    #[test]
    fn resuming_at_an_unaligned_offset_keeps_the_bytes_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(BLOCK + 9_999)).map(|i| (i % 253) as u8).collect();
        let cut = 2 * ALIGN + 100;
        for s in [WriteStrategy::WriteBehind, WriteStrategy::Direct] {
            std::fs::write(&path, &data[..cut]).unwrap();
            let end = write_file(&path, cut as u64, &data[cut..], 400_000, s);
            assert_eq!(end, data.len() as u64);
            assert_eq!(std::fs::read(&path).unwrap(), data, "{s}");
        }
    }
}
