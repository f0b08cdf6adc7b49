//! The byte paths (issue 15): what the faster upload and download paths must keep true. Both
//! upload write strategies (`DIST_UPLOAD_WRITES`) are driven through a real distd; timing is
//! the bench's business (`bench/serve.sh`), never a test's.

use super::*;

const STRATEGIES: [&str; 2] = ["write-behind", "direct"];

/// An APK several read chunks long: the repository's debuggable APK with a stored asset of
/// `extra` pseudo-random bytes, so a download crosses buffer boundaries at odd places.
fn big_apk(extra: usize) -> Vec<u8> {
    use std::io::Read;
    let src = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/android/debuggable.apk"
    ))
    .unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(src)).unwrap();
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for i in 0..z.len() {
            let mut f = z.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            if f.is_dir() || name.starts_with("META-INF/") {
                continue;
            }
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            w.start_file(name, stored).unwrap();
            w.write_all(&bytes).unwrap();
        }
        w.start_file("assets/big.bin", stored).unwrap();
        w.write_all(&Rng(15).bytes(extra)).unwrap();
        w.finish().unwrap();
    }
    buf.into_inner()
}

/// Uploads and attaches `bytes` as the admin; returns the artifact id.
async fn attached(s: &Server, bytes: &[u8]) -> String {
    let (_, aid, v) = s.upload_and_attach("acme", "1", "big.apk", bytes).await;
    assert_eq!(v["attached"], true, "{v}");
    aid
}

async fn body_of(res: reqwest::Response) -> Vec<u8> {
    res.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_and_ranged_downloads_give_the_same_bytes() {
    let apk = big_apk(3 * 1024 * 1024 + 4321);
    for writes in STRATEGIES {
        let dir = tempfile::tempdir().unwrap();
        let s =
            Server::start_with(&dir.path().join("data"), &[("DIST_UPLOAD_WRITES", writes)]).await;
        s.create_app("acme").await;
        let aid = attached(&s, &apk).await;
        let path = format!("/api/v1/artifacts/{aid}/download");
        let res = download(&s, &path, &s.admin, None).await;
        assert_eq!(res.status(), StatusCode::OK);
        let whole = body_of(res).await;
        assert!(
            whole == apk,
            "{writes}: the whole download differs from the upload"
        );

        // Pieces that start and end inside read chunks and across their boundaries, and
        // together cover the file.
        let n = apk.len();
        let cuts = [
            0,
            1,
            4095,
            1024 * 1024 - 1,
            1024 * 1024 + 7,
            2_500_000,
            n - 10,
            n,
        ];
        let mut joined = Vec::new();
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1] - 1);
            let res = download(&s, &path, &s.admin, Some(&format!("bytes={a}-{b}"))).await;
            assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{a}-{b}");
            assert_eq!(
                res.headers()["content-range"],
                format!("bytes {a}-{b}/{n}").as_str()
            );
            let part = body_of(res).await;
            assert!(part == apk[a..=b], "{writes}: bytes {a}-{b} differ");
            joined.extend_from_slice(&part);
        }
        assert!(joined == apk, "{writes}: the pieces do not make the file");
        let res = download(&s, &path, &s.admin, Some("bytes=-12345")).await;
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
        assert!(body_of(res).await == apk[n - 12345..], "{writes}: the tail");
        // The stored file is the upload, byte for byte (an O_DIRECT tail was padded, then cut).
        let stored = std::fs::read(
            dir.path()
                .join("data/blobs/sha256")
                .join(&sha256_hex(&apk)[..2])
                .join(sha256_hex(&apk)),
        )
        .unwrap();
        assert!(stored == apk, "{writes}: the stored blob differs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_at_an_unaligned_offset_verifies() {
    let bytes = Rng(9).bytes(2 * 1024 * 1024 + 333);
    let hex = sha256_hex(&bytes);
    let total = bytes.len().to_string();
    for writes in STRATEGIES {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let s = Server::start_with(&data, &[("DIST_UPLOAD_WRITES", writes)]).await;
        s.create_app("acme").await;
        let url = s.url(&format!("/blobs/sha256/{hex}?app=acme"));
        // Cut inside a block and off any 4 KiB boundary.
        let cut = 1024 * 1024 + 4097;
        cut_upload(&s, &hex, &total, &bytes[..cut]);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let res = s.client.head(&url).bearer_auth(&s.admin).send().await;
        let held: usize = res.unwrap().headers()["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(held, cut, "{writes}");

        // A resume whose bytes are wrong fails the digest and stores nothing.
        let mut wrong = bytes[held..].to_vec();
        wrong[10] ^= 1;
        let put = |body: Vec<u8>, offset: usize| {
            s.client
                .put(&url)
                .bearer_auth(&s.admin)
                .header("upload-length", &total)
                .header("upload-offset", offset.to_string())
                .body(body)
                .send()
        };
        let res = put(wrong, held).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{writes}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(err_code(&v), "digest_mismatch", "{writes}: {v}");
        assert!(dir_files(&data.join("blobs/sha256")).is_empty(), "{writes}");

        // Sent again whole from an unaligned offset, it verifies.
        cut_upload(&s, &hex, &total, &bytes[..cut]);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let res = put(bytes[cut..].to_vec(), cut).await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{writes}");
        let stored = std::fs::read(data.join("blobs/sha256").join(&hex[..2]).join(&hex)).unwrap();
        assert!(stored == bytes, "{writes}: the stored blob differs");
        assert!(
            dir_files(&data.join("uploads")).is_empty(),
            "{writes}: {:?}",
            dir_files(&data.join("uploads"))
        );
    }
}

/// A disk that fills in the middle of a block (a short write, then ENOSPC) answers 507 and
/// leaves neither a blob nor a temporary or partial file. Needs a small tmpfs, so root (as in
/// CI); skipped otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_full_mid_block_leaves_no_blob() {
    if !common::is_root() {
        eprintln!("note: not root, so no tmpfs can be mounted; skipping the disk-full test");
        return;
    }
    for writes in STRATEGIES {
        for resumable in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let mnt = common::Tmpfs::new(&dir.path().join("data"), 16 * 1024 * 1024);
            let data = mnt.0.clone();
            let s = Server::start_with(&data, &[("DIST_UPLOAD_WRITES", writes)]).await;
            s.create_app("acme").await;
            // More than the disk holds, and not a whole number of blocks.
            let bytes = Rng(3).bytes(17 * 1024 * 1024 + 1234);
            let hex = sha256_hex(&bytes);
            let mut rb = s
                .client
                .put(s.url(&format!("/blobs/sha256/{hex}?app=acme")))
                .bearer_auth(&s.admin);
            if resumable {
                rb = rb.header("upload-length", bytes.len().to_string());
            }
            let res = rb.body(bytes).send().await.unwrap();
            let what = format!("{writes}, resumable {resumable}");
            assert_eq!(res.status(), StatusCode::INSUFFICIENT_STORAGE, "{what}");
            let v: Value = res.json().await.unwrap();
            assert_eq!(err_code(&v), "insufficient_storage", "{what}: {v}");
            assert!(
                err_msg(&v).contains("the server's disk is full"),
                "{what}: {v}"
            );
            assert!(
                dir_files(&data.join("blobs/sha256")).is_empty(),
                "{what}: {:?}",
                dir_files(&data.join("blobs/sha256"))
            );
            assert!(
                dir_files(&data.join("uploads")).is_empty(),
                "{what}: {:?}",
                dir_files(&data.join("uploads"))
            );
            // The space came back: a small upload goes through.
            let (st, v) = s.put_blob("acme", &s.admin, b"small".to_vec()).await;
            assert_eq!(st, StatusCode::CREATED, "{what}: {v}");
            drop(s);
        }
    }
}

/// Behind nginx, distd answers with `X-Accel-Redirect` only once the caller is authorised:
/// a refused caller gets the usual error and no path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accel_redirect_answers_only_after_authorisation() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start_with(&data, &[("DIST_ACCEL_REDIRECT", "/_dist_blobs/")]).await;
    s.create_app("acme").await;
    s.create_app("other").await;
    let apk = big_apk(1000);
    let hex = sha256_hex(&apk);
    let aid = attached(&s, &apk).await;
    let path = format!("/api/v1/artifacts/{aid}/download");
    let no_download = s
        .token(json!({"name": "reader", "scopes": ["read"], "app": "acme"}))
        .await;
    let other_app = s
        .token(json!({"name": "other", "scopes": ["read", "download"], "app": "other"}))
        .await;
    let refused = [
        (None, "no token"),
        (Some("dist_not-a-token"), "a wrong token"),
        (Some(no_download.as_str()), "a token without download"),
        (Some(other_app.as_str()), "another app's token"),
    ];
    for (token, who) in refused {
        let mut rb = s.client.get(s.url(&path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let res = rb.send().await.unwrap();
        assert!(res.status().is_client_error(), "{who}: {}", res.status());
        assert!(res.headers().get("x-accel-redirect").is_none(), "{who}");
    }
    // The install page's download link of a draft is refused without a credential too.
    let res = s
        .client
        .get(format!("{}/i/{aid}/download", s.base))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("x-accel-redirect").is_none());

    let res = download(&s, &path, &s.admin, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let target = res.headers()["x-accel-redirect"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(target, format!("/_dist_blobs/sha256/{}/{hex}", &hex[..2]));
    assert_eq!(res.headers()["x-dist-sha256"], hex.as_str());
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("big.apk")
    );
    assert!(
        body_of(res).await.is_empty(),
        "nginx sends the bytes, not distd"
    );
    // The prefix maps onto the blobs folder, as the documented nginx `alias` does.
    let file = data
        .join("blobs")
        .join(target.trim_start_matches("/_dist_blobs/"));
    assert!(std::fs::read(file).unwrap() == apk);

    // A blob gone behind distd's back is still a 503 naming the artifact, not a redirect.
    std::fs::remove_file(data.join("blobs/sha256").join(&hex[..2]).join(&hex)).unwrap();
    let res = download(&s, &path, &s.admin, None).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get("x-accel-redirect").is_none());
}
