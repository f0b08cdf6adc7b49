//! Issue 12, item 4: every URL that `dist ci publish --json` and `dist release show` print
//! resolves, fetched as a browser (`Accept: text/html`) and as an API client
//! (`Accept: application/json`), each with a credential the security model accepts there (a
//! bearer token). None may answer 404: `release.url` once named a page no route served.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::*;
use serde_json::json;

/// `GET url` with `accept` and a bearer token; the status code.
fn status_of(url: &str, accept: &str, token: &str) -> u16 {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{url}: no status line: {line}"))
}

#[test]
fn every_printed_url_resolves_for_browsers_and_api_clients() {
    let Some(apk) = clean_apks().into_iter().next() else {
        eprintln!("note: needs an APK without error findings; skipping");
        return;
    };
    let d = Distd::start();
    let r = d.dist(&d.admin, &["app", "create", "acme", "--name", "Acme"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let job = Job::new(
        &json!({"schema_version": 1, "app": "acme", "version": "1.0.0", "build": "1",
                "channel": "beta",
                "artifacts": [{"path": "app.apk"},
                              {"platform": "ios",
                               "testflight_url": "https://testflight.apple.com/join/ABCDEFGH"}]}),
        &[("app.apk", &apk)],
    );
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Issue 14, item 2: a schema_version 1 manifest (the link under its old name) publishes,
    // with the edit that updates it.
    assert!(
        r.stderr.contains(
            r#"artifacts[1]: rename "testflight_url" to "link" and set "schema_version": 2"#
        ),
        "{}",
        r.stderr
    );
    let v = r.json();
    let rel = v["release"]["id"].as_str().unwrap().to_owned();

    let mut urls: Vec<String> = vec![v["release"]["url"].as_str().unwrap().to_owned()];
    for a in v["artifacts"].as_array().unwrap() {
        for k in ["download_url", "install_url"] {
            if let Some(u) = a[k].as_str() {
                urls.push(u.to_owned());
            }
        }
    }
    urls.push(v["channel"]["share_url"].as_str().unwrap().to_owned());
    assert!(urls.len() >= 4, "{urls:?}");
    let show = d.dist(&d.admin, &["release", "show", &rel]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    let shown = show
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("url:"))
        .expect("release show prints the url")
        .trim()
        .to_owned();
    assert_eq!(shown, urls[0]);
    let show_json = d.dist(&d.admin, &["release", "show", &rel, "--json"]);
    for a in show_json.json()["artifacts"].as_array().unwrap() {
        for k in ["download_url", "install_url"] {
            if let Some(u) = a[k].as_str() {
                assert!(urls.iter().any(|x| x == u), "{u} not in the publish JSON");
            }
        }
    }

    for url in &urls {
        assert!(url.starts_with(&d.url), "{url}");
        for accept in ["text/html", "application/json"] {
            let st = status_of(url, accept, &d.admin);
            assert_eq!(st, 200, "{url} as {accept}");
        }
    }
    // The release URL names the release.
    assert!(urls[0].ends_with(&rel), "{}", urls[0]);
}
