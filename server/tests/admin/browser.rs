//! The console in real Chromium (Debian's, headless), driven over the DevTools protocol on a
//! pipe (`--remote-debugging-pipe`: fd 3 in, fd 4 out, NUL-separated JSON), so no WebDriver
//! or websocket library is needed. Forms are submitted by the browser itself, with its own
//! cookies (SameSite=Strict) and CSP; the database and audit log are checked after each step.
//! Screenshots at desktop and phone widths go to `target/tmp/admin-screenshots/`.
//!
//! CI installs chromium (`.ci/run`); there the test fails without it. Elsewhere it says it is
//! skipped when no chromium is on PATH (or in DIST_CHROMIUM).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;

use super::*;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DIST_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no chromium on PATH: CI must install it (.ci/run: apt-get install chromium)"
        );
        eprintln!("skipped: no chromium on PATH (set DIST_CHROMIUM to use one elsewhere)");
    }
    found
}

/// Where the screenshots go.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("admin-screenshots")
}

/// One headless Chromium and one page in it.
struct Browser {
    child: Child,
    to: ChildStdin,
    from: mpsc::Receiver<Value>,
    next: u64,
    session: String,
    shots: PathBuf,
}

impl Browser {
    fn start(chromium: &Path, profile: &Path, shots: &Path) -> Browser {
        // The shell hands our stdin and stdout to Chromium as fds 3 and 4, the pipe it speaks
        // the protocol on; its own output goes to stderr.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$@" 3<&0 4>&1 0</dev/null 1>&2"#)
            .arg("sh")
            .arg(chromium)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let to = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            loop {
                let mut buf = Vec::new();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        buf.pop();
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                            && tx.send(v).is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        std::fs::create_dir_all(shots).unwrap();
        let mut b = Browser {
            child,
            to,
            from: rx,
            next: 0,
            session: String::new(),
            shots: shots.to_owned(),
        };
        let t = b.call("Target.createTarget", json!({"url": "about:blank"}));
        let target = t["targetId"].as_str().unwrap().to_owned();
        let a = b.call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        b.session = a["sessionId"].as_str().unwrap().to_owned();
        b
    }

    /// Sends a command (to the page once attached) and waits for its answer.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .map_err(|_| format!("no answer from chromium within 30 s to {method}"))?;
            if v["id"] == json!(id) {
                if let Some(e) = v.get("error") {
                    return Err(e.to_string());
                }
                return Ok(v["result"].clone());
            }
        }
    }

    /// The value of a JavaScript expression in the page (the test's driver, not the page's).
    fn eval(&mut self, expr: &str) -> Result<Value, String> {
        let r = self.try_call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true}),
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(e.to_string());
        }
        Ok(r["result"]["value"].clone())
    }

    fn size(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// Waits until a new document (one without the marker `act` left) has loaded.
    fn after_navigation(&mut self, act: impl FnOnce(&mut Self)) {
        self.eval("window.__distOld = 1").unwrap();
        act(self);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = self.eval(
                "typeof window.__distOld === 'undefined' && document.readyState === 'complete'",
            );
            if ready == Ok(json!(true)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not load: {ready:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn open(&mut self, url: &str) {
        let url = url.to_owned();
        self.after_navigation(|b| {
            b.call("Page.navigate", json!({"url": url}));
        });
    }

    /// Clicks the element `selector` names, which leads to another page (a form's button).
    fn submit(&mut self, selector: &str) {
        let js = format!(
            "document.querySelector({}).click()",
            serde_json::to_string(selector).unwrap()
        );
        self.after_navigation(|b| {
            b.eval(&js)
                .unwrap_or_else(|e| panic!("click {selector}: {e}"));
        });
    }

    fn fill(&mut self, selector: &str, value: &str) {
        let js = format!(
            "document.querySelector({}).value = {}",
            serde_json::to_string(selector).unwrap(),
            serde_json::to_string(value).unwrap()
        );
        self.eval(&js)
            .unwrap_or_else(|e| panic!("fill {selector}: {e}"));
    }

    fn check(&mut self, selector: &str) {
        let js = format!(
            "document.querySelector({}).checked = true",
            serde_json::to_string(selector).unwrap()
        );
        self.eval(&js)
            .unwrap_or_else(|e| panic!("check {selector}: {e}"));
    }

    fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn path(&mut self) -> String {
        self.eval("location.pathname + location.search")
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Saves the whole page as `name.png`.
    fn shot(&mut self, name: &str) {
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sessions(s: &Server) -> i64 {
    db(s)
        .query_row(
            "SELECT COUNT(*) FROM sessions WHERE kind = 'admin'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_promote_with_the_downgrade_checkbox_roll_back_and_tokens_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    // The older build is a debuggable one: its findings and what changed show on the pages.
    let debuggable = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/android/debuggable.apk"),
    )
    .unwrap();
    let old = publish_bytes(&s, "acme", "1", &debuggable).await;
    let new = publish(&s, "acme", "2").await;
    promote_api(&s, "acme", "beta", &old).await;
    promote_api(&s, "acme", "beta", &new).await;
    let shots = screenshot_dir();
    let mut b = Browser::start(&chromium, &dir.path().join("profile"), &shots);
    b.size(1280, 900, false);
    let base = s.base.clone();

    // Sign in: the console sends a browser without a session to the form.
    b.open(&format!("{base}/admin"));
    assert_eq!(b.path(), "/admin/signin");
    b.shot("desktop-01-signin");
    b.fill("input[name=token]", &s.admin);
    b.submit("form[action='/admin/signin'] button");
    assert_eq!(b.path(), "/admin");
    let t = b.text();
    assert!(
        t.contains("Apps") && t.contains("ACME") && t.contains("beta"),
        "{t}"
    );
    assert_eq!(sessions(&s), 1);
    assert_eq!(audit_rows(&s, "admin.signin").len(), 1);
    b.shot("desktop-02-apps");

    // Create an app and its identity rules through the forms.
    b.eval("document.querySelector('details').open = true")
        .unwrap();
    b.fill("input[name=slug]", "beta-app");
    b.fill("input[name=name]", "Beta App");
    b.check("input[name=platform_android]");
    b.submit("form[action='/admin/apps'] button");
    assert_eq!(b.path(), "/admin/apps/beta-app?ok=app-created");
    let (st, v) = s.get("/apps/beta-app", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["platforms"], json!(["android"]));
    b.open(&format!("{base}/admin/apps/beta-app/identity"));
    b.fill("textarea[name='android.identities']", "org.dist.*");
    b.shot("desktop-03a-identity-rules");
    b.submit("form[action='/admin/apps/beta-app/identity'] button");
    assert!(b.text().contains("Identity rules saved."));
    let (_, v) = s.get("/apps/beta-app", &s.admin).await;
    assert_eq!(
        v["identity"]["android"]["identities"],
        json!(["org.dist.*"])
    );
    assert_eq!(audit_rows(&s, "app.update").len(), 1);

    b.open(&format!("{base}/admin/apps/acme"));
    b.shot("desktop-03-app-releases");
    b.open(&format!("{base}/admin/releases/{old}"));
    let t = b.text();
    assert!(t.contains("Changes against each channel's release"), "{t}");
    assert!(t.contains("Signature"), "{t}");
    b.shot("desktop-04-release");

    // Promote an older release: refused without the checkbox, done with it.
    let review = format!("{base}/admin/apps/acme/promote?release={old}&channel=beta");
    b.open(&review);
    let t = b.text();
    assert!(
        t.contains("Policy result") && t.contains("created before it"),
        "{t}"
    );
    b.shot("desktop-05-promote-downgrade");
    b.submit("form.confirm button");
    let t = b.text();
    assert!(t.contains("409") && t.contains("backwards"), "{t}");
    assert_eq!(channel_release(&s, "acme", "beta").await, new.as_str());
    b.open(&review);
    b.check("input[name=allow_downgrade]");
    b.submit("form.confirm button");
    assert_eq!(b.path(), "/admin/apps/acme/channels/beta?ok=promoted");
    assert!(b.text().contains("Promoted."));
    assert_eq!(channel_release(&s, "acme", "beta").await, old.as_str());
    let promotes = audit_rows(&s, "channel.promote");
    assert!(promotes.last().unwrap().0.ends_with(":initial-admin"));
    b.shot("desktop-06-channel-after-promote");

    // Roll back: the confirmation names the target.
    b.open(&format!("{base}/admin/apps/acme/channels/beta/rollback"));
    let t = b.text();
    assert!(
        t.contains("Roll back beta to 1.0 (2)") && t.contains(&new),
        "{t}"
    );
    b.shot("desktop-07-rollback-confirm");
    b.submit("form.confirm button");
    assert!(b.text().contains("Rolled back."));
    assert_eq!(channel_release(&s, "acme", "beta").await, new.as_str());
    assert_eq!(audit_rows(&s, "channel.rollback").len(), 1);

    // A token: created with its secret shown once and a working copy button, then revoked.
    b.open(&format!("{base}/admin/tokens"));
    b.fill("input[name=name]", "tester-ci");
    b.check("input[name=scope_read]");
    b.submit("form[action='/admin/tokens'] button");
    let secret = b
        .eval("document.getElementById('secret').textContent")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("dist_"), "{secret}");
    assert_eq!(
        b.eval("document.querySelector('button[data-copy]').hidden")
            .unwrap(),
        json!(false),
        "the copy script ran under the page's CSP"
    );
    let (st, who) = s.get("/token", &secret).await;
    assert_eq!(st, StatusCode::OK);
    let id = who["token"]["id"].as_str().unwrap().to_owned();
    b.shot("desktop-08-token-created");
    b.submit(&format!("form[action='/admin/tokens/{id}/revoke'] button"));
    assert_eq!(b.path(), "/admin/tokens?ok=revoked");
    assert_eq!(s.get("/token", &secret).await.0, StatusCode::UNAUTHORIZED);
    let revoked: Option<String> = db(&s)
        .query_row("SELECT revoked_at FROM tokens WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(revoked.is_some());
    b.shot("desktop-09-token-revoked");

    b.open(&format!("{base}/admin/audit"));
    let t = b.text();
    assert!(
        t.contains("Chain verifies") && t.contains("token.revoke"),
        "{t}"
    );
    b.fill("input[name=action]", "channel.promote");
    b.submit("form[action='/admin/audit'] button");
    assert_eq!(
        b.path(),
        "/admin/audit?actor=&action=channel.promote&app=&since=&until="
    );
    let rows = b
        .eval("document.querySelectorAll('table.audit tbody tr').length")
        .unwrap();
    assert_eq!(rows, json!(audit_rows(&s, "channel.promote").len()));
    b.shot("desktop-10-audit");
    b.open(&format!("{base}/admin/settings"));
    assert!(b.text().contains("Stored files"));
    b.shot("desktop-11-settings");

    // Dark mode follows the system setting.
    b.call(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    );
    b.open(&format!("{base}/admin/apps/acme"));
    let bg = b
        .eval("getComputedStyle(document.body).backgroundColor")
        .unwrap();
    assert_eq!(bg, json!("rgb(22, 24, 27)"), "the dark background");
    b.shot("desktop-12-app-dark");
    b.call(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "light"}]}),
    );

    // Phone width: the same pages stay usable (tables scroll inside their box).
    b.size(390, 844, true);
    for (name, path) in [
        ("phone-01-apps", "/admin".to_owned()),
        ("phone-02-release", format!("/admin/releases/{new}")),
        (
            "phone-03-promote",
            format!("/admin/apps/acme/promote?release={old}&channel=beta"),
        ),
        ("phone-04-tokens", "/admin/tokens".to_owned()),
    ] {
        b.open(&format!("{base}{path}"));
        let overflow = b
            .eval("document.documentElement.scrollWidth <= window.innerWidth + 1")
            .unwrap();
        assert_eq!(overflow, json!(true), "{path} scrolls sideways on a phone");
        b.shot(name);
    }

    // Sign out ends the session in the database too.
    b.submit("form[action='/admin/signout'] button");
    assert_eq!(b.path(), "/admin/signin");
    assert_eq!(sessions(&s), 0);
    eprintln!("screenshots in {}", shots.display());
}
