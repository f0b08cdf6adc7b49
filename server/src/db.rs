//! SQLite: connections, migrations and every query (one function per query, each taking a
//! connection). One writer connection behind a mutex and a few readers, all used from
//! `spawn_blocking`; WAL lets readers run beside the writer. Nothing here knows HTTP.

use platform::api::ReleaseStatus;
use platform::{
    AppSlug, Arch, ArtifactId, Build, FileName, InstallMode, Kind, PlatformId, ReleaseId, Sha256,
    Version,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

use crate::error::{AppError, AppResult};

/// The numbered migrations, applied in order and recorded in `schema_migrations`.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_init.sql",
        include_str!("../../migrations/0001_init.sql"),
    ),
    (
        2,
        "0002_access.sql",
        include_str!("../../migrations/0002_access.sql"),
    ),
    (
        3,
        "0003_reinspect.sql",
        include_str!("../../migrations/0003_reinspect.sql"),
    ),
    (
        4,
        "0004_version_mismatch.sql",
        include_str!("../../migrations/0004_version_mismatch.sql"),
    ),
    (
        5,
        "0005_operations.sql",
        include_str!("../../migrations/0005_operations.sql"),
    ),
    (
        6,
        "0006_link.sql",
        include_str!("../../migrations/0006_link.sql"),
    ),
    (
        7,
        "0007_app_keys.sql",
        include_str!("../../migrations/0007_app_keys.sql"),
    ),
    (
        8,
        "0008_admin_console.sql",
        include_str!("../../migrations/0008_admin_console.sql"),
    ),
    (
        9,
        "0009_notarization.sql",
        include_str!("../../migrations/0009_notarization.sql"),
    ),
];

const READERS: usize = 4;

#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// `DATA/audit-head`: the newest audit row's seq and hash, rewritten after each commit
    /// that added one, so `audit verify` notices rows cut from the end of the chain.
    audit_head: PathBuf,
    audit_head_seq: AtomicI64,
    /// Why writes are refused (the audit chain does not match its head anchor), if they are.
    read_only: std::sync::RwLock<Option<String>>,
    /// Counts write transactions: read-path caches keep what they read with the count at the
    /// time and drop it once a write has happened since ([`Db::generation`]).
    generation: AtomicU64,
    /// A connection kept only to ask `PRAGMA data_version`, which changes when any other
    /// connection (this process's writer, `distd token create`, a second distd) commits.
    watch: Mutex<Watch>,
    /// Checks of `data_version` begun so far (see [`Db::data_version`]).
    checks_begun: AtomicU64,
    /// The wal-index header, read instead of asking `PRAGMA data_version` when the database
    /// is in WAL mode (it always is once `open_writer` ran, unless the file system refused).
    wal_index: Option<WalIndex>,
}

/// SQLite's wal-index header: the first 96 bytes of `<database>-shm`, two copies of the
/// 48-byte header that every commit rewrites (its change counter, last frame, checksums and
/// salts: <https://sqlite.org/walformat.html>, "The WAL-Index Header"). A commit rewrites it
/// before the committing call returns, and it never comes back to a former value (the change
/// counter only grows), so "the header differs from the one seen last" is "something was
/// committed since", by any connection of any process. Reading it is one `pread` with no
/// lock, where `PRAGMA data_version` takes and drops SQLite's read lock (two `fcntl` calls
/// and a transaction): a tenth of a cached lookup's time (issue 20's bench).
struct WalIndex {
    shm: std::fs::File,
    /// The header seen last and how many changes were seen.
    seen: Mutex<([u8; WAL_INDEX_HEADER], u64)>,
}

const WAL_INDEX_HEADER: usize = 96;

impl WalIndex {
    /// The header of the database at `path`, when `conn` says it is in WAL mode and the
    /// `-shm` file reads.
    fn open(path: &Path, conn: &Connection) -> Option<Self> {
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .ok()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return None;
        }
        let mut shm = path.as_os_str().to_owned();
        shm.push("-shm");
        let index = Self {
            shm: std::fs::File::open(shm).ok()?,
            seen: Mutex::new(([0; WAL_INDEX_HEADER], 0)),
        };
        index.read()?;
        Some(index)
    }

    fn read(&self) -> Option<[u8; WAL_INDEX_HEADER]> {
        use std::os::unix::fs::FileExt;
        let mut header = [0; WAL_INDEX_HEADER];
        self.shm.read_exact_at(&mut header, 0).ok()?;
        Some(header)
    }

    /// How many changes of the header were seen, this one included. A header that cannot be
    /// read, or whose two copies differ (a commit is writing it), counts as a change.
    fn changes(&self) -> u64 {
        let now = self.read();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match now {
            Some(h) if h[..48] == h[48..] && h == seen.0 => {}
            Some(h) => {
                seen.0 = h;
                seen.1 += 1;
            }
            None => {
                seen.0 = [0; WAL_INDEX_HEADER];
                seen.1 += 1;
            }
        }
        seen.1
    }
}

struct Watch {
    conn: Connection,
    /// The number of the last check that completed.
    done: u64,
    /// The last `data_version` read, and how many checks failed: their sum is the answer, so
    /// a failed check counts as a change and the answer never goes back.
    read: u64,
    failed: u64,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // FULL: an acknowledged write survives power loss, not only a killed process.
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// Opens (creating if needed) the database, switches it to WAL and applies migrations.
pub fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    configure(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

pub fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    Ok(conn)
}

/// The connection that asks `PRAGMA data_version` ([`Db::generation`]). Requests wait on it,
/// so it waits little for a lock: a check that fails counts as a change (a cache miss), which
/// is always safe.
fn open_watch(path: &Path) -> rusqlite::Result<Connection> {
    let conn = open_reader(path)?;
    conn.busy_timeout(std::time::Duration::from_millis(100))?;
    Ok(conn)
}

/// Opens for reading only, without migrating, and lets a database from before migration 6
/// (`artifacts.link` was `testflight_url`) or 9 (no notarization columns) be read under
/// today's column names, through a
/// temporary view on this connection only: for commands that promise not to write, such as
/// `distd reinspect --dry-run` on a data folder not yet started by this distd.
pub fn open_reader_any_version(path: &Path) -> rusqlite::Result<Connection> {
    let conn = open_reader(path)?;
    let has = |column: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM pragma_table_info('artifacts') WHERE name = ?1)",
            [column],
            |r| r.get(0),
        )
    };
    // Columns later migrations renamed or added, as the queries name them.
    let mut extra = Vec::new();
    if has("testflight_url")? {
        extra.push("testflight_url AS link");
    }
    if !has("notarization_submission_id")? {
        extra.push("NULL AS notarization_submission_id, NULL AS notarization_status");
    }
    if !extra.is_empty() {
        conn.execute_batch(&format!(
            "CREATE TEMP VIEW artifacts AS SELECT *, {} FROM main.artifacts",
            extra.join(", ")
        ))?;
    }
    Ok(conn)
}

/// Applies every migration not yet recorded, each in its own transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<Vec<i64>> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )?;
    refuse_newer_schema(conn)?;
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |r| r.get(0),
        )?;
        if !done {
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?1, ?2, ?3)",
                params![version, name, crate::util::now()],
            )?;
            applied.push(*version);
        }
        tx.commit()?;
    }
    Ok(applied)
}

/// A database that a newer distd migrated (a downgrade) is refused rather than used with a
/// schema this binary does not know.
fn refuse_newer_schema(conn: &Connection) -> rusqlite::Result<()> {
    let newest: Option<i64> =
        conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })?;
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    match newest {
        Some(n) if n > known => Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(format!(
                "the database has schema version {n}: it was written by a newer distd (migration {n}; this distd knows up to {known}). Run that version (or newer) again, or restore the backup taken before the upgrade"
            )),
        )),
        _ => Ok(()),
    }
}

impl Db {
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let writer = open_writer(path)?;
        let readers = (0..READERS)
            .map(|_| open_reader(path).map(Mutex::new))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let watch = open_watch(path)?;
        let wal_index = WalIndex::open(path, &watch);
        if wal_index.is_none() {
            tracing::debug!("no WAL index to watch: asking PRAGMA data_version per request");
        }
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                audit_head: crate::audit::head_path(path),
                audit_head_seq: AtomicI64::new(0),
                read_only: std::sync::RwLock::new(None),
                generation: AtomicU64::new(0),
                watch: Mutex::new(Watch {
                    conn: watch,
                    done: 0,
                    read: 0,
                    failed: 0,
                }),
                checks_begun: AtomicU64::new(0),
                wal_index,
            }),
        })
    }

    /// Refuses every write from now on with `why` (503): downloads and reads go on.
    pub fn set_read_only(&self, why: String) {
        *self
            .inner
            .read_only
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(why);
    }

    /// Why writes are refused, when they are.
    pub fn read_only(&self) -> Option<String> {
        self.inner
            .read_only
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `PRAGMA wal_checkpoint(TRUNCATE)` on the writer: at shutdown, so that the database file
    /// alone holds every commit and the WAL is empty (a copy of the file is whole).
    pub fn checkpoint(&self) -> rusqlite::Result<(i64, i64)> {
        let conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })
    }

    /// Runs `f` in one IMMEDIATE transaction on the writer; commits when it returns Ok.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> AppResult<T> + Send + 'static,
    {
        if let Some(why) = self.read_only() {
            return Err(AppError::unavailable(why));
        }
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .writer
                .lock()
                .map_err(|_| AppError::internal("db", "writer mutex poisoned"))?;
            let out = write_tx(&mut conn, f);
            // Counted whether or not it committed: a cache dropped for nothing costs one read.
            inner.generation.fetch_add(1, Ordering::Release);
            let out = out?;
            // A failed anchor write is logged (as an internal error) and does not undo the
            // commit: verify still walks the chain, only a cut end would go unseen.
            let _ = move_audit_head(&conn, &inner.audit_head, &inner.audit_head_seq);
            Ok(out)
        })
        .await
        .map_err(|e| AppError::internal("db task", e))?
    }

    /// Changes whenever the database has: a value read at generation `g` is still what the
    /// database holds while `generation()` is `g`. It counts this process's writes and adds
    /// SQLite's `data_version`, so a commit by another process (a token revoked or created by
    /// `distd token`, a second distd on the same data folder) counts from the next call on.
    /// Both parts only grow, so the sum never comes back to a value it had.
    ///
    /// Inside [`one_check_per_request`] the first call checks for changes and the later ones
    /// reuse that answer (a check made after the request arrived); this process's own
    /// writes are counted live, so a request still sees what it wrote itself.
    pub fn generation(&self) -> u64 {
        let own = self.inner.generation.load(Ordering::Acquire);
        let seen = REQUEST_DATA_VERSION.try_with(|c| c.get());
        let version = match seen {
            Ok(Some(v)) => v,
            Ok(None) => {
                let v = self.data_version();
                let _ = REQUEST_DATA_VERSION.try_with(|c| c.set(Some(v)));
                v
            }
            Err(_) => self.data_version(),
        };
        own.wrapping_add(version)
    }

    /// How often the database changed, as of a moment after this call began: the changes of
    /// the wal-index header ([`WalIndex`]), or, without one, `PRAGMA data_version` of the
    /// watching connection. Concurrent callers of the latter share one check: a caller that
    /// finds a check completed that began after it arrived takes that check's answer (it saw
    /// every commit before the caller arrived), else it checks itself. So a busy server asks
    /// SQLite about once per queue of waiting requests, and none is answered from a check
    /// older than its own arrival.
    fn data_version(&self) -> u64 {
        if let Some(index) = &self.inner.wal_index {
            return index.changes();
        }
        let arrived = self.inner.checks_begun.load(Ordering::Acquire);
        let mut w = self.inner.watch.lock().unwrap_or_else(|p| p.into_inner());
        if w.done <= arrived {
            let number = self.inner.checks_begun.fetch_add(1, Ordering::AcqRel) + 1;
            let read = w
                .conn
                .prepare_cached("PRAGMA data_version")
                .and_then(|mut st| st.query_row([], |r| r.get::<_, i64>(0)));
            match read {
                // data_version only grows while the connection is open.
                Ok(v) => w.read = v as u64,
                Err(e) => {
                    // Unknown counts as changed: every cached entry misses, and the reads that
                    // follow report the database's trouble themselves.
                    tracing::warn!("PRAGMA data_version: {e}");
                    w.failed += 1;
                }
            }
            w.done = number;
        }
        w.read.wrapping_add(w.failed)
    }

    /// Runs `f` on one of the reader connections.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> AppResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let n = inner.readers.len();
            let start = inner.next_reader.fetch_add(1, Ordering::Relaxed);
            // Take a free reader if there is one, else wait for the one in turn.
            for i in 0..n {
                if let Ok(conn) = inner.readers[(start + i) % n].try_lock() {
                    return f(&conn);
                }
            }
            let conn = inner.readers[start % n]
                .lock()
                .map_err(|_| AppError::internal("db", "reader mutex poisoned"))?;
            f(&conn)
        })
        .await
        .map_err(|e| AppError::internal("db task", e))?
    }
}

tokio::task_local! {
    /// The `data_version` a request's first [`Db::generation`] read.
    static REQUEST_DATA_VERSION: std::cell::Cell<Option<u64>>;
}

/// Runs `request` with one `data_version` check for all its cache lookups (a bearer token and
/// a channel are two): the lookups that follow the first use its answer, which is no older
/// than the request.
pub async fn one_check_per_request<F: std::future::Future>(request: F) -> F::Output {
    REQUEST_DATA_VERSION
        .scope(std::cell::Cell::new(None), request)
        .await
}

/// One IMMEDIATE transaction (takes the write lock at once, so a read-then-write inside it
/// cannot race another process).
pub fn write_tx<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> AppResult<T>,
) -> AppResult<T> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// [`write_tx`] for the command line (`distd token create`, `distd gc`): also moves the audit
/// head anchor beside the database, as the server does after its own commits.
pub fn write_tx_anchored<T>(
    conn: &mut Connection,
    db_path: &std::path::Path,
    f: impl FnOnce(&Transaction<'_>) -> AppResult<T>,
) -> AppResult<T> {
    let out = write_tx(conn, f)?;
    move_audit_head(conn, &crate::audit::head_path(db_path), &AtomicI64::new(0))?;
    Ok(out)
}

/// Points the audit head anchor at the newest row, unless `written` says it already does.
/// Called after a commit, never before: the anchor may lag the chain (a crash between the
/// two), never lead it.
fn move_audit_head(conn: &Connection, head: &Path, written: &AtomicI64) -> AppResult<()> {
    if let Some((seq, hash)) = last_audit(conn)?
        && written.swap(seq, Ordering::Relaxed) != seq
    {
        crate::audit::write_head(head, seq, &hash)
            .map_err(|e| AppError::internal("write audit head", e))?;
    }
    Ok(())
}

// ---------------------------------------------------------------- rows

#[derive(Debug, Clone)]
pub struct AppRow {
    pub slug: String,
    pub name: String,
    pub platforms: String,
    pub identity: String,
    pub created_at: String,
    /// `public` or `token`.
    pub access: String,
    /// `warning` or `error` (platform::versions::MismatchPolicy).
    pub version_mismatch: String,
}

/// A release as stored; the row mapper checks every typed column, so a corrupt row is an
/// error naming it ([`CorruptRow`]), never a value silently dropped.
#[derive(Debug, Clone)]
pub struct ReleaseRow {
    pub id: ReleaseId,
    pub app: AppSlug,
    pub version: Version,
    pub build: Build,
    pub notes: Option<String>,
    pub source: Option<String>,
    pub status: ReleaseStatus,
    pub fingerprint: String,
    pub created_at: String,
    pub published_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoke_reason: Option<String>,
}

/// An artifact as stored, typed like [`ReleaseRow`].
#[derive(Debug, Clone)]
pub struct ArtifactRow {
    pub id: ArtifactId,
    pub release_id: ReleaseId,
    pub position: i64,
    pub file_name: Option<FileName>,
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
    pub platform: Option<PlatformId>,
    pub arch: Option<Arch>,
    pub spec_install: Option<InstallMode>,
    pub install_mode: Option<InstallMode>,
    pub link: Option<String>,
    pub kind: Option<Kind>,
    pub attached: bool,
    pub inspection: Option<String>,
    pub icon_sha256: Option<Sha256>,
    pub attached_at: Option<String>,
    /// The notarization submission listed with the file (`notarization_submission_id`,
    /// `notarization_status`).
    pub notarization: Option<platform::Notarization>,
}

impl ArtifactRow {
    /// A row not yet attached: what a draft's artifact list says, nothing inspected.
    pub fn planned(id: ArtifactId, release_id: ReleaseId, position: i64) -> Self {
        Self {
            id,
            release_id,
            position,
            file_name: None,
            sha256: None,
            size: None,
            platform: None,
            arch: None,
            spec_install: None,
            install_mode: None,
            link: None,
            kind: None,
            attached: false,
            inspection: None,
            icon_sha256: None,
            attached_at: None,
            notarization: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChannelRow {
    pub app: String,
    pub name: String,
    pub release_id: Option<ReleaseId>,
    pub policy: String,
    pub updated_at: String,
    /// `public` or `token`.
    pub access: String,
}

#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub from_release_id: Option<ReleaseId>,
    pub to_release_id: Option<ReleaseId>,
}

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub hash: Vec<u8>,
    pub scopes: String,
    pub app: Option<String>,
    pub channels: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    pub created_by: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub app: Option<String>,
    pub subject: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

// ---------------------------------------------------------------- apps

const APP_COLS: &str = "slug, name, platforms, identity, created_at, access, version_mismatch";

fn app_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AppRow> {
    Ok(AppRow {
        slug: r.get(0)?,
        name: r.get(1)?,
        platforms: r.get(2)?,
        identity: r.get(3)?,
        created_at: r.get(4)?,
        access: r.get(5)?,
        version_mismatch: r.get(6)?,
    })
}

pub fn insert_app(c: &Connection, a: &AppRow) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO apps(slug, name, platforms, identity, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![a.slug, a.name, a.platforms, a.identity, a.created_at],
    )?;
    Ok(())
}

pub fn get_app(c: &Connection, slug: &str) -> rusqlite::Result<Option<AppRow>> {
    c.query_row(
        &format!("SELECT {APP_COLS} FROM apps WHERE slug = ?1"),
        [slug],
        app_row,
    )
    .optional()
}

pub fn list_apps(c: &Connection) -> rusqlite::Result<Vec<AppRow>> {
    let mut st = c.prepare(&format!("SELECT {APP_COLS} FROM apps ORDER BY slug"))?;
    st.query_map([], app_row)?.collect()
}

pub fn set_app_access(c: &Connection, slug: &str, access: &str) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE apps SET access = ?2 WHERE slug = ?1",
        params![slug, access],
    )
}

pub fn set_app_version_mismatch(
    c: &Connection,
    slug: &str,
    policy: &str,
) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE apps SET version_mismatch = ?2 WHERE slug = ?1",
        params![slug, policy],
    )
}

/// One public key an admin added to an app (`app_keys`).
#[derive(Debug, Clone)]
pub struct AppKeyRow {
    pub platform: String,
    pub fingerprint: String,
    pub label: String,
    pub key: Vec<u8>,
    pub added_at: String,
    pub added_by: String,
}

/// The app's keys, by platform and fingerprint.
pub fn list_app_keys(c: &Connection, app: &str) -> rusqlite::Result<Vec<AppKeyRow>> {
    let mut st = c.prepare_cached(
        "SELECT platform, fingerprint, label, key, added_at, added_by FROM app_keys
         WHERE app = ?1 ORDER BY platform, fingerprint",
    )?;
    st.query_map(params![app], |r| {
        Ok(AppKeyRow {
            platform: r.get(0)?,
            fingerprint: r.get(1)?,
            label: r.get(2)?,
            key: r.get(3)?,
            added_at: r.get(4)?,
            added_by: r.get(5)?,
        })
    })?
    .collect()
}

/// Adds a key; an existing (app, platform, fingerprint) is left as it is. Answers whether a
/// row was added.
pub fn insert_app_key(c: &Connection, app: &str, k: &AppKeyRow) -> rusqlite::Result<bool> {
    let n = c.execute(
        "INSERT OR IGNORE INTO app_keys (app, platform, fingerprint, label, key, added_at, added_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![app, k.platform, k.fingerprint, k.label, k.key, k.added_at, k.added_by],
    )?;
    Ok(n == 1)
}

pub fn delete_app_key(c: &Connection, app: &str, fingerprint: &str) -> rusqlite::Result<usize> {
    c.execute(
        "DELETE FROM app_keys WHERE app = ?1 AND fingerprint = ?2",
        params![app, fingerprint],
    )
}

pub fn update_app_identity(c: &Connection, slug: &str, identity: &str) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE apps SET identity = ?2 WHERE slug = ?1",
        params![slug, identity],
    )
}

// ---------------------------------------------------------------- releases

const RELEASE_COLS: &str = "id, app, version, build, notes, source, status, fingerprint, \
     created_at, published_at, revoked_at, revoke_reason";

fn release_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReleaseRow> {
    let id: String = r.get(0)?;
    let row = || format!("release {id}");
    Ok(ReleaseRow {
        id: typed(r, 0, "id", row)?,
        app: typed(r, 1, "app", row)?,
        version: typed(r, 2, "version", row)?,
        build: typed(r, 3, "build", row)?,
        notes: r.get(4)?,
        source: r.get(5)?,
        status: release_status(r, 6)?,
        fingerprint: r.get(7)?,
        created_at: r.get(8)?,
        published_at: r.get(9)?,
        revoked_at: r.get(10)?,
        revoke_reason: r.get(11)?,
    })
}

pub fn insert_release(c: &Connection, r: &ReleaseRow) -> rusqlite::Result<()> {
    c.execute(
        &format!(
            "INSERT INTO releases({RELEASE_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
        ),
        params![
            r.id.as_str(),
            r.app.as_str(),
            r.version.as_str(),
            r.build.as_str(),
            r.notes,
            r.source,
            r.status.as_str(),
            r.fingerprint,
            r.created_at,
            r.published_at,
            r.revoked_at,
            r.revoke_reason
        ],
    )?;
    Ok(())
}

pub fn get_release(c: &Connection, id: &str) -> rusqlite::Result<Option<ReleaseRow>> {
    c.query_row(
        &format!("SELECT {RELEASE_COLS} FROM releases WHERE id = ?1"),
        [id],
        release_row,
    )
    .optional()
}

pub fn get_release_by_key(
    c: &Connection,
    app: &str,
    version: &str,
    build: &str,
) -> rusqlite::Result<Option<ReleaseRow>> {
    c.query_row(
        &format!(
            "SELECT {RELEASE_COLS} FROM releases WHERE app = ?1 AND version = ?2 AND build = ?3"
        ),
        params![app, version, build],
        release_row,
    )
    .optional()
}

/// One page of an app's releases, newest first; `None` filters match anything.
#[derive(Debug, Default, Clone)]
pub struct ReleaseFilter {
    pub status: Option<String>,
    pub version: Option<String>,
    /// Releases with at least one artifact of this platform.
    pub platform: Option<String>,
    /// Created at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Strictly older than this `(created_at, id)`: the previous page's last row.
    pub before: Option<(String, String)>,
    pub limit: i64,
}

/// One page, newest first (`created_at`, then `id`, both descending). Only the filters given
/// are in the SQL, and the cursor is a row-value comparison, so SQLite walks the index
/// `releases_app_created_id` from the cursor: a page deep in a long list costs what the first
/// does (a `?6 IS NULL OR ...` form would make it scan from the newest row down).
pub fn list_releases(
    c: &Connection,
    app: &str,
    f: &ReleaseFilter,
) -> rusqlite::Result<Vec<ReleaseRow>> {
    let mut sql = format!("SELECT {RELEASE_COLS} FROM releases r WHERE app = ?1");
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&app];
    for (given, cond) in [
        (f.status.is_some(), " AND status = ?"),
        (f.version.is_some(), " AND version = ?"),
        (
            f.platform.is_some(),
            " AND EXISTS(SELECT 1 FROM artifacts a WHERE a.release_id = r.id AND a.platform = ?)",
        ),
        (f.since.is_some(), " AND created_at >= ?"),
        (f.before.is_some(), " AND (created_at, id) < (?, ?)"),
    ] {
        if given {
            sql.push_str(cond);
        }
    }
    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
    for v in [&f.status, &f.version, &f.platform, &f.since]
        .into_iter()
        .flatten()
    {
        args.push(v);
    }
    if let Some((at, id)) = &f.before {
        args.push(at);
        args.push(id);
    }
    args.push(&f.limit);
    let mut st = c.prepare_cached(&sql)?;
    st.query_map(args.as_slice(), release_row)?.collect()
}

pub fn list_all_releases(c: &Connection) -> rusqlite::Result<Vec<ReleaseRow>> {
    let mut st = c.prepare(&format!("SELECT {RELEASE_COLS} FROM releases ORDER BY id"))?;
    st.query_map([], release_row)?.collect()
}

pub fn set_release_published(c: &Connection, id: &str, at: &str) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE releases SET status = ?3, published_at = ?2 WHERE id = ?1 AND status = ?4",
        params![
            id,
            at,
            ReleaseStatus::Published.as_str(),
            ReleaseStatus::Draft.as_str()
        ],
    )
}

pub fn set_release_revoked(
    c: &Connection,
    id: &str,
    at: &str,
    reason: &str,
) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE releases SET status = ?4, revoked_at = ?2, revoke_reason = ?3 \
         WHERE id = ?1 AND status = ?5",
        params![
            id,
            at,
            reason,
            ReleaseStatus::Revoked.as_str(),
            ReleaseStatus::Published.as_str()
        ],
    )
}

pub fn delete_draft(c: &Connection, id: &str) -> rusqlite::Result<usize> {
    c.execute(
        "DELETE FROM releases WHERE id = ?1 AND status = ?2",
        params![id, ReleaseStatus::Draft.as_str()],
    )
}

// ---------------------------------------------------------------- artifacts

const ARTIFACT_COLS: &str = "id, release_id, position, file_name, sha256, size, platform, arch, \
     spec_install, install_mode, link, kind, attached, inspection, icon_sha256, attached_at, \
     notarization_submission_id, notarization_status";

fn artifact_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ArtifactRow> {
    let id: String = r.get(0)?;
    let row = || format!("artifact {id}");
    Ok(ArtifactRow {
        id: typed(r, 0, "id", row)?,
        release_id: typed(r, 1, "release_id", row)?,
        position: r.get(2)?,
        file_name: typed_opt(r, 3, "file_name", row)?,
        sha256: typed_opt(r, 4, "sha256", row)?,
        size: match r.get::<_, Option<i64>>(5)? {
            Some(n) => {
                Some(u64::try_from(n).map_err(|_| {
                    corrupt(5, row(), "size", n.to_string(), "a negative size".into())
                })?)
            }
            None => None,
        },
        platform: typed_opt(r, 6, "platform", row)?,
        arch: typed_opt(r, 7, "arch", row)?,
        spec_install: typed_opt(r, 8, "spec_install", row)?,
        install_mode: typed_opt(r, 9, "install_mode", row)?,
        link: r.get(10)?,
        kind: typed_opt(r, 11, "kind", row)?,
        attached: r.get::<_, i64>(12)? != 0,
        inspection: r.get(13)?,
        icon_sha256: typed_opt(r, 14, "icon_sha256", row)?,
        attached_at: r.get(15)?,
        notarization: match (
            r.get::<_, Option<String>>(16)?,
            r.get::<_, Option<String>>(17)?,
        ) {
            (Some(submission_id), Some(status)) => Some(platform::Notarization {
                submission_id,
                status: status.parse().map_err(|e: platform::InvalidValue| {
                    corrupt(17, row(), "notarization_status", status, e.to_string())
                })?,
            }),
            _ => None,
        },
    })
}

/// Text columns of these tables as SQLite takes them.
fn text<T: AsRef<str>>(v: &Option<T>) -> Option<&str> {
    v.as_ref().map(AsRef::as_ref)
}

fn hex_of(v: &Option<Sha256>) -> Option<String> {
    v.as_ref().map(Sha256::hex)
}

fn size_of(v: Option<u64>) -> rusqlite::Result<Option<i64>> {
    v.map(|n| i64::try_from(n).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
        .transpose()
}

pub fn insert_artifact(c: &Connection, a: &ArtifactRow) -> rusqlite::Result<()> {
    c.execute(
        &format!(
            "INSERT INTO artifacts({ARTIFACT_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)"
        ),
        params![
            a.id.as_str(), a.release_id.as_str(), a.position, text(&a.file_name),
            hex_of(&a.sha256), size_of(a.size)?, text(&a.platform), text(&a.arch),
            text(&a.spec_install), text(&a.install_mode), a.link, text(&a.kind),
            a.attached as i64, a.inspection, hex_of(&a.icon_sha256), a.attached_at,
            a.notarization.as_ref().map(|n| n.submission_id.as_str()),
            a.notarization.as_ref().map(|n| n.status.as_str())
        ],
    )?;
    Ok(())
}

pub fn list_artifacts(c: &Connection, release_id: &str) -> rusqlite::Result<Vec<ArtifactRow>> {
    // Cached: a page of releases asks this once per release.
    let mut st = c.prepare_cached(&format!(
        "SELECT {ARTIFACT_COLS} FROM artifacts WHERE release_id = ?1 ORDER BY position"
    ))?;
    st.query_map([release_id], artifact_row)?.collect()
}

/// Artifacts whose release the retention policy has not removed: the ones whose files count.
/// A database not yet migrated to 0005 (read by `fsck` or `reinspect --dry-run`, which do not
/// migrate) has no removed releases.
fn live_artifacts(c: &Connection) -> rusqlite::Result<&'static str> {
    let migrated: bool = c.query_row(
        "SELECT EXISTS(SELECT 1 FROM pragma_table_info('releases') WHERE name = 'removed_at')",
        [],
        |r| r.get(0),
    )?;
    Ok(if migrated {
        "artifacts WHERE release_id IN (SELECT id FROM releases WHERE removed_at IS NULL)"
    } else {
        "artifacts WHERE 1"
    })
}

/// Every blob digest (hex) an artifact (attached or not) or its icon refers to, except the
/// artifacts of releases the retention policy removed.
pub fn referenced_blobs(c: &Connection) -> rusqlite::Result<std::collections::BTreeSet<String>> {
    let live = live_artifacts(c)?;
    let mut st = c.prepare(&format!(
        "SELECT sha256 FROM {live} AND sha256 IS NOT NULL \
         UNION SELECT icon_sha256 FROM {live} AND icon_sha256 IS NOT NULL"
    ))?;
    st.query_map([], |r| r.get(0))?.collect()
}

/// True when any artifact (attached or not) or icon of a release not removed refers to the blob.
pub fn blob_referenced(c: &Connection, hex: &str) -> rusqlite::Result<bool> {
    c.query_row(
        &format!(
            "SELECT EXISTS(SELECT 1 FROM {} AND (sha256 = ?1 OR icon_sha256 = ?1))",
            live_artifacts(c)?
        ),
        [hex],
        |r| r.get(0),
    )
}

/// Every artifact whose release was not removed (a removed release's files may be gone).
/// The distinct files attached artifacts refer to, and their bytes (the console's storage
/// figure; read from the database, so no walk of the blob store wakes a NAS's disks).
pub fn stored_files(c: &Connection) -> rusqlite::Result<(i64, i64)> {
    c.query_row(
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM \
           (SELECT sha256, MAX(size) AS size FROM artifacts WHERE sha256 IS NOT NULL GROUP BY sha256)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

pub fn list_all_artifacts(c: &Connection) -> rusqlite::Result<Vec<ArtifactRow>> {
    let mut st = c.prepare(&format!(
        "SELECT {ARTIFACT_COLS} FROM {} ORDER BY id",
        live_artifacts(c)?
    ))?;
    st.query_map([], artifact_row)?.collect()
}

pub fn get_artifact(c: &Connection, id: &str) -> rusqlite::Result<Option<ArtifactRow>> {
    c.query_row(
        &format!("SELECT {ARTIFACT_COLS} FROM artifacts WHERE id = ?1"),
        [id],
        artifact_row,
    )
    .optional()
}

/// Marks an artifact attached with its inspection; only while it is still unattached.
pub fn attach_artifact(c: &Connection, a: &ArtifactRow) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE artifacts SET attached = 1, kind = ?2, platform = ?3, install_mode = ?4, \
         inspection = ?5, icon_sha256 = ?6, attached_at = ?7, size = ?8 \
         WHERE id = ?1 AND attached = 0",
        params![
            a.id.as_str(),
            text(&a.kind),
            text(&a.platform),
            text(&a.install_mode),
            a.inspection,
            hex_of(&a.icon_sha256),
            a.attached_at,
            size_of(a.size)?
        ],
    )
}

// ---------------------------------------------------------------- channels

const CHANNEL_COLS: &str = "app, name, release_id, policy, updated_at, access";

fn channel_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChannelRow> {
    let (app, name): (String, String) = (r.get(0)?, r.get(1)?);
    let release_id = typed_opt(r, 2, "release_id", || format!("channel {app}/{name}"))?;
    Ok(ChannelRow {
        app,
        name,
        release_id,
        policy: r.get(3)?,
        updated_at: r.get(4)?,
        access: r.get(5)?,
    })
}

pub fn get_channel(c: &Connection, app: &str, name: &str) -> rusqlite::Result<Option<ChannelRow>> {
    c.query_row(
        &format!("SELECT {CHANNEL_COLS} FROM channels WHERE app = ?1 AND name = ?2"),
        params![app, name],
        channel_row,
    )
    .optional()
}

pub fn list_channels(c: &Connection, app: &str) -> rusqlite::Result<Vec<ChannelRow>> {
    let mut st = c.prepare(&format!(
        "SELECT {CHANNEL_COLS} FROM channels WHERE app = ?1 ORDER BY name"
    ))?;
    st.query_map([app], channel_row)?.collect()
}

pub fn upsert_channel_pointer(
    c: &Connection,
    app: &str,
    name: &str,
    release_id: &str,
    at: &str,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO channels(app, name, release_id, policy, updated_at) VALUES (?1, ?2, ?3, '{}', ?4) \
         ON CONFLICT(app, name) DO UPDATE SET release_id = excluded.release_id, updated_at = excluded.updated_at",
        params![app, name, release_id, at],
    )?;
    Ok(())
}

pub fn set_channel_policy(
    c: &Connection,
    app: &str,
    name: &str,
    policy: &str,
    at: &str,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO channels(app, name, release_id, policy, updated_at) VALUES (?1, ?2, NULL, ?3, ?4) \
         ON CONFLICT(app, name) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at",
        params![app, name, policy, at],
    )?;
    Ok(())
}

pub fn set_channel_access(
    c: &Connection,
    app: &str,
    name: &str,
    access: &str,
    at: &str,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO channels(app, name, release_id, policy, updated_at, access) VALUES (?1, ?2, NULL, '{}', ?4, ?3) \
         ON CONFLICT(app, name) DO UPDATE SET access = excluded.access, updated_at = excluded.updated_at",
        params![app, name, access, at],
    )?;
    Ok(())
}

/// Whether one of `channels` of `app` points, or ever pointed, at `release_id`.
pub fn release_on_channels(
    c: &Connection,
    app: &str,
    channels: &[String],
    release_id: &str,
) -> rusqlite::Result<bool> {
    let names = serde_json::to_string(channels).unwrap_or_else(|_| "[]".into());
    c.query_row(
        "SELECT EXISTS(SELECT 1 FROM channels WHERE app = ?1 AND release_id = ?3 \
             AND name IN (SELECT value FROM json_each(?2))) \
         OR EXISTS(SELECT 1 FROM channel_history WHERE app = ?1 AND to_release_id = ?3 \
             AND channel IN (SELECT value FROM json_each(?2)))",
        params![app, names, release_id],
        |r| r.get(0),
    )
}

/// The channels of `app` that point, or ever pointed, at `release_id` (what
/// [`release_on_channels`] asks, for every channel at once).
pub fn release_channels_ever(
    c: &Connection,
    app: &str,
    release_id: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare_cached(
        "SELECT name FROM channels WHERE app = ?1 AND release_id = ?2 \
         UNION SELECT channel FROM channel_history WHERE app = ?1 AND to_release_id = ?2",
    )?;
    st.query_map(params![app, release_id], |r| r.get(0))?
        .collect()
}

/// Whether a public channel of `app` points, or ever pointed, at `release_id`.
pub fn release_on_public_channel(
    c: &Connection,
    app: &str,
    release_id: &str,
) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT EXISTS(SELECT 1 FROM channels WHERE app = ?1 AND access = 'public' AND release_id = ?2) \
         OR EXISTS(SELECT 1 FROM channel_history h JOIN channels ch ON ch.app = h.app AND ch.name = h.channel \
             WHERE h.app = ?1 AND h.to_release_id = ?2 AND ch.access = 'public')",
        params![app, release_id],
        |r| r.get(0),
    )
}

pub fn insert_history(
    c: &Connection,
    app: &str,
    channel: &str,
    h: &HistoryRow,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO channel_history(app, channel, at, actor, action, from_release_id, to_release_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            app,
            channel,
            h.at,
            h.actor,
            h.action,
            text(&h.from_release_id),
            text(&h.to_release_id)
        ],
    )?;
    Ok(())
}

/// A channel's moves in order, after `after` (a seq), at most `limit`.
pub fn list_history(
    c: &Connection,
    app: &str,
    channel: &str,
    after: i64,
    limit: i64,
) -> rusqlite::Result<Vec<HistoryRow>> {
    let mut st = c.prepare(
        "SELECT seq, at, actor, action, from_release_id, to_release_id FROM channel_history \
         WHERE app = ?1 AND channel = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
    )?;
    st.query_map(params![app, channel, after, limit], |r| {
        let seq: i64 = r.get(0)?;
        let row = || format!("channel_history {seq} of {app}/{channel}");
        Ok(HistoryRow {
            seq,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            from_release_id: typed_opt(r, 4, "from_release_id", row)?,
            to_release_id: typed_opt(r, 5, "to_release_id", row)?,
        })
    })?
    .collect()
}

// ---------------------------------------------------------------- tokens

const TOKEN_COLS: &str = "id, name, hash, scopes, app, channels, created_at, expires_at, \
     revoked_at, last_used_at, created_by";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        name: r.get(1)?,
        hash: r.get(2)?,
        scopes: r.get(3)?,
        app: r.get(4)?,
        channels: r.get(5)?,
        created_at: r.get(6)?,
        expires_at: r.get(7)?,
        revoked_at: r.get(8)?,
        last_used_at: r.get(9)?,
        created_by: r.get(10)?,
    })
}

pub fn insert_token(c: &Connection, t: &TokenRow) -> rusqlite::Result<()> {
    c.execute(
        &format!("INSERT INTO tokens({TOKEN_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"),
        params![
            t.id,
            t.name,
            t.hash,
            t.scopes,
            t.app,
            t.channels,
            t.created_at,
            t.expires_at,
            t.revoked_at,
            t.last_used_at,
            t.created_by
        ],
    )?;
    Ok(())
}

pub fn token_by_hash(c: &Connection, hash: &[u8]) -> rusqlite::Result<Option<TokenRow>> {
    c.query_row(
        &format!("SELECT {TOKEN_COLS} FROM tokens WHERE hash = ?1"),
        [hash],
        token_row,
    )
    .optional()
}

pub fn get_token(c: &Connection, id: &str) -> rusqlite::Result<Option<TokenRow>> {
    c.query_row(
        &format!("SELECT {TOKEN_COLS} FROM tokens WHERE id = ?1"),
        [id],
        token_row,
    )
    .optional()
}

/// Tokens in creation order after `after` (`(created_at, id)` of the previous page's last),
/// at most `limit`; with `app` only the tokens limited to that app.
pub fn list_tokens(
    c: &Connection,
    app: Option<&str>,
    after: Option<(String, String)>,
    limit: i64,
) -> rusqlite::Result<Vec<TokenRow>> {
    let mut st = c.prepare(&format!(
        "SELECT {TOKEN_COLS} FROM tokens WHERE (?1 IS NULL OR app = ?1) \
           AND (?2 IS NULL OR created_at > ?2 OR (created_at = ?2 AND id > ?3)) \
         ORDER BY created_at, id LIMIT ?4"
    ))?;
    let (a_at, a_id) = after.unzip();
    st.query_map(params![app, a_at, a_id, limit], token_row)?
        .collect()
}

/// A token and the tokens it created (`created_by` is `tok_...:name`), in creation order: what
/// a person without the admin scope manages in the console.
pub fn list_tokens_made_by(c: &Connection, id: &str) -> rusqlite::Result<Vec<TokenRow>> {
    let mut st = c.prepare(&format!(
        "SELECT {TOKEN_COLS} FROM tokens WHERE id = ?1 OR substr(created_by, 1, length(?1) + 1) = ?1 || ':' \
         ORDER BY created_at, id LIMIT 1000"
    ))?;
    st.query_map([id], token_row)?.collect()
}

pub fn count_tokens(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0))
}

pub fn revoke_token(c: &Connection, id: &str, at: &str) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, at],
    )
}

pub fn touch_token(c: &Connection, id: &str, at: &str) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1",
        params![id, at],
    )
}

// ---------------------------------------------------------------- blob ownership

/// Records that a caller of `app` proved it holds the bytes of `sha256`.
pub fn grant_blob(c: &Connection, sha256: &str, app: &str, at: &str) -> rusqlite::Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO blob_apps(sha256, app, at) VALUES (?1, ?2, ?3)",
        params![sha256, app, at],
    )?;
    Ok(())
}

pub fn blob_usable_by(c: &Connection, sha256: &str, app: &str) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT EXISTS(SELECT 1 FROM blob_apps WHERE sha256 = ?1 AND app = ?2)",
        params![sha256, app],
        |r| r.get(0),
    )
}

/// Forgets who may use a blob (`distd gc` removed it).
pub fn forget_blob(c: &Connection, sha256: &str) -> rusqlite::Result<usize> {
    c.execute("DELETE FROM blob_apps WHERE sha256 = ?1", [sha256])
}

// ---------------------------------------------------------------- sessions

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub kind: String,
    pub token_id: String,
    pub expires_at: String,
}

pub fn insert_session(
    c: &Connection,
    hash: &[u8],
    kind: &str,
    token_id: &str,
    now: &str,
    expires_at: &str,
) -> rusqlite::Result<()> {
    // Expired sessions go as new ones come: the table holds only live ones.
    c.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
    c.execute(
        "INSERT INTO sessions(hash, kind, token_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![hash, kind, token_id, now, expires_at],
    )?;
    Ok(())
}

pub fn get_session(c: &Connection, hash: &[u8]) -> rusqlite::Result<Option<SessionRow>> {
    c.query_row(
        "SELECT kind, token_id, expires_at FROM sessions WHERE hash = ?1",
        [hash],
        |r| {
            Ok(SessionRow {
                kind: r.get(0)?,
                token_id: r.get(1)?,
                expires_at: r.get(2)?,
            })
        },
    )
    .optional()
}

pub fn delete_session(c: &Connection, hash: &[u8]) -> rusqlite::Result<usize> {
    c.execute("DELETE FROM sessions WHERE hash = ?1", [hash])
}

// ---------------------------------------------------------------- audit

const AUDIT_COLS: &str = "seq, at, actor, action, app, subject, details, prev_hash, hash";

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        app: r.get(4)?,
        subject: r.get(5)?,
        details: r.get(6)?,
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
    })
}

pub fn last_audit(c: &Connection) -> rusqlite::Result<Option<(i64, String)>> {
    c.query_row(
        "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

pub fn audit_hash_at(c: &Connection, seq: i64) -> rusqlite::Result<Option<String>> {
    c.query_row("SELECT hash FROM audit_events WHERE seq = ?1", [seq], |r| {
        r.get(0)
    })
    .optional()
}

pub fn insert_audit(c: &Connection, a: &AuditRow) -> rusqlite::Result<()> {
    c.execute(
        &format!("INSERT INTO audit_events({AUDIT_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)"),
        params![
            a.seq,
            a.at,
            a.actor,
            a.action,
            a.app,
            a.subject,
            a.details,
            a.prev_hash,
            a.hash
        ],
    )?;
    Ok(())
}

/// Filters for listing audit events; `None` means any.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub app: Option<String>,
    pub actor: Option<String>,
    pub after: Option<i64>,
    pub limit: i64,
}

pub fn list_audit(c: &Connection, f: &AuditFilter) -> rusqlite::Result<Vec<AuditRow>> {
    let mut st = c.prepare(&format!(
        "SELECT {AUDIT_COLS} FROM audit_events \
         WHERE (?1 IS NULL OR action = ?1) AND (?2 IS NULL OR app = ?2) \
           AND (?3 IS NULL OR actor = ?3) AND seq > COALESCE(?4, 0) \
         ORDER BY seq LIMIT ?5"
    ))?;
    st.query_map(
        params![f.action, f.app, f.actor, f.after, f.limit],
        audit_row,
    )?
    .collect()
}

/// The admin console's audit filters: exact actor, action and app, a time range
/// (`since` <= at < `until`, RFC 3339 as stored), and a page bound on `seq`.
#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub app: Option<String>,
    pub actor: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    /// Newest first, rows below this seq (`None`: from the newest); oldest first, above it.
    pub seq_bound: Option<i64>,
    pub newest_first: bool,
    pub limit: i64,
}

/// One page of audit events for the console (table: newest first; export: oldest first).
/// Only the filters given are in the SQL, so SQLite can use the index of the one given.
pub fn query_audit(c: &Connection, q: &AuditQuery) -> rusqlite::Result<Vec<AuditRow>> {
    let mut sql = format!("SELECT {AUDIT_COLS} FROM audit_events WHERE 1");
    let mut args: Vec<&dyn rusqlite::ToSql> = Vec::new();
    for (v, cond) in [
        (&q.action, " AND action = ?"),
        (&q.app, " AND app = ?"),
        (&q.actor, " AND actor = ?"),
        (&q.since, " AND at >= ?"),
        (&q.until, " AND at < ?"),
    ] {
        if let Some(v) = v {
            sql.push_str(cond);
            args.push(v);
        }
    }
    if let Some(b) = &q.seq_bound {
        sql.push_str(if q.newest_first {
            " AND seq < ?"
        } else {
            " AND seq > ?"
        });
        args.push(b);
    }
    sql.push_str(if q.newest_first {
        " ORDER BY seq DESC LIMIT ?"
    } else {
        " ORDER BY seq LIMIT ?"
    });
    args.push(&q.limit);
    let mut st = c.prepare_cached(&sql)?;
    st.query_map(args.as_slice(), audit_row)?.collect()
}

/// Calls `each` on every audit row in seq order without loading them all.
pub fn for_each_audit(
    c: &Connection,
    mut each: impl FnMut(AuditRow) -> bool,
) -> rusqlite::Result<()> {
    let mut st = c.prepare(&format!(
        "SELECT {AUDIT_COLS} FROM audit_events ORDER BY seq"
    ))?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        if !each(audit_row(r)?) {
            break;
        }
    }
    Ok(())
}

pub fn ping(c: &Connection) -> rusqlite::Result<()> {
    c.query_row("SELECT 1", [], |_| Ok(()))
}

/// A consistent copy of the live database (SQLite online backup).
pub fn backup(c: &Connection, out: &Path) -> rusqlite::Result<()> {
    let mut dst = Connection::open(out)?;
    let b = rusqlite::backup::Backup::new(c, &mut dst)?;
    b.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
    Ok(())
}

// ---------------------------------------------------------------- partial uploads

#[derive(Debug, Clone)]
pub struct PartialRow {
    pub sha256: String,
    pub app: String,
    pub token_id: String,
    pub total: i64,
    pub started_at: String,
    pub updated_at: String,
}

/// Records (or takes over) the resumable upload of `sha256`.
pub fn upsert_partial(c: &Connection, p: &PartialRow) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO partial_uploads(sha256, app, token_id, total, started_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(sha256) DO UPDATE SET app = excluded.app, \
         token_id = excluded.token_id, total = excluded.total, started_at = excluded.started_at, \
         updated_at = excluded.updated_at",
        params![
            p.sha256,
            p.app,
            p.token_id,
            p.total,
            p.started_at,
            p.updated_at
        ],
    )?;
    Ok(())
}

pub fn get_partial(c: &Connection, sha256: &str) -> rusqlite::Result<Option<PartialRow>> {
    c.query_row(
        "SELECT sha256, app, token_id, total, started_at, updated_at FROM partial_uploads WHERE sha256 = ?1",
        [sha256],
        partial_row,
    )
    .optional()
}

fn partial_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PartialRow> {
    Ok(PartialRow {
        sha256: r.get(0)?,
        app: r.get(1)?,
        token_id: r.get(2)?,
        total: r.get(3)?,
        started_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

pub fn list_partials(c: &Connection) -> rusqlite::Result<Vec<PartialRow>> {
    let mut st = c.prepare(
        "SELECT sha256, app, token_id, total, started_at, updated_at FROM partial_uploads ORDER BY sha256",
    )?;
    st.query_map([], partial_row)?.collect()
}

pub fn delete_partial(c: &Connection, sha256: &str) -> rusqlite::Result<usize> {
    c.execute("DELETE FROM partial_uploads WHERE sha256 = ?1", [sha256])
}

/// Declared bytes of the resumable uploads held, other than `sha256`'s: the token's and all.
pub fn partial_bytes(c: &Connection, token_id: &str, sha256: &str) -> rusqlite::Result<(i64, i64)> {
    c.query_row(
        "SELECT COALESCE(SUM(CASE WHEN token_id = ?1 THEN total END), 0), COALESCE(SUM(total), 0) \
         FROM partial_uploads WHERE sha256 <> ?2",
        params![token_id, sha256],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// A release's status column: a value no distd writes is a corrupt row, an error naming the
/// value, never read as a draft.
/// A stored value that no longer reads as its type: the row, the column and the value, for
/// the log; the client's 500 names the row only (see `AppError`'s conversion).
#[derive(Debug)]
pub struct CorruptRow {
    /// `artifact art_...`, `release rel_...`.
    pub row: String,
    pub column: &'static str,
    pub value: String,
    pub problem: String,
}

impl std::fmt::Display for CorruptRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: column {} holds {:?}, which does not read back ({})",
            self.row, self.column, self.value, self.problem
        )
    }
}

impl std::error::Error for CorruptRow {}

fn corrupt(
    col: usize,
    row: String,
    column: &'static str,
    value: String,
    problem: String,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Text,
        Box::new(CorruptRow {
            row,
            column,
            value: value.chars().take(200).collect(),
            problem,
        }),
    )
}

/// Reads a text column as a validated type; a value that does not parse is a [`CorruptRow`].
fn typed<T>(
    r: &rusqlite::Row<'_>,
    col: usize,
    column: &'static str,
    row: impl Fn() -> String,
) -> rusqlite::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let v: String = r.get(col)?;
    v.parse()
        .map_err(|e: T::Err| corrupt(col, row(), column, v.clone(), e.to_string()))
}

/// [`typed`] for a column that may be NULL.
fn typed_opt<T>(
    r: &rusqlite::Row<'_>,
    col: usize,
    column: &'static str,
    row: impl Fn() -> String,
) -> rusqlite::Result<Option<T>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match r.get::<_, Option<String>>(col)? {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|e: T::Err| corrupt(col, row(), column, v.clone(), e.to_string())),
    }
}

fn release_status(r: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<ReleaseStatus> {
    r.get::<_, String>(col)?
        .parse()
        .map_err(|e: platform::InvalidValue| {
            rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, Box::new(e))
        })
}

// ---------------------------------------------------------------- retention

/// A release as the retention policy sees it.
#[derive(Debug, Clone)]
pub struct RetentionRow {
    pub id: String,
    pub version: String,
    pub build: String,
    pub status: ReleaseStatus,
    pub created_at: String,
}

/// The app's releases not yet removed, newest first.
pub fn retention_candidates(c: &Connection, app: &str) -> rusqlite::Result<Vec<RetentionRow>> {
    let mut st = c.prepare(
        "SELECT id, version, build, status, created_at FROM releases \
         WHERE app = ?1 AND removed_at IS NULL ORDER BY created_at DESC, id DESC",
    )?;
    st.query_map([app], |r| {
        Ok(RetentionRow {
            id: r.get(0)?,
            version: r.get(1)?,
            build: r.get(2)?,
            status: release_status(r, 3)?,
            created_at: r.get(4)?,
        })
    })?
    .collect()
}

/// Releases a channel of `app` points at now, or pointed at since `since` (a move to it, or
/// away from it, at or after that time).
pub fn channel_protected(
    c: &Connection,
    app: &str,
    since: &str,
) -> rusqlite::Result<std::collections::BTreeSet<String>> {
    let mut st = c.prepare(
        "SELECT release_id FROM channels WHERE app = ?1 AND release_id IS NOT NULL \
         UNION SELECT to_release_id FROM channel_history WHERE app = ?1 AND at >= ?2 AND to_release_id IS NOT NULL \
         UNION SELECT from_release_id FROM channel_history WHERE app = ?1 AND at >= ?2 AND from_release_id IS NOT NULL",
    )?;
    st.query_map(params![app, since], |r| r.get(0))?.collect()
}

/// Marks a revoked release removed; 0 when it is not revoked or already removed.
pub fn set_release_removed(c: &Connection, id: &str, at: &str) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE releases SET removed_at = ?2 WHERE id = ?1 AND status = ?3 AND removed_at IS NULL",
        params![id, at, ReleaseStatus::Revoked.as_str()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_moves_with_a_commit_by_another_connection_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dist.sqlite3");
        let db = Db::open(&path).unwrap();
        assert!(
            db.inner.wal_index.is_some(),
            "a WAL database is watched through its index"
        );
        let g = db.generation();
        assert_eq!(db.generation(), g, "no commit, no change");
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("CREATE TABLE elsewhere (x); INSERT INTO elsewhere VALUES (1);")
            .unwrap();
        let moved = db.generation();
        assert_ne!(moved, g, "another connection's commit counts");
        assert_eq!(db.generation(), moved);
        // A read by another connection changes nothing.
        let n: i64 = other
            .query_row("SELECT count(*) FROM elsewhere", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(db.generation(), moved);
    }
}
