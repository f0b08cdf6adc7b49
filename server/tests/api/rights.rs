//! The rights matrix: every route × every kind of caller × (own app, other app, public
//! channel, token channel), against a real distd. The README's "Security model" is the
//! specification; each row below is one of its sentences made concrete.

use super::*;

/// The callers, in the order of the matrix columns.
const CALLERS: [&str; 11] = [
    "admin",      // admin, no limits
    "app_admin",  // admin limited to `own`
    "create_app", // create-app + publish + read, limited to `fresh` (an app that does not exist)
    "publish",    // publish, `own`
    "promote",    // promote, `own`
    "read",       // read, `own`
    "download",   // download, `own`
    "dl_beta",    // download, `own`, channel beta
    "page",       // a page session from the `download` token's link
    "grant",      // a download grant minted by the page of the beta release's artifact
    "none",       // no credential
];

/// One caller's way of presenting itself.
enum Cred {
    Bearer(String),
    Cookie(String),
    Grant(String),
    None,
}

struct Fixture {
    creds: Vec<Cred>,
    /// Placeholders in route templates and their values.
    vars: Vec<(&'static str, String)>,
}

/// An APK of the project's own fixtures.
pub fn apk(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/android")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("fixtures/android/{name}: {e}"))
}

/// The value of `name=` in a page's HTML (up to a quote or an ampersand).
pub fn query_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("{name}="))? + name.len() + 1;
    Some(
        html[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect(),
    )
}

/// Exchanges a download link for a page session; returns the cookie value.
pub async fn page_session(s: &Server, art: &str, token: &str) -> String {
    let res = common::no_redirect_client()
        .get(format!("{}/i/{art}?token={token}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("/i/{art}"),
        "the redirect drops the token"
    );
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("dist_page=")
        .to_owned()
}

async fn setup(s: &Server) -> Fixture {
    let mine = apk("signed-v1v2v3.apk");
    let theirs = apk("rotated.apk");
    s.create_app("own").await;
    s.create_app("other").await;
    let (r1, a1) = publish(s, "own", "1", "app.apk", &mine).await;
    let (r2, a2) = publish(s, "own", "2", "app.apk", &mine).await;
    let (r3, a3) = publish(s, "own", "3", "app.apk", &mine).await;
    let (_draft, dart, _) = s.upload_and_attach("own", "4", "app.apk", &mine).await;
    promote(s, "own", "beta", &r1).await;
    promote(s, "own", "pub", &r2).await;
    promote(s, "own", "alpha", &r3).await;
    set_access(s, "/apps/own/channels/pub/access", "public").await;
    let (o1, oart) = publish(s, "other", "1", "other.apk", &theirs).await;
    promote(s, "other", "beta", &o1).await;

    let tok = |scopes: Value, app: &str, channels: Value| json!({"name": "t", "scopes": scopes, "app": app, "channels": channels});
    let mut creds = vec![Cred::Bearer(s.admin.clone())];
    for body in [
        tok(json!(["admin"]), "own", json!([])),
        tok(json!(["create-app", "publish", "read"]), "fresh", json!([])),
        tok(json!(["publish"]), "own", json!([])),
        tok(json!(["promote"]), "own", json!([])),
        tok(json!(["read"]), "own", json!([])),
        tok(json!(["download"]), "own", json!([])),
        tok(json!(["download"]), "own", json!(["beta"])),
    ] {
        creds.push(Cred::Bearer(s.token(body).await));
    }
    let Cred::Bearer(download) = &creds[6] else {
        unreachable!()
    };
    let download = download.clone();
    creds.push(Cred::Cookie(page_session(s, &a1, &download).await));
    // A grant, as the beta release's page hands it out.
    let html = s
        .client
        .get(format!("{}/i/{a1}", s.base))
        .bearer_auth(&download)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let grant = query_value(&html, "download?grant").expect("the page's links carry a grant");
    creds.push(Cred::Grant(grant));
    creds.push(Cred::None);
    Fixture {
        creds,
        vars: vec![
            ("{rel}", r1),
            ("{art}", a1),
            ("{pubart}", a2),
            ("{alphaart}", a3),
            ("{dart}", dart),
            ("{oart}", oart),
            ("{orel}", o1),
            ("{hex}", sha256_hex(&mine)),
            ("\"{size}\"", mine.len().to_string()),
            ("{ohex}", sha256_hex(&theirs)),
        ],
    }
}

/// (method, path, body, expectation per caller: `Y` allowed, `.` refused).
type Row = (Method, &'static str, Option<Value>, &'static str);

fn rows() -> Vec<Row> {
    use Method as M;
    //                                                                      admin
    //                                                                      |app_admin
    //                                                                      ||create_app
    //                                                                      |||publish
    //                                                                      ||||promote
    //                                                                      |||||read
    //                                                                      ||||||download
    //                                                                      |||||||dl_beta
    //                                                                      ||||||||page
    //                                                                      |||||||||grant
    //                                                                      ||||||||||none
    vec![
        (M::GET, "/api/v1/token", None, "YYYYYYYY..."),
        (M::GET, "/api/v1/tokens", None, "YY........."),
        (
            M::POST,
            "/api/v1/tokens",
            Some(json!({"name": "m", "scopes": ["read"], "app": "own"})),
            "YY.........",
        ),
        (
            M::POST,
            "/api/v1/tokens",
            Some(json!({"name": "m", "scopes": ["admin"]})),
            "Y..........",
        ),
        (
            M::POST,
            "/api/v1/tokens",
            Some(json!({"name": "m", "scopes": ["read"], "app": "other"})),
            "Y..........",
        ),
        (M::GET, "/api/v1/audit", None, "YY........."),
        (M::GET, "/api/v1/audit?app=other", None, "Y.........."),
        (M::GET, "/api/v1/audit/verify", None, "Y.........."),
        (M::GET, "/api/v1/apps/own", None, "YY...Y....."),
        (M::GET, "/api/v1/apps/other", None, "Y.........."),
        (
            M::PUT,
            "/api/v1/apps/own/access",
            Some(json!({"access": "token"})),
            "YY.........",
        ),
        (
            M::PUT,
            "/api/v1/apps/other/access",
            Some(json!({"access": "token"})),
            "Y..........",
        ),
        (M::GET, "/api/v1/apps/own/releases", None, "YY...Y....."),
        (M::GET, "/api/v1/apps/other/releases", None, "Y.........."),
        (M::GET, "/api/v1/releases/{rel}", None, "YY...Y....."),
        (M::GET, "/api/v1/artifacts/{art}", None, "YY...Y....."),
        (
            M::GET,
            "/api/v1/releases/{rel}/diff/{rel}",
            None,
            "YY...Y.....",
        ),
        (
            M::GET,
            "/api/v1/releases/{rel}/diff/{orel}",
            None,
            "...........",
        ),
        (
            M::POST,
            "/api/v1/apps/own/releases",
            Some(json!({"version": "1.0", "build": "1",
            "artifacts": [{"file_name": "app.apk", "sha256": "{hex}", "size": "{size}"}]})),
            "YY.Y.......",
        ),
        (
            M::POST,
            "/api/v1/apps/other/releases",
            Some(json!({"version": "9.0", "build": "9",
            "artifacts": [{"file_name": "app.apk", "sha256": "{hex}", "size": "{size}"}]})),
            "Y..........",
        ),
        (
            M::POST,
            "/api/v1/artifacts/{art}/attach",
            None,
            "YY.Y.......",
        ),
        (
            M::POST,
            "/api/v1/artifacts/{oart}/attach",
            None,
            "Y..........",
        ),
        (M::GET, "/api/v1/artifacts/{oart}", None, "Y.........."),
        (
            M::GET,
            "/api/v1/artifacts/{art}/download",
            None,
            "YY....YY...",
        ),
        (
            M::GET,
            "/api/v1/artifacts/{alphaart}/download",
            None,
            "YY....Y....",
        ),
        (
            M::GET,
            "/api/v1/artifacts/{dart}/download",
            None,
            "YY.........",
        ),
        (
            M::GET,
            "/api/v1/artifacts/{oart}/download",
            None,
            "Y..........",
        ),
        (
            M::GET,
            "/api/v1/apps/own/channels/beta",
            None,
            "YY...Y.....",
        ),
        (
            M::GET,
            "/api/v1/apps/own/channels/beta/history",
            None,
            "YY...Y.....",
        ),
        (
            M::GET,
            "/api/v1/apps/other/channels/beta",
            None,
            "Y..........",
        ),
        (
            M::POST,
            "/api/v1/apps/own/channels/beta/promote",
            Some(json!({"release_id": "{rel}"})),
            "YY..Y......",
        ),
        (
            M::POST,
            "/api/v1/apps/other/channels/beta/promote",
            Some(json!({"release_id": "{orel}"})),
            "Y..........",
        ),
        (
            M::PUT,
            "/api/v1/apps/own/channels/beta/policy",
            Some(json!({})),
            "YY.........",
        ),
        (
            M::HEAD,
            "/api/v1/blobs/sha256/{hex}?app=own",
            None,
            "YY.Y.......",
        ),
        (
            M::HEAD,
            "/api/v1/blobs/sha256/{ohex}?app=own",
            None,
            "...........",
        ),
        (
            M::HEAD,
            "/api/v1/blobs/sha256/{ohex}?app=other",
            None,
            "Y..........",
        ),
        (M::GET, "/d/own/beta/android", None, "YY....YYY.."),
        (M::GET, "/d/own/alpha/android", None, "YY....Y.Y.."),
        (M::GET, "/d/own/pub/android", None, "YYYYYYYYYYY"),
        (M::GET, "/d/other/beta/android", None, "Y.........."),
        (M::GET, "/i/{art}", None, "YY....YYY.."),
        (M::GET, "/i/{art}/download", None, "YY....YYYY."),
        (M::GET, "/i/{alphaart}", None, "YY....Y.Y.."),
        (M::GET, "/i/{alphaart}/download", None, "YY....Y.Y.."),
        (M::GET, "/i/{pubart}", None, "YYYYYYYYYYY"),
        (M::GET, "/i/{pubart}/download", None, "YYYYYYYYYYY"),
        (M::GET, "/i/{dart}", None, "..........."),
        (M::GET, "/i/{dart}/download", None, "..........."),
        (M::GET, "/i/{oart}", None, "Y.........."),
        (M::GET, "/i/{oart}/download", None, "Y.........."),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rights_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    let fx = setup(&s).await;
    let fill = |t: &str| {
        fx.vars
            .iter()
            .fold(t.to_owned(), |acc, (k, v)| acc.replace(k, v))
    };
    let mut wrong = Vec::new();
    for (method, path, body, expect) in rows() {
        assert_eq!(expect.len(), CALLERS.len(), "{path}");
        let path = fill(path);
        for ((who, cred), want) in CALLERS.iter().zip(&fx.creds).zip(expect.chars()) {
            let mut url = format!("{}{path}", s.base);
            let mut rb = s.client.request(method.clone(), &url);
            match cred {
                Cred::Bearer(t) => rb = rb.bearer_auth(t),
                Cred::Cookie(c) => rb = rb.header("cookie", format!("dist_page={c}")),
                Cred::Grant(g) => {
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str(&format!("grant={g}"));
                    rb = s.client.request(method.clone(), &url);
                }
                Cred::None => {}
            }
            if let Some(b) = &body {
                rb = rb.json(&serde_json::from_str::<Value>(&fill(&b.to_string())).unwrap());
            }
            let status = rb.send().await.unwrap().status();
            let allowed = status.is_success();
            // 400: a route that takes no grant refuses the unknown parameter.
            let refused = matches!(status.as_u16(), 400 | 401 | 403 | 404);
            let ok = match want {
                'Y' => allowed,
                _ => refused,
            };
            if !ok {
                wrong.push(format!(
                    "{method} {path} as {who}: {status}, expected {}",
                    if want == 'Y' { "allowed" } else { "refused" }
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_app_token_creates_its_one_app() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    // Without create-app, a limit to a missing app is refused as a typo.
    let (st, v) = s
        .post(
            "/tokens",
            &s.admin,
            json!({"name": "ci", "scopes": ["publish"], "app": "fresh"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert!(err_msg(&v).contains("create-app"), "{v}");
    // create-app without an app is meaningless.
    let (st, v) = s
        .post(
            "/tokens",
            &s.admin,
            json!({"name": "ci", "scopes": ["create-app"]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let ci = s
        .token(json!({"name": "ci", "scopes": ["create-app", "publish", "read"], "app": "fresh"}))
        .await;
    let (st, v) = s
        .post("/apps", &ci, json!({"slug": "elsewhere", "name": "E"}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, v) = s
        .post("/apps", &ci, json!({"slug": "fresh", "name": "Fresh"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, _) = s
        .post("/apps", &ci, json!({"slug": "fresh", "name": "Fresh"}))
        .await;
    assert_eq!(
        st,
        StatusCode::CONFLICT,
        "a second create answers that it exists"
    );
    // Then it publishes into it like any publish token.
    let (st, v) = s.put_blob("fresh", &ci, apk("signed-v1v2v3.apk")).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // An app-limited admin cannot hand out create-app.
    let app_admin = s
        .token(json!({"name": "aa", "scopes": ["admin"], "app": "fresh"}))
        .await;
    let (st, v) = s
        .post(
            "/tokens",
            &app_admin,
            json!({"name": "x", "scopes": ["create-app"], "app": "fresh"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
}
