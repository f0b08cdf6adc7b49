//! Issue 12, item 5: no stale downgrades. A channel does not move to a release created before
//! the one it points at unless the request says `allow_downgrade`; a rollback needs no flag;
//! promoting the release a channel already points at stays a no-op.

use super::*;

fn fixture_apk() -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/android/signed-v1v2v3.apk");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

async fn promote(s: &Server, rel: &str, allow: Option<bool>) -> (StatusCode, Value) {
    let mut body = json!({ "release_id": rel });
    if let Some(a) = allow {
        body["allow_downgrade"] = json!(a);
    }
    s.post("/apps/acme/channels/beta/promote", &s.admin, body)
        .await
}

async fn beta(s: &Server) -> Value {
    let (st, v) = s.get("/apps/acme/channels/beta", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["release_id"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_created_before_the_current_one_is_refused_without_allow_downgrade() {
    let apk = fixture_apk();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    // Free-form build strings: "10" is created first, "9" after it, so "9" is the newer.
    let (old, _) = publish(&s, "acme", "10", "app.apk", &apk).await;
    let (new, _) = publish(&s, "acme", "9", "app.apk", &apk).await;

    let (st, v) = promote(&s, &new, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // The same promote again: a no-op, not a downgrade.
    let (st, v) = promote(&s, &new, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // The stale one: 409, naming what the channel points at and how to move back on purpose.
    for allow in [None, Some(false)] {
        let (st, v) = promote(&s, &old, allow).await;
        assert_eq!(st, StatusCode::CONFLICT, "{v}");
        assert_eq!(err_code(&v), "conflict");
        let msg = err_msg(&v);
        assert!(
            msg.contains(&format!("channel beta points at {new}")),
            "{msg}"
        );
        assert!(msg.contains("allow_downgrade"), "{msg}");
        assert!(msg.contains("rollback"), "{msg}");
        assert_eq!(beta(&s).await, new.as_str(), "the channel stayed");
    }

    // On purpose: it moves, and says where from.
    let (st, v) = promote(&s, &old, Some(true)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["previous_release_id"], new.as_str());
    assert_eq!(beta(&s).await, old.as_str());

    // Forward again needs no flag; a rollback back to the older one needs none either.
    let (st, v) = promote(&s, &new, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s
        .post_empty("/apps/acme/channels/beta/rollback", &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(beta(&s).await, old.as_str());
}

/// A channel that points at nothing takes any published release.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_channel_takes_an_old_release() {
    let apk = fixture_apk();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    let (old, _) = publish(&s, "acme", "1", "app.apk", &apk).await;
    let (_new, _) = publish(&s, "acme", "2", "app.apk", &apk).await;
    let (st, v) = promote(&s, &old, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
}
