//! Issue 11, item 12: the retention policy removes exactly the releases it should: per app,
//! the newest N and whatever a channel points at, or pointed at within D days, stay; old
//! drafts go; the rest are revoked, then removed, all on the audit record; their files are
//! collected once nothing else refers to them. The data is written straight into SQLite.

use std::collections::BTreeSet;

use time::format_description::well_known::Rfc3339;
use time::{Duration as Span, OffsetDateTime};

use super::*;

struct Fixture {
    conn: rusqlite::Connection,
    data: std::path::PathBuf,
    now: OffsetDateTime,
}

impl Fixture {
    fn at(&self, ago: Span) -> String {
        (self.now - ago).format(&Rfc3339).unwrap()
    }

    /// A stored file and its hex digest.
    fn blob(&self, content: &str) -> String {
        let hex = sha256_hex(content.as_bytes());
        let dir = self.data.join("blobs/sha256").join(&hex[..2]);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(&hex), content).unwrap();
        hex
    }

    /// A release of `app` created `ago` before now, with one artifact of blob `hex`.
    fn release(&self, app: &str, id: &str, ago: Span, status: &str, hex: &str) {
        let at = self.at(ago);
        let size = std::fs::metadata(self.data.join("blobs/sha256").join(&hex[..2]).join(hex))
            .unwrap()
            .len() as i64;
        self.conn
            .execute(
                "INSERT INTO releases(id, app, version, build, status, fingerprint, created_at) \
                 VALUES (?1, ?2, '1.0', ?1, 'draft', 'f', ?3)",
                rusqlite::params![id, app, at],
            )
            .unwrap();
        self.conn
            .execute(
                "INSERT INTO artifacts(id, release_id, position, file_name, sha256, size, platform, attached) \
                 VALUES (?1, ?2, 0, 'a.bin', ?3, ?4, 'android', 1)",
                rusqlite::params![format!("art_{}", &id[4..]), id, hex, size],
            )
            .unwrap();
        if status != "draft" {
            self.conn
                .execute(
                    "UPDATE releases SET status = 'published', published_at = ?2 WHERE id = ?1",
                    rusqlite::params![id, at],
                )
                .unwrap();
        }
        if status == "revoked" {
            self.conn
                .execute(
                    "UPDATE releases SET status = 'revoked', revoked_at = ?2, revoke_reason = 'bad' WHERE id = ?1",
                    rusqlite::params![id, at],
                )
                .unwrap();
        }
    }

    /// A channel move `ago` before now.
    fn moved(&self, channel: &str, ago: Span, from: Option<&str>, to: &str) {
        self.conn
            .execute(
                "INSERT INTO channels(app, name, release_id, updated_at) VALUES ('acme', ?1, ?2, ?3) \
                 ON CONFLICT(app, name) DO UPDATE SET release_id = excluded.release_id",
                rusqlite::params![channel, to, self.at(ago)],
            )
            .unwrap();
        self.conn
            .execute(
                "INSERT INTO channel_history(app, channel, at, actor, action, from_release_id, to_release_id) \
                 VALUES ('acme', ?1, ?2, 'test', 'promote', ?3, ?4)",
                rusqlite::params![channel, self.at(ago), from, to],
            )
            .unwrap();
    }
}

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retention_policy_removes_exactly_the_releases_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Per app: "other" keeps its 100 newest whatever the default says.
    std::fs::write(
        data.join("config.toml"),
        "[retention.apps.other]\nkeep = 100\n",
    )
    .unwrap();
    let s = Server::start(&data).await;
    s.create_app("acme").await;
    s.create_app("other").await;
    let f = Fixture {
        conn: rusqlite::Connection::open(data.join("distd.sqlite3")).unwrap(),
        data: data.clone(),
        now: OffsetDateTime::now_utc(),
    };
    f.conn.busy_timeout(Duration::from_secs(10)).unwrap();
    // rel_r0 .. rel_r11, oldest first, an hour apart; r3 already revoked; r8 shares r11's file.
    let shared = f.blob("nightly 11");
    for i in 0..12 {
        let hex = if i == 8 || i == 11 {
            shared.clone()
        } else {
            f.blob(&format!("nightly {i}"))
        };
        let status = if i == 3 { "revoked" } else { "published" };
        f.release(
            "acme",
            &format!("rel_r{i}"),
            Span::hours(24 - i),
            status,
            &hex,
        );
    }
    // Drafts: two past the 7-day limit, one recent.
    for (id, days) in [("rel_d0", 10), ("rel_d1", 8), ("rel_d2", 1)] {
        let hex = f.blob(id);
        f.release("acme", id, Span::days(days), "draft", &hex);
    }
    // stable points at r2; beta pointed at r4 five days ago and at r5 since two days ago;
    // nightly pointed at r1 sixty days ago and moved to r11 fifty days ago.
    f.moved("stable", Span::days(3), None, "rel_r2");
    f.moved("beta", Span::days(5), None, "rel_r4");
    f.moved("beta", Span::days(2), Some("rel_r4"), "rel_r5");
    f.moved("nightly", Span::days(60), None, "rel_r1");
    f.moved("nightly", Span::days(50), Some("rel_r1"), "rel_r11");
    for i in 0..3 {
        let hex = f.blob(&format!("other {i}"));
        f.release(
            "other",
            &format!("rel_o{i}"),
            Span::hours(10 - i),
            "published",
            &hex,
        );
    }
    let d = data.to_str().unwrap();
    let args = [
        "gc",
        "--data",
        d,
        "--json",
        "--min-age-hours",
        "0",
        "--releases",
        "--keep",
        "3",
        "--channel-days",
        "30",
        "--draft-days",
        "7",
    ];
    let removed = set(&["rel_r0", "rel_r1", "rel_r3", "rel_r6", "rel_r7", "rel_r8"]);
    let blobs_before = dir_files(&data.join("blobs")).len();

    // A dry run names them and changes nothing.
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let (code, v) = distd(&dry);
    assert_eq!(code, 0, "{v}");
    let acme = &v["releases"]["apps"][0];
    assert_eq!(acme["app"], "acme", "{v}");
    assert_eq!(ids(&acme["removed"]), removed, "{v}");
    assert_eq!(
        ids(&acme["drafts_deleted"]),
        set(&["rel_d0", "rel_d1"]),
        "{v}"
    );
    let (_, r8) = s.get("/releases/rel_r8", &s.admin).await;
    assert_eq!(r8["status"], "published");
    assert_eq!(dir_files(&data.join("blobs")).len(), blobs_before);

    let (code, v) = distd(&args);
    assert_eq!(code, 0, "{v}");
    let acme = &v["releases"]["apps"][0];
    assert_eq!(ids(&acme["removed"]), removed, "{v}");
    assert_eq!(
        ids(&acme["drafts_deleted"]),
        set(&["rel_d0", "rel_d1"]),
        "{v}"
    );
    let other = &v["releases"]["apps"][1];
    assert_eq!(
        (
            other["app"].as_str(),
            other["removed"].as_array().unwrap().len()
        ),
        (Some("other"), 0),
        "{v}"
    );
    // Files: those of r0, r1, r3, r6, r7 and the two drafts; r8's is still r11's.
    assert_eq!(v["removed"].as_array().unwrap().len(), 7, "{v}");
    assert!(
        data.join("blobs/sha256")
            .join(&shared[..2])
            .join(&shared)
            .exists()
    );
    for i in 0..12 {
        let id = format!("rel_r{i}");
        let (st, r) = s.get(&format!("/releases/{id}"), &s.admin).await;
        assert_eq!(st, StatusCode::OK, "{r}");
        let want = if removed.contains(&id) || i == 3 {
            "revoked"
        } else {
            "published"
        };
        assert_eq!(r["status"], want, "{id}: {r}");
    }
    let removed_at: Vec<String> = {
        let mut st = f
            .conn
            .prepare("SELECT id FROM releases WHERE removed_at IS NOT NULL ORDER BY id")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(removed_at.into_iter().collect::<BTreeSet<_>>(), removed);
    for (id, gone) in [("rel_d0", true), ("rel_d1", true), ("rel_d2", false)] {
        let (st, _) = s.get(&format!("/releases/{id}"), &s.admin).await;
        assert_eq!(st == StatusCode::NOT_FOUND, gone, "{id}");
    }
    // On the record: five revocations (r3 was revoked before), six removals, two deletions.
    let (_, a) = s
        .get("/audit?action=release.remove&limit=100", &s.admin)
        .await;
    assert_eq!(ids_of_subjects(&a), removed);
    let (_, a) = s
        .get(
            "/audit?action=release.revoke&actor=system:retention",
            &s.admin,
        )
        .await;
    assert_eq!(a["events"].as_array().unwrap().len(), 5, "{a}");
    let (_, a) = s.get("/audit?action=release.delete", &s.admin).await;
    assert_eq!(a["events"].as_array().unwrap().len(), 2, "{a}");
    let (code, v) = distd(&["audit", "verify", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = distd(&["fsck", "--data", d, "--json"]);
    assert_eq!(code, 0, "{v}");

    // Again: nothing more to do.
    let (code, v) = distd(&args);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["releases"]["apps"][0]["removed"], json!([]), "{v}");
    assert_eq!(v["removed"], json!([]), "{v}");
}

fn ids_of_subjects(v: &Value) -> BTreeSet<String> {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap().to_owned())
        .collect()
}

/// The schedule in `distd serve` applies the policy by itself (here every 1.8 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distd_applies_the_policy_on_its_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start_with(
        &data,
        &[
            ("DIST_RETENTION_KEEP", "2"),
            ("DIST_RETENTION_EVERY_HOURS", "0.0005"),
        ],
    )
    .await;
    s.create_app("acme").await;
    let f = Fixture {
        conn: rusqlite::Connection::open(data.join("distd.sqlite3")).unwrap(),
        data: data.clone(),
        now: OffsetDateTime::now_utc(),
    };
    f.conn.busy_timeout(Duration::from_secs(10)).unwrap();
    for i in 0..4 {
        let hex = f.blob(&format!("scheduled {i}"));
        f.release(
            "acme",
            &format!("rel_s{i}"),
            Span::hours(10 - i),
            "published",
            &hex,
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, a) = s.get("/audit?action=release.remove", &s.admin).await;
        let got = ids_of_subjects(&a);
        if got.len() == 2 {
            assert_eq!(got, set(&["rel_s0", "rel_s1"]));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the schedule did not apply the policy within 20 s: {a}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = std::fs::read_to_string(data.with_extension("log")).unwrap();
    assert!(log.contains("retention: removed 2 release(s)"), "{log}");
}
