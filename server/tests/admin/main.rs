//! The admin console (issue 21) against the real `distd` on 127.0.0.1: sessions and CSRF,
//! rights enforced by the server whatever a page shows (`console`), and the same flows in
//! real Chromium with screenshots (`browser`).

#[path = "../common/mod.rs"]
mod common;

mod browser;
mod console;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use common::Server;

pub fn fixture_apk() -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/android/signed-v1v2v3.apk");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Uploads, creates, attaches and publishes a release of `app` with build `build`.
pub async fn publish(s: &Server, app: &str, build: &str) -> String {
    publish_bytes(s, app, build, &fixture_apk()).await
}

/// [`publish`] of given bytes.
pub async fn publish_bytes(s: &Server, app: &str, build: &str, apk: &[u8]) -> String {
    let (rid, _, _) = s.upload_and_attach(app, build, "acme.apk", apk).await;
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    rid
}

pub async fn promote_api(s: &Server, app: &str, channel: &str, rel: &str) {
    let (st, v) = s
        .post(
            &format!("/apps/{app}/channels/{channel}/promote"),
            &s.admin,
            json!({"release_id": rel}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// The release a channel points at, through the API.
pub async fn channel_release(s: &Server, app: &str, channel: &str) -> Value {
    let (st, v) = s
        .get(&format!("/apps/{app}/channels/{channel}"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["release_id"].clone()
}

/// The database of a running server (WAL: readers see committed rows).
pub fn db(s: &Server) -> rusqlite::Connection {
    rusqlite::Connection::open(s.data.join("distd.sqlite3")).expect("open the database")
}

/// Audit rows with `action`, oldest first: (actor, app, subject, details).
pub fn audit_rows(
    s: &Server,
    action: &str,
) -> Vec<(String, Option<String>, Option<String>, String)> {
    let c = db(s);
    let mut st = c
        .prepare(
            "SELECT actor, app, subject, details FROM audit_events WHERE action = ?1 ORDER BY seq",
        )
        .unwrap();
    st.query_map([action], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// `application/x-www-form-urlencoded` of `fields`.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The value of `name="csrf"` in a page.
pub fn csrf_in(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in the page: {html}"))
        + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// The value a `Set-Cookie` gives `name`, if one does.
pub fn set_cookie<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// A browser-like client of the console: keeps the session cookie, sends no redirects on.
pub struct Console<'a> {
    pub s: &'a Server,
    client: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl<'a> Console<'a> {
    /// Signs in with `token` as a browser would: the form, its double-submit cookie, the post.
    pub async fn sign_in(s: &'a Server, token: &str) -> Console<'a> {
        let (c, a) = Self::try_sign_in(s, token).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        c.expect("a session")
    }

    /// The sign-in's answer and, when it gave one, the session.
    pub async fn try_sign_in(s: &'a Server, token: &str) -> (Option<Console<'a>>, Answer) {
        let client = common::no_redirect_client();
        let res = client
            .get(format!("{}/admin/signin", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let pre = set_cookie(res.headers(), "dist_admin_signin")
            .expect("the sign-in form's cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let html = res.text().await.unwrap();
        let csrf = csrf_in(&html);
        let res = client
            .post(format!("{}/admin/signin", s.base))
            .header(COOKIE, &pre)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(&[("csrf", &csrf), ("token", token)]))
            .send()
            .await
            .unwrap();
        let a = Answer {
            status: res.status(),
            headers: res.headers().clone(),
            body: String::new(),
        };
        let Some(sc) = set_cookie(&a.headers, "dist_admin") else {
            let body = res.text().await.unwrap();
            return (None, Answer { body, ..a });
        };
        let cookie = sc.split(';').next().unwrap().to_owned();
        let mut c = Console {
            s,
            client,
            cookie,
            csrf: String::new(),
        };
        let page = c.get("/admin/tokens").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        c.csrf = csrf_in(&page.body);
        (Some(c), a)
    }

    pub async fn get(&self, path: &str) -> Answer {
        let res = self
            .client
            .get(format!("{}{path}", self.s.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        Answer {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    /// Posts a form with this session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly `fields` (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let res = self
            .client
            .post(format!("{}{path}", self.s.base))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(fields))
            .send()
            .await
            .unwrap();
        Answer {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }
}
