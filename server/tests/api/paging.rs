//! Issue 11, item 11: every list pages by cursor (`limit`, `next_cursor`, `Link`), with the
//! release list's filters. The 10,000 releases are written straight into SQLite (the API
//! would take minutes), the listing goes through the real distd.

use std::collections::HashSet;

use super::*;

/// Writes `n` releases of `app` into the database: three share each timestamp (the cursor must
/// break ties), every third is published, every tenth has an android artifact. Returns
/// `(id, created_at, status, android)` per release.
fn insert_releases(
    db: &std::path::Path,
    app: &str,
    n: usize,
) -> Vec<(String, String, String, bool)> {
    let mut c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    let tx = c.transaction().unwrap();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!(
            "rel_{:020x}",
            (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        );
        let at = format!(
            "2026-01-01T00:{:02}:{:02}.{:06}Z",
            (i / 3) / 60 % 60,
            (i / 3) % 60,
            i / 3
        );
        let status = if i % 3 == 0 { "published" } else { "draft" };
        tx.execute(
            "INSERT INTO releases(id, app, version, build, status, fingerprint, created_at) \
             VALUES (?1, ?2, '1.0', ?3, 'draft', 'f', ?4)",
            rusqlite::params![id, app, i.to_string(), at],
        )
        .unwrap();
        let android = i % 10 == 0;
        if android {
            tx.execute(
                "INSERT INTO artifacts(id, release_id, position, platform) VALUES (?1, ?2, 0, 'android')",
                rusqlite::params![format!("art_{i:016x}"), id],
            )
            .unwrap();
        }
        // Published after its artifacts: a published release's artifacts are frozen.
        if status == "published" {
            tx.execute(
                "UPDATE releases SET status = 'published', published_at = ?2 WHERE id = ?1",
                rusqlite::params![id, at],
            )
            .unwrap();
        }
        out.push((id, at, status.to_owned(), android));
    }
    tx.commit().unwrap();
    out
}

async fn get_page(s: &Server, url: &str) -> (Value, Option<String>) {
    let res = s
        .client
        .get(url)
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{url}");
    let link = res
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_owned());
    (res.json().await.unwrap(), link)
}

/// The URL inside `<...>; rel="next"`.
fn next_link(link: &str) -> String {
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    link[1..link.find('>').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_releases_page_by_page_every_id_once() {
    let (dir, s) = Server::fresh(&["acme"]).await;
    let rows = insert_releases(&dir.path().join("data/distd.sqlite3"), "acme", 10_000);
    let mut seen = HashSet::new();
    let mut order = Vec::new();
    let mut url = s.url("/apps/acme/releases?limit=500");
    let mut pages = 0;
    loop {
        let (v, link) = get_page(&s, &url).await;
        pages += 1;
        for r in v["releases"].as_array().unwrap() {
            let id = r["id"].as_str().unwrap().to_owned();
            assert!(seen.insert(id.clone()), "{id} seen twice");
            order.push((r["created_at"].as_str().unwrap().to_owned(), id));
        }
        match (&v["next_cursor"], link) {
            (Value::Null, None) => break,
            (Value::String(c), Some(link)) => {
                let next = next_link(&link);
                assert!(next.ends_with(&format!("cursor={c}")), "{next}");
                url = next;
            }
            (c, l) => panic!("next_cursor {c} and Link {l:?} disagree"),
        }
        assert!(pages <= 21, "more pages than 10,000 / 500");
    }
    assert_eq!(seen.len(), 10_000);
    assert_eq!(pages, 20);
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert!(order == sorted, "newest first, ties broken by id");

    // Filters, followed through the Link header: the published android releases since a time.
    let since = "2026-01-01T00:20:00Z";
    let want: HashSet<String> = rows
        .iter()
        .filter(|(_, at, st, android)| st == "published" && *android && at.as_str() >= since)
        .map(|r| r.0.clone())
        .collect();
    assert!(want.len() > 100, "{}", want.len());
    let mut got = HashSet::new();
    let mut url = s.url(&format!(
        "/apps/acme/releases?limit=50&status=published&platform=android&since={since}"
    ));
    loop {
        let (v, link) = get_page(&s, &url).await;
        for r in v["releases"].as_array().unwrap() {
            assert_eq!(r["status"], "published");
            assert!(got.insert(r["id"].as_str().unwrap().to_owned()));
        }
        match link {
            Some(l) => url = next_link(&l),
            None => break,
        }
    }
    assert!(got == want, "{} listed, {} expected", got.len(), want.len());
    // The default page is 100; the old maximum of 500 still holds; a bad cursor is a 400.
    let (v, _) = get_page(&s, &s.url("/apps/acme/releases")).await;
    assert_eq!(v["releases"].as_array().unwrap().len(), 100);
    let (v, _) = get_page(&s, &s.url("/apps/acme/releases?limit=100000")).await;
    assert_eq!(v["releases"].as_array().unwrap().len(), 500);
    let (st, v) = s.get("/apps/acme/releases?cursor=nonsense", &s.admin).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(err_msg(&v).contains("next_cursor"), "{v}");
    let (st, v) = s.get("/apps/acme/releases?limt=5", &s.admin).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_audit_and_channel_history_page_too() {
    let (dir, s) = Server::fresh(&["acme"]).await;
    for i in 0..6 {
        s.token(json!({"name": format!("ci{i}"), "scopes": ["read"]}))
            .await;
    }
    // Tokens: 7 with the admin, pages of 3.
    let mut ids = HashSet::new();
    let mut path = "/tokens?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let (st, v) = s.get(&path, &s.admin).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        pages += 1;
        for t in v["tokens"].as_array().unwrap() {
            assert!(ids.insert(t["id"].as_str().unwrap().to_owned()));
        }
        match v["next_cursor"].as_str() {
            Some(c) => path = format!("/tokens?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!((ids.len(), pages), (7, 3));

    // Audit: every event once, in order.
    let (_, all) = s.get("/audit?limit=1000", &s.admin).await;
    let total = all["events"].as_array().unwrap().len();
    assert!(total >= 8, "{all}");
    let mut seqs = Vec::new();
    let mut path = "/audit?limit=3".to_owned();
    loop {
        let (_, v) = s.get(&path, &s.admin).await;
        seqs.extend(
            v["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap()),
        );
        match v["next_cursor"].as_str() {
            Some(c) => path = format!("/audit?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>());

    // Channel history, written straight into the database.
    {
        let c = rusqlite::Connection::open(dir.path().join("data/distd.sqlite3")).unwrap();
        c.execute(
            "INSERT INTO channels(app, name, updated_at) VALUES ('acme', 'nightly', '2026-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
        for i in 0..7 {
            c.execute(
                "INSERT INTO channel_history(app, channel, at, actor, action) VALUES ('acme', 'nightly', ?1, 'test', 'promote')",
                [format!("2026-01-01T00:00:0{i}Z")],
            )
            .unwrap();
        }
    }
    let mut n = 0;
    let mut path = "/apps/acme/channels/nightly/history?limit=2".to_owned();
    loop {
        let (st, v) = s.get(&path, &s.admin).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        n += v["history"].as_array().unwrap().len();
        match v["next_cursor"].as_str() {
            Some(c) => path = format!("/apps/acme/channels/nightly/history?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(n, 7);
}
