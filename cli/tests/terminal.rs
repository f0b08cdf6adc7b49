//! Issue 9, items 9 and 10: control and bidi characters from a server or an artifact never
//! reach the terminal raw. Human runs show them escaped (`\u{1b}`, `\u{202e}`); `--json`
//! keeps the data as it is. A file name with a bidi override is refused by name.
//!
//! The server cases use a stub that answers every request with one canned response, so they
//! can send what a hostile or broken server would.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use common::*;
use serde_json::json;

/// What a hostile server puts in a message: an OSC title change ending in BEL, a screen clear,
/// a bidi override, a line feed that fakes a second line, and a C1 CSI.
const CRAFTED: &str = "no \u{1b}]0;owned\u{7}\u{1b}[2J \u{202e}exe.gnp\nall good \u{9b}31m";

/// The raw bytes none of the human output may carry.
const RAW: [char; 5] = ['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}', '\u{2066}'];

fn assert_no_raw(what: &str, text: &str) {
    for c in RAW {
        assert!(!text.contains(c), "{what} carries a raw {c:?}:\n{text:?}");
    }
}

/// A server on 127.0.0.1 that answers every request with `status` and the JSON `body`.
fn stub(status: u16, body: serde_json::Value) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let body = body.to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_crafted_server_error_is_escaped_for_people_and_kept_in_json() {
    let server = stub(
        403,
        json!({"error": {"code": "forbidden", "message": CRAFTED}}),
    );
    let r = dist_at(&server, "dist_x", &["app", "list"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_no_raw("stderr", &r.stderr);
    assert!(
        r.stderr.contains(
            "error: no \\u{1b}]0;owned\\u{7}\\u{1b}[2J \\u{202e}exe.gnp\\nall good \\u{9b}31m"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "one message, one line");

    let r = dist_at(&server, "dist_x", &["app", "list", "--json"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.json()["error"]["message"], CRAFTED, "JSON keeps the data");
    assert_no_raw("stderr", &r.stderr);
}

#[test]
fn crafted_listing_values_are_escaped_in_tables_and_shows() {
    let name = "Acme\u{1b}[2J\u{2066}\u{202e}";
    let app = json!({
        "slug": "acme", "name": name, "platforms": ["ios"], "identity": {},
        "created_at": "2026-01-01T00:00:00Z\r",
    });
    let server = stub(200, json!({"schema_version": 1, "apps": [app]}));
    let r = dist_at(&server, "dist_x", &["app", "list"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_no_raw("stdout", &r.stdout);
    assert!(
        r.stdout
            .contains("acme  Acme\\u{1b}[2J\\u{2066}\\u{202e}  ios        2026-01-01T00:00:00Z\\r"),
        "{}",
        r.stdout
    );
    let r = dist_at(&server, "dist_x", &["app", "list", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["apps"][0]["name"], name);

    let server = stub(200, app);
    let r = dist_at(&server, "dist_x", &["app", "show", "acme"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_no_raw("stdout", &r.stdout);
    assert!(
        r.stdout
            .contains("name:      Acme\\u{1b}[2J\\u{2066}\\u{202e}\n"),
        "{}",
        r.stdout
    );
}

/// `tiny-adhoc.ipa` with `version` as its CFBundleShortVersionString.
fn ipa_with_version(version: &str, out: &Path) {
    let src = workspace_root().join("fixtures/ios/tiny-adhoc.ipa");
    let mut zin = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut zout = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for i in 0..zin.len() {
        let mut e = zin.by_index(i).unwrap();
        let name = e.name().unwrap().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        if name == "Payload/Tiny.app/Info.plist" {
            let mut v: plist::Value = plist::from_bytes(&data).unwrap();
            v.as_dictionary_mut().unwrap().insert(
                "CFBundleShortVersionString".into(),
                plist::Value::String(version.into()),
            );
            data.clear();
            plist::to_writer_binary(&mut data, &v).unwrap();
        }
        zout.start_file(name, opts).unwrap();
        zout.write_all(&data).unwrap();
    }
    zout.finish().unwrap();
}

#[test]
fn crafted_artifact_metadata_is_escaped_by_inspect_and_kept_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let ipa = dir.path().join("Crafted.ipa");
    let version = "1.4.0\u{1b}[2J\u{202e}0.1";
    ipa_with_version(version, &ipa);
    let path = ipa.to_str().unwrap();

    let r = dist_offline(&["inspect", "--json", path]);
    let v = r.json();
    assert_eq!(v["version"], version, "JSON keeps the data: {v}");

    let r = dist_offline(&["inspect", path]);
    assert_no_raw("stdout", &r.stdout);
    assert_no_raw("stderr", &r.stderr);
    assert!(
        r.stdout.contains("1.4.0\\u{1b}[2J\\u{202e}0.1"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_file_name_with_a_bidi_override_is_refused_by_name() {
    let apk = workspace_root().join("fixtures/android/unsigned.apk");
    let name = "invoice\u{202e}kpa.exe";
    let job = Job::new(
        &json!({"schema_version": 2, "app": "acme", "version": "1.0.0", "build": "1",
                "artifacts": [{"path": "*.exe"}]}),
        &[(name, &apk)],
    );
    let args = ["ci", "publish", "--manifest", &job.manifest_str()];
    let r = dist_at("http://127.0.0.1:9", "dist_x", &args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_no_raw("stderr", &r.stderr);
    for part in [
        "invoice\\u{202e}kpa.exe",
        "U+202E RIGHT-TO-LEFT OVERRIDE",
        "rename the file",
    ] {
        assert!(r.stderr.contains(part), "{part:?} in {}", r.stderr);
    }

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let r = dist_at("http://127.0.0.1:9", "dist_x", &json_args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["error"]["code"], "invalid_manifest");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("U+202E RIGHT-TO-LEFT OVERRIDE"), "{msg}");
}
