//! Issue 20: the release, channel and app pages over HTTP: the artifact for the device first
//! with why the others are not, Markdown notes without script, the QR code, grants in links
//! (never the token), ETag and 304, gzip, and the 410 page of a withdrawn build.

use super::*;

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36";
const MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";

async fn page(s: &Server, path: &str, ua: &str, token: Option<&str>) -> (StatusCode, String) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    page_with(s, path, ua, &headers).await
}

/// A page as a browser with `headers` (a cookie, say) asks for it.
async fn page_with(
    s: &Server,
    path: &str,
    ua: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut rb = s
        .client
        .get(format!("{}{path}", s.base))
        .header("user-agent", ua)
        .header("accept", "text/html");
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let res = rb.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Opens `path?token=` as a tester's link does: a redirect to `path` without the token and a
/// page session cookie, answered as a `Cookie` header value.
async fn page_session(s: &Server, path: &str, token: &str) -> String {
    let res = common::no_redirect_client()
        .get(format!("{}{path}?token={token}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], path);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("dist_page="), "{cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

/// The file name in the first artifact section of a page.
fn first_section(html: &str) -> &str {
    let at = html
        .find("<section class=\"artifact first\">")
        .expect("a first artifact");
    let rest = &html[at..];
    &rest[..rest.find("<h2 class=\"others\">").unwrap_or(rest.len())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_pages_put_the_device_s_build_first_and_explain_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(
        &dir.path().join("data"),
        &[("DIST_PUBLIC_URL", "https://dist.example.test/")],
    )
    .await;
    s.create_app("acme").await;
    let m = s.mixed_release("acme").await;
    let tester = s
        .token(json!({"name": "tester", "scopes": ["download"], "app": "acme"}))
        .await;

    // The URL `dist ci publish` prints is the release page.
    let (_, rel) = s.get(&format!("/releases/{}", m.release), &s.admin).await;
    assert_eq!(
        rel["url"],
        format!("https://dist.example.test/apps/acme/releases/{}", m.release)
    );
    let rel_path = format!("/apps/acme/releases/{}", m.release);

    // No credential on a token-only app: 401 as a page saying what to do.
    let (st, html) = page(&s, &rel_path, IPHONE, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{html}");
    assert!(html.contains("download link"), "{html}");

    // iPhone: the over-the-air build first (the public URL is https), then TestFlight.
    let (st, html) = page(&s, "/apps/acme/channels/beta", IPHONE, Some(&tester)).await;
    assert_eq!(st, StatusCode::OK, "{html}");
    let first = first_section(&html);
    assert!(first.contains("Tiny-OTA.ipa"), "{first}");
    assert!(first.contains("itms-services://"), "{first}");
    assert!(first.contains("Install on this device"), "{first}");
    assert!(
        html.contains("This page is open on an iPhone (iOS 17.4)"),
        "{html}"
    );
    assert!(
        html.contains("tapping it installs nothing"),
        "the artifact-only IPA says why it is not first: {html}"
    );
    assert!(
        html.contains("For Android; this page is open on an iPhone"),
        "{html}"
    );
    assert!(
        !html.contains(&tester) && !html.contains(&s.admin),
        "{html}"
    );
    assert!(html.contains("grant="), "links carry grants: {html}");
    assert!(
        !html.contains("distgrant-"),
        "every placeholder filled: {html}"
    );
    // The ad hoc profile's device list: a UDID check.
    assert!(html.contains("name=\"udid\""), "{html}");
    let (st, html) = page(
        &s,
        "/apps/acme/channels/beta?udid=00008030-000000000000002E",
        IPHONE,
        Some(&tester),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains("is not in this build&#39;s provisioning profile"),
        "{html}"
    );
    // A device the profile lists.
    let (_, a) = s
        .get(&format!("/artifacts/{}", m.artifacts["ipa_ota"]), &s.admin)
        .await;
    let listed = a["inspection"]["details"]["profile"]["provisioned_devices"][0]
        .as_str()
        .expect("the ad hoc fixture lists devices")
        .to_ascii_lowercase();
    let (_, html) = page(
        &s,
        &format!("/apps/acme/channels/beta?udid={listed}"),
        IPHONE,
        Some(&tester),
    )
    .await;
    assert!(
        html.contains(&format!(
            "Device {listed} is in this build's list of registered devices"
        )),
        "{html}"
    );
    let (st, _) = page(
        &s,
        "/apps/acme/channels/beta?udid=<x>",
        IPHONE,
        Some(&tester),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Notes are Markdown, sanitised; source and CI link; the QR code.
    assert!(html.contains("<strong>Faster</strong>"), "{html}");
    assert!(!html.contains("alert(1)"), "{html}");
    assert!(html.contains("<code>3f2c1ab</code>"), "{html}");
    assert!(html.contains("href=\"https://ci.example/run/1\""), "{html}");
    assert!(html.contains("<svg"), "{html}");
    assert!(
        html.contains("https://dist.example.test/apps/acme/channels/beta"),
        "{html}"
    );

    // Android: the APK first with the unknown-sources note; the IPAs elsewhere.
    let (_, html) = page(&s, &rel_path, ANDROID, Some(&tester)).await;
    let first = first_section(&html);
    assert!(first.contains("acme.apk"), "{first}");
    assert!(first.contains("unknown"), "{first}");
    assert!(
        html.contains("For iPhone and iPad; this page is open on an Android"),
        "{html}"
    );

    // A Mac: the universal app first, the Intel one with how to tell Apple silicon from Intel.
    let (_, html) = page(&s, &rel_path, MAC, Some(&tester)).await;
    assert!(first_section(&html).contains("Tiny-mac.zip"), "{html}");
    assert!(html.contains("About This Mac"), "{html}");
    // An iPad asking for desktop sites: the page's script adds ?device=ipad.
    let (_, html) = page(&s, &format!("{rel_path}?device=ipad"), MAC, Some(&tester)).await;
    assert!(html.contains("open on an iPad"), "{html}");
    assert!(first_section(&html).contains("Tiny-OTA.ipa"), "{html}");
    assert!(
        !html.contains("Open this page on the iPhone or iPad"),
        "the iOS target knows it is an iPad too: {html}"
    );

    // An in-app browser is told to open the system browser.
    let (_, html) = page(
        &s,
        &rel_path,
        &format!("{IPHONE} Slack/24.04"),
        Some(&tester),
    )
    .await;
    assert!(html.contains("Slack's built-in browser"), "{html}");

    // `?token=` is exchanged for a page session and leaves the address.
    page_session(&s, "/apps/acme/channels/beta", &tester).await;

    // The app page lists its channels.
    let (st, html) = page(&s, "/apps/acme", IPHONE, Some(&tester)).await;
    assert_eq!(st, StatusCode::OK, "{html}");
    assert!(
        html.contains("href=\"https://dist.example.test/apps/acme/channels/beta\""),
        "{html}"
    );
    assert!(html.contains("1.0 (7)"), "{html}");

    // Public: an ETag, 304 on If-None-Match, gzip when asked.
    set_access(&s, "/apps/acme/channels/beta/access", "public").await;
    let res = s
        .client
        .get(format!("{}/apps/acme/channels/beta", s.base))
        .header("user-agent", IPHONE)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let body = res.text().await.unwrap();
    assert!(!body.contains("grant="), "a public page links plainly");
    let res = s
        .client
        .get(format!("{}/apps/acme/channels/beta", s.base))
        .header("user-agent", IPHONE)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let raw = &s.client;
    let res = raw
        .get(format!("{}/apps/acme/channels/beta", s.base))
        .header("user-agent", IPHONE)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert_eq!(res.headers()["vary"], "accept-encoding");
    // The gzipped bytes (kept with the page) are another representation: another tag.
    let gz_etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(gz_etag, etag);
    let zipped = res.bytes().await.unwrap();
    assert!(
        zipped.len() < body.len() / 2,
        "{} of {}",
        zipped.len(),
        body.len()
    );
    let mut unzipped = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&zipped[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, body, "the same page, gzipped");
    for (accept, tag, want) in [
        ("gzip", gz_etag.as_str(), StatusCode::NOT_MODIFIED),
        ("gzip", etag.as_str(), StatusCode::OK),
        ("identity", gz_etag.as_str(), StatusCode::OK),
    ] {
        let res = raw
            .get(format!("{}/apps/acme/channels/beta", s.base))
            .header("user-agent", IPHONE)
            .header("accept-encoding", accept)
            .header("if-none-match", tag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), want, "{accept}, {tag}");
        let vary: Vec<_> = res.headers().get_all("vary").iter().collect();
        assert_eq!(vary, ["accept-encoding"], "{accept}, {tag}");
    }

    // Revoked: the release page says it was withdrawn and links the channel's current
    // build; the channel page (pointing at it) says so too.
    let v2 = s
        .create_release(
            "acme",
            release_body("1.1", "8", &[("acme.apk", m.apk.as_slice())]),
        )
        .await;
    let (r2, a2) = release_ids(&v2);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{a2}/attach"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s
        .post_empty(&format!("/releases/{r2}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    promote(&s, "acme", "beta", &r2).await;
    let (st, v) = s
        .post(
            &format!("/releases/{}/revoke", m.release),
            &s.admin,
            json!({"reason": "crashes on start"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, html) = page(&s, &rel_path, IPHONE, None).await;
    assert_eq!(st, StatusCode::GONE, "{html}");
    assert!(html.contains("was withdrawn: crashes on start"), "{html}");
    assert!(
        html.contains("href=\"https://dist.example.test/apps/acme/channels/beta\""),
        "{html}"
    );
    assert!(html.contains("1.1 (8)"), "{html}");
    // The channel follows the pointer at once (its cached state fell with the promote).
    let (st, html) = page(&s, "/apps/acme/channels/beta", ANDROID, None).await;
    assert_eq!(st, StatusCode::OK, "{html}");
    assert!(html.contains("1.1 (8)"), "{html}");
}

/// Over plain http no iOS install button exists: the over-the-air build says why, and the
/// TestFlight link comes first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_the_ota_build_is_not_offered() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    s.mixed_release("acme").await;
    let (st, html) = page(&s, "/apps/acme/channels/beta", IPHONE, Some(&s.admin)).await;
    assert_eq!(st, StatusCode::OK, "{html}");
    assert!(!html.contains("itms-services://"), "{html}");
    assert!(
        html.contains("iOS refuses over-the-air installs from plain http links"),
        "{html}"
    );
    let first = first_section(&html);
    assert!(first.contains("Open in TestFlight"), "{first}");
}

/// The read-path caches never serve past a write: a revoked token is refused on its next
/// request, a token made by `distd token create` (another process) works on its first, and a
/// lookup follows a promote at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_tokens_and_channels_follow_every_write() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let toy = dist_targets::toy::file("com.example.toy", "1.0", "1");
    let (r1, _) = publish(&s, "acme", "1", "a.toy", &toy).await;
    promote(&s, "acme", "beta", &r1).await;
    let (st, v) = s
        .post(
            "/tokens",
            &s.admin,
            json!({"name": "reader", "scopes": ["read"], "app": "acme"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (secret, id) = (
        v["secret"].as_str().unwrap().to_owned(),
        v["token"]["id"].as_str().unwrap().to_owned(),
    );
    for _ in 0..3 {
        let (st, v) = s.get("/apps/acme/channels/beta", &secret).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["release_id"], r1.as_str(), "{v}");
    }
    // Its first use is written at once (by a task of its own: wait a little); later ones in
    // batches.
    let mut used = Value::Null;
    for _ in 0..40 {
        let (_, list) = s.get("/tokens", &s.admin).await;
        used = list["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id.as_str())
            .unwrap()["last_used_at"]
            .clone();
        if used.is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(used.is_string(), "last_used_at never written");

    // A promote: the next lookup names the new release.
    let toy2 = dist_targets::toy::file("com.example.toy", "1.1", "2");
    let (r2, _) = publish(&s, "acme", "2", "b.toy", &toy2).await;
    promote(&s, "acme", "beta", &r2).await;
    let (_, v) = s.get("/apps/acme/channels/beta", &secret).await;
    assert_eq!(v["release_id"], r2.as_str(), "{v}");

    // A revoke: refused on the very next request.
    let (st, v) = s
        .post_empty(&format!("/tokens/{id}/revoke"), &s.admin)
        .await;
    assert!(st.is_success(), "{v}");
    let (st, v) = s.get("/apps/acme/channels/beta", &secret).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    assert!(err_msg(&v).contains("revoked"), "{v}");

    // A token another process wrote into the database works on its first request.
    let out = std::process::Command::new(common::DISTD)
        .args([
            "token", "create", "--name", "cli", "--scope", "read", "--json",
        ])
        .arg("--data")
        .arg(&s.data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (st, v) = s
        .get("/apps/acme/channels/beta", v["secret"].as_str().unwrap())
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// Commits made by another process on the same data folder (here the test's own SQLite
/// connection, as `distd token` or a second distd would make them) count on the very next
/// request: a revoked token is refused by the API and on pages (bearer and page session), a
/// channel made token-only stops answering anonymous page requests (its page and the app's),
/// and a channel moved elsewhere is followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_by_another_process_count_on_the_next_request() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let toy = dist_targets::toy::file("com.example.toy", "1.0", "1");
    let (r1, _) = publish(&s, "acme", "1", "a.toy", &toy).await;
    let toy2 = dist_targets::toy::file("com.example.toy", "1.1", "2");
    let (r2, _) = publish(&s, "acme", "2", "b.toy", &toy2).await;
    promote(&s, "acme", "beta", &r1).await;
    let reader = s
        .token(json!({"name": "reader", "scopes": ["read", "download"], "app": "acme"}))
        .await;
    let tester = s
        .token(json!({"name": "tester", "scopes": ["download"], "app": "acme"}))
        .await;
    let cookie = page_session(&s, "/apps/acme/channels/beta", &tester).await;
    let cookie_header = [("cookie", cookie.as_str())];
    let with_cookie = || page_with(&s, "/apps/acme/channels/beta", MAC, &cookie_header);
    // Known to the caches: each is served twice.
    for _ in 0..2 {
        let (st, v) = s.get("/apps/acme/channels/beta", &reader).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let (st, html) = page(&s, "/apps/acme/channels/beta", MAC, Some(&reader)).await;
        assert_eq!(st, StatusCode::OK, "{html}");
        let (st, html) = with_cookie().await;
        assert_eq!(st, StatusCode::OK, "{html}");
    }

    let db = rusqlite::Connection::open(s.data.join("distd.sqlite3")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let revoke = |name: &str| {
        let n = db
            .execute(
                "UPDATE tokens SET revoked_at = '2026-01-01T00:00:00Z' WHERE name = ?1",
                [name],
            )
            .unwrap();
        assert_eq!(n, 1);
    };

    // The channel moves in the database: the lookup follows at once.
    db.execute(
        "UPDATE channels SET release_id = ?1 WHERE app = 'acme' AND name = 'beta'",
        [&r2],
    )
    .unwrap();
    let (_, v) = s.get("/apps/acme/channels/beta", &reader).await;
    assert_eq!(v["release_id"], r2.as_str(), "{v}");

    revoke("reader");
    let (st, v) = s.get("/apps/acme/channels/beta", &reader).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    assert!(err_msg(&v).contains("revoked"), "{v}");
    let (st, html) = page(&s, "/apps/acme/channels/beta", MAC, Some(&reader)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{html}");
    assert!(html.contains("revoked"), "{html}");

    revoke("tester");
    let (st, html) = with_cookie().await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{html}");
    assert!(html.contains("revoked"), "{html}");

    // A public channel page, kept rendered, stops at once when the channel is made
    // token-only.
    set_access(&s, "/apps/acme/channels/beta/access", "public").await;
    for _ in 0..2 {
        let (st, html) = page(&s, "/apps/acme/channels/beta", MAC, None).await;
        assert_eq!(st, StatusCode::OK, "{html}");
        // The app's page (its channels, kept too) lists the public channel at its move.
        let (st, html) = page(&s, "/apps/acme", MAC, None).await;
        assert_eq!(st, StatusCode::OK, "{html}");
        assert!(
            html.contains("1.0 (2)"),
            "build 2, where the channel moved: {html}"
        );
    }
    db.execute(
        "UPDATE channels SET access = 'token' WHERE app = 'acme' AND name = 'beta'",
        [],
    )
    .unwrap();
    let (st, html) = page(&s, "/apps/acme/channels/beta", MAC, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{html}");
    let (st, html) = page(&s, "/apps/acme", MAC, None).await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "no channel left to show: {html}"
    );
}
