//! `GET /platforms` lists what the linked targets declare (kinds, install modes), and a mode
//! an artifact's target does not declare is refused by the generic rule, naming the target.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platforms_list_what_targets_declare_and_modes_are_checked_against_it() {
    let (_dir, s) = Server::fresh(&["toyapp"]).await;

    let (st, v) = s.get("/platforms", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["schema_version"], 1, "{v}");
    let list = v["platforms"].as_array().expect("platforms");
    let ids: Vec<&str> = list.iter().map(|p| p["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "sorted by id: {v}");
    for id in ["android", "ios", "toy"] {
        assert!(ids.contains(&id), "{id} missing: {v}");
    }
    let of = |id: &str| list.iter().find(|p| p["id"] == id).unwrap().clone();
    // The three iOS modes stay visible in the API model, as declared by the iOS target.
    let ios = of("ios");
    let modes: Vec<&str> = ios["modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        modes,
        ["testflight", "enterprise", "artifact-only"],
        "{ios}"
    );
    assert!(
        ios["modes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| !m["description"].as_str().unwrap().is_empty()),
        "{ios}"
    );
    let kinds = ios["kinds"].as_array().unwrap();
    assert!(
        kinds
            .iter()
            .any(|k| k["kind"] == "mobileprovision" && k["publishable"] == false),
        "{ios}"
    );
    assert_eq!(of("android")["modes"], json!([]), "{v}");
    // The order a channel URL chooses by: an installable package before a store bundle.
    assert_eq!(
        of("android")["preferred_kinds"],
        json!(["apk", "apks", "xapk", "aab"]),
        "{v}"
    );
    assert_eq!(
        ios["preferred_kinds"],
        json!(["ipa", "testflight"]),
        "{ios}"
    );
    assert_eq!(of("toy")["preferred_kinds"], json!(["toy"]), "{v}");
    assert_eq!(of("toy")["display_name"], "Toy", "{v}");

    // Without a token: 401, like the rest of the API.
    let (st, _) = s.get("/platforms", "").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // A mode the toy target does not declare: attached with a blocking finding that names
    // the target, and the release does not publish.
    let bytes = dist_targets::toy::file("com.example.toy", "1.2", "7");
    let (st, v) = s.put_blob("toyapp", &s.admin, bytes.clone()).await;
    assert!(st.is_success(), "{st}: {v}");
    let mut body = release_body("1.0", "7", &[("a.bin", &bytes)]);
    body["artifacts"][0]["install"] = json!("enterprise");
    let v = s.create_release("toyapp", body).await;
    let (rid, aid) = release_ids(&v);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{aid}/attach"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let finding = v["inspection"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "install.mode_unsupported")
        .unwrap_or_else(|| panic!("no install.mode_unsupported: {v}"))
        .clone();
    let msg = finding["message"].as_str().unwrap();
    assert!(
        msg.contains("Toy target declares no install modes"),
        "{msg}"
    );
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert!(st.is_client_error(), "{st}: {v}");
}

/// Identity rules name identity facts a target reports: a team rule for a platform whose
/// target reports no team could never be met, and is refused naming what may be named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_rules_name_only_facts_the_target_reports() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let (st, v) = s.get("/platforms", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let facts = |id: &str| -> Vec<String> {
        v["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()["identity_facts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(facts("ios"), ["identity", "team_id", "signer_sha256"]);
    assert_eq!(facts("android"), ["identity", "signer_sha256"]);
    assert_eq!(facts("toy"), ["identity"]);

    let put = |body: Value| {
        let s = &s;
        async move {
            s.call(
                Method::PUT,
                "/apps/acme/identity",
                Some(&s.admin),
                Some(body),
            )
            .await
        }
    };
    let (st, e) = put(json!({"android": {"team_ids": ["ABCDE12345"]}})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("identity.android.team_ids"), "{msg}");
    assert!(msg.contains("identity, signer_sha256"), "{msg}");
    let (st, e) = put(json!({"toy": {"signer_sha256": ["ab".repeat(32)]}})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // Nothing was stored by the refused calls; facts the targets report are accepted.
    let (st, a) = s.get("/apps/acme", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["identity"], json!({}), "{a}");
    let (st, a) = put(json!({
        "ios": {"identities": ["com.acme.*"], "team_ids": ["ABCDE12345"]},
        "android": {"identities": ["com.acme"], "signer_sha256": ["ab".repeat(32)]},
    }))
    .await;
    assert_eq!(st, StatusCode::OK, "{a}");
}

/// The server's side of `cli/tests/admission.rs`: the same file, the same words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_refuses_a_kind_for_inspection_only() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/ios/adhoc.mobileprovision"),
    )
    .unwrap();
    let (st, v) = s.put_blob("acme", &s.admin, bytes.clone()).await;
    assert!(st.is_success(), "{st}: {v}");
    let v = s
        .create_release(
            "acme",
            release_body("1.0", "1", &[("adhoc.mobileprovision", &bytes)]),
        )
        .await;
    let (_, aid) = release_ids(&v);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{aid}/attach"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v.to_string().contains(
            "adhoc.mobileprovision: a ios mobileprovision cannot be attached to a release; the iOS target reads it for dist inspect only"
        ),
        "{v}"
    );
}

/// A stored inspection that no longer parses stops a publish with an error (the log names
/// the artifact); it used to be skipped, and the release published unchecked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_stored_inspection_stops_the_publish() {
    let (dir, s) = Server::fresh(&["toyapp"]).await;
    let bytes = dist_targets::toy::file("com.example.toy", "1.0", "1");
    let (rid, aid, _) = s.upload_and_attach("toyapp", "1", "a.bin", &bytes).await;
    {
        let c = rusqlite::Connection::open(dir.path().join("data/distd.sqlite3")).unwrap();
        let n = c
            .execute(
                "UPDATE artifacts SET inspection = '{\"not\": \"an inspection\"}' WHERE id = ?1",
                [&aid],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    // Showing it names the artifact too (issue 14, item 6): no release shown without it.
    let (st, v) = s.get(&format!("/releases/{rid}"), &s.admin).await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains(&aid),
        "{v}"
    );
    let c = rusqlite::Connection::open(dir.path().join("data/distd.sqlite3")).unwrap();
    let status: String = c
        .query_row("SELECT status FROM releases WHERE id = ?1", [&rid], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(status, "draft");
}
