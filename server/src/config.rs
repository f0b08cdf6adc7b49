//! Configuration: every environment variable distd reads is a constant here. Precedence, from
//! strongest: command-line flags, environment, `DATA/config.toml`, built-in defaults. The data
//! folder itself comes from the flag, `DIST_DATA` or the default only (the config file lives in
//! it). The winning source of every value is logged at start-up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
/// `tracing` filter (`info`, `debug`, `server=debug,tower_http=warn`). Default `info`.
pub const ENV_LOG: &str = "DIST_LOG";

pub const DEFAULT_DATA: &str = "./data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 8 * 1024 * 1024 * 1024;
pub const DEFAULT_LOG: &str = "info";
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
    /// `name = value (source)` lines for the start-up log.
    pub sources: Vec<String>,
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
            std::fs::create_dir(dir).with_context(|| {
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
    let probe = dir.join(format!(".distd-write-test-{}", std::process::id()));
    if let Err(e) = std::fs::write(&probe, b"ok") {
        bail!("{}", crate::startup::unwritable_help(dir, Some(&e)));
    }
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Builds the full configuration for `serve` from flags, environment and `DATA/config.toml`.
pub fn load(data_flag: Option<PathBuf>, listen_flag: Option<String>) -> anyhow::Result<Config> {
    let (data, data_src) = data_dir(data_flag);
    check_data_dir(&data)?;
    let file_path = data.join(CONFIG_FILE);
    let file: FileConfig = match std::fs::read_to_string(&file_path) {
        Ok(text) => toml::from_str(&text)
            .with_context(|| format!("{}: invalid configuration", file_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileConfig::default(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file_path.display())),
    };
    let mut sources = vec![format!("data = {} ({data_src})", data.display())];

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

    Ok(Config {
        data,
        listen,
        public_url,
        max_upload_bytes,
        log,
        sources,
    })
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
