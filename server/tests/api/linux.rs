//! Issue 18's release-level checks on Linux packages through a real distd: a package built
//! for another architecture than its release lists it under, a signature by a key the app
//! does not pin, and package versions with an epoch, revision or rpm release. The files are the Linux target's own fixtures (`fixtures/linux`).

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    crate::common::project_fixture("linux", name)
}

/// Uploads `bytes`, creates a draft of acme listing it (with `arch` when given) and attaches
/// it; answers the release id and the attach answer.
async fn attach(
    s: &Server,
    version: &str,
    build: &str,
    name: &str,
    bytes: &[u8],
    arch: Option<&str>,
) -> (String, StatusCode, Value) {
    let listed = arch.map_or_else(|| json!({}), |a| json!({ "arch": a }));
    let (rid, _, st, v) = attach_listed(s, version, build, name, bytes, listed).await;
    (rid, st, v)
}

const ARCH: &str = "release.arch_mismatch";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deb_built_for_arm64_listed_as_amd64_does_not_publish() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let arm = fixture("hello-dist_1.2.3-4_arm64.deb");

    // Attached (the file is what it says it is), with the error stored on it.
    let (rid, st, v) = attach(&s, "1.2.3", "1", "hello.deb", &arm, Some("amd64")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["arch"], "x86_64", "the listing is stored canonical: {v}");
    let f = with_code(&v, ARCH);
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["severity"], "error");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("hello.deb: built for arm64, but listed as x86_64"),
        "{msg}"
    );
    assert!(msg.contains("Set \"arch\" to \"arm64\""), "{msg}");

    // The publish stops on it; the release stays a draft.
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(with_code(&v, ARCH).len(), 1, "{v}");
    let (_, r) = s.get(&format!("/releases/{rid}"), &s.admin).await;
    assert_eq!(r["status"], "draft", "{r}");

    // Listed under any name of its own architecture, it publishes; so does the amd64 build
    // listed as x86_64, and a file listed under no arch at all.
    let amd = fixture("hello-dist_1.2.3-4_amd64.xz.deb");
    for (build, bytes, arch) in [
        ("2", &arm, Some("aarch64")),
        ("3", &arm, Some("arm64")),
        ("4", &amd, Some("x86_64")),
        ("5", &amd, None),
    ] {
        let (rid, st, v) = attach(&s, "1.2.3", build, "hello.deb", bytes, arch).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert!(with_code(&v, ARCH).is_empty(), "{arch:?}: {v}");
        let (st, v) = s
            .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
            .await;
        assert_eq!(st, StatusCode::OK, "{arch:?}: {v}");
        // The deb's version is 1:1.2.3-4; the epoch and revision are the packaging's, so
        // release 1.2.3 holds it without a version warning.
        assert!(
            with_code(&v, "release.version_mismatch").is_empty(),
            "{arch:?}: {v}"
        );
    }

    // An rpm (x86_64) listed as arm64, and a flat tarball of an aarch64 executable listed
    // as amd64: the same finding, whatever the format calls the CPU.
    for (build, name, file, arch) in [
        ("6", "hello.rpm", "hello-1.0-1.x86_64.rpm", "arm64"),
        ("7", "tool.tar.xz", "flat-aarch64.tar.xz", "amd64"),
    ] {
        let (_, st, v) = attach(&s, "1.0", build, name, &fixture(file), Some(arch)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(with_code(&v, ARCH).len(), 1, "{name}: {v}");
    }

    // `distd reinspect` checks the listed arch as attach did: the same verdicts, no change.
    let mut s = s;
    s.stop();
    let out = std::process::Command::new(crate::common::DISTD)
        .args(["reinspect", "--dry-run", "--json", "--data"])
        .arg(&s.data)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    assert!(report["checked"].as_u64().unwrap() >= 7, "{report}");
    assert_eq!(report["changes"], json!([]), "{report}");
}

/// The SHA-256 of the signer of `file` once its key is trusted, as an attach reads it.
async fn signer_sha256(s: &Server, build: &str, name: &str, file: &str) -> String {
    let (_, st, v) = attach(s, "1.0", build, name, &fixture(file), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let sig = &v["inspection"]["signature"];
    assert_eq!(sig["state"], "signed", "{v}");
    sig["signers"][0]["sha256"].as_str().unwrap().to_owned()
}

/// Adds a key to acme; answers its fingerprint and the signer SHA-256 that pins it.
async fn add_key(s: &Server, file: &str) -> (String, String) {
    let key = String::from_utf8(fixture(file)).unwrap();
    let (st, v) = s
        .post(
            "/apps/acme/keys",
            &s.admin,
            json!({"platform": "linux", "key": key}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    (
        v["fingerprint"].as_str().unwrap().to_owned(),
        v["signer_sha256"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_by_a_key_the_app_does_not_pin_is_refused() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let (_, pinned) = add_key(&s, "keys/rsa.pub").await;
    let (other_fpr, other) = add_key(&s, "keys/other.pub").await;
    assert_ne!(pinned, other);
    // The value the key list names to pin is the one a signature by the key reports.
    let (_, v) = s.get("/apps/acme/keys", &s.admin).await;
    assert_eq!(
        v["keys"][0]["signer_sha256"].as_str().map(str::len),
        Some(64),
        "{v}"
    );
    assert_eq!(
        signer_sha256(&s, "1", "hello.rpm", "hello-1.0-1.x86_64-rsa.rpm").await,
        pinned
    );
    assert_eq!(
        signer_sha256(&s, "2", "hello.rpm", "hello-1.0-1.x86_64-otherkey.rpm").await,
        other
    );

    // Attached before any pin.
    let (rid, st, v) = attach(
        &s,
        "1.0",
        "3",
        "hello.rpm",
        &fixture("hello-1.0-1.x86_64-otherkey.rpm"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");

    let (st, v) = s
        .call(
            Method::PUT,
            "/apps/acme/identity",
            Some(&s.admin),
            Some(json!({"linux": {"signer_sha256": [pinned]}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // The pinned key's rpm, AppImage and debsigs deb are attached and publish.
    for (build, name, file) in [
        ("4", "hello.rpm", "hello-1.0-1.x86_64-rsa.rpm"),
        ("5", "Hello.AppImage", "Hello-signed-x86_64.AppImage"),
        ("6", "hello.deb", "signed-debsig.deb"),
    ] {
        let (rid, st, v) = attach(&s, "1.0", build, name, &fixture(file), None).await;
        assert_eq!(st, StatusCode::OK, "{file}: {v}");
        let (st, v) = s
            .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
            .await;
        assert!(
            with_code(&v, "identity.signer_not_pinned").is_empty(),
            "{file}: {v}"
        );
        assert_eq!(st, StatusCode::OK, "{file}: {v}");
        if file.ends_with(".rpm") {
            // 1.0-1 (VERSION-RELEASE) in release 1.0: no version warning.
            assert!(with_code(&v, "release.version_mismatch").is_empty(), "{v}");
        }
    }

    // A key the app trusts but does not pin: verified (`signed`), and refused at attach.
    let other_rpm = fixture("hello-1.0-1.x86_64-otherkey.rpm");
    let (_, st, v) = attach(&s, "1.0", "7", "hello.rpm", &other_rpm, None).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let f = with_code(&v, "identity.signer_not_pinned");
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["severity"], "error");
    assert!(
        f[0]["message"].as_str().unwrap().contains(&other),
        "names the signer's SHA-256: {v}"
    );
    // The same file attached before the pin no longer publishes either.
    let (st, v) = s
        .post_empty(&format!("/releases/{rid}/publish"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(with_code(&v, "identity.signer_not_pinned").len(), 1, "{v}");

    // Once that key is removed, its signature cannot be checked at all (`unknown`): refused,
    // naming the key id; an unsigned rpm is refused too.
    let (st, v) = s
        .call(
            Method::DELETE,
            &format!("/apps/acme/keys/{other_fpr}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    let (_, st, v) = attach(&s, "1.0", "8", "hello.rpm", &other_rpm, None).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let f = with_code(&v, "identity.signer_missing");
    assert_eq!(f.len(), 1, "{v}");
    let key_id = &other_fpr[other_fpr.len() - 16..];
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains(key_id),
        "names key id {key_id}: {v}"
    );
    let unsigned = fixture("hello-1.0-1.x86_64.rpm");
    let (_, st, v) = attach(&s, "1.0", "9", "hello.rpm", &unsigned, None).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(with_code(&v, "identity.signer_missing").len(), 1, "{v}");
}
