//! Crash test: `kill -9` distd at random moments while a client streams uploads, creates,
//! attaches and publishes; restart; `distd fsck` and `distd audit verify` must be clean, every
//! release the client saw published must be there and complete, and nothing half-visible.
//! Rounds: `DIST_CRASH_ROUNDS` (default 50); seed: `DIST_CRASH_SEED` (printed either way).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use common::{Rng, Server, corpus, release_body, sha256_hex};

/// A v1-only (JAR-signed) APK: its signature does not cover the zip comment, so a unique
/// comment makes a distinct, still valid artifact per release.
const APK: &str = "android/apksig-golden-aligned-v1-out.apk";

fn with_comment(apk: &[u8], comment: &[u8]) -> Option<Vec<u8>> {
    let e = apk.len().checked_sub(22)?;
    if &apk[e..e + 4] != b"PK\x05\x06" || apk[e + 20..e + 22] != [0, 0] {
        return None;
    }
    let mut out = apk.to_vec();
    out[e + 20..e + 22].copy_from_slice(&u16::try_from(comment.len()).ok()?.to_le_bytes());
    out.extend_from_slice(comment);
    Some(out)
}

#[derive(Default)]
struct Acked {
    /// Blobs the server answered 200/201 for.
    blobs: Vec<String>,
    /// (release id, artifact digests) the server answered published for.
    published: Vec<(String, Vec<String>)>,
    /// Releases the server answered created for.
    created: Vec<String>,
}

struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    fn url(&self, p: &str) -> String {
        format!("{}/api/v1{p}", self.base)
    }

    async fn put(&self, bytes: Vec<u8>, streamed: bool) -> Result<StatusCode, reqwest::Error> {
        let hex = sha256_hex(&bytes);
        let len = bytes.len();
        let body = if streamed {
            // Many small frames, like a real streaming client.
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
            reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
        } else {
            reqwest::Body::from(bytes)
        };
        let res = self
            .http
            .put(self.url(&format!("/blobs/sha256/{hex}?app=crash")))
            .bearer_auth(&self.token)
            .header("upload-length", len.to_string())
            .body(body)
            .send()
            .await?;
        Ok(res.status())
    }

    async fn post(
        &self,
        p: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut rb = self.http.post(self.url(p)).bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await?;
        let st = res.status();
        let v = res.json().await.unwrap_or(Value::Null);
        Ok((st, v))
    }
}

/// Runs until a request fails (the server was killed).
async fn workload(
    c: Client,
    round: u64,
    seed: u64,
    apk: Option<Vec<u8>>,
    acked: Arc<Mutex<Acked>>,
) -> Result<(), reqwest::Error> {
    let mut rng = Rng(seed | 1);
    // One larger streaming upload per round, beside the small ones.
    let big_len = 4 * 1024 * 1024 + rng.below(4096) as usize;
    let big = rng.bytes(big_len);
    let big_hex = sha256_hex(&big);
    let c = Arc::new(c);
    let big_task = {
        let (c, acked) = (c.clone(), acked.clone());
        tokio::spawn(async move {
            if let Ok(st) = c.put(big, true).await
                && (st == StatusCode::CREATED || st == StatusCode::OK)
            {
                acked.lock().unwrap().blobs.push(big_hex);
            }
        })
    };
    for i in 0u64.. {
        let small_len = 1 + rng.below(64 * 1024) as usize;
        let small = rng.bytes(small_len);
        let hex = sha256_hex(&small);
        let st = c.put(small, false).await?;
        assert!(
            st == StatusCode::CREATED || st == StatusCode::OK,
            "small upload: {st}"
        );
        acked.lock().unwrap().blobs.push(hex);

        let Some(apk) = &apk else { continue };
        let art = with_comment(
            apk,
            format!("crash round {round} item {i} seed {seed}").as_bytes(),
        )
        .expect("the APK ends with an end record without a comment");
        let (st, v) = c
            .post(
                "/apps/crash/releases",
                Some(release_body(
                    "1.0",
                    &format!("{round}.{i}"),
                    &[("app.apk", &art)],
                )),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let rid = v["release"]["id"].as_str().unwrap().to_owned();
        let aid = v["release"]["artifacts"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        acked.lock().unwrap().created.push(rid.clone());
        let art_hex = sha256_hex(&art);
        let st = c.put(art, false).await?;
        assert!(
            st == StatusCode::CREATED || st == StatusCode::OK,
            "apk upload: {st}"
        );
        acked.lock().unwrap().blobs.push(art_hex.clone());
        let (st, v) = c.post(&format!("/artifacts/{aid}/attach"), None).await?;
        assert_eq!(st, StatusCode::OK, "{v}");
        let (st, v) = c.post(&format!("/releases/{rid}/publish"), None).await?;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["release"]["status"], "published");
        acked.lock().unwrap().published.push((rid, vec![art_hex]));
    }
    let _ = big_task.await;
    Ok(())
}

fn distd_ok(args: &[&str]) {
    let out = std::process::Command::new(common::DISTD)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "distd {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every acknowledged blob and release is there; every published release is complete.
async fn check_state(s: &Server, acked: &Acked, from: usize) {
    for hex in &acked.blobs {
        let res = s
            .client
            .head(s.url(&format!("/blobs/sha256/{hex}?app=crash")))
            .bearer_auth(&s.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "acknowledged blob {hex} is gone"
        );
    }
    for rid in &acked.created {
        let (st, _) = s.get(&format!("/releases/{rid}"), &s.admin).await;
        assert_eq!(st, StatusCode::OK, "acknowledged release {rid} is gone");
    }
    for (rid, digests) in acked.published.iter().skip(from) {
        let (st, v) = s.get(&format!("/releases/{rid}"), &s.admin).await;
        assert_eq!(st, StatusCode::OK, "published release {rid} is gone");
        assert_eq!(v["status"], "published", "{v}");
        let arts = v["artifacts"].as_array().unwrap();
        let got: Vec<&str> = arts.iter().map(|a| a["sha256"].as_str().unwrap()).collect();
        assert_eq!(got, digests.iter().map(String::as_str).collect::<Vec<_>>());
    }
    // Nothing half-visible: whatever is published is whole.
    let (_, v) = s.get("/apps/crash/releases?limit=500", &s.admin).await;
    for r in v["releases"].as_array().unwrap() {
        if r["status"] == "published" {
            for a in r["artifacts"].as_array().unwrap() {
                assert_eq!(a["attached"], true, "{r}");
                assert_eq!(a["inspection"]["sha256"], a["sha256"], "{r}");
                let hex = a["sha256"].as_str().unwrap();
                let res = s
                    .client
                    .head(s.url(&format!("/blobs/sha256/{hex}?app=crash")))
                    .bearer_auth(&s.admin)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::OK, "{r}");
            }
        }
    }
}

/// A number from the environment, when set and valid.
fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_leaves_a_consistent_store() {
    let rounds = env_u64("DIST_CRASH_ROUNDS").unwrap_or(50);
    let seed = env_u64("DIST_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    println!("crash test: {rounds} rounds, seed {seed} (DIST_CRASH_SEED={seed} repeats it)");
    let apk = corpus(APK);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap().to_owned();
    let mut rng = Rng(seed | 1);
    let mut s = Server::start(&data).await;
    s.create_app("crash").await;
    let acked = Arc::new(Mutex::new(Acked::default()));
    let started = Instant::now();
    let mut checked_published = 0;
    for round in 0..rounds {
        let client = Client {
            base: s.base.clone(),
            token: s.admin.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        let work = tokio::spawn(workload(
            client,
            round,
            rng.next(),
            apk.clone(),
            acked.clone(),
        ));
        tokio::time::sleep(Duration::from_millis(20 + rng.below(400))).await;
        s.kill9();
        match tokio::time::timeout(Duration::from_secs(30), work).await {
            Ok(Ok(Ok(()))) => panic!("the workload ended without an error"),
            Ok(Ok(Err(_))) => {} // the kill cut a request short, as intended
            Ok(Err(e)) => std::panic::resume_unwind(e.into_panic()),
            Err(_) => panic!("the client hung after the kill"),
        }
        s = Server::start(&data).await;
        distd_ok(&["fsck", "--data", &d]);
        distd_ok(&["audit", "verify", "--data", &d]);
        let snapshot = {
            let a = acked.lock().unwrap();
            Acked {
                blobs: a.blobs.clone(),
                published: a.published.clone(),
                created: a.created.clone(),
            }
        };
        check_state(&s, &snapshot, checked_published).await;
        checked_published = snapshot.published.len();
        let (_, v) = s.get("/audit/verify", &s.admin).await;
        assert_eq!(v["ok"], true, "{v}");
    }
    let a = acked.lock().unwrap();
    println!(
        "crash test: {rounds} rounds in {:.1} s; {} blobs, {} releases created, {} published acknowledged and verified",
        started.elapsed().as_secs_f64(),
        a.blobs.len(),
        a.created.len(),
        a.published.len()
    );
    if apk.is_some() {
        assert!(
            !a.published.is_empty(),
            "no publish was acknowledged in any round"
        );
    }
}

/// `distd` run to the end; exit code, stdout as JSON (Null if not JSON), stderr.
fn distd_run(args: &[&str]) -> (i32, Value, String) {
    let out = std::process::Command::new(common::DISTD)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `distd ARGS`, kills it with SIGKILL after `after`, and reaps it.
fn kill_9_after(args: &[&str], after: Duration) {
    let mut child = std::process::Command::new(common::DISTD)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let _ = child.kill();
    let _ = child.wait();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (p, dest) = (e.path(), to.join(e.file_name()));
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

fn count(db: &std::path::Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// `kill -9` during `distd gc --releases` (retention, then blobs) and during `distd restore`:
/// the chain and the store stay consistent, and running the command again finishes the job
/// with the result an uninterrupted run has. Rounds: `DIST_CRASH_OPS_ROUNDS` (default 6 each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_gc_retention_and_restore_leaves_a_consistent_store() {
    let rounds = env_u64("DIST_CRASH_OPS_ROUNDS").unwrap_or(6);
    let seed = env_u64("DIST_CRASH_SEED").unwrap_or(7);
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template");
    let mut s = Server::start(&template).await;
    s.create_app("crash").await;
    s.stop();
    // 300 published releases, one file each, written straight into the database.
    {
        let mut c = rusqlite::Connection::open(template.join("distd.sqlite3")).unwrap();
        let tx = c.transaction().unwrap();
        for i in 0..300 {
            let bytes = format!("nightly build {i}");
            let hex = sha256_hex(bytes.as_bytes());
            let shard = template.join("blobs/sha256").join(&hex[..2]);
            std::fs::create_dir_all(&shard).unwrap();
            std::fs::write(shard.join(&hex), &bytes).unwrap();
            let id = format!("rel_{i:020x}");
            let at = format!("2026-01-01T00:{:02}:{:02}Z", i / 60, i % 60);
            tx.execute(
                "INSERT INTO releases(id, app, version, build, status, fingerprint, created_at) \
                 VALUES (?1, 'crash', '1.0', ?2, 'draft', 'f', ?3)",
                rusqlite::params![id, i.to_string(), at],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO artifacts(id, release_id, position, file_name, sha256, size, attached) \
                 VALUES (?1, ?2, 0, 'n.bin', ?3, ?4, 1)",
                rusqlite::params![format!("art_{i:016x}"), id, hex, bytes.len() as i64],
            )
            .unwrap();
            tx.execute(
                "UPDATE releases SET status = 'published', published_at = ?2 WHERE id = ?1",
                rusqlite::params![id, at],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let backup = dir.path().join("backup.sqlite3");
    distd_ok(&[
        "backup",
        "--data",
        template.to_str().unwrap(),
        "--out",
        backup.to_str().unwrap(),
    ]);
    let live = "SELECT COUNT(*) FROM releases WHERE removed_at IS NULL";
    let (mut gc_cut, mut restore_cut) = (0, 0);
    // How long each takes uninterrupted here: the kills land within that.
    let timed = |args: &[&str]| {
        let t = Instant::now();
        distd_ok(args);
        u64::try_from(t.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    };
    let probe = dir.path().join("probe");
    copy_dir(&template, &probe);
    let p = probe.to_str().unwrap();
    let gc_ms = timed(&[
        "gc",
        "--data",
        p,
        "--releases",
        "--keep",
        "50",
        "--min-age-hours",
        "0",
    ]);
    let probe = dir.path().join("probe-restore");
    copy_dir(&template, &probe);
    let p = probe.to_str().unwrap();
    distd_ok(&["gc", "--data", p, "--releases", "--keep", "10"]);
    let restore_ms = timed(&["restore", backup.to_str().unwrap(), "--data", p]);
    println!("ops crash test: gc --releases takes {gc_ms} ms, restore {restore_ms} ms");
    for round in 0..rounds {
        // gc --releases, killed, then again.
        let data = dir.path().join(format!("gc-{round}"));
        copy_dir(&template, &data);
        let d = data.to_str().unwrap();
        let gc = [
            "gc",
            "--data",
            d,
            "--releases",
            "--keep",
            "50",
            "--min-age-hours",
            "0",
            "--json",
        ];
        kill_9_after(&gc, Duration::from_millis(rng.below(gc_ms)));
        let left = count(&data.join("distd.sqlite3"), live);
        let files = |data: &std::path::Path| {
            std::fs::read_dir(data.join("blobs/sha256"))
                .unwrap()
                .flatten()
                .map(|s| std::fs::read_dir(s.path()).unwrap().count())
                .sum::<usize>()
        };
        // Cut inside the retention part, or inside the blob removals after it.
        gc_cut += usize::from((left > 50 && left < 300) || (left == 50 && files(&data) > 50));
        distd_ok(&["audit", "verify", "--data", d]);
        distd_ok(&["fsck", "--data", d]);
        let (code, _, err) = distd_run(&gc);
        assert_eq!(code, 0, "round {round}: {err}");
        assert_eq!(
            count(&data.join("distd.sqlite3"), live),
            50,
            "round {round}"
        );
        assert_eq!(
            files(&data),
            50,
            "round {round}: the removed releases' files are collected"
        );
        distd_ok(&["audit", "verify", "--data", d]);
        distd_ok(&["fsck", "--data", d]);

        // restore over a changed database, killed, then again.
        let data = dir.path().join(format!("restore-{round}"));
        copy_dir(&template, &data);
        let d = data.to_str().unwrap();
        distd_ok(&["gc", "--data", d, "--releases", "--keep", "10"]);
        assert_eq!(count(&data.join("distd.sqlite3"), live), 10);
        let restore = ["restore", backup.to_str().unwrap(), "--data", d];
        kill_9_after(&restore, Duration::from_millis(rng.below(restore_ms)));
        // Killed before it finished: no audit.restore in the database in place yet.
        restore_cut += usize::from(
            count(
                &data.join("distd.sqlite3"),
                "SELECT COUNT(*) FROM audit_events WHERE action = 'audit.restore'",
            ) == 0,
        );
        let (code, _, err) = distd_run(&restore);
        assert_eq!(code, 0, "round {round}: {err}");
        assert_eq!(
            count(&data.join("distd.sqlite3"), live),
            300,
            "round {round}"
        );
        distd_ok(&["audit", "verify", "--data", d]);
        distd_ok(&["fsck", "--data", d]);
        let s = Server::start(&data).await;
        let (st, v) = s.get("/audit/verify", &s.admin).await;
        assert_eq!((st, &v["ok"]), (StatusCode::OK, &Value::Bool(true)), "{v}");
        drop(s);
        std::fs::remove_dir_all(dir.path().join(format!("gc-{round}"))).unwrap();
        std::fs::remove_dir_all(&data).unwrap();
    }
    println!(
        "ops crash test: {rounds} rounds; the kill cut gc --releases mid-way in {gc_cut}, restore before it finished in {restore_cut}"
    );
    assert!(
        gc_cut > 0,
        "no kill landed inside gc --releases; the test proves nothing"
    );
}
