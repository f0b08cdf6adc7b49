//! Issue 11, item 11: `dist release list` pages through the server's cursor pages: one page of
//! `--limit` by default (a note says more follow), every release with `--all`.

mod common;

use std::collections::HashSet;

use common::*;

#[test]
fn release_list_pages_with_limit_and_all() {
    let d = Distd::start();
    let r = d.dist(&d.admin, &["app", "create", "acme", "--name", "Acme"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    {
        // 250 releases written straight into the database (the API would be slower).
        let c = rusqlite::Connection::open(d.data.path().join("distd.sqlite3")).unwrap();
        c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
        for i in 0..250 {
            c.execute(
                "INSERT INTO releases(id, app, version, build, status, fingerprint, created_at) \
                 VALUES (?1, 'acme', '1.0', ?2, 'draft', 'f', ?3)",
                rusqlite::params![
                    format!("rel_{i:020x}"),
                    i.to_string(),
                    format!("2026-01-01T00:00:{:02}.{i:06}Z", i % 60)
                ],
            )
            .unwrap();
        }
    }
    let r = d.dist(
        &d.admin,
        &[
            "release", "list", "--app", "acme", "--limit", "100", "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["releases"].as_array().unwrap().len(), 100);
    assert!(v["next_cursor"].is_string(), "{v}");
    assert!(r.stderr.contains("--all"), "{}", r.stderr);

    let r = d.dist(
        &d.admin,
        &[
            "release", "list", "--app", "acme", "--limit", "70", "--all", "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let ids: Vec<&str> = v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 250);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        250,
        "every id once"
    );
    assert!(v["next_cursor"].is_null(), "{v}");
    assert!(!r.stderr.contains("more releases follow"), "{}", r.stderr);

    let r = d.dist(
        &d.admin,
        &["release", "list", "--app", "acme", "--limit", "0"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn audit_list_pages_with_limit_and_all() {
    let d = Distd::start();
    let r = d.dist(&d.admin, &["app", "create", "acme", "--name", "Acme"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for access in ["public", "token", "public", "token", "public"] {
        let r = d.dist(&d.admin, &["app", "access", "acme", access]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let seqs = |v: &serde_json::Value| -> Vec<i64> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect()
    };
    let whole = d.dist(&d.admin, &["audit", "list", "--limit", "1000", "--json"]);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let whole = seqs(&whole.json());
    assert!(whole.len() >= 6, "{whole:?}");

    let r = d.dist(&d.admin, &["audit", "list", "--limit", "2", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(seqs(&r.json()).len(), 2);
    assert!(r.json()["next_cursor"].is_string());
    assert!(r.stderr.contains("--all"), "{}", r.stderr);

    let r = d.dist(
        &d.admin,
        &["audit", "list", "--limit", "2", "--all", "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(seqs(&r.json()), whole, "every event once, in order");
    assert!(r.json()["next_cursor"].is_null());
}
