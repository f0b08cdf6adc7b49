//! Logging: always to stderr (the container's log), and, when `DIST_LOG_FILES` is on, also to
//! `DATA/logs/distd.log`, rotated by size: when the next line would take the file past
//! `DIST_LOG_FILE_MAX_BYTES` it becomes `distd.log.1` (older ones shift up to
//! `distd.log.<DIST_LOG_FILE_KEEP>`, the oldest is removed) and a new file starts.
//!
//! The line each answered request adds ([`request_line`]) is not written by the request: it
//! joins a batch that a thread of its own writes within [`BATCH_DELAY`] (one write for many
//! lines, so a busy server does not make a system call per request). Every other line is
//! written at once, after the batch before it, so the order holds. [`flush`] writes what
//! waits (the process calls it on its way out).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `1`, `true` or `on`: also write the log to `DATA/logs/distd.log`. Default off.
pub const ENV_LOG_FILES: &str = "DIST_LOG_FILES";
/// Size at which the log file is rotated. Default 10 MiB.
pub const ENV_LOG_FILE_MAX_BYTES: &str = "DIST_LOG_FILE_MAX_BYTES";
/// How many rotated files to keep (`distd.log.1` is the newest). Default 5.
pub const ENV_LOG_FILE_KEEP: &str = "DIST_LOG_FILE_KEEP";

pub const DEFAULT_LOG_FILE_MAX_BYTES: u64 = 10 * 1024 * 1024;
pub const DEFAULT_LOG_FILE_KEEP: u32 = 5;
pub const LOG_DIR: &str = "logs";
pub const LOG_FILE: &str = "distd.log";

/// The log-file settings from the environment: `None` when file logging is off.
pub fn settings_from_env() -> anyhow::Result<Option<(u64, u32)>> {
    let on = std::env::var(ENV_LOG_FILES).unwrap_or_default();
    match on.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "off" | "no" => return Ok(None),
        "1" | "true" | "on" | "yes" => {}
        other => anyhow::bail!("{ENV_LOG_FILES}={other:?}: use 1/true/on or 0/false/off"),
    }
    let num = |name: &str, default: u64| -> anyhow::Result<u64> {
        match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => v
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a whole number")),
            _ => Ok(default),
        }
    };
    let max = num(ENV_LOG_FILE_MAX_BYTES, DEFAULT_LOG_FILE_MAX_BYTES)?.max(4096);
    let keep = u32::try_from(num(ENV_LOG_FILE_KEEP, DEFAULT_LOG_FILE_KEEP.into())?)
        .unwrap_or(DEFAULT_LOG_FILE_KEEP);
    Ok(Some((max, keep)))
}

/// Installs the global subscriber: stderr always, `DATA/logs/distd.log` when asked. Returns the
/// log file's path when there is one.
pub fn init(filter: &str, data: &Path) -> anyhow::Result<Option<PathBuf>> {
    let make_filter = || {
        tracing_subscriber::EnvFilter::try_new(filter)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(crate::config::DEFAULT_LOG))
    };
    let stderr_sink = Batched::start(io::stderr());
    let mut sinks = vec![stderr_sink.shared.clone()];
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(stderr_sink)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()));
    let file = match settings_from_env()? {
        None => None,
        Some((max, keep)) => {
            let dir = data.join(LOG_DIR);
            std::fs::create_dir_all(&dir).map_err(|e| {
                anyhow::anyhow!("{}", crate::startup::unwritable_help(data, Some(&e)))
            })?;
            let writer = RotatingFile::open(&dir, LOG_FILE, max, keep).map_err(|e| {
                anyhow::anyhow!("{}", crate::startup::unwritable_help(&dir, Some(&e)))
            })?;
            Some((dir.join(LOG_FILE), writer))
        }
    };
    let path = file.as_ref().map(|(p, _)| p.clone());
    let file_layer = file.map(|(_, w)| {
        let sink = Batched::start(w);
        sinks.push(sink.shared.clone());
        tracing_subscriber::fmt::layer()
            .with_writer(sink)
            .with_ansi(false)
    });
    let _ = SINKS.set(sinks);
    tracing_subscriber::registry()
        .with(make_filter())
        .with(stderr)
        .with(file_layer)
        .init();
    Ok(path)
}

/// The target of the line each answered request logs ([`request_line`]).
pub const REQUEST_TARGET: &str = "server::http";
/// How long a request's line may wait for the lines after it.
pub const BATCH_DELAY: Duration = Duration::from_millis(10);
/// Past this many waiting bytes the request that adds a line writes the batch itself (the
/// writer thread is behind: the requests slow down rather than the memory grow).
const MAX_WAITING: usize = 256 * 1024;

/// The sinks [`init`] made: stderr, and the log file when there is one.
static SINKS: OnceLock<Vec<Arc<Shared>>> = OnceLock::new();

/// Writes every line still waiting in a batch.
pub fn flush() {
    for sink in SINKS.get().into_iter().flatten() {
        sink.write_waiting();
    }
}

/// A log sink: request lines are written in batches, every other line at once (see the
/// module's introduction).
#[derive(Clone)]
pub struct Batched {
    shared: Arc<Shared>,
}

struct Shared {
    waiting: Mutex<Vec<u8>>,
    /// Wakes the writer thread when a line joins an empty batch.
    arrived: Condvar,
    /// The sink; held while a batch or an urgent line is written, so lines keep their order.
    sink: Mutex<Box<dyn Write + Send>>,
    /// Whether the writer thread runs (else every line is written by its request).
    writer_runs: AtomicBool,
}

impl Batched {
    /// Wraps `sink` and starts its writer thread.
    pub fn start(sink: impl Write + Send + 'static) -> Self {
        let shared = Arc::new(Shared {
            waiting: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            sink: Mutex::new(Box::new(sink)),
            writer_runs: AtomicBool::new(false),
        });
        let thread = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || thread.run());
        shared.writer_runs.store(spawned.is_ok(), Ordering::Release);
        Self { shared }
    }
}

impl Shared {
    fn lock_waiting(&self) -> MutexGuard<'_, Vec<u8>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(&self) {
        loop {
            {
                let mut w = self.lock_waiting();
                while w.is_empty() {
                    w = self.arrived.wait(w).unwrap_or_else(|p| p.into_inner());
                }
            }
            std::thread::sleep(BATCH_DELAY);
            self.write_waiting();
        }
    }

    /// Writes the batch waiting now, then `urgent` after it.
    fn write_waiting_then(&self, urgent: &[u8]) {
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        let batch = std::mem::take(&mut *self.lock_waiting());
        // A log that cannot be written has nowhere to say so.
        let _ = sink.write_all(&batch);
        let _ = sink.write_all(urgent);
        let _ = sink.flush();
    }

    fn write_waiting(&self) {
        self.write_waiting_then(&[]);
    }

    /// Adds whole lines to the batch (without a writer thread, writes them at once).
    fn add_to_batch(&self, lines: &[u8]) {
        if !self.writer_runs.load(Ordering::Acquire) {
            self.write_waiting_then(lines);
            return;
        }
        let (first, full) = {
            let mut w = self.lock_waiting();
            let first = w.is_empty();
            w.extend_from_slice(lines);
            (first, w.len() >= MAX_WAITING)
        };
        if full {
            self.write_waiting();
        } else if first {
            self.arrived.notify_one();
        }
    }
}

/// Logs an answered request: `request method=.. path=.. status=.. ms=..` at info under
/// [`REQUEST_TARGET`], the line `tracing`'s formatter writes for that event (without its
/// colours on a terminal). Formatted here and added to the batches directly: through the
/// formatter it was about a tenth of a cached lookup's time (issue 20's profile). The filter still
/// decides (`DIST_LOG=warn` drops it); before [`init`] (tests that drive the router in
/// process) it goes through `tracing` as any event.
pub fn request_line(method: &str, path: &str, status: u16, elapsed: Duration) {
    let ms = elapsed.as_micros() as f64 / 1000.0;
    let Some(sinks) = SINKS.get() else {
        tracing::info!(target: REQUEST_TARGET, method, path, status, ms, "request");
        return;
    };
    if !tracing::enabled!(target: REQUEST_TARGET, tracing::Level::INFO) {
        return;
    }
    let t = time::OffsetDateTime::now_utc();
    let line = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z  INFO {REQUEST_TARGET}: request method={method} path={path} status={status} ms={ms:?}\n",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    );
    for sink in sinks {
        sink.add_to_batch(line.as_bytes());
    }
}

/// One event's writer: `tracing_subscriber` formats the event and writes it in one call,
/// which goes out at once, after the batch waiting before it.
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.shared.write_waiting_then(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

/// A log file that rotates itself by size. Each `write` is one formatted event or a batch of
/// whole lines, so a line is never split across two files.
pub struct RotatingFile {
    state: Mutex<State>,
}

struct State {
    dir: PathBuf,
    name: String,
    file: File,
    size: u64,
    max: u64,
    keep: u32,
}

impl RotatingFile {
    pub fn open(dir: &Path, name: &str, max: u64, keep: u32) -> io::Result<Self> {
        let path = dir.join(name);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            state: Mutex::new(State {
                dir: dir.to_owned(),
                name: name.to_owned(),
                file,
                size,
                max,
                keep,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    fn rotate(&mut self) -> io::Result<()> {
        let path = |i: u32| {
            if i == 0 {
                self.dir.join(&self.name)
            } else {
                self.dir.join(format!("{}.{i}", self.name))
            }
        };
        if self.keep == 0 {
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        let _ = std::fs::remove_file(path(self.keep));
        for i in (0..self.keep).rev() {
            match std::fs::rename(path(i), path(i + 1)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.file = OpenOptions::new().create(true).append(true).open(path(0))?;
        self.size = 0;
        Ok(())
    }
}

impl Write for &RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut st = self.lock();
        if st.size > 0 && st.size.saturating_add(buf.len() as u64) > st.max {
            // A failed rotation keeps writing to the current file rather than losing lines.
            let _ = st.rotate();
        }
        let n = st.file.write(buf)?;
        st.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.lock().file.flush()
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Shown(Arc<Mutex<Vec<u8>>>);

    impl Write for Shown {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shown {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn request_lines_wait_for_their_batch_and_others_keep_the_order() {
        let shown = Shown::default();
        let b = Batched::start(shown.clone());
        let line = |batched: bool, text: &str| {
            if batched {
                b.shared.add_to_batch(text.as_bytes());
            } else {
                LineWriter { shared: &b.shared }
                    .write_all(text.as_bytes())
                    .unwrap();
            }
        };
        line(true, "a\n");
        line(true, "b\n");
        line(false, "warning\n");
        // The urgent line is written at once, after the batch before it.
        assert_eq!(shown.text(), "a\nb\nwarning\n");
        line(true, "c\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while shown.text() != "a\nb\nwarning\nc\n" {
            assert!(
                std::time::Instant::now() < deadline,
                "the writer thread did not write the batch: {:?}",
                shown.text()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // A batch past the bound is written by the request that fills it.
        let big = "x".repeat(MAX_WAITING);
        line(true, &big);
        assert!(shown.text().ends_with(&big));
    }

    #[test]
    fn rotates_by_size_and_keeps_n() {
        let dir = tempfile::tempdir().unwrap();
        let log = RotatingFile::open(dir.path(), "distd.log", 100, 2).unwrap();
        let line = [b'x'; 39]; // 40 bytes with the newline: two lines fit, the third rotates
        for i in 0..7u8 {
            let mut l = line.to_vec();
            l[0] = b'0' + i;
            l.push(b'\n');
            (&log).write_all(&l).unwrap();
        }
        let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap_or_default();
        // 7 lines, 2 per file: lines 6 | 4,5 | 2,3 kept; 0,1 dropped (keep = 2).
        assert!(read("distd.log").starts_with('6'), "{}", read("distd.log"));
        assert_eq!(read("distd.log").len(), 40);
        assert!(read("distd.log.1").starts_with('4'));
        assert_eq!(read("distd.log.1").len(), 80);
        assert!(read("distd.log.2").starts_with('2'));
        assert!(!dir.path().join("distd.log.3").exists());
    }

    #[test]
    fn appends_to_an_existing_file_and_counts_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("distd.log"), vec![b'a'; 90]).unwrap();
        let log = RotatingFile::open(dir.path(), "distd.log", 100, 1).unwrap();
        (&log).write_all(&[b'b'; 20]).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("distd.log")).unwrap(),
            vec![b'b'; 20]
        );
        assert_eq!(
            std::fs::read(dir.path().join("distd.log.1")).unwrap().len(),
            90
        );
    }
}
