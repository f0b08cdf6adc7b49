//! Resumable and concurrent uploads.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_upload_continues_from_the_server_offset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data).await;
    s.create_app("acme").await;
    let bytes = Rng(42).bytes(3 * 1024 * 1024 + 17);
    let hex = sha256_hex(&bytes);
    let url = s.url(&format!("/blobs/sha256/{hex}?app=acme"));
    let total = bytes.len().to_string();

    // A client dies after 1 MiB of a declared 3 MiB.
    let cut = 1024 * 1024;
    cut_upload(&s, &hex, &total, &bytes[..cut]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = s
        .client
        .head(&url)
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let held: usize = res.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(held, cut, "the partial survives the dropped connection");

    // A wrong offset is a 409 naming the right one. The body is small: the
    // server answers before reading it and closes, so a large body could meet
    // a broken pipe while still being sent.
    let res = s
        .client
        .put(&url)
        .bearer_auth(&s.admin)
        .header("upload-length", &total)
        .header("upload-offset", "7")
        .body(bytes[7..7 + 1024].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.headers()["upload-offset"], held.to_string().as_str());

    // Another short piece: kept, and the answer says where to go on.
    let mid = 2 * 1024 * 1024;
    let res = s
        .client
        .put(&url)
        .bearer_auth(&s.admin)
        .header("upload-length", &total)
        .header("upload-offset", held.to_string())
        .body(bytes[held..mid].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["upload-offset"], mid.to_string().as_str());
    let res = s
        .client
        .put(&url)
        .bearer_auth(&s.admin)
        .header("upload-length", &total)
        .header("upload-offset", mid.to_string())
        .body(bytes[mid..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["size"], bytes.len());
    let res = s
        .client
        .head(&url)
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-length"], total.as_str());
    let stored = std::fs::read(data.join("blobs/sha256").join(&hex[..2]).join(&hex)).unwrap();
    assert!(stored == bytes, "stored bytes differ");
    assert!(dir_files(&data.join("uploads")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_of_one_digest_store_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = std::sync::Arc::new(Server::start(&data).await);
    s.create_app("acme").await;
    let bytes = std::sync::Arc::new(Rng(7).bytes(4 * 1024 * 1024));
    let hex = sha256_hex(&bytes);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, bytes, hex) = (s.clone(), bytes.clone(), hex.clone());
        tasks.push(tokio::spawn(async move {
            let mut rb = s
                .client
                .put(s.url(&format!("/blobs/sha256/{hex}?app=acme")))
                .bearer_auth(&s.admin);
            if i % 2 == 0 {
                rb = rb.header("upload-length", bytes.len().to_string());
            }
            let res = rb.body(bytes.to_vec()).send().await.unwrap();
            res.status()
        }));
    }
    let mut created = 0;
    for t in tasks {
        let st = t.await.unwrap();
        assert!(st == StatusCode::CREATED || st == StatusCode::OK, "{st}");
        created += usize::from(st == StatusCode::CREATED);
    }
    assert_eq!(created, 1, "exactly one upload creates the blob");
    let stored = std::fs::read(data.join("blobs/sha256").join(&hex[..2]).join(&hex)).unwrap();
    assert!(stored == *bytes);
    assert!(
        dir_files(&data.join("uploads")).is_empty(),
        "{:?}",
        dir_files(&data.join("uploads"))
    );
    let (_, v) = s.get("/audit?action=blob.upload", &s.admin).await;
    assert_eq!(v["events"].as_array().unwrap().len(), 1);
}

/// Opens a raw PUT that sends `body` and then nothing, keeping the connection open.
fn raw_stalled_put(
    port: u16,
    path: &str,
    token: &str,
    total: usize,
    body: &[u8],
) -> std::net::TcpStream {
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        sock,
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nUpload-Length: {total}\r\nContent-Length: {total}\r\n\r\n"
    )
    .unwrap();
    sock.write_all(body).unwrap();
    sock.flush().unwrap();
    sock
}

/// PUTs `bytes[from..]` as a resume, following a 409's `Upload-Offset` to the server's count.
async fn resume_put(s: &Server, hex: &str, bytes: &[u8], mut from: usize) -> (StatusCode, usize) {
    for _ in 0..5 {
        let res = s
            .client
            .put(s.url(&format!("/blobs/sha256/{hex}?app=acme")))
            .bearer_auth(&s.admin)
            .header("upload-length", bytes.len().to_string())
            .header("upload-offset", from.to_string())
            .body(bytes[from..].to_vec())
            .send()
            .await
            .unwrap();
        match res.status() {
            StatusCode::CONFLICT => {
                from = res.headers()["upload-offset"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
            }
            st => return (st, from),
        }
    }
    panic!("no answer but 409 after five tries");
}

async fn held_offset(s: &Server, hex: &str) -> Option<usize> {
    let res = s
        .client
        .head(s.url(&format!("/blobs/sha256/{hex}?app=acme")))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    res.headers()
        .get("upload-offset")
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

/// Issue 11, item 7: a stalled upload held the digest's lock until its connection died, and a
/// retry got 409 (exit 5 in the CLI). Now the retry waits for the stall timeout at most and
/// takes over from the bytes the stalled upload left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_is_taken_over_by_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let stall = 2;
    let s = Server::start_with(&data, &[("DIST_UPLOAD_STALL_SECS", "2")]).await;
    s.create_app("acme").await;
    let bytes = Rng(11).bytes(3 * 1024 * 1024 + 5);
    let hex = sha256_hex(&bytes);
    let cut = 1024 * 1024 + 100;
    let started = std::time::Instant::now();
    let _stalled = raw_stalled_put(
        s.port,
        &format!("/api/v1/blobs/sha256/{hex}?app=acme"),
        &s.admin,
        bytes.len(),
        &bytes[..cut],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = held_offset(&s, &hex).await.unwrap_or(0);
    let (st, _) = resume_put(&s, &hex, &bytes, seen).await;
    let took = started.elapsed();
    assert_eq!(st, StatusCode::CREATED);
    assert!(
        took < Duration::from_secs(stall + 1),
        "the retry took over after {took:?}, more than the stall timeout plus a second"
    );
    let stored = std::fs::read(data.join("blobs/sha256").join(&hex[..2]).join(&hex)).unwrap();
    assert!(stored == bytes, "stored bytes differ");
    let log = std::fs::read_to_string(data.with_extension("log")).unwrap();
    assert!(log.contains("upload stalled"), "{log}");
}

/// Issue 11, item 8: partials were deleted at every start. One survives a SIGTERM restart and
/// resumes; the start-up log says what was kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_upload_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Server::start(&data).await;
    s.create_app("acme").await;
    let bytes = Rng(5).bytes(2 * 1024 * 1024 + 3);
    let hex = sha256_hex(&bytes);
    let total = bytes.len().to_string();
    cut_upload(&s, &hex, &total, &bytes[..1024 * 1024]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(held_offset(&s, &hex).await, Some(1024 * 1024));
    s.stop();
    let s = Server::start(&data).await;
    let held = held_offset(&s, &hex).await.expect("the partial is kept");
    assert_eq!(held, 1024 * 1024);
    let (st, from) = resume_put(&s, &hex, &bytes, held).await;
    assert_eq!((st, from), (StatusCode::CREATED, held));
    let stored = std::fs::read(data.join("blobs/sha256").join(&hex[..2]).join(&hex)).unwrap();
    assert!(stored == bytes, "stored bytes differ");
    let log = std::fs::read_to_string(data.with_extension("log")).unwrap();
    assert!(
        log.contains("partial uploads: kept 1 (1048576 bytes)"),
        "{log}"
    );
}

/// Partials past their lifetime go at start-up, each on the audit record; past the caps an
/// upload is not kept at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partials_expire_on_the_record_and_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Server::start(&data).await;
    s.create_app("acme").await;
    let bytes = Rng(9).bytes(2 * 1024 * 1024);
    let hex = sha256_hex(&bytes);
    let total = bytes.len().to_string();
    let put_half = |s: &Server| cut_upload(s, &hex, &total, &bytes[..1024 * 1024]);
    put_half(&s);
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.stop();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut s = Server::start_with(&data, &[("DIST_PARTIAL_TTL_SECS", "1")]).await;
    assert_eq!(held_offset(&s, &hex).await, None);
    assert!(dir_files(&data.join("uploads")).is_empty());
    let (_, v) = s.get("/audit?action=upload.abandon", &s.admin).await;
    let ev = &v["events"][0];
    assert_eq!(ev["subject"], hex.as_str(), "{v}");
    assert_eq!(ev["details"]["reason"], "expired", "{v}");
    assert_eq!(ev["details"]["bytes"], 1024 * 1024, "{v}");
    s.stop();

    // A token whose partial bytes would pass its cap uploads without a resumable copy.
    let s = Server::start_with(&data, &[("DIST_PARTIAL_TOKEN_MAX_BYTES", "1000000")]).await;
    put_half(&s);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(held_offset(&s, &hex).await, None);
    assert!(dir_files(&data.join("uploads")).is_empty());
}
