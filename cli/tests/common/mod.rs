//! Shared harness of the end-to-end tests: a real `distd` on 127.0.0.1 with a temporary data
//! folder, the real `dist` binary, and a TCP proxy that can break one upload.
//!
//! distd: `DIST_DISTD_BIN` names the binary; unset, the harness runs `cargo build -p server`
//! once and uses `target/debug/distd` under the workspace root (or `CARGO_TARGET_DIR`).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ sits in the workspace")
        .to_path_buf()
}

/// The corpus folder when `DIST_CORPUS` is set (relative values resolve against the
/// workspace root).
pub fn corpus() -> Option<PathBuf> {
    let v = std::env::var_os("DIST_CORPUS")?;
    let p = PathBuf::from(v);
    Some(if p.is_absolute() {
        p
    } else {
        workspace_root().join(p)
    })
}

/// A corpus file; when `DIST_CORPUS` is set and the file is missing, the test fails.
pub fn corpus_file(rel: &str) -> Option<PathBuf> {
    let dir = corpus()?;
    let p = dir.join(rel);
    assert!(
        p.is_file(),
        "DIST_CORPUS is set but {} is missing",
        p.display()
    );
    Some(p)
}

fn distd_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("DIST_DISTD_BIN") {
            return PathBuf::from(p);
        }
        let root = workspace_root();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            // The features `cargo test` gives distd (dev-dependencies turn on the toy
            // target), so that this build and the server tests' build are the same binary.
            .args(["build", "-p", "server", "--bin", "distd"])
            .args(["--features", "dist-targets/toy"])
            .current_dir(&root)
            .status()
            .expect("run cargo build -p server");
        assert!(status.success(), "cargo build -p server failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|p| if p.is_absolute() { p } else { root.join(p) })
            .unwrap_or_else(|| root.join("target"));
        let bin = target.join("debug").join("distd");
        assert!(bin.is_file(), "{} missing after the build", bin.display());
        bin
    })
    .clone()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

pub struct Distd {
    child: Child,
    pub addr: SocketAddr,
    pub url: String,
    pub admin: String,
    pub data: tempfile::TempDir,
}

impl Distd {
    pub fn start() -> Self {
        let data = tempfile::tempdir().expect("temp data dir");
        let mut last = String::new();
        // A port picked free can be taken before distd binds it; try a few.
        for _ in 0..5 {
            let port = free_port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let log = std::fs::File::create(data.path().join("distd.log")).unwrap();
            let mut child = Command::new(distd_bin())
                .args(["serve", "--data"])
                .arg(data.path())
                .args(["--listen", &addr.to_string()])
                .env_remove("DIST_PUBLIC_URL")
                .env("DIST_LOG", "info")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start distd");
            let token_file = data.path().join("initial-admin-token");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if token_file.is_file() && TcpStream::connect(addr).is_ok() {
                    let admin = std::fs::read_to_string(&token_file)
                        .unwrap()
                        .trim()
                        .to_owned();
                    if !admin.is_empty() {
                        return Self {
                            child,
                            addr,
                            url: format!("http://{addr}"),
                            admin,
                            data,
                        };
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            last = std::fs::read_to_string(data.path().join("distd.log")).unwrap_or_default();
            let _ = std::fs::remove_file(data.path().join("initial-admin-token"));
        }
        panic!("distd did not start; last log:\n{last}");
    }

    /// Runs `dist` against this server with `token`.
    pub fn dist(&self, token: &str, args: &[&str]) -> Run {
        dist_at(&self.url, token, args)
    }

    /// Creates a token through `dist token create --json`; returns the secret.
    pub fn token(&self, args: &[&str]) -> String {
        let mut all = vec!["token", "create", "--json"];
        all.extend_from_slice(args);
        let r = self.dist(&self.admin, &all);
        assert_eq!(r.code, 0, "token create: {}", r.stderr);
        r.json()["secret"].as_str().unwrap().to_owned()
    }
}

impl Drop for Distd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub fn dist_at(server: &str, token: &str, args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_dist"))
        .args(args)
        .env("DIST_SERVER", server)
        .env("DIST_TOKEN", token)
        .env("DIST_RETRY_DELAYS_MS", "50,100,200")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run dist")
        .into()
}

/// Runs `dist` with no server or token in the environment.
pub fn dist_offline(args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_dist"))
        .args(args)
        .env_remove("DIST_SERVER")
        .env_remove("DIST_TOKEN")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run dist")
        .into()
}

pub fn sha256_hex(path: &Path) -> String {
    let mut f = std::fs::File::open(path).unwrap();
    platform_sha(&mut f)
}

fn platform_sha(r: &mut dyn Read) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex::encode(h.finalize())
}

/// Whether `dist inspect` finds no error in a file.
pub fn inspects_clean(path: &Path) -> bool {
    finding_count(path).is_some()
}

/// The number of findings of a file without error findings; `None` when it has errors.
fn finding_count(path: &Path) -> Option<usize> {
    let r = dist_offline(&["inspect", "--json", path.to_str().unwrap()]);
    if r.code != 0 {
        return None;
    }
    r.json()["findings"].as_array().map(Vec::len)
}

/// APKs with no error findings: the project's fixtures first, then corpus files.
pub fn clean_apks() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let fixtures = workspace_root().join("fixtures/android");
    if let Ok(rd) = std::fs::read_dir(&fixtures) {
        let files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "apk"))
            .collect();
        // Release-grade files (fewest findings) first; ties by name.
        let mut clean: Vec<(usize, PathBuf)> = files
            .into_iter()
            .filter_map(|p| finding_count(&p).map(|n| (n, p)))
            .collect();
        clean.sort();
        out.extend(clean.into_iter().map(|(_, p)| p));
    }
    for rel in [
        "android/apksig-golden-aligned-v1v2v3-out.apk",
        "android/apksig-golden-aligned-v1-out.apk",
    ] {
        if let Some(p) = corpus_file(rel) {
            out.push(p);
        }
    }
    out
}

/// A job folder with `dist.json` and the given files copied in under the given names.
pub struct Job {
    pub dir: tempfile::TempDir,
}

impl Job {
    pub fn new(manifest: &Value, files: &[(&str, &Path)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, src) in files {
            let dst = dir.path().join(name);
            if let Some(p) = dst.parent() {
                std::fs::create_dir_all(p).unwrap();
            }
            std::fs::copy(src, &dst).unwrap();
        }
        let job = Self { dir };
        job.write_manifest(manifest);
        job
    }
    pub fn write_manifest(&self, manifest: &Value) {
        std::fs::write(
            self.manifest(),
            serde_json::to_vec_pretty(manifest).unwrap(),
        )
        .unwrap();
    }
    pub fn manifest(&self) -> PathBuf {
        self.dir.path().join("dist.json")
    }
    pub fn manifest_str(&self) -> String {
        self.manifest().to_str().unwrap().to_owned()
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

/// What the proxy does to the first blob upload it sees.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Forward `n` bytes of the PUT body, then close both sides (once).
    CutAfter(usize),
    /// Flip one byte of the PUT body, on the first `times` uploads.
    Corrupt { times: usize },
}

/// A TCP proxy in front of distd that applies one [`Fault`] to blob uploads.
pub struct Proxy {
    pub url: String,
    /// How many times the fault was applied.
    pub faults: Arc<AtomicUsize>,
    /// Stops accepting connections once the proxy is dropped.
    stop: Arc<AtomicBool>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

type Hook = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

impl Proxy {
    pub fn start(upstream: SocketAddr, fault: Fault) -> Self {
        Self::start_with_hook(upstream, fault, None)
    }

    /// `hook` runs once, when the first blob `PUT` is seen (before its body is forwarded).
    pub fn start_with_hook(
        upstream: SocketAddr,
        fault: Fault,
        hook: Option<Box<dyn FnOnce() + Send>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let faults = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let hook: Hook = Arc::new(Mutex::new(hook));
        let (f2, s2) = (faults.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let (f3, h3) = (f2.clone(), hook.clone());
                std::thread::spawn(move || pipe(client, server, fault, f3, h3));
            }
        });
        Self {
            url: format!("http://{addr}"),
            faults,
            stop,
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn pipe(
    mut client: TcpStream,
    mut server: TcpStream,
    fault: Fault,
    faults: Arc<AtomicUsize>,
    hook: Hook,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut s2, &mut c2);
        let _ = c2.shutdown(Shutdown::Both);
    });
    let mut buf = vec![0u8; 16 * 1024];
    // Bytes of the current PUT body seen so far, once a PUT started on this connection.
    let mut in_put: Option<usize> = None;
    let mut corrupted_this_put = false;
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &mut buf[..n];
        let mut body_start = 0;
        if let Some(p) = find(chunk, b"PUT /api/v1/blobs/") {
            if let Some(h) = hook.lock().unwrap().take() {
                h();
            }
            let headers_end = find(&chunk[p..], b"\r\n\r\n").map(|e| p + e + 4);
            body_start = headers_end.unwrap_or(n);
            in_put = Some(0);
            corrupted_this_put = false;
        }
        if let Some(seen) = in_put {
            let body_len = n - body_start;
            match fault {
                Fault::CutAfter(limit)
                    if faults.load(Ordering::SeqCst) == 0 && seen + body_len > limit =>
                {
                    let keep = body_start + (limit - seen.min(limit));
                    let _ = server.write_all(&chunk[..keep]);
                    let _ = server.flush();
                    faults.fetch_add(1, Ordering::SeqCst);
                    // Let the server read what it got before the connection dies.
                    std::thread::sleep(Duration::from_millis(200));
                    let _ = server.shutdown(Shutdown::Both);
                    let _ = client.shutdown(Shutdown::Both);
                    break;
                }
                Fault::Corrupt { times }
                    if !corrupted_this_put
                        && body_len > 0
                        && faults.load(Ordering::SeqCst) < times =>
                {
                    chunk[body_start] ^= 0xff;
                    corrupted_this_put = true;
                    faults.fetch_add(1, Ordering::SeqCst);
                }
                _ => {}
            }
            in_put = Some(seen + body_len);
        }
        if server.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
    let _ = back.join();
}
