//! Each route refuses tokens without its scope.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_scope_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    let scopes = ["admin", "publish", "promote", "read", "download"];
    // (name, scope needed)
    let endpoints = [
        ("POST /tokens", "admin"),
        ("POST /tokens/{id}/revoke", "admin"),
        ("POST /apps", "admin"),
        ("PUT /apps/{app}/identity", "admin"),
        ("POST /apps/{app}/releases", "publish"),
        ("POST /releases/{id}/publish", "publish"),
        ("POST /releases/{id}/revoke", "admin"),
        ("DELETE /releases/{id}", "publish"),
        ("PUT /blobs/sha256/{hex}?app=acme", "publish"),
        ("POST /artifacts/{id}/attach", "publish"),
        ("POST /apps/{app}/channels/{name}/promote", "promote"),
        ("POST /apps/{app}/channels/{name}/rollback", "promote"),
        ("PUT /apps/{app}/channels/{name}/policy", "admin"),
    ];
    let mut rng = Rng(0x5eed);
    let mut denials = 0;
    for (i, scope) in scopes.iter().enumerate() {
        let tok = s
            .token(json!({"name": format!("t-{scope}"), "scopes": [scope]}))
            .await;
        for (j, (ep, needs)) in endpoints.iter().enumerate() {
            // Fresh objects for each call, made with the admin token.
            let victim = s
                .post(
                    "/tokens",
                    &s.admin,
                    json!({"name": "victim", "scopes": ["read"]}),
                )
                .await
                .1;
            let victim_id = victim["token"]["id"].as_str().unwrap().to_owned();
            let blob = rng.bytes(64);
            let draft = s
                .post(
                    "/apps/acme/releases",
                    &s.admin,
                    release_body("1.0", &format!("m{i}-{j}"), &[("x.bin", &blob)]),
                )
                .await
                .1;
            let rid = draft["release"]["id"].as_str().unwrap().to_owned();
            let aid = draft["release"]["artifacts"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let (st, v) = match *ep {
                "POST /tokens" => {
                    s.post("/tokens", &tok, json!({"name": "n", "scopes": ["read"]}))
                        .await
                }
                "POST /tokens/{id}/revoke" => {
                    s.post_empty(&format!("/tokens/{victim_id}/revoke"), &tok)
                        .await
                }
                "POST /apps" => {
                    s.post(
                        "/apps",
                        &tok,
                        json!({"slug": format!("app-{i}-{j}"), "name": "N"}),
                    )
                    .await
                }
                "PUT /apps/{app}/identity" => {
                    s.call(
                        Method::PUT,
                        "/apps/acme/identity",
                        Some(&tok),
                        Some(json!({})),
                    )
                    .await
                }
                "POST /apps/{app}/releases" => {
                    s.post(
                        "/apps/acme/releases",
                        &tok,
                        release_body("2.0", &format!("m{i}-{j}"), &[("y.bin", &blob)]),
                    )
                    .await
                }
                "POST /releases/{id}/publish" => {
                    s.post_empty(&format!("/releases/{rid}/publish"), &tok)
                        .await
                }
                "POST /releases/{id}/revoke" => {
                    s.post(
                        &format!("/releases/{rid}/revoke"),
                        &tok,
                        json!({"reason": "r"}),
                    )
                    .await
                }
                "DELETE /releases/{id}" => {
                    s.call(
                        Method::DELETE,
                        &format!("/releases/{rid}"),
                        Some(&tok),
                        None,
                    )
                    .await
                }
                "PUT /blobs/sha256/{hex}?app=acme" => s.put_blob("acme", &tok, blob.clone()).await,
                "POST /artifacts/{id}/attach" => {
                    s.post_empty(&format!("/artifacts/{aid}/attach"), &tok)
                        .await
                }
                "POST /apps/{app}/channels/{name}/promote" => {
                    s.post(
                        "/apps/acme/channels/beta/promote",
                        &tok,
                        json!({"release_id": rid}),
                    )
                    .await
                }
                "POST /apps/{app}/channels/{name}/rollback" => {
                    s.post_empty("/apps/acme/channels/beta/rollback", &tok)
                        .await
                }
                "PUT /apps/{app}/channels/{name}/policy" => {
                    s.call(
                        Method::PUT,
                        "/apps/acme/channels/beta/policy",
                        Some(&tok),
                        Some(json!({"blocking_warnings": ["*"]})),
                    )
                    .await
                }
                other => unreachable!("{other}"),
            };
            let allowed = *scope == "admin" || scope == needs;
            if allowed {
                assert!(
                    st != StatusCode::FORBIDDEN
                        && st != StatusCode::UNAUTHORIZED
                        && st.is_success()
                        || matches!(st.as_u16(), 404 | 409 | 422),
                    "{scope} on {ep}: {st} {v}"
                );
            } else {
                assert_eq!(st, StatusCode::FORBIDDEN, "{scope} on {ep}: {v}");
                assert_eq!(err_code(&v), "forbidden");
                denials += 1;
            }
        }
    }
    let (_, v) = s
        .get("/audit?action=auth.denied&limit=1000", &s.admin)
        .await;
    assert_eq!(
        v["events"].as_array().unwrap().len(),
        denials,
        "every refusal on a write endpoint is audited"
    );
}
