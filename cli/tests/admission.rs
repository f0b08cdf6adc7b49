//! One admission, two callers: `dist ci publish` decides locally, before any upload, what
//! distd's attach decides on the server, because both run `platform::admit`. The first test
//! checks one refusal end to end; the second feeds both sides the same files (fixtures, and
//! the whole corpus when `DIST_CORPUS` is set) and compares the verdicts and findings.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};

#[test]
fn a_kind_for_inspection_only_is_refused_before_upload() {
    let d = Distd::start();
    let r = d.dist(
        &d.admin,
        &["app", "create", "acme", "--name", "Acme", "--json"],
    );
    assert_eq!(r.code, 0, "app create: {}", r.stderr);
    let profile = workspace_root().join("fixtures/ios/adhoc.mobileprovision");
    let job = Job::new(
        &json!({
            "schema_version": 2, "app": "acme", "version": "1.0", "build": "1",
            "artifacts": [{"path": "adhoc.mobileprovision"}],
        }),
        &[("adhoc.mobileprovision", &profile)],
    );
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let v = r.json();
    assert!(v["release"].is_null(), "{v}");
    let f = v["artifacts"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "publish.kind_not_publishable")
        .unwrap_or_else(|| panic!("no publish.kind_not_publishable: {v}"))
        .clone();
    assert_eq!(
        f["message"],
        "adhoc.mobileprovision: a ios mobileprovision cannot be attached to a release; the iOS target reads it for dist inspect only",
        "{v}"
    );
    // Nothing reached the server: no release, and the blob was never uploaded.
    let list = d.dist(&d.admin, &["release", "list", "--app", "acme", "--json"]);
    assert_eq!(list.json()["releases"], json!([]));
}

/// Issue 18: the manifest's `arch` meets the file's in the same admission, so a deb built
/// for arm64 listed as amd64 stops the job before any upload, with the finding distd stores.
#[test]
fn a_package_for_another_arch_stops_the_job_before_upload() {
    let d = Distd::start();
    let r = d.dist(
        &d.admin,
        &["app", "create", "acme", "--name", "Acme", "--json"],
    );
    assert_eq!(r.code, 0, "app create: {}", r.stderr);
    let deb = workspace_root().join("fixtures/linux/hello-dist_1.2.3-4_arm64.deb");
    let job = Job::new(
        &json!({
            "schema_version": 2, "app": "acme", "version": "1.2.3", "build": "1",
            "artifacts": [{"path": "hello.deb", "arch": "amd64"}],
        }),
        &[("hello.deb", &deb)],
    );
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let v = r.json();
    let f = v["artifacts"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "release.arch_mismatch")
        .unwrap_or_else(|| panic!("no release.arch_mismatch: {v}"))
        .clone();
    assert_eq!(f["severity"], "error", "{v}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .starts_with("hello.deb: built for arm64, but listed as x86_64"),
        "{v}"
    );
    let list = d.dist(&d.admin, &["release", "list", "--app", "acme", "--json"]);
    assert_eq!(list.json()["releases"], json!([]));
}

/// One HTTP/1.1 request to distd with the admin token; the status and the JSON body.
fn http(d: &Distd, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect(d.addr).expect("connect to distd");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        d.addr,
        d.admin,
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response");
    let headers = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = headers
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let mut body = raw[split + 4..].to_vec();
    if headers.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = body.as_slice();
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[eol + 2 + n + 2..];
        }
        body = out;
    }
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// What the server's attach answered for one file.
enum Server {
    Attached(Value),
    Refused(Value),
}

/// Uploads `path` to `app` as build `build`, creates a draft holding it and attaches it.
fn server_attach(d: &Distd, app: &str, build: usize, path: &Path) -> Server {
    let bytes = std::fs::read(path).unwrap();
    let sha = sha256_hex(path);
    let (st, v) = http(
        d,
        "PUT",
        &format!("/api/v1/blobs/sha256/{sha}?app={app}"),
        "application/octet-stream",
        &bytes,
    );
    assert!(
        st == 200 || st == 201,
        "upload {}: {st} {v}",
        path.display()
    );
    let name = path.file_name().unwrap().to_str().unwrap();
    let body = json!({
        "version": "0.0.1", "build": build.to_string(),
        "artifacts": [{"file_name": name, "sha256": sha, "size": bytes.len()}],
    });
    let (st, v) = http(
        d,
        "POST",
        &format!("/api/v1/apps/{app}/releases"),
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(st, 201, "create release for {name}: {v}");
    let id = v["release"]["artifacts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, v) = http(
        d,
        "POST",
        &format!("/api/v1/artifacts/{id}/attach"),
        "application/json",
        b"",
    );
    match st {
        200 => Server::Attached(v),
        422 => Server::Refused(v),
        other => panic!("attach {name}: {other} {v}"),
    }
}

/// `dist ci publish --dry-run --json` on a one-file manifest: the exit code and the local
/// document. A dry run reads the app's identity rules and uploads nothing.
fn cli_verdict(d: &Distd, app: &str, path: &Path) -> (i32, Value) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let job = Job::new(
        &json!({
            "schema_version": 2, "app": app, "version": "1.0.0", "build": "1",
            "artifacts": [{"path": name}],
        }),
        &[(name, path)],
    );
    let r = d.dist(
        &d.admin,
        &[
            "ci",
            "publish",
            "--manifest",
            &job.manifest_str(),
            "--dry-run",
            "--json",
        ],
    );
    assert!(
        r.code == 0 || r.code == 3,
        "{name}: {}\n{}",
        r.code,
        r.stderr
    );
    (r.code, r.json())
}

fn is_error(f: &Value) -> bool {
    f["severity"] == "error"
}

#[test]
fn dist_and_distd_admit_and_refuse_the_same_files() {
    let d = Distd::start();
    for (slug, rules) in [("open", None), ("strict", Some("org.dist.fixture"))] {
        let r = d.dist(&d.admin, &["app", "create", slug, "--name", slug]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        if let Some(id) = rules {
            let r = d.dist(
                &d.admin,
                &[
                    "app",
                    "set-identity",
                    slug,
                    "--platform",
                    "android",
                    "--identity",
                    id,
                ],
            );
            assert_eq!(r.code, 0, "{}", r.stderr);
        }
    }
    let fixtures = workspace_root().join("fixtures");
    let scratch = tempfile::tempdir().unwrap();
    let unknown = scratch.path().join("notes.txt");
    std::fs::write(&unknown, "not an artifact of any platform\n").unwrap();
    let mut cases: Vec<(&str, PathBuf)> = vec![
        ("open", fixtures.join("ios/tiny-appstore.ipa")),
        ("open", fixtures.join("ios/tiny-tampered.ipa")),
        ("open", fixtures.join("ios/tiny-truncated.ipa")),
        ("open", fixtures.join("ios/adhoc.mobileprovision")),
        ("open", fixtures.join("android/signed-v1v2v3.apk")),
        ("open", unknown),
        // The app's rules allow org.dist.fixture; the debuggable build is another package.
        ("strict", fixtures.join("android/signed-v1v2v3.apk")),
        ("strict", fixtures.join("android/debuggable.apk")),
    ];
    if let Some(dir) = corpus() {
        let truth: Value =
            serde_json::from_slice(&std::fs::read(dir.join("truth.json")).unwrap()).unwrap();
        for e in truth.as_array().unwrap() {
            let rel = e["file"].as_str().unwrap();
            cases.push(("open", corpus_file(rel).unwrap()));
        }
    }
    let (mut admitted, mut refused) = (0, 0);
    let mut must_see: Vec<&str> = vec![
        "detect.unrecognized",
        "publish.kind_not_publishable",
        "identity.mismatch",
    ];
    for (n, (app, path)) in cases.iter().enumerate() {
        let name = path.file_name().unwrap().to_str().unwrap();
        let (code, doc) = cli_verdict(&d, app, path);
        let local: Vec<Value> = doc["artifacts"][0]["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no findings list: {doc}"))
            .iter()
            // Checked against the release's version at publish, not at attach.
            .filter(|f| f["code"] != "release.version_mismatch")
            .cloned()
            .collect();
        match server_attach(&d, app, n + 1, path) {
            Server::Attached(a) => {
                admitted += 1;
                let remote = a["inspection"]["findings"].as_array().unwrap().clone();
                assert_eq!(local, remote, "{app}/{name}: findings differ");
                assert_eq!(doc["artifacts"][0]["platform"], a["platform"], "{name}");
                assert_eq!(doc["artifacts"][0]["kind"], a["kind"], "{name}");
                let blocks = remote.iter().any(is_error);
                assert_eq!(code, if blocks { 3 } else { 0 }, "{app}/{name}: {doc}");
            }
            Server::Refused(e) => {
                refused += 1;
                let why = e["error"]["findings"].as_array().unwrap();
                assert!(!why.is_empty(), "{name}: a refusal names its findings: {e}");
                assert_eq!(e["error"]["message"], why[0]["message"], "{name}: {e}");
                for f in why {
                    assert!(is_error(f), "{name}: {f}");
                    // By code: a message may list the kinds each binary links (a test-built
                    // `dist` links the toy target, a `DIST_DISTD_BIN` may not).
                    assert!(
                        local.iter().any(|l| l["code"] == f["code"] && is_error(l)),
                        "{app}/{name}: the server refused for {f}, dist did not: {doc}"
                    );
                    must_see.retain(|c| f["code"] != *c);
                }
                assert_eq!(code, 3, "{app}/{name}: dist let through what distd refused");
            }
        }
    }
    assert!(must_see.is_empty(), "never refused for {must_see:?}");
    assert!(
        admitted >= 4 && refused >= 4,
        "{admitted} admitted, {refused} refused"
    );
    eprintln!(
        "{} files: {admitted} admitted, {refused} refused",
        cases.len()
    );
}
