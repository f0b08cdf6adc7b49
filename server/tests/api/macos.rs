//! Issue 16: the notarization submission dist.json lists with a macOS file, through a real
//! distd: validated when the release is created, stored with the artifact, answered in the
//! artifact JSON, judged against what the file carries (a finding in plain words where they
//! disagree), shown on the install page; refused on a link, an error on another platform.
//! The files are the macOS target's own fixtures (`fixtures/macos`).

use super::*;

const ID: &str = "2efe2717-52ef-43a5-96dc-0797e4ca1041";

/// Uploads `bytes`, creates a draft of acme listing it with `notarization` and attaches it;
/// answers the release id, the artifact id and the attach answer.
async fn attach(
    s: &Server,
    build: &str,
    name: &str,
    bytes: &[u8],
    notarization: Value,
) -> (String, String, StatusCode, Value) {
    attach_listed(
        s,
        "1.0",
        build,
        name,
        bytes,
        json!({ "notarization": notarization }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notarization_submission_is_recorded_and_shown_beside_what_the_file_carries() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let zip = crate::common::project_fixture("macos", "unsigned.zip");

    // Accepted, but the file is unsigned: Apple cannot have notarized it. Stored, answered
    // (the id lower-cased), and an error that stops the publish.
    let (rid, aid, st, v) = attach(
        &s,
        "1",
        "Tiny.zip",
        &zip,
        json!({"submission_id": ID.to_uppercase(), "status": "accepted"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["notarization"],
        json!({"submission_id": ID, "status": "accepted"}),
        "{v}"
    );
    assert_eq!(
        v["inspection"]["details"]["notarization"]["status"], "not-notarizable",
        "{v}"
    );
    let f = with_code(&v, "macos.notarization.accepted_not_developer_id");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["severity"], "error");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Tiny.zip: dist.json says Apple accepted this build, but the file is not signed with a Developer ID"),
        "{msg}"
    );
    assert!(msg.contains(ID), "{msg}");
    let (_, got) = s.get(&format!("/artifacts/{aid}"), &s.admin).await;
    assert_eq!(got["notarization"]["status"], "accepted", "{got}");
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Still in progress: a warning, and the release publishes.
    let (rid, aid, st, v) = attach(
        &s,
        "2",
        "Tiny.zip",
        &zip,
        json!({"submission_id": ID, "status": "in-progress"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let f = with_code(&v, "macos.notarization.in_progress");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["severity"], "warning");
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, r) = s.get(&format!("/releases/{rid}"), &s.admin).await;
    assert_eq!(
        r["artifacts"][0]["notarization"]["status"], "in-progress",
        "{r}"
    );
    // The install page shows both, and the disagreement in words.
    let page = page_text(&s, &aid).await;
    assert!(
        page.contains(&format!(
            "not-notarizable (the file); submission {ID} in-progress (dist.json). They disagree: Apple had not finished notarizing this build"
        )),
        "{page}"
    );

    // Without one, the artifact says null and no submission finding is made.
    let (_, _, st, v) = attach(&s, "3", "Tiny.zip", &zip, Value::Null).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["notarization"], Value::Null, "{v}");
    assert!(
        v["inspection"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["code"]
                .as_str()
                .unwrap()
                .starts_with("macos.notarization.")
                || f["code"] == "macos.notarization.not_stapled"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_submission_is_refused_and_another_platform_has_none() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let zip = crate::common::project_fixture("macos", "unsigned.zip");
    let (st, v) = s.put_blob("acme", &s.admin, zip.clone()).await;
    assert!(st.is_success(), "{v}");
    for (n, bad, says) in [
        (
            1,
            json!({"submission_id": "42", "status": "accepted"}),
            "is not a submission id",
        ),
        (
            2,
            json!({"submission_id": ID, "status": "done"}),
            "in-progress",
        ),
        (3, json!({"submission_id": ID}), "status"),
    ] {
        let mut body = release_body("1.0", &n.to_string(), &[("Tiny.zip", &zip)]);
        body["artifacts"][0]["notarization"] = bad;
        let (st, v) = s.post("/apps/acme/releases", &s.admin, body).await;
        // 400 for JSON the API types refuse, 422 for a value they read but the rules refuse.
        assert!(st.is_client_error(), "{st}: {v}");
        assert!(v.to_string().contains(says), "{says}: {v}");
    }
    // A link carries none.
    let body = json!({"version": "1.0", "build": "4", "artifacts": [{
        "platform": "ios", "link": "https://testflight.apple.com/join/ABCDEFGH",
        "notarization": {"submission_id": ID, "status": "accepted"},
    }]});
    let (st, v) = s.post("/apps/acme/releases", &s.admin, body).await;
    assert!(st.is_client_error(), "{st}: {v}");
    assert!(v.to_string().contains("a link has no notarization"), "{v}");

    // A Linux package takes none: attached with the blocking finding.
    let deb = crate::common::project_fixture("linux", "hello-dist_1.2.3-4_amd64.xz.deb");
    let (_, _, st, v) = attach(
        &s,
        "5",
        "hello.deb",
        &deb,
        json!({"submission_id": ID, "status": "accepted"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let f = with_code(&v, "notarization.unsupported");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["severity"], "error");
}

/// The install page's text, tags and entities dropped.
async fn page_text(s: &Server, aid: &str) -> String {
    let html = crate::install_page::page(s, aid).await;
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
