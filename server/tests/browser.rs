//! The install page in a real browser: Debian's chromium, headless. The page renders, and the
//! stylesheet and icon it links load under its Content-Security-Policy (the browser's own
//! requests show in distd's log).
//!
//! CI installs chromium (`.ci/run`); there the test fails without it. Elsewhere it says it is
//! skipped when no chromium is on PATH (or in DIST_CHROMIUM).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Server;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_page_renders_in_chromium_with_its_stylesheet_and_icon() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    s.create_app("acme").await;
    let apk_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/android/signed-v1v2v3.apk");
    let apk = std::fs::read(&apk_path).unwrap();
    let (rid, aid, _) = s.upload_and_attach("acme", "7", "acme.apk", &apk).await;
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert!(st.is_success(), "{v}");
    let dl = s
        .token(serde_json::json!({"name": "tester", "scopes": ["download"], "app": "acme"}))
        .await;

    // A tester's download link: the browser trades the token for a page session cookie and
    // lands on the page without it.
    let url = format!("{}/i/{aid}?token={dl}", s.base);
    let profile = dir.path().join("chromium-profile");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(chromium)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--virtual-time-budget=3000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(&url)
            .output()
    })
    .await
    .unwrap()
    .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dom.contains("<h1>ACME 1.0 (7)</h1>"), "{dom}");
    assert!(dom.contains("acme.apk"), "{dom}");
    assert!(dom.contains("<a href="), "an install link: {dom}");
    assert!(!dom.contains("<script"), "{dom}");
    assert!(
        !dom.contains(&dl),
        "the tester's token is in the page: {dom}"
    );
    assert!(dom.contains("grant="), "links carry grants: {dom}");

    // What the browser itself fetched, from distd's request log (request lines are written
    // in batches within `logfile::BATCH_DELAY`: wait for the icon's line).
    let fetched_in = |log: &str, path: &str| {
        log.lines()
            .any(|l| l.contains(&format!(" path={path} ")) && l.contains("status=200"))
    };
    let icon_path = format!("/i/{aid}/icon.png");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(data.with_extension("log")).unwrap();
        if fetched_in(&log, &icon_path) || std::time::Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let fetched = |path: &str| fetched_in(&log, path);
    assert!(fetched("/static/dist.css"), "stylesheet not loaded:\n{log}");
    // The fixture has a launcher icon; the page shows it.
    assert!(dom.contains("class=\"icon\""), "{dom}");
    assert!(
        fetched(&format!("/i/{aid}/icon.png")),
        "icon not loaded:\n{log}"
    );
    // The page was opened with ?token=; request lines never carry query strings. (The first
    // start's one-time admin token line is the one place a secret is printed, by design.)
    if let Some(line) = log
        .lines()
        .find(|l| l.contains("server::http: request") && (l.contains(&s.admin) || l.contains(&dl)))
    {
        panic!("the token reached a request line: {line}");
    }
}

/// The Python that has selenium: Debian's (`python3-selenium`), which a pyenv `python3` on
/// PATH may hide.
fn python_with_selenium() -> Option<PathBuf> {
    ["/usr/bin/python3", "python3"]
        .iter()
        .map(PathBuf::from)
        .find(|p| {
            Command::new(p)
                .args(["-c", "import selenium"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Issue 20: the release pages in Chromium for each emulated client, the OTA manifest over
/// https and the QR code (server/tests/browser/pages.py says what it checks). One distd, one
/// browser session; about 70 s, most of it waiting for the grants to expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_pages_in_chromium_per_device() {
    let Some(_chromium) = chromium() else { return };
    let tools = (
        python_with_selenium(),
        Command::new("zbarimg").arg("--version").output().is_ok(),
        Command::new("chromedriver")
            .arg("--version")
            .output()
            .is_ok(),
    );
    let (Some(python), true, true) = tools else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium-driver, python3-selenium and zbar-tools (.ci/run)"
        );
        eprintln!("skipped: needs chromedriver, python3-selenium and zbarimg");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let https_port = common::free_port();
    let ttl = 60;
    let s = Server::start_with(
        &dir.path().join("data"),
        &[
            (
                "DIST_PUBLIC_URL",
                &format!("https://127.0.0.1:{https_port}"),
            ),
            ("DIST_GRANT_TTL_SECS", &ttl.to_string()),
        ],
    )
    .await;
    s.create_app("acme").await;
    // The project's enterprise IPA, published as a user would: attached in its default mode,
    // the enterprise (OTA) install, it carries the blocking finding, and the publish refuses
    // it naming why: the fixture is signed through the project's test root, not Apple's, and
    // its extension carries another team's profile. So the OTA case below is mixed_release's
    // stand-in.
    let enterprise = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/ios/tiny-enterprise.ipa"),
    )
    .unwrap();
    let (rid, _, v) = s
        .upload_and_attach("acme", "42", "Tiny-enterprise.ipa", &enterprise)
        .await;
    assert_eq!(v["install_mode"], "enterprise", "{v}");
    assert_eq!(v["inspection"]["details"]["profile"]["type"], "enterprise");
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st.as_u16(), 422, "{v}");
    let said = v.to_string();
    for why in [
        "ios.install.blocked",
        "ios.profile.untrusted",
        "ios.signature.untrusted",
        "ios.extension.team_mismatch",
    ] {
        assert!(said.contains(why), "{why}: {v}");
    }
    let m = s.mixed_release("acme").await;
    let tester = s
        .token(serde_json::json!({"name": "tester", "scopes": ["download"], "app": "acme"}))
        .await;
    let shots = std::env::var_os("DIST_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser-screenshots")
        });
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/pages.py");
    let out = tokio::task::spawn_blocking({
        let (port, shots) = (s.port, shots.clone());
        let sha = common::sha256_hex(&m.ipa);
        move || {
            Command::new(python)
                .arg(script)
                .env("DIST_HTTP_PORT", port.to_string())
                .env("DIST_HTTPS_PORT", https_port.to_string())
                .env("DIST_TOKEN", &tester)
                .env("DIST_IPA_SHA256", sha)
                .env("DIST_GRANT_TTL", ttl.to_string())
                .env("DIST_SHOTS", &shots)
                .output()
        }
    })
    .await
    .unwrap()
    .expect("run pages.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pages.py failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all browser checks passed"), "{stdout}");
    eprintln!("{stdout}");
}
