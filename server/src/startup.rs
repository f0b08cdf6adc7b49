//! Start-up checks that say what is wrong and how to fix it, for the cases a container on a
//! NAS meets first: the data folder belongs to another user than the one distd runs as, distd
//! listens on loopback inside a container (the published port cannot reach it), and the public
//! URL is missing or plain http (links point nowhere; some installs need https, as targets
//! declare).

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::bail;

use crate::config::{self, Config, ENV_DATA, ENV_LISTEN, ENV_PUBLIC_URL};

/// The effective uid and gid of this process, from `/proc/self/status` (no libc call needed).
pub fn process_ids() -> Option<(u32, u32)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u32> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        // "Uid:\treal\teffective\tsaved\tfs": the effective id is the second number.
        line[name.len()..].split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("Uid:")?, field("Gid:")?))
}

/// True inside a Docker, Podman or other OCI container.
pub fn in_container() -> bool {
    Path::new("/.dockerenv").exists()
        || Path::new("/run/.containerenv").exists()
        || std::env::var_os("container").is_some()
}

/// Why `path` (in the data folder) cannot be written and the two ways to fix it: give the
/// folder to distd's user, or run distd as the folder's owner.
pub fn unwritable_help(path: &Path, err: Option<&std::io::Error>) -> String {
    let me = match process_ids() {
        Some((u, g)) => format!("uid {u}, gid {g}"),
        None => "this user".to_owned(),
    };
    let (me_u, me_g) = process_ids()
        .map(|(u, g)| (u.to_string(), g.to_string()))
        .unwrap_or_else(|| ("UID".to_owned(), "GID".to_owned()));
    if let Some(e) = err
        && crate::blobs::is_disk_full(e)
    {
        return format!(
            "{} cannot be written: the disk is full ({e}). Free space: `distd gc --data <data folder>` removes unreferenced files (it works on a full disk), or enlarge the volume",
            path.display()
        );
    }
    if let Some(e) = err
        && e.kind() == ErrorKind::ReadOnlyFilesystem
    {
        return format!(
            "{} is on a read-only file system: mount the data folder read-write (no `:ro` on the volume) or point --data / {ENV_DATA} elsewhere",
            path.display()
        );
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return format!(
            "{} is not writable by distd, which runs as {me}; fix its owner or mode, or point --data / {ENV_DATA} elsewhere",
            path.display()
        );
    };
    let (owner_u, owner_g, mode) = (meta.uid(), meta.gid(), meta.mode() & 0o7777);
    let where_ = if in_container() {
        "on the NAS or host, for the folder mounted here"
    } else {
        "as root"
    };
    let why = err.map(|e| format!(" ({e})")).unwrap_or_default();
    let fix2 = if owner_u == 0 {
        "run distd as root, the folder's owner (`user: \"0:0\"` in compose.yaml, docker run `--user 0:0`): it works, but gives up the non-root user; prefer 1".to_owned()
    } else {
        format!(
            "run distd as the folder's owner: in compose.yaml `user: \"{owner_u}:{owner_g}\"`, with docker run `--user {owner_u}:{owner_g}`, elsewhere start distd as uid {owner_u}"
        )
    };
    format!(
        "{path} is not writable by distd{why}: distd runs as {me}, it belongs to uid {owner_u}, gid {owner_g} (mode {mode:o}). Fix one of:\n  \
         1. give the data folder to distd's user ({where_}): chown -R {me_u}:{me_g} <data folder>\n  \
         2. {fix2}",
        path = path.display()
    )
}

/// Checks that what distd writes inside the data folder (the database and its WAL files, the
/// blob and upload folders, the audit head, the log folder) is writable, so a data folder copied
/// or restored under another owner fails at start with the fix rather than on the first upload.
/// The folder itself was checked by `config::check_data_dir`.
pub fn check_data_tree(data: &Path) -> anyhow::Result<()> {
    let db = config::db_file(data);
    let db_name = db
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let files = [
        db.clone(),
        data.join(format!("{db_name}-wal")),
        data.join(format!("{db_name}-shm")),
        data.join("audit-head"),
    ];
    for f in files {
        match OpenOptions::new().append(true).open(&f) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => bail!("{}", unwritable_help(&f, Some(&e))),
        }
    }
    let mut dirs = vec![data.join("uploads"), data.join("logs"), data.join("blobs")];
    let shards = data.join("blobs").join("sha256");
    dirs.push(shards.clone());
    if let Ok(rd) = std::fs::read_dir(&shards) {
        dirs.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    for d in dirs {
        if !d.is_dir() {
            continue;
        }
        let probe = d.join(format!("{PROBE_PREFIX}{}", std::process::id()));
        remove_stale_probes(&d);
        let written = std::fs::write(&probe, b"ok");
        let _ = std::fs::remove_file(&probe);
        match written {
            Ok(()) => {}
            // The file was created: distd may write here; space is another matter (gc frees it).
            Err(e) if crate::blobs::is_disk_full(&e) => {}
            Err(e) => bail!("{}", unwritable_help(&d, Some(&e))),
        }
    }
    Ok(())
}

/// The write probes' file names; a probe left by a killed run is removed by the next one, and
/// `fsck` does not count it as a stray file.
pub const PROBE_PREFIX: &str = ".distd-write-test-";

fn remove_stale_probes(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(PROBE_PREFIX) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Settings that start but will not work as the operator expects; each is logged as a warning.
pub fn warnings(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if in_container() && cfg.listen.ip().is_loopback() {
        out.push(format!(
            "distd listens on {} inside a container: a loopback address, which the published port cannot reach. Set {ENV_LISTEN}=0.0.0.0:{} (the image's default)",
            cfg.listen,
            cfg.listen.port()
        ));
    }
    // What needs https, in the words of the targets that say so.
    let https: Vec<&str> = platform::registry()
        .targets()
        .iter()
        .filter_map(|t| t.needs_https_for())
        .collect();
    let https = if https.is_empty() {
        "installs that devices accept only over https".to_owned()
    } else {
        https.join(", ")
    };
    let default_url = format!("http://{}", cfg.listen);
    if cfg.public_url == default_url {
        let unreachable = if cfg.listen.ip().is_unspecified() || cfg.listen.ip().is_loopback() {
            ", an address other devices cannot open"
        } else {
            ""
        };
        out.push(format!(
            "{ENV_PUBLIC_URL} is not set: links, downloads and install pages use {}{unreachable}. Set {ENV_PUBLIC_URL} to the https address of your reverse proxy (https://dist.example.com); {https} need https",
            cfg.public_url
        ));
    } else if cfg.public_url.starts_with("http://") {
        out.push(format!(
            "{ENV_PUBLIC_URL} is plain http ({}): {https} will not work. Put a reverse proxy with TLS in front of distd and set {ENV_PUBLIC_URL}=https://...",
            cfg.public_url
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(listen: &str, public_url: Option<&str>) -> Config {
        Config {
            data: "/data".into(),
            listen: listen.parse().unwrap(),
            public_url: public_url
                .map(str::to_owned)
                .unwrap_or_else(|| format!("http://{listen}")),
            max_upload_bytes: 1,
            log: "info".into(),
            grant_ttl_secs: 3600,
            trusted_proxies: vec![],
            header_timeout: std::time::Duration::from_secs(30),
            idle_timeout: std::time::Duration::from_secs(60),
            max_inspections: 2,
            inspection_wait: std::time::Duration::from_secs(30),
            uploads: Default::default(),
            min_free_bytes: 1,
            upload_writes: Default::default(),
            accel_redirect: None,
            retention: Default::default(),
            sources: vec![],
        }
    }

    #[test]
    fn public_url_warnings() {
        let w = warnings(&cfg("0.0.0.0:8080", None));
        assert!(
            w.iter()
                .any(|m| m.contains("DIST_PUBLIC_URL is not set") && m.contains("other devices")),
            "{w:?}"
        );
        let w = warnings(&cfg("0.0.0.0:8080", Some("http://nas.local:8080")));
        assert!(w.iter().any(|m| m.contains("plain http")), "{w:?}");
        let w = warnings(&cfg("0.0.0.0:8080", Some("https://dist.example.com")));
        assert!(w.iter().all(|m| !m.contains(ENV_PUBLIC_URL)), "{w:?}");
    }

    #[test]
    fn process_ids_are_read() {
        assert!(process_ids().is_some());
    }

    #[test]
    fn help_names_owner_and_both_fixes() {
        let dir = tempfile::tempdir().unwrap();
        let msg = unwritable_help(dir.path(), None);
        let (u, g) = process_ids().unwrap();
        assert!(msg.contains(&format!("runs as uid {u}, gid {g}")), "{msg}");
        assert!(msg.contains(&format!("chown -R {u}:{g}")), "{msg}");
        assert!(msg.contains(&format!("user: \"{u}:{g}\"")), "{msg}");
    }
}
