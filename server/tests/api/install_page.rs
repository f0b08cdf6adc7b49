//! The install page as templates render it (issue 14, item 5): the words about a platform are
//! the ones `GET /api/v1/platforms` gives, the target adds facts as data, and whatever a
//! publisher wrote (a file name, release notes) stays text.

use super::*;

/// What askama writes for text in HTML.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

pub(crate) async fn page(s: &Server, aid: &str) -> String {
    let res = s
        .client
        .get(format!("{}/i/{aid}", s.base))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

fn described<'a>(platforms: &'a Value, id: &str, list: &str, key: &str, value: &str) -> &'a str {
    platforms["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .and_then(|p| p[list].as_array())
        .and_then(|l| l.iter().find(|k| k[key] == value))
        .and_then(|k| k["description"].as_str())
        .unwrap_or_else(|| panic!("{id} declares no {list} {value}: {platforms}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_pages_render_declared_words_and_keep_publisher_text_as_text() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let (st, platforms) = s.get("/platforms", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{platforms}");

    let apk = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/android/signed-v1v2v3.apk"),
    )
    .unwrap();
    let (st, v) = s.put_blob("acme", &s.admin, apk.clone()).await;
    assert!(st.is_success(), "{v}");
    let name = "<img src=x onerror=alert(1)> & 'q'.apk";
    let notes = "<script>alert(1)</script>\nSecond line & \"more\"";
    let mut body = release_body("1.0", "5", &[(name, &apk)]);
    body["notes"] = json!(notes);
    let v = s.create_release("acme", body).await;
    let (rid, aid) = release_ids(&v);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{aid}/attach"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");

    let html = page(&s, &aid).await;
    let apk_words = described(&platforms, "android", "kinds", "kind", "apk");
    assert!(
        html.contains(&format!("<h2>{}</h2>", escaped(apk_words))),
        "the kind as the target declares it: {html}"
    );
    assert!(html.contains(&escaped(name)), "{html}");
    assert!(
        html.contains(&format!("<p class=\"notes\">{}</p>", escaped(notes))),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("<img src=x"),
        "{html}"
    );
    // The target's facts, as data the page lays out.
    assert!(
        html.contains("<dt>Requires</dt><dd>Android API level 21 or later</dd>"),
        "{html}"
    );
    assert!(html.contains("<li class=\"download\"><a href="), "{html}");
    assert!(html.contains("<li class=\"copy-command\">"), "{html}");

    // A link artifact: its kind and its install mode, described by the target.
    let link = json!({"version": "2.0", "build": "6", "artifacts": [
        {"platform": "ios", "link": "https://testflight.apple.com/join/ABCDEFGH"}]});
    let (st, v) = s.post("/apps/acme/releases", &s.admin, link).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (rid, aid) = release_ids(&v);
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let html = page(&s, &aid).await;
    let art = &v["release"]["artifacts"][0];
    let (kind, mode) = (
        art["kind"].as_str().unwrap(),
        art["install_mode"].as_str().unwrap(),
    );
    assert!(
        html.contains(&format!(
            "<h2>{}</h2>",
            escaped(described(&platforms, "ios", "kinds", "kind", kind))
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "<p class=\"mode\">{}</p>",
            escaped(described(&platforms, "ios", "modes", "id", mode))
        )),
        "{html}"
    );
    assert!(
        html.contains(
            "<li class=\"open-url\"><a href=\"https://testflight.apple.com/join/ABCDEFGH\" rel=\"noreferrer\">"
        ),
        "{html}"
    );
    assert!(
        !html.contains("Release notes"),
        "no notes, no section: {html}"
    );
}
