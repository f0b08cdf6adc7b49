//! End to end: a real distd, the real dist binary. See `common/mod.rs` for how distd is found.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::{Value, json};

const TESTFLIGHT: &str = "https://testflight.apple.com/join/ABCDEFGH";

/// Skips (with a note) when no APK without error findings exists: neither `fixtures/android`
/// nor `DIST_CORPUS` provides one.
fn need_apks(n: usize) -> Option<Vec<PathBuf>> {
    let apks = clean_apks();
    if apks.len() < n {
        eprintln!(
            "note: needs {n} APK(s) without error findings (fixtures/android or DIST_CORPUS); found {}; skipping",
            apks.len()
        );
        return None;
    }
    Some(apks)
}

fn manifest(version: &str, build: &str, channel: Option<&str>, artifacts: Value) -> Value {
    let mut m = json!({
        "schema_version": 2, "app": "acme", "version": version, "build": build,
        "notes": "e2e", "source": {"commit": "abc123", "branch": "main"},
        "artifacts": artifacts,
    });
    if let Some(c) = channel {
        m["channel"] = json!(c);
    }
    m
}

fn setup() -> Distd {
    let d = Distd::start();
    let r = d.dist(
        &d.admin,
        &["app", "create", "acme", "--name", "Acme", "--json"],
    );
    assert_eq!(r.code, 0, "app create: {}", r.stderr);
    assert_eq!(r.json()["slug"], "acme");
    d
}

/// The release JSON with the two fields a re-run changes set to what a first run says.
fn as_first_run(mut v: Value) -> Value {
    v["release"]["created"] = json!(true);
    for a in v["artifacts"].as_array_mut().unwrap() {
        if a["file_name"].is_string() {
            a["uploaded"] = json!(true);
        }
    }
    v
}

#[test]
fn publish_promote_rerun_conflict_and_channel_limits() {
    let Some(apks) = need_apks(2) else { return };
    let d = setup();
    let ci = d.token(&[
        "--name",
        "ci",
        "--scope",
        "publish",
        "--scope",
        "promote",
        "--scope",
        "read",
        "--app",
        "acme",
        "--channel",
        "beta",
        "--channel",
        "nightly",
    ]);

    // A mixed-platform release: an APK (by glob) and an iOS TestFlight link, promoted to beta.
    let job = Job::new(
        &manifest(
            "1.4.0",
            "1234",
            Some("beta"),
            json!([{"path": "out/*.apk"}, {"platform": "ios", "link": TESTFLIGHT}]),
        ),
        &[("out/app-release.apk", &apks[0])],
    );
    let apk = job.path("out/app-release.apk");
    let args = [
        "ci",
        "publish",
        "--server",
        &d.url,
        "--token",
        &ci,
        "--manifest",
        &job.manifest_str(),
        "--json",
    ];
    let first = dist_at("http://unused.invalid", "unused", &args);
    assert_eq!(first.code, 0, "first publish: {}", first.stderr);
    let v = first.json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["app"], "acme");
    let rel = v["release"]["id"].as_str().unwrap().to_owned();
    assert!(rel.starts_with("rel_"), "{rel}");
    assert_eq!(v["release"]["version"], "1.4.0");
    assert_eq!(v["release"]["build"], "1234");
    assert_eq!(v["release"]["status"], "published");
    assert_eq!(v["release"]["created"], true);
    let url = v["release"]["url"].as_str().unwrap();
    assert!(url.starts_with(&d.url) && url.ends_with(&rel), "{url}");
    let arts = v["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 2);
    let a = &arts[0];
    assert!(a["id"].as_str().unwrap().starts_with("art_"));
    assert_eq!(a["platform"], "android");
    assert_eq!(a["kind"], "apk");
    assert_eq!(a["file_name"], "app-release.apk");
    assert_eq!(a["sha256"], sha256_hex(&apk));
    assert_eq!(a["size"], std::fs::metadata(&apk).unwrap().len());
    assert_eq!(a["uploaded"], true);
    assert!(a["download_url"].as_str().unwrap().starts_with(&d.url));
    assert!(a["install_url"].is_string() || a["install_url"].is_null());
    assert!(a["findings"].is_array());
    let l = &arts[1];
    assert!(l["id"].as_str().unwrap().starts_with("art_"));
    assert_eq!(l["platform"], "ios");
    assert!(l["file_name"].is_null() && l["sha256"].is_null() && l["size"].is_null());
    assert_eq!(l["uploaded"], false);
    assert_eq!(
        v["channel"],
        json!({"name": "beta", "release_id": rel, "previous_release_id": null,
               "share_url": format!("{}/apps/acme/channels/beta", d.url)})
    );
    assert!(v.get("error").is_none());
    assert_eq!(
        v.as_object().unwrap().len(),
        5,
        "only the contract's top-level fields: {v}"
    );

    // The same job again: the same document, except created/uploaded false.
    let second = dist_at("http://unused.invalid", "unused", &args);
    assert_eq!(second.code, 0, "second publish: {}", second.stderr);
    assert!(
        second.stderr.contains("beta already points at"),
        "{}",
        second.stderr
    );
    let v2 = second.json();
    assert_eq!(v2["release"]["created"], false);
    for a in v2["artifacts"].as_array().unwrap() {
        assert_eq!(a["uploaded"], false, "{a}");
    }
    assert_eq!(as_first_run(v2), v);

    // A dry run of the same job writes nothing and says nothing needs uploading.
    let dry = d.dist(
        &ci,
        &[
            "ci",
            "publish",
            "--manifest",
            &job.manifest_str(),
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(dry.code, 0, "dry run: {}", dry.stderr);
    let dv = dry.json();
    assert_eq!(dv["dry_run"], true);
    assert_eq!(dv["existing_release"]["id"], rel);
    assert_eq!(dv["existing_release"]["conflict"], false);
    assert_eq!(dv["artifacts"][0]["upload"], false);

    // The channel URL serves the APK; dist download verifies and saves it.
    let out = job.path("downloaded.apk");
    let dl = d.dist(
        &d.admin,
        &[
            "download",
            "--app",
            "acme",
            "--channel",
            "beta",
            "--platform",
            "android",
            "-o",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(dl.code, 0, "download: {}", dl.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&apk).unwrap());
    assert_eq!(dl.json()["sha256"], sha256_hex(&apk));

    // A changed artifact under the same version and build: exit 5, nothing changes.
    std::fs::copy(&apks[1], &apk).unwrap();
    let conflict = dist_at("http://unused.invalid", "unused", &args);
    assert_eq!(conflict.code, 5, "conflict: {}", conflict.stderr);
    let cv = conflict.json();
    assert_eq!(cv["error"]["code"], "conflict");
    assert!(
        conflict.stderr.contains("already exists"),
        "{}",
        conflict.stderr
    );
    std::fs::copy(&apks[0], &apk).unwrap();

    // A token limited to beta and nightly cannot promote stable: exit 4, the release stays
    // published, stable unchanged, and the JSON says so.
    let mut stable_args = args.to_vec();
    stable_args.extend(["--channel", "stable"]);
    let denied = dist_at("http://unused.invalid", "unused", &stable_args);
    assert_eq!(denied.code, 4, "stable promote: {}", denied.stderr);
    let dv = denied.json();
    assert_eq!(dv["release"]["id"], rel);
    assert_eq!(dv["release"]["status"], "published");
    assert!(dv["channel"].is_null());
    assert_eq!(dv["error"]["code"], "forbidden");
    let show = d.dist(&d.admin, &["release", "show", &rel, "--json"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert_eq!(show.json()["status"], "published");
    let channels = d.dist(&d.admin, &["channel", "list", "--app", "acme", "--json"]);
    assert_eq!(channels.code, 0, "{}", channels.stderr);
    let cl = channels.json();
    let list = cl["channels"].as_array().unwrap();
    assert!(
        list.iter()
            .all(|c| c["name"] != "stable" || c["release_id"].is_null()),
        "stable moved: {cl}"
    );
    assert!(
        list.iter()
            .any(|c| c["name"] == "beta" && c["release_id"] == rel.as_str())
    );

    // An admin promotes stable; a second release (the same signed APK, so Android's
    // update continuity holds) then promoted to beta reports the first as previous; history
    // and rollback work through the CLI.
    let promote = d.dist(
        &d.admin,
        &[
            "channel", "promote", "--app", "acme", "stable", &rel, "--json",
        ],
    );
    assert_eq!(promote.code, 0, "{}", promote.stderr);
    assert_eq!(promote.json()["channel"]["release_id"], rel.as_str());
    let job2 = Job::new(
        &manifest("1.4.1", "1235", Some("beta"), json!([{"path": "app.apk"}])),
        &[("app.apk", &apks[0])],
    );
    let r2 = d.dist(
        &ci,
        &[
            "ci",
            "publish",
            "--manifest",
            &job2.manifest_str(),
            "--json",
        ],
    );
    assert_eq!(r2.code, 0, "{}", r2.stderr);
    let v3 = r2.json();
    assert_eq!(v3["channel"]["previous_release_id"], rel.as_str());
    let rel2 = v3["release"]["id"].as_str().unwrap().to_owned();
    let hist = d.dist(
        &ci,
        &["channel", "history", "--app", "acme", "beta", "--json"],
    );
    assert_eq!(hist.code, 0, "{}", hist.stderr);
    assert!(hist.json()["history"].as_array().unwrap().len() >= 2);
    let rb = d.dist(
        &ci,
        &["channel", "rollback", "--app", "acme", "beta", "--json"],
    );
    assert_eq!(rb.code, 0, "{}", rb.stderr);
    assert_eq!(rb.json()["channel"]["release_id"], rel.as_str());
    assert_eq!(rb.json()["previous_release_id"], rel2.as_str());

    // Read-side commands and audit.
    let list = d.dist(&ci, &["release", "list", "--app", "acme", "--json"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert_eq!(list.json()["releases"].as_array().unwrap().len(), 2);
    let who = d.dist(&ci, &["token", "whoami", "--json"]);
    assert_eq!(who.code, 0, "{}", who.stderr);
    assert_eq!(who.json()["token"]["name"], "ci");
    let verify = d.dist(&d.admin, &["audit", "verify", "--json"]);
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    assert_eq!(verify.json()["ok"], true);
    let audit = d.dist(&d.admin, &["audit", "list", "--app", "acme", "--json"]);
    assert_eq!(audit.code, 0, "{}", audit.stderr);
    assert!(
        audit.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "channel.promote")
    );
    // The CI token is not an admin.
    let denied = d.dist(&ci, &["audit", "verify", "--json"]);
    assert_eq!(denied.code, 4, "{}", denied.stderr);
}

#[test]
fn mixed_apk_and_ipa_release() {
    let Some(apks) = need_apks(1) else { return };
    let d = setup();
    let ipa = workspace_root().join("fixtures/ios/tiny-adhoc.ipa");
    assert!(
        ipa.is_file(),
        "fixtures/ios/tiny-adhoc.ipa is committed with the iOS target"
    );
    let mut files: Vec<(&str, PathBuf)> =
        vec![("out/app.apk", apks[0].clone()), ("out/App.ipa", ipa)];
    if let Some(corpus_ipa) = corpus_file("ios/icyleaf-embedded.ipa") {
        files.push(("out/Embedded.ipa", corpus_ipa));
    }
    let refs: Vec<(&str, &std::path::Path)> =
        files.iter().map(|(n, p)| (*n, p.as_path())).collect();

    // Over the air, these IPAs cannot install (a test root, or profiles that expired years
    // ago): the default enterprise mode refuses them before any upload.
    let ota = Job::new(
        &manifest(
            "2.0.0",
            "1",
            Some("beta"),
            json!([{"path": "out/*.apk"}, {"path": "out/*.ipa", "platform": "ios"}]),
        ),
        &refs,
    );
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &ota.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v = r.json();
    assert!(v["release"].is_null());
    assert_eq!(v["error"]["code"], "validation_failed");
    let arts = v["artifacts"].as_array().unwrap();
    assert!(arts[1..].iter().all(|a| {
        a["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "ios.install.blocked" && f["severity"] == "error")
    }));
    assert!(arts.iter().all(|a| a["uploaded"] == false));
    let list = d.dist(&d.admin, &["release", "list", "--app", "acme", "--json"]);
    assert_eq!(
        list.json()["releases"].as_array().unwrap().len(),
        0,
        "nothing may be created"
    );

    // Shipped as files (artifact-only), the same IPAs publish beside the APK in one command.
    let as_files = Job::new(
        &manifest(
            "2.0.0",
            "1",
            Some("beta"),
            json!([{"path": "out/*.apk"},
                   {"path": "out/*.ipa", "platform": "ios", "install": "artifact-only"}]),
        ),
        &refs,
    );
    let r = d.dist(
        &d.admin,
        &[
            "ci",
            "publish",
            "--manifest",
            &as_files.manifest_str(),
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["app"], "acme");
    assert_eq!(v["release"]["status"], "published");
    assert_eq!(v["release"]["created"], true);
    assert_eq!(v["channel"]["name"], "beta");
    assert_eq!(v["channel"]["release_id"], v["release"]["id"]);
    let arts = v["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), files.len());
    assert_eq!(arts[0]["platform"], "android");
    assert_eq!(arts[0]["kind"], "apk");
    for (a, (name, path)) in arts[1..].iter().zip(&files[1..]) {
        assert_eq!(a["platform"], "ios");
        assert_eq!(a["kind"], "ipa");
        assert_eq!(a["file_name"], name.trim_start_matches("out/"));
        assert_eq!(a["sha256"], sha256_hex(path));
        assert_eq!(a["size"], std::fs::metadata(path).unwrap().len());
        assert_eq!(a["uploaded"], true);
        assert!(a["download_url"].as_str().unwrap().starts_with(&d.url));
        let findings = a["findings"].as_array().unwrap();
        assert!(
            findings.iter().all(|f| f["severity"] != "error"),
            "{findings:?}"
        );
        assert!(
            !findings.is_empty(),
            "the install-only problems stay visible as warnings"
        );
    }
}

#[test]
fn identity_rules_are_checked_locally_before_upload() {
    let Some(apks) = need_apks(1) else { return };
    let d = setup();
    let set = d.dist(
        &d.admin,
        &[
            "app",
            "set-identity",
            "acme",
            "--platform",
            "android",
            "--identity",
            "com.acme.app",
            "--json",
        ],
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
    assert_eq!(
        set.json()["identity"]["android"]["identities"][0],
        "com.acme.app"
    );
    let job = Job::new(
        &manifest("1.0.0", "1", None, json!([{"path": "app.apk"}])),
        &[("app.apk", &apks[0])],
    );
    let r = d.dist(
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v = r.json();
    assert!(v["release"].is_null());
    assert!(
        v["artifacts"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "identity.mismatch")
    );
    let list = d.dist(&d.admin, &["release", "list", "--app", "acme", "--json"]);
    assert_eq!(list.json()["releases"].as_array().unwrap().len(), 0);

    // A token that may publish but not read the app: the local identity check is skipped
    // (with a warning), the server refuses the publish with 422, and the job exits 3 with the
    // findings in the JSON; the release stays a draft.
    let publisher = d.token(&[
        "--name",
        "publish-only",
        "--scope",
        "publish",
        "--app",
        "acme",
    ]);
    let r = d.dist(
        &publisher,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("identity rules were not checked locally"),
        "{}",
        r.stderr
    );
    let v = r.json();
    assert_eq!(v["release"]["status"], "draft");
    assert_eq!(v["error"]["code"], "validation_failed");
    let findings = v["error"]["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["code"] == "identity.mismatch"),
        "{v}"
    );
    assert!(
        v["artifacts"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "identity.mismatch"),
        "the blocking finding is listed under its artifact: {v}"
    );
    let show = d.dist(
        &d.admin,
        &[
            "release",
            "show",
            v["release"]["id"].as_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(show.json()["status"], "draft");
}

#[test]
fn resumes_after_the_connection_drops_mid_upload() {
    // The largest clean APK at hand; the corpus one is 4 MB.
    let big = corpus_file("android/icyleaf-android.apk");
    let apk = match big {
        Some(p) => p,
        None => match need_apks(1) {
            Some(a) => a[0].clone(),
            None => return,
        },
    };
    let size = std::fs::metadata(&apk).unwrap().len() as usize;
    let d = setup();
    let proxy = Proxy::start(d.addr, Fault::CutAfter(size / 2));
    let job = Job::new(
        &manifest("3.0.0", "1", Some("beta"), json!([{"path": "app.apk"}])),
        &[("app.apk", &apk)],
    );
    let r = dist_at(
        &proxy.url,
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    eprintln!("dist stderr:\n{}", r.stderr);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        proxy.faults.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the proxy cut one upload"
    );
    assert!(r.stderr.contains("upload interrupted"), "{}", r.stderr);
    // The server kept what arrived; the CLI continued from there, not from zero.
    let resumed: Vec<u64> = r
        .stderr
        .lines()
        .filter_map(|l| l.split("resuming at byte ").nth(1))
        .filter_map(|s| s.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(
        resumed.iter().any(|&o| o > 0 && o <= (size / 2) as u64),
        "expected a resume from a non-zero offset: {}",
        r.stderr
    );
    let v = r.json();
    assert_eq!(v["artifacts"][0]["uploaded"], true);
    assert_eq!(v["release"]["status"], "published");
    let out = job.path("back.apk");
    let dl = d.dist(
        &d.admin,
        &[
            "download",
            "--app",
            "acme",
            "--channel",
            "beta",
            "--platform",
            "android",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(dl.code, 0, "{}", dl.stderr);
    assert_eq!(sha256_hex(&out), sha256_hex(&apk));
}

#[test]
fn damaged_upload_is_retried_once_then_fails_with_exit_6() {
    let Some(apks) = need_apks(1) else { return };
    let d = setup();
    // Damaged once: the retry succeeds.
    let once = Proxy::start(d.addr, Fault::Corrupt { times: 1 });
    let job = Job::new(
        &manifest("4.0.0", "1", None, json!([{"path": "app.apk"}])),
        &[("app.apk", &apks[0])],
    );
    let r = dist_at(
        &once.url,
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("retrying the upload once"),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["release"]["status"], "published");

    // Damaged every time: exit 6, nothing published, and it says so.
    let always = Proxy::start(d.addr, Fault::Corrupt { times: usize::MAX });
    let other = apks.get(1).cloned();
    let Some(other) = other else {
        eprintln!("note: a second clean APK is needed for the always-damaged case; skipping it");
        return;
    };
    let job = Job::new(
        &manifest("4.0.1", "1", None, json!([{"path": "app.apk"}])),
        &[("app.apk", &other)],
    );
    let r = dist_at(
        &always.url,
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 6, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["error"]["code"], "digest_mismatch");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was published")
    );
    let list = d.dist(&d.admin, &["release", "list", "--app", "acme", "--json"]);
    let lv = list.json();
    assert!(
        lv["releases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["version"] != "4.0.1" || r["status"] == "draft"),
        "no published half-release: {lv}"
    );
}

#[test]
fn a_file_that_changes_during_upload_fails_with_exit_6_and_leaves_no_release() {
    let Some(apks) = need_apks(1) else { return };
    let d = setup();
    let job = Job::new(
        &manifest("5.0.0", "1", None, json!([{"path": "app.apk"}])),
        &[("app.apk", &apks[0])],
    );
    let target = job.path("app.apk");
    // When the upload starts, the file on disk changes (and the proxy makes sure the bytes
    // the server sees are not the declared ones, whatever was already read).
    let hook: Box<dyn FnOnce() + Send> = Box::new(move || {
        let mut bytes = std::fs::read(&target).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x55;
        std::fs::write(&target, bytes).unwrap();
    });
    let proxy = Proxy::start_with_hook(d.addr, Fault::Corrupt { times: 1 }, Some(hook));
    let r = dist_at(
        &proxy.url,
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 6, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["error"]["code"], "file_changed");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("changed while it was uploaded")
    );
    let list = d.dist(&d.admin, &["release", "list", "--app", "acme", "--json"]);
    assert_eq!(
        list.json()["releases"].as_array().unwrap().len(),
        0,
        "the draft this run created is removed"
    );
}

#[test]
fn wrong_token_and_unreachable_server() {
    let Some(apks) = need_apks(1) else { return };
    let d = setup();
    let job = Job::new(
        &manifest("1.0.0", "1", None, json!([{"path": "app.apk"}])),
        &[("app.apk", &apks[0])],
    );
    let r = d.dist(
        "dist_not-a-real-token",
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["error"]["code"], "unauthorized");
    assert!(v["error"]["message"].is_string());

    let closed = format!("http://127.0.0.1:{}", free_port());
    let r = dist_at(
        &closed,
        &d.admin,
        &["ci", "publish", "--manifest", &job.manifest_str(), "--json"],
    );
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert_eq!(r.json()["error"]["code"], "network");
    assert!(
        r.stderr.contains("retrying"),
        "retries before giving up: {}",
        r.stderr
    );
}

#[test]
fn a_create_app_token_creates_its_app_and_nothing_else() {
    let Some(apks) = need_apks(1) else { return };
    let d = Distd::start();
    let files = [("app.apk", apks[0].as_path())];
    let mut m = manifest("1.0.0", "1", Some("beta"), json!([{"path": "app.apk"}]));
    m["app"] = json!("newapp");
    m["app_name"] = json!("New App");
    let job = Job::new(&m, &files);
    let manifest_path = job.manifest_str();

    // Without the right, the refusal says how to get it.
    let publisher = d.token(&[
        "--name", "ci", "--scope", "publish", "--scope", "promote", "--scope", "read",
    ]);
    let r = d.dist(
        &publisher,
        &["ci", "publish", "--manifest", &manifest_path, "--json"],
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("create-app"), "{}", r.stderr);

    let ci = d.token(&[
        "--name",
        "ci-new",
        "--scope",
        "create-app",
        "--scope",
        "publish",
        "--scope",
        "promote",
        "--scope",
        "read",
        "--app",
        "newapp",
    ]);
    let r = d.dist(
        &ci,
        &["ci", "publish", "--manifest", &manifest_path, "--json"],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["release"]["status"], "published");
    assert_eq!(r.json()["channel"]["name"], "beta");
    let show = d.dist(&d.admin, &["app", "show", "newapp", "--json"]);
    assert_eq!(show.json()["name"], "New App");
    // The same job again finds the app and the release.
    let r = d.dist(
        &ci,
        &["ci", "publish", "--manifest", &manifest_path, "--json"],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["release"]["created"], false);
}
