//! Issue 14, item 6: one extractor (`Auth<need::...>`) authenticates every API route. What it
//! checks comes from the route: the scope its marker names, the token's app limit against
//! `{app}` (or `?app=` on the blob routes), its channel limit against `{channel}`, and
//! `auth.denied` for refusals of write routes.

use super::*;

async fn denied(s: &Server, endpoint: &str) -> Vec<Value> {
    let (st, v) = s
        .get("/audit?action=auth.denied&limit=1000", &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["details"]["endpoint"] == endpoint)
        .cloned()
        .collect()
}

/// A channel-limited token may use only its channels' `{channel}` routes, the policy route
/// included (before the extractor, the policy route did not check the channel limit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_limit_holds_on_every_channel_route() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let beta_admin = s
        .token(serde_json::json!({
            "name": "beta-admin", "scopes": ["admin"], "app": "acme", "channels": ["beta"],
        }))
        .await;
    let (st, v) = s
        .call(
            Method::PUT,
            "/apps/acme/channels/beta/policy",
            Some(&beta_admin),
            Some(serde_json::json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s
        .call(
            Method::PUT,
            "/apps/acme/channels/stable/policy",
            Some(&beta_admin),
            Some(serde_json::json!({"blocking_warnings": ["*"]})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limited to channel(s) beta"),
        "{v}"
    );
    let events = denied(&s, "channel.policy").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["app"], "acme", "{events:?}");
    assert!(
        events[0]["actor"]
            .as_str()
            .unwrap()
            .ends_with(":beta-admin")
    );
    // Reads of another channel are refused too, without an audit row.
    let (st, v) = s.get("/apps/acme/channels/stable", &beta_admin).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
}

/// A caller without a token learns that it needs one before anything about its input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_is_a_401_before_a_malformed_path_or_query_is_a_400() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let hex = sha256_hex(b"x");
    for (m, path) in [
        (Method::GET, "/apps/Not_A_Slug".to_owned()),
        (Method::HEAD, format!("/blobs/sha256/{hex}?app=Bad_App")),
        (Method::PUT, format!("/blobs/sha256/{hex}?app=Bad_App")),
    ] {
        let (st, _) = s.call(m.clone(), &path, None, None).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{m} {path}");
        let (st, _) = s.call(m.clone(), &path, Some(&s.admin), None).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{m} {path}");
    }
}

/// `?token=` counts on the download route only; elsewhere it is no credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_token_counts_on_the_download_route_only() {
    let (_dir, s) = Server::fresh(&["toyapp"]).await;
    let bytes = dist_targets::toy::file("com.example.toy", "1.0", "1");
    let (rid, aid, _) = s.upload_and_attach("toyapp", "1", "a.bin", &bytes).await;
    let (st, v) = s
        .call(
            Method::GET,
            &format!("/releases/{rid}?token={}", s.admin),
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    let res = s
        .client
        .get(s.url(&format!("/artifacts/{aid}/download?token={}", s.admin)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
    // A header wins over the query: a malformed header is refused even with a good ?token=.
    let res = s
        .client
        .get(s.url(&format!("/artifacts/{aid}/download?token={}", s.admin)))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
