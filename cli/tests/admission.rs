//! `dist ci publish` refuses a file its target marks as not publishable before uploading it,
//! with the finding distd's attach would answer (both call `platform::unpublishable`;
//! server/tests/api/platforms.rs checks the server's side with the same file and words).

mod common;

use common::*;
use serde_json::json;

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
