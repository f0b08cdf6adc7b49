//! Configuration: every environment variable distd reads is a constant here. Precedence, from
//! strongest: command-line flags, environment, `DATA/config.toml`, built-in defaults. The data
//! folder itself comes from the flag, `DIST_DATA` or the default only (the config file lives in
//! it). The winning source of every value is logged at start-up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The data folder: database, blobs, uploads, `config.toml`. Default `./data`.
pub const ENV_DATA: &str = "DIST_DATA";
/// Address to listen on. Default `127.0.0.1:8080`.
pub const ENV_LISTEN: &str = "DIST_LISTEN";
/// External base URL used in every link the server hands out (`https://dist.example.com`).
/// Default `http://<listen address>`.
pub const ENV_PUBLIC_URL: &str = "DIST_PUBLIC_URL";
/// Largest blob upload in bytes. Default 8 GiB.
pub const ENV_MAX_UPLOAD_BYTES: &str = "DIST_MAX_UPLOAD_BYTES";
/// `tracing` filter (`info`, `debug`, `server=debug,hyper=warn`). Default `info`.
pub const ENV_LOG: &str = "DIST_LOG";
/// Lifetime in seconds of the grants pages put in links (OTA manifests, copied commands).
/// Default 3600.
pub const ENV_GRANT_TTL_SECS: &str = "DIST_GRANT_TTL_SECS";
/// Reverse proxies whose `X-Forwarded-For` is believed: IPs and CIDRs, comma-separated
/// (`10.0.0.0/8, ::1`). Default none: the client address is the TCP peer.
pub const ENV_TRUSTED_PROXIES: &str = "DIST_TRUSTED_PROXIES";
/// Seconds a client has to send a whole request head once it has started one. Default 30.
pub const ENV_HEADER_TIMEOUT_SECS: &str = "DIST_HEADER_TIMEOUT_SECS";
/// Seconds a connection may sit with no request in flight before distd closes it. Default 60.
pub const ENV_IDLE_TIMEOUT_SECS: &str = "DIST_IDLE_TIMEOUT_SECS";
/// Artifact inspections (at attach) that may run at once. Default 2.
pub const ENV_MAX_INSPECTIONS: &str = "DIST_MAX_INSPECTIONS";
/// Seconds an attach waits for an inspection slot before answering 503. Default 30.
pub const ENV_INSPECTION_WAIT_SECS: &str = "DIST_INSPECTION_WAIT_SECS";

/// Seconds an upload may send nothing before distd closes it, keeping its bytes for a resume
/// (and letting a retry of the same digest take over). Default 30.
pub const ENV_UPLOAD_STALL_SECS: &str = "DIST_UPLOAD_STALL_SECS";
/// Seconds an unfinished resumable upload is kept for its resume. Default 86400 (a day).
pub const ENV_PARTIAL_TTL_SECS: &str = "DIST_PARTIAL_TTL_SECS";
/// Bytes of unfinished uploads kept in all; beyond it new uploads are not resumable. Default 16 GiB.
pub const ENV_PARTIAL_MAX_BYTES: &str = "DIST_PARTIAL_MAX_BYTES";
/// Bytes of unfinished uploads kept per token. Default 8 GiB.
pub const ENV_PARTIAL_TOKEN_MAX_BYTES: &str = "DIST_PARTIAL_TOKEN_MAX_BYTES";
/// Free bytes on the data folder's disk below which `/healthz` says `degraded`. Default 1 GiB.
pub const ENV_MIN_FREE_BYTES: &str = "DIST_MIN_FREE_BYTES";
/// How upload blocks reach the disk: `direct` (default: `O_DIRECT`) or `write-behind` (the
/// page cache, write-back started per block). See the README's Performance section.
pub const ENV_UPLOAD_WRITES: &str = "DIST_UPLOAD_WRITES";
/// Behind nginx: downloads answer with `X-Accel-Redirect: <prefix>sha256/<2 hex>/<hex>` once
/// authorised, and nginx serves the file from an `internal` location. Unset: distd serves it.
pub const ENV_ACCEL_REDIRECT: &str = "DIST_ACCEL_REDIRECT";

/// Retention (`distd gc --releases`, and the schedule in `distd serve`; see `retention`).
/// Keep the newest releases per app. 0 (the default) keeps every one.
pub const ENV_RETENTION_KEEP: &str = "DIST_RETENTION_KEEP";
/// Keep releases a channel pointed at within this many days. Default 30.
pub const ENV_RETENTION_CHANNEL_DAYS: &str = "DIST_RETENTION_CHANNEL_DAYS";
/// Delete drafts older than this many days. 0 (the default) keeps them.
pub const ENV_RETENTION_DRAFT_DAYS: &str = "DIST_RETENTION_DRAFT_DAYS";
/// How often `distd serve` applies the policy, in hours (0: never; fractions allowed, 0.5 is
/// half an hour). Default 24.
pub const ENV_RETENTION_EVERY_HOURS: &str = "DIST_RETENTION_EVERY_HOURS";

pub const DEFAULT_DATA: &str = "./data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 8 * 1024 * 1024 * 1024;
pub const DEFAULT_LOG: &str = "info";
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
pub const DEFAULT_MAX_INSPECTIONS: usize = 2;
pub const DEFAULT_INSPECTION_WAIT_SECS: u64 = 30;
pub const DEFAULT_UPLOAD_STALL_SECS: u64 = 30;
pub const DEFAULT_PARTIAL_TTL_SECS: u64 = 24 * 3600;
pub const DEFAULT_PARTIAL_MAX_BYTES: u64 = 16 * 1024 * 1024 * 1024;
pub const DEFAULT_PARTIAL_TOKEN_MAX_BYTES: u64 = 8 * 1024 * 1024 * 1024;
pub const DEFAULT_MIN_FREE_BYTES: u64 = 1024 * 1024 * 1024;
/// JSON request bodies are capped at this many bytes.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
pub const CONFIG_FILE: &str = "config.toml";

/// `DATA/config.toml`: the same settings as the environment, lowercase.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub max_upload_bytes: Option<u64>,
    pub log: Option<String>,
    pub grant_ttl_secs: Option<u64>,
    pub trusted_proxies: Option<Vec<String>>,
    pub header_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub max_inspections: Option<usize>,
    pub inspection_wait_secs: Option<u64>,
    pub upload_stall_secs: Option<u64>,
    pub partial_ttl_secs: Option<u64>,
    pub partial_max_bytes: Option<u64>,
    pub partial_token_max_bytes: Option<u64>,
    pub min_free_bytes: Option<u64>,
    pub upload_writes: Option<String>,
    pub accel_redirect: Option<String>,
    /// `[retention]` (see `retention`).
    pub retention: Option<crate::retention::FileRetention>,
}

/// Reads `DATA/config.toml` (an absent file is the defaults).
pub fn read_file(data: &Path) -> anyhow::Result<FileConfig> {
    let file_path = data.join(CONFIG_FILE);
    match std::fs::read_to_string(&file_path) {
        Ok(text) => toml::from_str(&text)
            .with_context(|| format!("{}: invalid configuration", file_path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", file_path.display())),
    }
}

/// The database inside a data folder.
pub fn db_file(data: &Path) -> PathBuf {
    data.join("distd.sqlite3")
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data: PathBuf,
    pub listen: SocketAddr,
    /// Without a trailing slash.
    pub public_url: String,
    pub max_upload_bytes: u64,
    pub log: String,
    pub grant_ttl_secs: u64,
    /// Peers whose `X-Forwarded-For` names the client (see `http::edge`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_inspections: usize,
    pub inspection_wait: Duration,
    /// Uploads: the stall timeout, how long partials are kept, and how many bytes of them.
    pub uploads: UploadLimits,
    pub min_free_bytes: u64,
    pub upload_writes: crate::blobs::WriteStrategy,
    /// The `X-Accel-Redirect` prefix (starts and ends with `/`), when nginx serves downloads.
    pub accel_redirect: Option<String>,
    /// The retention policy and its schedule.
    pub retention: crate::retention::Policies,
    /// `name = value (source)` lines for the start-up log.
    pub sources: Vec<String>,
}

/// What bounds uploads in flight and the unfinished ones kept for a resume.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    pub stall: Duration,
    pub partial_ttl: Duration,
    pub partial_max_bytes: u64,
    pub partial_token_max_bytes: u64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        Self {
            stall: Duration::from_secs(DEFAULT_UPLOAD_STALL_SECS),
            partial_ttl: Duration::from_secs(DEFAULT_PARTIAL_TTL_SECS),
            partial_max_bytes: DEFAULT_PARTIAL_MAX_BYTES,
            partial_token_max_bytes: DEFAULT_PARTIAL_TOKEN_MAX_BYTES,
        }
    }
}

impl Config {
    pub fn db_path(&self) -> PathBuf {
        db_file(&self.data)
    }
    pub fn blobs_dir(&self) -> PathBuf {
        self.data.join("blobs")
    }
    pub fn uploads_dir(&self) -> PathBuf {
        self.data.join("uploads")
    }
    pub fn initial_token_path(&self) -> PathBuf {
        self.data.join("initial-admin-token")
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Picks the data folder (flag > env > default) without touching it.
pub fn data_dir(flag: Option<PathBuf>) -> (PathBuf, &'static str) {
    match (flag, env(ENV_DATA)) {
        (Some(p), _) => (p, "flag --data"),
        (None, Some(p)) => (PathBuf::from(p), ENV_DATA),
        (None, None) => (PathBuf::from(DEFAULT_DATA), "default"),
    }
}

/// Refuses a data folder that is missing (and cannot be made: its parent does not exist),
/// not a folder or not writable, saying how to fix it. A missing folder whose parent exists
/// is created, so that a first `distd serve` on the default `./data` just works.
pub fn check_data_dir(dir: &Path) -> anyhow::Result<()> {
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = match dir.parent() {
                Some(p) if p.as_os_str().is_empty() => Path::new("."),
                Some(p) => p,
                None => Path::new("."),
            };
            if !parent.is_dir() {
                bail!(
                    "data folder {} does not exist and neither does {}; create it (`mkdir -p {}`) or point --data / {ENV_DATA} at an existing folder",
                    dir.display(),
                    parent.display(),
                    dir.display()
                );
            }
            crate::perms::create_dir(dir).with_context(|| {
                format!(
                    "data folder {} does not exist and cannot be created here; create it (`mkdir -p {}`) with the right owner, or point --data / {ENV_DATA} elsewhere",
                    dir.display(),
                    dir.display()
                )
            })?;
            std::fs::metadata(dir)?
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read data folder {}", dir.display()));
        }
    };
    if !meta.is_dir() {
        bail!(
            "data folder {} is not a folder; point --data / {ENV_DATA} at a folder",
            dir.display()
        );
    }
    let probe = dir.join(format!(
        "{}{}",
        crate::startup::PROBE_PREFIX,
        std::process::id()
    ));
    let written = std::fs::write(&probe, b"ok");
    let _ = std::fs::remove_file(&probe);
    match written {
        Ok(()) => Ok(()),
        // The probe was created: the folder is distd's to write; a full disk is not an owner
        // problem, and gc must run on it to free space.
        Err(e) if crate::blobs::is_disk_full(&e) => {
            eprintln!(
                "distd: warning: {}",
                crate::startup::unwritable_help(dir, Some(&e))
            );
            Ok(())
        }
        Err(e) => bail!("{}", crate::startup::unwritable_help(dir, Some(&e))),
    }
}

/// Builds the full configuration for `serve` from flags, environment and `DATA/config.toml`.
pub fn load(data_flag: Option<PathBuf>, listen_flag: Option<String>) -> anyhow::Result<Config> {
    let (data, data_src) = data_dir(data_flag);
    check_data_dir(&data)?;
    let mut file = read_file(&data)?;
    let retention = crate::retention::load(&data, Some(file.retention.take().unwrap_or_default()))?;
    let mut sources = vec![format!("data = {} ({data_src})", data.display())];
    sources.push(format!(
        "retention = keep {}, channel_days {}, draft_days {}, every_hours {}, {} app(s) with their own (DIST_RETENTION_*, [retention])",
        retention.default.keep,
        retention.default.channel_days,
        retention.default.draft_days,
        retention.every_hours,
        retention.apps.len()
    ));

    let (listen, src) = pick(
        listen_flag,
        "flag --listen",
        ENV_LISTEN,
        file.listen,
        DEFAULT_LISTEN.to_owned(),
    );
    let listen: SocketAddr = listen.parse().with_context(|| {
        format!("listen address {listen:?} (from {src}) is not HOST:PORT, e.g. 127.0.0.1:8080")
    })?;
    sources.push(format!("listen = {listen} ({src})"));

    let (public_url, src) = pick(
        None,
        "",
        ENV_PUBLIC_URL,
        file.public_url,
        format!("http://{listen}"),
    );
    let public_url = public_url.trim_end_matches('/').to_owned();
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        bail!("public URL {public_url:?} (from {src}) must start with http:// or https://");
    }
    sources.push(format!("public_url = {public_url} ({src})"));

    let (max, src) = pick(
        None,
        "",
        ENV_MAX_UPLOAD_BYTES,
        file.max_upload_bytes.map(|v| v.to_string()),
        DEFAULT_MAX_UPLOAD_BYTES.to_string(),
    );
    let max_upload_bytes: u64 = max
        .parse()
        .with_context(|| format!("max upload bytes {max:?} (from {src}) is not a number"))?;
    sources.push(format!("max_upload_bytes = {max_upload_bytes} ({src})"));

    let (log, src) = pick(None, "", ENV_LOG, file.log, DEFAULT_LOG.to_owned());
    sources.push(format!("log = {log} ({src})"));

    let (ttl, src) = pick(
        None,
        "",
        ENV_GRANT_TTL_SECS,
        file.grant_ttl_secs.map(|v| v.to_string()),
        crate::grants::DEFAULT_TTL_SECS.to_string(),
    );
    let grant_ttl_secs: u64 = ttl
        .parse()
        .ok()
        .filter(|v| (60..=7 * 24 * 3600).contains(v))
        .with_context(|| {
            format!("grant lifetime {ttl:?} (from {src}) must be seconds from 60 to 604800")
        })?;
    sources.push(format!("grant_ttl_secs = {grant_ttl_secs} ({src})"));
    let (proxies, src) = pick(
        None,
        "",
        ENV_TRUSTED_PROXIES,
        file.trusted_proxies.map(|v| v.join(",")),
        String::new(),
    );
    let trusted_proxies = parse_proxies(&proxies)
        .with_context(|| format!("trusted proxies {proxies:?} (from {src})"))?;
    sources.push(format!("trusted_proxies = [{proxies}] ({src})"));

    let mut secs = |name: &'static str, env_name, file: Option<u64>, default: u64| {
        let (v, src) = pick(
            None,
            "",
            env_name,
            file.map(|v| v.to_string()),
            default.to_string(),
        );
        let n: u64 = v.parse().ok().filter(|n| *n >= 1).with_context(|| {
            format!("{name} {v:?} (from {src}) is not a whole number of at least 1")
        })?;
        sources.push(format!("{name} = {n} ({src})"));
        anyhow::Ok(n)
    };
    let header_timeout = Duration::from_secs(secs(
        "header_timeout_secs",
        ENV_HEADER_TIMEOUT_SECS,
        file.header_timeout_secs,
        DEFAULT_HEADER_TIMEOUT_SECS,
    )?);
    let idle_timeout = Duration::from_secs(secs(
        "idle_timeout_secs",
        ENV_IDLE_TIMEOUT_SECS,
        file.idle_timeout_secs,
        DEFAULT_IDLE_TIMEOUT_SECS,
    )?);
    let max_inspections = secs(
        "max_inspections",
        ENV_MAX_INSPECTIONS,
        file.max_inspections.map(|v| v as u64),
        DEFAULT_MAX_INSPECTIONS as u64,
    )?;
    let max_inspections = usize::try_from(max_inspections)
        .ok()
        .filter(|n| *n <= tokio::sync::Semaphore::MAX_PERMITS)
        .with_context(|| format!("max_inspections {max_inspections} is too large"))?;
    let inspection_wait = Duration::from_secs(secs(
        "inspection_wait_secs",
        ENV_INSPECTION_WAIT_SECS,
        file.inspection_wait_secs,
        DEFAULT_INSPECTION_WAIT_SECS,
    )?);

    let stall = secs(
        "upload_stall_secs",
        ENV_UPLOAD_STALL_SECS,
        file.upload_stall_secs,
        DEFAULT_UPLOAD_STALL_SECS,
    )?;
    let ttl_secs = secs(
        "partial_ttl_secs",
        ENV_PARTIAL_TTL_SECS,
        file.partial_ttl_secs,
        DEFAULT_PARTIAL_TTL_SECS,
    )?;
    let partial_max_bytes = secs(
        "partial_max_bytes",
        ENV_PARTIAL_MAX_BYTES,
        file.partial_max_bytes,
        DEFAULT_PARTIAL_MAX_BYTES,
    )?;
    let partial_token_max_bytes = secs(
        "partial_token_max_bytes",
        ENV_PARTIAL_TOKEN_MAX_BYTES,
        file.partial_token_max_bytes,
        DEFAULT_PARTIAL_TOKEN_MAX_BYTES,
    )?;
    let min_free_bytes = secs(
        "min_free_bytes",
        ENV_MIN_FREE_BYTES,
        file.min_free_bytes,
        DEFAULT_MIN_FREE_BYTES,
    )?;
    let (v, src) = pick(
        None,
        "",
        ENV_UPLOAD_WRITES,
        file.upload_writes.clone(),
        crate::blobs::WriteStrategy::default().to_string(),
    );
    let upload_writes: crate::blobs::WriteStrategy = v
        .parse()
        .map_err(|e: String| anyhow::anyhow!("{e} (from {src})"))?;
    sources.push(format!("upload_writes = {upload_writes} ({src})"));
    let (v, src) = pick(
        None,
        "",
        ENV_ACCEL_REDIRECT,
        file.accel_redirect.clone(),
        String::new(),
    );
    let accel_redirect = match v.as_str() {
        "" => None,
        p if p.starts_with('/') && p.ends_with('/') && p.bytes().all(|b| b.is_ascii_graphic()) => {
            sources.push(format!("accel_redirect = {p} ({src})"));
            Some(p.to_owned())
        }
        p => anyhow::bail!(
            "accel_redirect {p:?} (from {src}) must be a path of printable ASCII characters that starts and ends with /, such as /_dist_blobs/"
        ),
    };
    let uploads = UploadLimits {
        stall: Duration::from_secs(stall),
        partial_ttl: Duration::from_secs(ttl_secs),
        partial_max_bytes,
        partial_token_max_bytes,
    };

    Ok(Config {
        data,
        listen,
        public_url,
        max_upload_bytes,
        log,
        grant_ttl_secs,
        trusted_proxies,
        header_timeout,
        idle_timeout,
        max_inspections,
        inspection_wait,
        uploads,
        min_free_bytes,
        upload_writes,
        accel_redirect,
        retention,
        sources,
    })
}

/// `10.0.0.0/8, 192.168.1.2, ::1`: IPs and CIDRs separated by commas or spaces; a bare IP
/// is a /32 (or /128).
pub fn parse_proxies(text: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .map(|n| n.trunc())
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!("{s:?} is neither an IP address nor a CIDR such as 10.0.0.0/8")
                })
        })
        .collect()
}

fn pick(
    flag: Option<String>,
    flag_name: &'static str,
    env_name: &'static str,
    file: Option<String>,
    default: String,
) -> (String, &'static str) {
    if let Some(v) = flag {
        return (v, flag_name);
    }
    if let Some(v) = env(env_name) {
        return (v, env_name);
    }
    if let Some(v) = file {
        return (v, "config.toml");
    }
    (default, "default")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_ips_and_cidrs() {
        let nets = parse_proxies("10.0.0.0/8, 192.168.1.2 ::1,fd00::/8").unwrap();
        let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["10.0.0.0/8", "192.168.1.2/32", "::1/128", "fd00::/8"]
        );
        // Host bits are dropped: 10.1.2.3/8 means 10.0.0.0/8.
        assert_eq!(
            parse_proxies("10.1.2.3/8").unwrap()[0].to_string(),
            "10.0.0.0/8"
        );
        assert!(parse_proxies("").unwrap().is_empty());
        let err = parse_proxies("10.0.0.0/8, proxy.lan")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"proxy.lan\"") && err.contains("CIDR"),
            "{err}"
        );
    }
}
