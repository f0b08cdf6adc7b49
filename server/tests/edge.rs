//! The HTTP edge and the process, against a real distd (issue 9, items 6, 7, 8, 11, 12, 13):
//! slow clients, the anonymous audit flood, trusted proxies, the bootstrap secret, data folder
//! permissions, security headers, HTML error pages and the inspection cap.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::*;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Reads until the server closes the connection (EOF or reset); returns when, or `None`
/// if it is still open at `limit`.
async fn closed_within(mut s: TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((start + limit).into(), s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// The audit rows of `auth.denied`, straight from the database (for rows written at
/// shutdown, after the API is gone).
fn denied_rows(data: &Path) -> Vec<(String, Value)> {
    let c = rusqlite::Connection::open(data.join("distd.sqlite3")).unwrap();
    let mut st = c
        .prepare(
            "SELECT actor, details FROM audit_events WHERE action = 'auth.denied' ORDER BY seq",
        )
        .unwrap();
    st.query_map([], |r| {
        let actor: String = r.get(0)?;
        let details: String = r.get(1)?;
        Ok((actor, serde_json::from_str(&details).unwrap()))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

// ---- item 8: slow clients

/// Issue 9 item 8: hundreds of half-sent requests used to stay open forever. Now a
/// connection that started a request head and did not finish it within the header timeout
/// is closed, and so is one that sends nothing within the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_after_the_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(
        &dir.path().join("data"),
        &[
            ("DIST_HEADER_TIMEOUT_SECS", "2"),
            ("DIST_IDLE_TIMEOUT_SECS", "6"),
        ],
    )
    .await;
    let addr = format!("127.0.0.1:{}", s.port);
    // 300 connections: a third send a partial HTTP/1.1 head, a third part of the HTTP/2
    // preface, a third nothing at all.
    let partial: [&[u8]; 3] = [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        b"PRI * HTTP/2.0\r\n",
        b"",
    ];
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        let bytes = partial[i % 3];
        if !bytes.is_empty() {
            c.write_all(bytes).await.unwrap();
        }
        tasks.push((
            i % 3,
            tokio::spawn(closed_within(c, Duration::from_secs(20))),
        ));
    }
    let opened = started.elapsed();
    let mut worst = [Duration::ZERO; 3];
    let mut best = [Duration::MAX; 3];
    for (kind, t) in tasks {
        let closed = t
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("a kind-{kind} connection was still open after 20 s"));
        worst[kind] = worst[kind].max(closed);
        best[kind] = best[kind].min(closed);
    }
    eprintln!(
        "300 connections opened in {opened:?}; closed after (min..max): partial head {:?}..{:?}, partial preface {:?}..{:?}, silent {:?}..{:?}",
        best[0], worst[0], best[1], worst[1], best[2], worst[2]
    );
    // Closed by the timeouts (not at once, not much later): partial heads after about 2 s,
    // a silent connection after about 6 s. The HTTP/2 preface is bytes read with no request
    // yet, so the header timeout applies to it too.
    for kind in 0..2 {
        assert!(
            best[kind] >= Duration::from_millis(1500),
            "{kind}: {best:?}"
        );
        assert!(
            worst[kind] <= Duration::from_millis(4500),
            "{kind}: {worst:?}"
        );
    }
    assert!(best[2] >= Duration::from_millis(5000), "{best:?}");
    assert!(worst[2] <= Duration::from_secs(9), "{worst:?}");
    // The server is still fine.
    let (st, _) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
}

/// An idle keep-alive connection is closed after the idle timeout, not the (shorter) header
/// timeout; hyper's own header timer, armed the moment a keep-alive connection goes idle,
/// would close it after the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_get_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(
        &dir.path().join("data"),
        &[
            ("DIST_HEADER_TIMEOUT_SECS", "1"),
            ("DIST_IDLE_TIMEOUT_SECS", "4"),
        ],
    )
    .await;
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = c.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    let closed = closed_within(c, Duration::from_secs(15))
        .await
        .expect("an idle keep-alive connection stayed open");
    eprintln!("idle keep-alive connection closed after {closed:?}");
    assert!(closed >= Duration::from_secs(3), "{closed:?}");
    assert!(closed <= Duration::from_secs(8), "{closed:?}");
}

/// A long download is a request in flight: neither timeout cuts it, however long the client
/// takes to read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_download_is_not_cut_by_the_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(
        &dir.path().join("data"),
        &[
            ("DIST_HEADER_TIMEOUT_SECS", "1"),
            ("DIST_IDLE_TIMEOUT_SECS", "2"),
        ],
    )
    .await;
    s.create_app("acme").await;
    // Larger than what the loopback socket buffers hold, so the response is still being
    // written while the client sleeps.
    let apk = apk_with_big_dex(48 << 20, false);
    let (_, aid, _) = s.upload_and_attach("acme", "1", "big.apk", &apk).await;
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    c.write_all(
        format!(
            "GET /api/v1/artifacts/{aid}/download HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            s.admin
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), c.read_to_end(&mut got))
        .await
        .expect("download finished")
        .expect("download not cut");
    let head_end = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    assert!(got.starts_with(b"HTTP/1.1 200"));
    assert_eq!(got.len() - head_end, apk.len());
}

/// The accept loop kept the shutdown behaviour: on SIGTERM distd takes no new connections
/// and lets a download in flight finish before it exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_download_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    let apk = apk_with_big_dex(48 << 20, false);
    let (_, aid, _) = s.upload_and_attach("acme", "1", "big.apk", &apk).await;
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    c.write_all(
        format!(
            "GET /api/v1/artifacts/{aid}/download HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
            s.admin
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut first = [0u8; 12];
    c.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let pid = s.child.as_ref().unwrap().id();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        TcpStream::connect(("127.0.0.1", s.port)).await.is_err(),
        "a new connection was accepted after SIGTERM"
    );
    let mut got = first.to_vec();
    tokio::time::timeout(Duration::from_secs(60), c.read_to_end(&mut got))
        .await
        .expect("the download finished")
        .expect("the download was not cut");
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(got.len() - head_end, apk.len());
    let t = Instant::now();
    s.stop();
    eprintln!("distd exited {:?} after the download ended", t.elapsed());
}

// ---- item 7: anonymous audit flood, trusted proxies

/// Issue 9 item 7: each refused write without a valid token used to append its own fsynced
/// row. Now 200 of them from one address make one row per minute with the count, written
/// when the minute ends or at shutdown; refusals of a valid token stay one row each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_denials_are_coalesced_per_address_and_minute() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Server::start(&data).await;
    let before = denied_rows(&data).len();
    let body = json!({"slug": "x", "name": "X"});
    let started = Instant::now();
    let mut futs = Vec::new();
    for i in 0..200 {
        let token = (i % 2 == 0).then_some("dist_bogus");
        futs.push(s.call(Method::POST, "/apps", token, Some(body.clone())));
    }
    for (st, v) in futures_util::future::join_all(futs).await {
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    }
    eprintln!("200 anonymous refused writes in {:?}", started.elapsed());
    let reader = s.token(json!({"name": "reader", "scopes": ["read"]})).await;
    for _ in 0..5 {
        let (st, _) = s.post("/apps", &reader, body.clone()).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
    // Authenticated refusals are there at once, one row each, with the client address.
    let (_, v) = s
        .get("/audit?action=auth.denied&limit=1000", &s.admin)
        .await;
    let events = v["events"].as_array().unwrap();
    let named: Vec<&Value> = events
        .iter()
        .filter(|e| e["actor"] != "anonymous")
        .collect();
    assert_eq!(named.len(), 5, "{v}");
    assert!(
        named.iter().all(|e| e["details"]["client"] == "127.0.0.1"),
        "{v}"
    );
    s.stop();
    let rows = denied_rows(&data);
    let anon: Vec<&Value> = rows
        .iter()
        .skip(before)
        .filter(|(a, _)| a == "anonymous")
        .map(|(_, d)| d)
        .collect();
    eprintln!(
        "audit rows for 200 anonymous refusals: {}; {:?}",
        anon.len(),
        anon
    );
    // One minute, or two if the burst crossed a minute boundary.
    assert!(!anon.is_empty() && anon.len() <= 2, "{anon:?}");
    let total: u64 = anon.iter().map(|d| d["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 200, "{anon:?}");
    assert!(anon.iter().all(|d| d["client"] == "127.0.0.1"), "{anon:?}");
    assert_eq!(
        anon[0]["endpoints"]["app.create"], anon[0]["count"],
        "{anon:?}"
    );
    // Why they were refused, counted, and never a secret.
    let reasons = anon[0]["reasons"].as_object().unwrap();
    assert!(reasons.contains_key("unknown token"), "{reasons:?}");
    assert!(
        reasons.keys().any(|r| r.starts_with("missing token")),
        "{reasons:?}"
    );
    assert!(!anon[0].to_string().contains("dist_bogus"), "{anon:?}");
    // The chain still verifies.
    let out = std::process::Command::new(DISTD)
        .args(["audit", "verify", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Issue 9 item 7: behind a reverse proxy every client has the proxy's address. The
/// `X-Forwarded-For` header is believed only from a trusted proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    async fn client_of_a_denial(s: &Server, xff: &str) -> Value {
        let reader = s.token(json!({"name": "reader", "scopes": ["read"]})).await;
        let res = s
            .client
            .post(s.url("/apps"))
            .bearer_auth(&reader)
            .header("x-forwarded-for", xff)
            .json(&json!({"slug": "x", "name": "X"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let (_, v) = s
            .get("/audit?action=auth.denied&limit=1000", &s.admin)
            .await;
        let last = v["events"].as_array().unwrap().last().unwrap().clone();
        last["details"]["client"].clone()
    }
    let dir = tempfile::tempdir().unwrap();
    // Untrusted peer: the header is ignored.
    let s = Server::start(&dir.path().join("a")).await;
    assert_eq!(
        client_of_a_denial(&s, "198.51.100.7").await,
        "127.0.0.1",
        "X-Forwarded-For from an untrusted peer was believed"
    );
    drop(s);
    // Trusted peer (here from config.toml): the rightmost hop that is not a trusted proxy.
    std::fs::create_dir(dir.path().join("b")).unwrap();
    std::fs::write(
        dir.path().join("b/config.toml"),
        "trusted_proxies = [\"127.0.0.0/8\", \"10.0.0.1\"]\n",
    )
    .unwrap();
    let s = Server::start(&dir.path().join("b")).await;
    assert_eq!(
        client_of_a_denial(&s, "203.0.113.5, 198.51.100.7, 10.0.0.1").await,
        "198.51.100.7"
    );
    // Anonymous refusals are counted under the forwarded address too.
    let res = s
        .client
        .post(s.url("/apps"))
        .header("x-forwarded-for", "192.0.2.44")
        .json(&json!({"slug": "x", "name": "X"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let mut s = s;
    s.stop();
    let rows = denied_rows(&dir.path().join("b"));
    assert!(
        rows.iter()
            .any(|(a, d)| a == "anonymous" && d["client"] == "192.0.2.44"),
        "{rows:?}"
    );
}

// ---- item 6: the bootstrap secret

/// Issue 9 item 6: the first admin token's secret used to be logged. With stdout not a
/// terminal it is only in `DATA/initial-admin-token` (0600), and the log says where.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_secret_is_not_logged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    let file = data.join("initial-admin-token");
    assert_eq!(mode(&file), 0o600);
    let log = std::fs::read_to_string(data.with_extension("log")).unwrap();
    assert!(!log.contains(&s.admin), "the secret is in the log:\n{log}");
    assert!(log.contains(&file.display().to_string()), "{log}");
}

/// With stdout a terminal (util-linux `script` gives it one), the secret is printed there,
/// and still not logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_secret_is_printed_to_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("note: util-linux script is not installed; skipping the terminal case");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let typescript = dir.path().join("typescript");
    let log = dir.path().join("stderr.log");
    // stderr goes to a file, so what the terminal shows is stdout only.
    let cmd = format!(
        "exec {DISTD} serve --data {} --listen 127.0.0.1:{port} 2>{}",
        data.display(),
        log.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-q", "-f", "-e", "-c", &cmd])
        .arg(&typescript)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let file = data.join("initial-admin-token");
    let deadline = Instant::now() + Duration::from_secs(20);
    let secret = loop {
        let shown = std::fs::read_to_string(&typescript).unwrap_or_default();
        if let Ok(secret) = std::fs::read_to_string(&file)
            && !secret.trim().is_empty()
            && shown.contains(secret.trim())
        {
            break secret.trim().to_owned();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "the secret did not reach the terminal; it shows:\n{shown}\nlog:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The terminal closing hangs up distd.
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !logged.contains(&secret),
        "the secret is in the log:\n{logged}"
    );
    assert!(logged.contains("printed to the terminal"), "{logged}");
}

// ---- item 12: data folder permissions

/// Issue 9 item 12: a fresh data folder, its database (and -wal, -shm), blobs, uploads,
/// token file and audit anchor are the service user's alone, whatever the umask distd was
/// started with; and so is a backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_data_folder_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    s.create_app("acme").await;
    let bytes = tiny_zip();
    let (st, _) = s.put_blob("acme", &s.admin, bytes.clone()).await;
    assert_eq!(st, StatusCode::CREATED);
    let hex = sha256_hex(&bytes);
    let blob = data.join("blobs/sha256").join(&hex[..2]).join(&hex);
    let mut checks = vec![
        (data.clone(), 0o700),
        (data.join("blobs"), 0o700),
        (data.join("blobs/sha256"), 0o700),
        (blob.parent().unwrap().to_owned(), 0o700),
        (blob, 0o600),
        (data.join("uploads"), 0o700),
        (data.join("distd.sqlite3"), 0o600),
        (data.join("initial-admin-token"), 0o600),
        (data.join("audit-head"), 0o600),
    ];
    for extra in ["distd.sqlite3-wal", "distd.sqlite3-shm"] {
        if data.join(extra).exists() {
            checks.push((data.join(extra), 0o600));
        }
    }
    let wrong: Vec<String> = checks
        .iter()
        .filter(|(p, m)| mode(p) != *m)
        .map(|(p, m)| format!("{}: {:o}, want {m:o}", p.display(), mode(p)))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    let out = dir.path().join("backup.sqlite3");
    let st = std::process::Command::new(DISTD)
        .args(["backup", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    assert_eq!(mode(&out), 0o600, "backup file");
}

// ---- item 11: headers, HTML error pages

fn assert_security_headers(what: &str, res: &reqwest::Response) {
    let h = res.headers();
    assert_eq!(
        h.get("x-content-type-options").map(|v| v.to_str().unwrap()),
        Some("nosniff"),
        "{what}: {h:?}"
    );
    assert_eq!(
        h.get("referrer-policy").map(|v| v.to_str().unwrap()),
        Some("no-referrer"),
        "{what}: {h:?}"
    );
    let csp: Vec<&str> = h
        .get_all("content-security-policy")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        csp.iter().any(|c| c.contains("frame-ancestors 'none'")),
        "{what}: {h:?}"
    );
}

/// Issue 9 item 11: `nosniff`, `no-referrer` and `frame-ancestors 'none'` on every response:
/// API, install page (merged into its own policy), download, stylesheet, health and 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    let apk = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/android/signed-v1v2v3.apk"),
    )
    .unwrap();
    let (rid, aid, _) = s.upload_and_attach("acme", "1", "app.apk", &apk).await;
    // Pages serve published releases only.
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let get = |path: String, token: Option<String>| {
        let mut rb = s.client.get(format!("{}{path}", s.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        rb.send()
    };
    let admin = Some(s.admin.clone());
    let cases = [
        ("api", "/api/v1/apps".to_owned(), admin.clone(), 200),
        ("page", format!("/i/{aid}"), admin.clone(), 200),
        (
            "download",
            format!("/api/v1/artifacts/{aid}/download"),
            admin.clone(),
            200,
        ),
        ("stylesheet", "/static/dist.css".to_owned(), None, 200),
        ("health", "/healthz".to_owned(), None, 200),
        ("404", "/no/such/page".to_owned(), None, 404),
        ("401", "/api/v1/apps".to_owned(), None, 401),
    ];
    for (what, path, token, want) in cases {
        let res = get(path.clone(), token).await.unwrap();
        assert_eq!(res.status().as_u16(), want, "{what} {path}");
        assert_security_headers(what, &res);
        if what == "page" {
            // The page's own policy is kept, with frame-ancestors merged in.
            let csp = res.headers()["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("default-src"), "{csp}");
        }
    }
}

/// Issue 9: people get HTML error pages only when `Accept` names `text/html` and never under
/// `/api/v1`; API clients always get the JSON error shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_html_errors_and_api_clients_json() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let fetch = |path: &'static str, accept: Option<&'static str>| {
        let mut rb = s.client.get(format!("{}{path}", s.base));
        if let Some(a) = accept {
            rb = rb.header("accept", a);
        }
        async move {
            let res = rb.send().await.unwrap();
            let status = res.status();
            let ctype = res
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            assert_security_headers(path, &res);
            (status, ctype, res.text().await.unwrap())
        }
    };
    // A browser on a page route: HTML, same status, the stylesheet, the message escaped.
    let (st, ctype, body) = fetch("/no/such/<page>", Some(browser)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(body.contains("<h1>404 Not Found</h1>"), "{body}");
    assert!(body.contains("/static/dist.css"), "{body}");
    assert!(!body.contains("<page>"), "unescaped: {body}");
    // A page route refusing a visitor without a token: the same status, as a page.
    let (st, ctype, body) = fetch("/i/art_0123abcd", Some(browser)).await;
    assert!(st.is_client_error(), "{st}");
    assert!(ctype.starts_with("text/html"), "{ctype}: {body}");
    // No Accept, or */* (curl), or JSON: the JSON shape.
    for accept in [None, Some("*/*"), Some("application/json")] {
        let (st, ctype, body) = fetch("/no/such/page", accept).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert!(ctype.starts_with("application/json"), "{accept:?}: {ctype}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "not_found", "{body}");
    }
    // Under /api/v1, JSON even for a browser.
    for path in ["/api/v1/no/such", "/api/v1/apps"] {
        let (st, ctype, body) = fetch(path, Some(browser)).await;
        assert!(st.is_client_error(), "{path}: {st}");
        assert!(ctype.starts_with("application/json"), "{path}: {ctype}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"]["code"].is_string(), "{body}");
    }
}

// ---- item 13: inspections at attach

/// The v1-signed fixture APK with `classes.dex` replaced by `size` bytes (zeros, deflated;
/// or pseudo-random, stored). Its JAR digest check then streams every byte of it (and
/// fails, which only adds a finding): zeros make an inspection that takes a while, random
/// bytes a large file.
fn apk_with_big_dex(size: u64, zeros: bool) -> Vec<u8> {
    use std::io::Write;
    let src = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/android/signed-v1-only.apk"),
    )
    .unwrap();
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(src)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let f = zin.by_index_raw(i).unwrap();
        if f.name().unwrap() != "classes.dex" {
            out.raw_copy_file(f).unwrap();
            continue;
        }
        drop(f);
        let method = if zeros {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .compression_level(zeros.then_some(1))
            .large_file(size >= u64::from(u32::MAX));
        out.start_file("classes.dex", opts).unwrap();
        let mut rng = Rng(99);
        let zero_chunk = vec![0u8; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = left.min(1 << 20) as usize;
            if zeros {
                out.write_all(&zero_chunk[..n]).unwrap();
            } else {
                out.write_all(&rng.bytes(n)).unwrap();
            }
            left -= n as u64;
        }
    }
    out.finish().unwrap().into_inner()
}

/// Issue 9 item 13: a burst of attaches used to inspect all at once. With one slot, an
/// attach that cannot get it within the wait answers 503 `unavailable` (busy, retry), and
/// gets its turn once the slot is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attach_waits_for_an_inspection_slot_then_gets_503() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(
        &dir.path().join("data"),
        &[
            ("DIST_MAX_INSPECTIONS", "1"),
            ("DIST_INSPECTION_WAIT_SECS", "1"),
        ],
    )
    .await;
    s.create_app("acme").await;
    let made = Instant::now();
    let slow = apk_with_big_dex(3 << 30, true);
    eprintln!(
        "slow APK: {} bytes, made in {:?}",
        slow.len(),
        made.elapsed()
    );
    let quick = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/android/signed-v1v2v3.apk"),
    )
    .unwrap();
    let mut aids = Vec::new();
    for (b, bytes) in [(1, &slow), (2, &quick)] {
        let (st, v) = s.put_blob("acme", &s.admin, bytes.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let v = s
            .create_release(
                "acme",
                release_body("1.0", &b.to_string(), &[("app.apk", bytes)]),
            )
            .await;
        aids.push(release_ids(&v).1);
    }
    let base = s.base.clone();
    let admin = s.admin.clone();
    let slow_aid = aids[0].clone();
    let started = Instant::now();
    let first = tokio::spawn(async move {
        let res = http_client()
            .post(format!("{base}/api/v1/artifacts/{slow_aid}/attach"))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        (res.status(), started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    let (st, v) = s
        .post_empty(&format!("/artifacts/{}/attach", aids[1]), &s.admin)
        .await;
    let waited = t.elapsed();
    assert!(
        !first.is_finished(),
        "the slow inspection finished before the second attach gave up; make it slower"
    );
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "unavailable", "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("busy") && msg.contains("retry"), "{msg}");
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    let (st, took) = first.await.unwrap();
    eprintln!("second attach refused after {waited:?}; the slow inspection took {took:?} ({st})");
    assert_ne!(st, StatusCode::SERVICE_UNAVAILABLE);
    // The slot is free again: the retry goes through.
    let (st, v) = s
        .post_empty(&format!("/artifacts/{}/attach", aids[1]), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// A cap of zero is refused at start-up, naming the setting.
#[test]
fn a_zero_inspection_cap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(DISTD)
        .args(["serve", "--data"])
        .arg(dir.path())
        .arg("--listen")
        .arg(format!("127.0.0.1:{}", free_port()))
        .env("DIST_MAX_INSPECTIONS", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("distd started with DIST_MAX_INSPECTIONS=0");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("max_inspections"), "{err}");
}
