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
    raw_truncated_put(
        s.port,
        &format!("/api/v1/blobs/sha256/{hex}?app=acme"),
        &s.admin,
        &format!("Upload-Length: {total}\r\nContent-Length: {total}\r\n"),
        &bytes[..cut],
    );
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
