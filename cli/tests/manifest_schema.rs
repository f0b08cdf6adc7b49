//! Issue 12, item 3: `docs/dist.schema.json` says what the Rust types accept, the README's
//! example is valid by both, and `dist manifest check` reports valid, invalid and old-schema
//! files with what was expected, never a Rust type name. Issue 14: schema_version 1 (the link
//! named `testflight_url`) still reads, by both, with a warning naming the edit.

mod common;

use std::collections::BTreeSet;

use common::*;
use platform::manifest::Manifest;
use serde_json::{Value, json};

fn schema() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("docs/dist.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The first ```json block after the README's "### dist.json reference" heading.
fn readme_example() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let section = text
        .split("### dist.json reference")
        .nth(1)
        .expect("README has a dist.json reference");
    let block = section
        .split("```json\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a json block");
    serde_json::from_str(block).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// The README's example as a schema_version 1 file: the link named `testflight_url`.
fn as_version_1(example: &Value) -> Value {
    let mut v = example.clone();
    v["schema_version"] = json!(1);
    for a in v["artifacts"].as_array_mut().unwrap() {
        let a = a.as_object_mut().unwrap();
        if let Some(url) = a.remove("link") {
            a.insert("testflight_url".into(), url);
        }
    }
    v
}

fn rust_accepts(v: &Value) -> bool {
    Manifest::from_json(v.to_string().as_bytes()).is_ok()
}

#[test]
fn the_schema_names_exactly_the_fields_the_rust_types_read() {
    let schema = schema();
    let example = readme_example();
    // The example uses every field, so its round trip through the Rust types lists them.
    let m = Manifest::from_json(example.to_string().as_bytes()).expect("README example");
    let back = serde_json::to_value(&m).unwrap();
    assert_eq!(back, example, "the README example round-trips unchanged");
    assert_eq!(keys(&back), keys(&schema["properties"]));
    assert_eq!(
        keys(&back["source"]),
        keys(&schema["properties"]["source"]["properties"])
    );
    let mut art_keys = BTreeSet::new();
    for a in back["artifacts"].as_array().unwrap() {
        art_keys.extend(keys(a));
    }
    assert_eq!(art_keys, keys(&schema["$defs"]["artifact"]["properties"]));

    // Required: exactly the fields whose absence the Rust types refuse.
    let required: BTreeSet<String> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let refused_without: BTreeSet<String> = keys(&example)
        .into_iter()
        .filter(|k| {
            let mut v = example.clone();
            v.as_object_mut().unwrap().remove(k);
            !rust_accepts(&v)
        })
        .collect();
    assert_eq!(required, refused_without);

    // Install modes are the targets' word: the schema and the Rust type both check only
    // their shape (a slug), so a mode no target declares reads here and is refused later,
    // by its target, when the release is planned.
    let install = &schema["$defs"]["artifact"]["properties"]["install"];
    assert_eq!(install["pattern"], "^[a-z0-9][a-z0-9-]{0,31}$", "{install}");
    for (mode, ok) in [
        ("enterprise", true),
        ("sideload", true),
        ("Side Load!", false),
        ("-x", false),
    ] {
        let mut v = example.clone();
        v["artifacts"][1]["install"] = json!(mode);
        assert_eq!(rust_accepts(&v), ok, "{mode}");
    }
}

/// Manifests that differ from the README's in one value, each judged by the Rust types and
/// by python's `jsonschema` with `docs/dist.schema.json`: the verdicts agree. Skipped (with a
/// note) where python3 has no `jsonschema` module, except under `CI`, where it fails.
#[test]
fn python_jsonschema_and_the_rust_types_agree() {
    let example = readme_example();
    let mut cases: Vec<Value> = vec![example.clone()];
    let mut with = |path: &[&str], value: Value| {
        let mut v = example.clone();
        let mut slot = &mut v;
        for p in path {
            slot = match p.parse::<usize>() {
                Ok(i) => &mut slot[i],
                Err(_) => &mut slot[*p],
            };
        }
        *slot = value;
        cases.push(v);
    };
    with(&["schema_version"], json!(3));
    with(&["schema_version"], json!(0));
    with(&["schema_version"], json!("2"));
    with(&["app"], json!("Acme"));
    with(&["app"], json!("-acme"));
    with(&["app"], json!("a".repeat(65)));
    with(&["app"], json!(5));
    with(&["app_name"], json!(""));
    with(&["app_name"], json!("Acme\u{7}"));
    with(&["version"], json!("1.4.0 beta"));
    with(&["version"], json!(".1"));
    with(&["build"], json!("12+exp.sha-5114f85"));
    with(&["channel"], json!("Beta"));
    with(&["notes"], json!(["x"]));
    with(&["source"], json!("abc"));
    with(&["source", "commit"], json!("abc\ndef"));
    with(&["source", "tag"], json!("v1"));
    with(&["artifacts"], json!([]));
    with(&["artifacts"], json!({"path": "a"}));
    with(&["artifacts", "0"], json!("app.apk"));
    with(&["artifacts", "0", "path"], json!("/etc/passwd"));
    with(&["artifacts", "0", "path"], json!("out\\app.apk"));
    with(&["artifacts", "0", "path"], json!(""));
    with(&["artifacts", "0", "arch"], json!("arm 64"));
    with(&["artifacts", "0", "platform"], json!("Android"));
    with(&["artifacts", "0", "color"], json!("red"));
    with(
        &["artifacts", "3", "link"],
        json!("https://example.com/join/ABCDEFGH"),
    );
    with(
        &["artifacts", "3", "link"],
        json!("http://testflight.apple.com/join/ABCDEFGH"),
    );
    with(&["artifacts", "3", "link"], json!("https:///x"));
    with(&["artifacts", "3", "link"], json!("https://a.example/x y"));
    with(&["artifacts", "1", "install"], json!("Side Load!"));
    with(&["artifacts", "3", "path"], json!("also.ipa"));
    with(&["unknown"], json!(true));
    // Issue 16: a file's notarization submission, its id a UUID and its status one the
    // notary service reports; a link carries none.
    with(&["artifacts", "4", "notarization", "status"], json!("done"));
    with(
        &["artifacts", "4", "notarization", "status"],
        json!("Accepted"),
    );
    with(
        &["artifacts", "4", "notarization", "status"],
        json!("in-progress"),
    );
    with(
        &["artifacts", "4", "notarization", "status"],
        json!("rejected"),
    );
    with(
        &["artifacts", "4", "notarization", "submission_id"],
        json!("42"),
    );
    with(
        &["artifacts", "4", "notarization", "submission_id"],
        json!("2EFE2717-52EF-43A5-96DC-0797E4CA1041"),
    );
    with(&["artifacts", "4", "notarization", "ticket"], json!(true));
    with(
        &["artifacts", "4", "notarization"],
        json!({"submission_id": "2efe2717-52ef-43a5-96dc-0797e4ca1041"}),
    );
    with(
        &["artifacts", "3", "notarization"],
        json!({"submission_id": "2efe2717-52ef-43a5-96dc-0797e4ca1041", "status": "accepted"}),
    );
    // Issue 14: version 1 named the link `testflight_url`; both versions read, each with its
    // own name only.
    with(
        &["artifacts", "3", "testflight_url"],
        json!("https://testflight.apple.com/join/ABCDEFGH"),
    );
    let v1 = as_version_1(&example);
    cases.push(v1.clone());
    let mut v1_new_name = v1.clone();
    v1_new_name["artifacts"][3]["link"] = json!("https://testflight.apple.com/join/ABCDEFGH");
    v1_new_name["artifacts"][3]
        .as_object_mut()
        .unwrap()
        .remove("testflight_url");
    cases.push(v1_new_name);
    let mut v1_bad_link = v1.clone();
    v1_bad_link["artifacts"][3]["testflight_url"] = json!("http://testflight.apple.com/join/X");
    cases.push(v1_bad_link);
    let mut v1_both = v1.clone();
    v1_both["artifacts"][3]["path"] = json!("also.ipa");
    cases.push(v1_both);

    let dir = tempfile::tempdir().unwrap();
    let cases_path = dir.path().join("cases.json");
    std::fs::write(&cases_path, serde_json::to_vec(&cases).unwrap()).unwrap();
    let script = r#"
import json, sys
try:
    import jsonschema
except ImportError:
    print("SKIP"); sys.exit(0)
schema = json.load(open(sys.argv[1]))
cases = json.load(open(sys.argv[2]))
v = jsonschema.Draft202012Validator(schema)
print(json.dumps([v.is_valid(c) for c in cases]))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(workspace_root().join("docs/dist.schema.json"))
        .arg(&cases_path)
        .output();
    // `.ci/run` installs python3 and its jsonschema module: under CI a missing one fails.
    let in_ci = std::env::var_os("CI").is_some();
    let Ok(out) = out else {
        assert!(!in_ci, "CI needs python3 for the jsonschema cross-check");
        eprintln!("note: no python3; skipping the jsonschema cross-check");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim() == "SKIP" {
        assert!(
            !in_ci,
            "CI needs python3's jsonschema module (apt: python3-jsonschema)"
        );
        eprintln!("note: python3 has no jsonschema module; skipping the cross-check");
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<bool> = serde_json::from_str(text.trim()).unwrap();
    assert!(verdicts[0], "the schema accepts the README's example");
    for (case, by_schema) in cases.iter().zip(verdicts) {
        assert_eq!(
            rust_accepts(case),
            by_schema,
            "the Rust types and the schema disagree on {case}"
        );
    }
}

#[test]
fn manifest_check_reports_valid_invalid_and_old_schema_files() {
    let example = readme_example();
    let apk = workspace_root().join("fixtures/android/signed-v1v2v3.apk");
    let ipa = workspace_root().join("fixtures/ios/tiny-adhoc.ipa");
    let app_zip = workspace_root().join("fixtures/macos/unsigned.zip");
    let job = Job::new(
        &example,
        &[
            ("out/app-release.apk", apk.as_path()),
            ("out/app-arm64.apk", apk.as_path()),
            ("out/App.ipa", ipa.as_path()),
            ("out/Acme.zip", app_zip.as_path()),
        ],
    );
    let m = job.manifest_str();
    let r = dist_offline(&["manifest", "check", &m, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["app"], "acme");
    assert_eq!(
        v["files"],
        json!([
            "out/app-release.apk",
            "out/App.ipa",
            "out/app-arm64.apk",
            "out/Acme.zip"
        ])
    );
    assert_eq!(v["links"].as_array().unwrap().len(), 1);
    let r = dist_offline(&["manifest", "check", &m]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.starts_with("valid "), "{}", r.stderr);

    // A glob that matches nothing: exit 2 naming the entry; --no-files checks fields only.
    std::fs::remove_file(job.path("out/App.ipa")).unwrap();
    let r = dist_offline(&["manifest", "check", &m]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("artifacts[1].path"), "{}", r.stderr);
    let r = dist_offline(&["manifest", "check", "--no-files", &m]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Invalid: a string where an artifact object belongs.
    let mut bad = example.clone();
    bad["artifacts"][0] = json!("out/app-release.apk");
    job.write_manifest(&bad);
    let r = dist_offline(&["manifest", "check", &m, "--json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("artifacts[0]"), "{msg}");
    assert!(msg.contains(r#"{"path": "out/app-release.apk"}"#), "{msg}");
    assert!(
        !msg.contains("struct") && !msg.contains("ManifestArtifact"),
        "{msg}"
    );

    // Unknown (older or future) schema versions say which ones this dist reads.
    for old in [0, 3] {
        let mut v = example.clone();
        v["schema_version"] = json!(old);
        job.write_manifest(&v);
        let r = dist_offline(&["manifest", "check", &m]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains("this dist reads schema_version 1 and 2"),
            "{}",
            r.stderr
        );
    }

    // Issue 14: version 1 is valid, with a warning naming the exact edit.
    job.write_manifest(&as_version_1(&example));
    let r = dist_offline(&["manifest", "check", "--no-files", &m, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let edit = r#"artifacts[3]: rename "testflight_url" to "link" and set "schema_version": 2"#;
    assert!(r.stderr.contains(edit), "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["valid"], true);
    assert!(v["warnings"][0].as_str().unwrap().contains(edit), "{v}");
    let mut v2_old_name = example.clone();
    v2_old_name["artifacts"][3] =
        json!({"platform": "ios", "testflight_url": "https://testflight.apple.com/join/ABCDEFGH"});
    job.write_manifest(&v2_old_name);
    let r = dist_offline(&["manifest", "check", "--no-files", &m]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(r#"artifacts[3].testflight_url"#) && r.stderr.contains(r#"to "link""#),
        "{}",
        r.stderr
    );
}

/// `dist manifest init` writes a dist.json that `dist manifest check` accepts, for the files
/// it finds; it never overwrites one without --force, and says so when it finds nothing.
#[test]
fn manifest_init_writes_a_valid_manifest_for_the_files_it_finds() {
    let apk = workspace_root().join("fixtures/android/signed-v1v2v3.apk");
    let job = Job::new(&json!({}), &[("out/app-release.apk", apk.as_path())]);
    std::fs::remove_file(job.manifest()).unwrap();
    let dir = job.dir.path().to_str().unwrap().to_owned();
    let r = dist_offline(&[
        "manifest",
        "init",
        "--dir",
        &dir,
        "--app",
        "acme",
        "--channel",
        "beta",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(
        v["manifest"]["artifacts"],
        json!([{"path": "out/app-release.apk", "platform": "android"}])
    );
    assert_eq!(v["manifest"]["version"], "1.2.3");
    assert_eq!(v["manifest"]["build"], "42");
    assert!(
        r.stderr.contains("version, build: 1.2.3 (42)"),
        "{}",
        r.stderr
    );
    let written = std::fs::read_to_string(job.manifest()).unwrap();
    assert!(
        written
            .trim_start()
            .starts_with("{\n  \"schema_version\": 2,"),
        "{written}"
    );
    let r = dist_offline(&["manifest", "check", &job.manifest_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let again = dist_offline(&["manifest", "init", "--dir", &dir]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    let forced = dist_offline(&["manifest", "init", "--dir", &dir, "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);

    let empty = tempfile::tempdir().unwrap();
    let r = dist_offline(&["manifest", "init", "--dir", empty.path().to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no artifact found"), "{}", r.stderr);
}
