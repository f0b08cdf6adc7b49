//! Harness for the integration tests: starts the real `distd` binary on 127.0.0.1 with a
//! free port and a temporary data folder, waits for `/healthz`, and talks to it over HTTP.
#![allow(dead_code)] // each test binary uses part of the harness

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const DISTD: &str = env!("CARGO_BIN_EXE_distd");

pub struct Server {
    pub child: Option<Child>,
    pub base: String,
    pub data: PathBuf,
    pub admin: String,
    pub port: u16,
    pub client: reqwest::Client,
}

/// `cargo test --workspace` unifies reqwest's features with the CLI's (`rustls-no-provider`),
/// so a client needs a process-wide crypto provider; ring is the one the CLI uses.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// A client that shows redirects instead of following them (a page's `?token=` exchange).
pub fn no_redirect_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

impl Server {
    /// Starts distd on a fresh port over `data` (which may hold a previous run's state).
    pub async fn start(data: &Path) -> Server {
        Self::start_with(data, &[]).await
    }

    pub async fn start_with(data: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_args(data, &[], env).await
    }

    /// [`Server::start_with`] with extra `distd serve` arguments (`--start-over`).
    pub async fn start_args(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.with_extension("log"))
            .expect("open log");
        // DIST_SERVER_TEST_BIN runs these tests against another build of distd (an older commit,
        // to see a regression test fail before its fix).
        let bin = std::env::var("DIST_SERVER_TEST_BIN").unwrap_or_else(|_| DISTD.to_owned());
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(args)
            .env_remove("DIST_PUBLIC_URL")
            .env_remove("DIST_MAX_UPLOAD_BYTES")
            .env("DIST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn distd");
        let base = format!("http://127.0.0.1:{port}");
        let client = http_client();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await
                && r.status() == StatusCode::OK
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "distd did not become healthy; log: {}",
                data.with_extension("log").display()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let admin = std::fs::read_to_string(data.join("initial-admin-token"))
            .expect("initial-admin-token")
            .trim()
            .to_owned();
        Server {
            child: Some(child),
            base,
            data: data.to_owned(),
            admin,
            port,
            client,
        }
    }

    /// A distd on a fresh temporary data folder (kept alive by the returned guard) with `apps`
    /// created.
    pub async fn fresh(apps: &[&str]) -> (tempfile::TempDir, Server) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Self::start(&dir.path().join("data")).await;
        for app in apps {
            s.create_app(app).await;
        }
        (dir, s)
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(status)) = c.try_wait() {
                    assert!(status.success(), "distd exited with {status} after SIGTERM");
                    return;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    panic!("distd did not stop within 30 s of SIGTERM");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/')
            && !path.starts_with("/api/")
            && !path.starts_with("/d/")
            && !path.starts_with("/i/")
            && path != "/healthz"
        {
            format!("{}/api/v1{path}", self.base)
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Sends a JSON (or empty) request; returns status and parsed body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await.expect("request");
        let status = res.status();
        let bytes = res.bytes().await.expect("body");
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, v)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn post_empty(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), None).await
    }

    /// Uploads bytes for `app` (blobs are owned per app).
    pub async fn put_blob(&self, app: &str, token: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let hex = sha256_hex(&bytes);
        let res = self
            .client
            .put(self.url(&format!("/blobs/sha256/{hex}?app={app}")))
            .bearer_auth(token)
            .body(bytes)
            .send()
            .await
            .expect("put blob");
        let status = res.status();
        let v = res.json().await.unwrap_or(Value::Null);
        (status, v)
    }

    /// Creates a token with the admin token; returns the secret.
    pub async fn token(&self, body: Value) -> String {
        let (s, v) = self.post("/tokens", &self.admin, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["secret"].as_str().expect("secret").to_owned()
    }

    /// Creates a release as admin and expects it new (201); returns the answer.
    pub async fn create_release(&self, app: &str, body: Value) -> Value {
        let (s, v) = self
            .post(&format!("/apps/{app}/releases"), &self.admin, body)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// Uploads one file, creates a draft release of it and attaches it; returns the release
    /// and artifact ids and the attach answer.
    pub async fn upload_and_attach(
        &self,
        app: &str,
        build: &str,
        name: &str,
        bytes: &[u8],
    ) -> (String, String, Value) {
        let (st, v) = self.put_blob(app, &self.admin, bytes.to_vec()).await;
        assert!(
            st == StatusCode::CREATED || st == StatusCode::OK,
            "{st}: {v}"
        );
        let v = self
            .create_release(app, release_body("1.0", build, &[(name, bytes)]))
            .await;
        let (rid, aid) = release_ids(&v);
        let (st, v) = self
            .post_empty(&format!("/artifacts/{aid}/attach"), &self.admin)
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        (rid, aid, v)
    }

    /// Uploads one file, creates a draft release `version`/`build` of it in `app`, attaches it
    /// and answers the artifact's inspection as distd then serves it.
    pub async fn attached_inspection(
        &self,
        app: &str,
        version: &str,
        build: &str,
        name: &str,
        bytes: &[u8],
    ) -> Value {
        let (st, v) = self.put_blob(app, &self.admin, bytes.to_vec()).await;
        assert!(st.is_success(), "{st}: {v}");
        let v = self
            .create_release(app, release_body(version, build, &[(name, bytes)]))
            .await;
        let (_, id) = release_ids(&v);
        let (st, v) = self
            .post_empty(&format!("/artifacts/{id}/attach"), &self.admin)
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let (st, v) = self.get(&format!("/artifacts/{id}"), &self.admin).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        v["inspection"].clone()
    }

    pub async fn create_app(&self, slug: &str) {
        let (s, v) = self
            .post(
                "/apps",
                &self.admin,
                serde_json::json!({"slug": slug, "name": slug.to_uppercase()}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Whether the tests run as root (mounts are possible; file modes do not stop writes).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn run_ok(cmd: &str, args: &[&str]) {
    let st = Command::new(cmd).args(args).status().expect(cmd);
    assert!(st.success(), "{cmd} {args:?}: {st}");
}

/// A file bind-mounted read-only over itself (root only); unmounted on drop.
pub struct ReadOnlyBind(PathBuf);

impl ReadOnlyBind {
    pub fn new(path: &Path) -> Self {
        let p = path.to_str().expect("utf-8 path");
        run_ok("mount", &["--bind", p, p]);
        run_ok("mount", &["-o", "remount,ro,bind", p]);
        Self(path.to_owned())
    }
}

impl Drop for ReadOnlyBind {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A small tmpfs mounted on a folder (root only); unmounted on drop.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    pub fn new(path: &Path, bytes: u64) -> Self {
        std::fs::create_dir_all(path).expect("mount point");
        run_ok(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={bytes}"),
                "tmpfs",
                path.to_str().expect("utf-8"),
            ],
        );
        Self(path.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// One of the project's own fixtures (`fixtures/<platform>/<name>`), failing with its path.
pub fn project_fixture(platform: &str, name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(platform)
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A file of the real corpus (`DIST_CORPUS`), or `None` with a note when the variable is unset.
/// With the variable set, a missing file fails the test.
pub fn corpus(rel: &str) -> Option<Vec<u8>> {
    let dir = match std::env::var("DIST_CORPUS") {
        Ok(d) if !d.is_empty() => d,
        _ => {
            eprintln!("note: DIST_CORPUS unset; skipping the part that needs {rel}");
            return None;
        }
    };
    let mut p = PathBuf::from(dir);
    if p.is_relative() {
        p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p);
    }
    let p = p.join(rel);
    Some(
        std::fs::read(&p).unwrap_or_else(|e| {
            panic!("DIST_CORPUS is set but {} cannot be read: {e}", p.display())
        }),
    )
}

/// A small, valid zip that no target recognises.
pub fn tiny_zip() -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        w.start_file("hello.txt", zip::write::SimpleFileOptions::default())
            .expect("zip");
        w.write_all(b"hello, not an app").expect("zip");
        w.finish().expect("zip");
    }
    buf.into_inner()
}

/// Deterministic pseudo-random bytes (xorshift), so failures repeat.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

/// The release id and its first artifact's id from a release-create answer.
pub fn release_ids(v: &Value) -> (String, String) {
    let id = |x: &Value| x.as_str().expect("an id").to_owned();
    (
        id(&v["release"]["id"]),
        id(&v["release"]["artifacts"][0]["id"]),
    )
}

pub fn release_body(version: &str, build: &str, arts: &[(&str, &[u8])]) -> Value {
    serde_json::json!({
        "version": version,
        "build": build,
        "artifacts": arts.iter().map(|(name, bytes)| serde_json::json!({
            "file_name": name, "sha256": sha256_hex(bytes), "size": bytes.len(),
        })).collect::<Vec<_>>(),
    })
}

/// What [`Server::mixed_release`] made.
pub struct MixedRelease {
    pub release: String,
    /// Artifact ids by role: `apk`, `ipa_file` (an App Store build, artifact-only), `ipa_ota`
    /// (the ad hoc build, enterprise mode), `testflight`, `mac_universal` (an unsigned app zip),
    /// `mac_arm64` (an ad hoc signed app tar), `msi`, `msix` (x64), `deb`, `rpm`, `appimage`
    /// (x86_64).
    pub artifacts: std::collections::BTreeMap<&'static str, String>,
    pub ipa: Vec<u8>,
    pub apk: Vec<u8>,
}

impl Server {
    /// Publishes one release of app `app` holding every kind the install pages tell apart, from
    /// the project's fixtures: an APK, an App Store IPA shipped as a file, an ad hoc IPA
    /// delivered over the air, a TestFlight link, a universal macOS app (zip) and an arm64 one
    /// (tar), an MSI and an MSIX, a deb, an rpm and an AppImage; promotes it to `beta`. No
    /// fixture IPA passes the enterprise mode's checks (they chain to the project's test root,
    /// not Apple's, and the API rightly refuses them for OTA: see browser.rs), so the
    /// over-the-air one is the ad hoc fixture published as a file and switched to the
    /// enterprise mode in SQLite (the page and its manifest are what is tested, not Apple's
    /// signature).
    pub async fn mixed_release(&self, app: &str) -> MixedRelease {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let read = |path: &str| std::fs::read(root.join("fixtures").join(path)).unwrap();
        let apk = read("android/signed-v1v2v3.apk");
        let ipa = read("ios/tiny-adhoc.ipa");
        let store_ipa = read("ios/tiny-appstore.ipa");
        let desktop = [
            // Unsigned and ad hoc (warnings): Developer ID ones chain to the test root,
            // which macOS's checks refuse like the IPAs.
            ("mac_universal", "Tiny-mac.zip", read("macos/unsigned.zip")),
            (
                "mac_arm64",
                "Tiny-mac-arm64.tar.xz",
                read("macos/linker-signed.tar.xz"),
            ),
            ("msi", "DistHello.msi", read("windows/hello-signed.msi")),
            ("msix", "DistHello.msix", read("windows/hello-signed.msix")),
            (
                "deb",
                "hello-dist_1.2.3-4_amd64.deb",
                read("linux/hello-dist_1.2.3-4_amd64.xz.deb"),
            ),
            (
                "rpm",
                "hello-1.0-1.x86_64.rpm",
                read("linux/hello-1.0-1.x86_64-rsa.rpm"),
            ),
            (
                "appimage",
                "Hello-x86_64.AppImage",
                read("linux/Hello-signed-x86_64.AppImage"),
            ),
        ];
        for b in [&apk, &ipa, &store_ipa]
            .into_iter()
            .chain(desktop.iter().map(|d| &d.2))
        {
            let (st, v) = self.put_blob(app, &self.admin, b.clone()).await;
            assert!(st.is_success(), "{st}: {v}");
        }
        let file = |name: &str, b: &[u8]| serde_json::json!({"file_name": name, "sha256": sha256_hex(b), "size": b.len()});
        let mut ipa_file = file("Tiny.ipa", &store_ipa);
        ipa_file["install"] = "artifact-only".into();
        let mut ipa_ota = file("Tiny-OTA.ipa", &ipa);
        ipa_ota["install"] = "artifact-only".into();
        let mut files = vec![
            file("acme.apk", &apk),
            ipa_file,
            ipa_ota,
            serde_json::json!({"platform": "ios", "link": "https://testflight.apple.com/join/ABCDEFGH"}),
        ];
        files.extend(desktop.iter().map(|(_, name, b)| file(name, b)));
        let v = self
            .create_release(
                app,
                serde_json::json!({"version": "1.0", "build": "7",
                    "notes": "## What's new\n\n- **Faster** start\n- <script>alert(1)</script>fixed",
                    "source": {"commit": "3f2c1ab", "branch": "main", "ci_url": "https://ci.example/run/1"},
                    "artifacts": files}),
            )
            .await;
        let release = v["release"]["id"].as_str().unwrap().to_owned();
        let roles = ["apk", "ipa_file", "ipa_ota", "testflight"]
            .into_iter()
            .chain(desktop.iter().map(|d| d.0));
        let mut artifacts = std::collections::BTreeMap::new();
        for (i, role) in roles.enumerate() {
            let aid = v["release"]["artifacts"][i]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            if role != "testflight" {
                let (st, v) = self
                    .post_empty(&format!("/artifacts/{aid}/attach"), &self.admin)
                    .await;
                assert_eq!(st, StatusCode::OK, "{role}: {v}");
            }
            artifacts.insert(role, aid);
        }
        let db = rusqlite::Connection::open(self.data.join("distd.sqlite3")).unwrap();
        db.busy_timeout(Duration::from_secs(10)).unwrap();
        let n = db
            .execute(
                "UPDATE artifacts SET install_mode = 'enterprise' WHERE id = ?1",
                [&artifacts["ipa_ota"]],
            )
            .unwrap();
        assert_eq!(n, 1);
        let (st, v) = self
            .post_empty(&format!("/releases/{release}/publish"), &self.admin)
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let (st, v) = self
            .post(
                &format!("/apps/{app}/channels/beta/promote"),
                &self.admin,
                serde_json::json!({"release_id": release}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        MixedRelease {
            release,
            artifacts,
            ipa,
            apk,
        }
    }
}
