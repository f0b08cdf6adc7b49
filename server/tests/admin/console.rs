//! The console over HTTP: sessions (cookie attributes, stored hashed, sign-out, expiry), CSRF
//! (missing, another session's, forged: refused before anything changes), rights decided by
//! the server (a read session sees but cannot promote; an app-limited session sees only its
//! app), and each section's effect checked in the database and the audit log.

use sha2::Digest;

use super::*;

fn sha256(v: &str) -> Vec<u8> {
    sha2::Sha256::digest(v.as_bytes()).to_vec()
}

fn actor_of(s: &Server, token_id: &str) -> String {
    db(s)
        .query_row(
            "SELECT id || ':' || name FROM tokens WHERE id = ?1",
            [token_id],
            |r| r.get(0),
        )
        .unwrap()
}

fn admin_id(s: &Server) -> String {
    db(s)
        .query_row(
            "SELECT id FROM tokens WHERE name = 'initial-admin'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// Creates a token through the API; returns (secret, id).
async fn token(s: &Server, body: Value) -> (String, String) {
    let (st, v) = s.post("/tokens", &s.admin, body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    (
        v["secret"].as_str().unwrap().to_owned(),
        v["token"]["id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_gives_a_strict_http_only_cookie_kept_hashed_and_sign_out_or_expiry_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;

    // Wrong or unfit tokens get the form again with the reason, and no cookie.
    let (c, a) = Console::try_sign_in(&s, "dist_not-a-token").await;
    assert!(c.is_none());
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("unknown token"), "{}", a.body);
    let (dl, _) = token(&s, json!({"name": "dl", "scopes": ["download"]})).await;
    let (c, a) = Console::try_sign_in(&s, &dl).await;
    assert!(c.is_none());
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.body.contains("needs admin, promote or read"),
        "{}",
        a.body
    );

    // The sign-in form without its double-submit cookie (a post from another site) is refused.
    let res = common::no_redirect_client()
        .post(format!("{}/admin/signin", s.base))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&[("csrf", "x"), ("token", &s.admin)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(res.headers(), "dist_admin").is_none());

    let (c, a) = Console::try_sign_in(&s, &s.admin).await;
    let c = c.expect("signed in");
    assert_eq!(a.location(), "/admin");
    let attrs = set_cookie(&a.headers, "dist_admin").unwrap();
    assert!(attrs.contains("HttpOnly"), "{attrs}");
    assert!(attrs.contains("SameSite=Strict"), "{attrs}");
    assert!(attrs.contains("Max-Age=43200"), "{attrs}");
    assert!(
        !attrs.contains("Secure"),
        "plain http has no Secure: {attrs}"
    );
    let value = c.cookie.strip_prefix("dist_admin=").unwrap().to_owned();
    assert!(value.len() >= 43, "256 random bits: {value}");
    // Only the hash is stored.
    let (kind, n_raw): (String, i64) = db(&s)
        .query_row(
            "SELECT kind, (SELECT COUNT(*) FROM sessions WHERE hash = ?2) FROM sessions WHERE hash = ?1",
            rusqlite::params![sha256(&value), value.as_bytes()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((kind.as_str(), n_raw), ("admin", 0));
    let signins = audit_rows(&s, "admin.signin");
    assert_eq!(signins.len(), 1);
    assert_eq!(
        signins[0].0,
        actor_of(&s, &admin_id(&s)),
        "the token behind it"
    );

    // The console's pages carry a strict CSP and are not cached.
    let page = c.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(
        !page.body.contains("<script"),
        "no script on a page without a secret"
    );

    // Sign-out needs the form's CSRF token too.
    assert_eq!(
        c.post_raw("/admin/signout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let out = c.post("/admin/signout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/admin/signin");
    assert!(
        set_cookie(&out.headers, "dist_admin")
            .unwrap()
            .contains("Max-Age=0")
    );
    let gone: i64 = db(&s)
        .query_row(
            "SELECT COUNT(*) FROM sessions WHERE hash = ?1",
            [sha256(&value)],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(gone, 0);
    assert_eq!(audit_rows(&s, "admin.signout").len(), 1);
    // The old cookie opens nothing: pages send the browser to sign in, forms are 401.
    let after = c.get("/admin").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), "/admin/signin");
    let post = c
        .post("/admin/apps", &[("slug", "late"), ("name", "Late")])
        .await;
    assert_eq!(post.status, StatusCode::UNAUTHORIZED, "{}", post.body);
    assert_eq!(s.get("/apps/late", &s.admin).await.0, StatusCode::NOT_FOUND);

    // Expiry: a session past its time is refused the same way.
    let c2 = Console::sign_in(&s, &s.admin).await;
    assert_eq!(c2.get("/admin").await.status, StatusCode::OK);
    let v2 = c2.cookie.strip_prefix("dist_admin=").unwrap();
    let n = db(&s)
        .execute(
            "UPDATE sessions SET expires_at = '2000-01-01T00:00:00Z' WHERE hash = ?1",
            [sha256(v2)],
        )
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(c2.get("/admin").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        c2.post("/admin/apps", &[("slug", "late"), ("name", "Late")])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Revoking the token ends its sessions at once, saying why.
    let (rd, rd_id) = token(&s, json!({"name": "reader", "scopes": ["read"]})).await;
    let c3 = Console::sign_in(&s, &rd).await;
    let (st, _) = s
        .post_empty(&format!("/tokens/{rd_id}/revoke"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK);
    let a = c3.get("/admin").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("was revoked"), "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_csrf_token_or_with_another_sessions_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    let r1 = publish(&s, "acme", "1").await;
    let r2 = publish(&s, "acme", "2").await;
    promote_api(&s, "acme", "beta", &r1).await;

    let a = Console::sign_in(&s, &s.admin).await;
    let b = Console::sign_in(&s, &s.admin).await;
    assert_ne!(a.csrf, b.csrf, "each session has its own CSRF token");
    let path = "/admin/apps/acme/channels/beta/promote";
    let denied_before = audit_rows(&s, "auth.denied").len();
    for fields in [
        vec![("release", r2.as_str())],
        vec![("csrf", b.csrf.as_str()), ("release", r2.as_str())],
        vec![("csrf", "forged"), ("release", r2.as_str())],
        vec![("csrf", ""), ("release", r2.as_str())],
    ] {
        let res = a.post_raw(path, &fields).await;
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "{fields:?}: {}",
            res.body
        );
        assert!(res.body.contains("CSRF"), "{}", res.body);
        assert_eq!(channel_release(&s, "acme", "beta").await, r1.as_str());
    }
    assert_eq!(
        audit_rows(&s, "auth.denied").len(),
        denied_before + 4,
        "each refusal is recorded"
    );
    assert!(
        audit_rows(&s, "channel.promote").len() == 1,
        "only the API's"
    );

    // With its own token the same form works, and the audit log names the token.
    let ok = a.post(path, &[("release", &r2)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location(), "/admin/apps/acme/channels/beta?ok=promoted");
    assert_eq!(channel_release(&s, "acme", "beta").await, r2.as_str());
    let moves = audit_rows(&s, "channel.promote");
    let last = moves.last().unwrap();
    assert_eq!(last.0, actor_of(&s, &admin_id(&s)));
    assert_eq!(last.2.as_deref(), Some("beta"));
    assert!(last.3.contains(&r2), "{}", last.3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_session_sees_but_cannot_promote_and_an_app_limited_session_sees_only_its_app() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    s.create_app("other").await;
    let r1 = publish(&s, "acme", "1").await;
    let r2 = publish(&s, "acme", "2").await;
    let o1 = publish(&s, "other", "1").await;
    promote_api(&s, "acme", "beta", &r1).await;

    let (rd, rd_id) = token(&s, json!({"name": "reader", "scopes": ["read"]})).await;
    let c = Console::sign_in(&s, &rd).await;
    let app = c.get("/admin/apps/acme").await;
    assert_eq!(app.status, StatusCode::OK);
    assert!(
        app.body.contains(&format!("/admin/releases/{r2}")),
        "{}",
        app.body
    );
    let rel = c.get(&format!("/admin/releases/{r2}")).await;
    assert_eq!(rel.status, StatusCode::OK);
    assert!(
        !rel.body.contains("Review promotion"),
        "no promote form for a reader"
    );
    // The server refuses whatever the page shows.
    let review = c
        .get(&format!(
            "/admin/apps/acme/promote?release={r2}&channel=beta"
        ))
        .await;
    assert_eq!(review.status, StatusCode::FORBIDDEN, "{}", review.body);
    let post = c
        .post(
            "/admin/apps/acme/channels/beta/promote",
            &[("release", &r2)],
        )
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN, "{}", post.body);
    assert!(post.body.contains("this needs promote"), "{}", post.body);
    let rb = c
        .post("/admin/apps/acme/channels/beta/rollback", &[("to", &r1)])
        .await;
    assert_eq!(rb.status, StatusCode::FORBIDDEN);
    assert_eq!(channel_release(&s, "acme", "beta").await, r1.as_str());
    let denied = audit_rows(&s, "auth.denied");
    assert!(
        denied
            .iter()
            .any(|d| d.0 == actor_of(&s, &rd_id) && d.3.contains("channel.promote")),
        "{denied:?}"
    );
    // Tokens: a reader sees its own and may not create any.
    let toks = c.get("/admin/tokens").await;
    assert!(
        toks.body.contains(&format!("<code>{rd_id}</code>")),
        "{}",
        toks.body
    );
    assert!(
        !toks
            .body
            .contains(&format!("<code>{}</code>", admin_id(&s))),
        "{}",
        toks.body
    );
    let mk = c
        .post("/admin/tokens", &[("name", "x"), ("scope_admin", "on")])
        .await;
    assert_eq!(mk.status, StatusCode::FORBIDDEN);
    assert_eq!(c.get("/admin/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.get("/admin/settings").await.status, StatusCode::FORBIDDEN);
    let pub_ = c
        .post(
            "/admin/apps/acme/settings",
            &[("access", "public"), ("version_mismatch", "warning")],
        )
        .await;
    assert_eq!(pub_.status, StatusCode::FORBIDDEN);
    assert_eq!(s.get("/apps/acme", &s.admin).await.1["access"], "token");

    // An admin limited to acme: acme only, everywhere.
    let (lim, _) = token(
        &s,
        json!({"name": "acme-admin", "scopes": ["admin"], "app": "acme"}),
    )
    .await;
    let l = Console::sign_in(&s, &lim).await;
    let home = l.get("/admin").await;
    assert!(home.body.contains("/admin/apps/acme\""), "{}", home.body);
    assert!(!home.body.contains("/admin/apps/other"), "{}", home.body);
    assert_eq!(
        l.get("/admin/apps/other").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        l.get(&format!("/admin/releases/{o1}")).await.status,
        StatusCode::FORBIDDEN
    );
    let other_promote = l
        .post(
            "/admin/apps/other/channels/beta/promote",
            &[("release", &o1)],
        )
        .await;
    assert_eq!(other_promote.status, StatusCode::FORBIDDEN);
    assert_eq!(
        l.get("/admin/audit?app=other").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(l.get("/admin/settings").await.status, StatusCode::FORBIDDEN);
    let audit = l.get("/admin/audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(!audit.body.contains(">other<"), "{}", audit.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_shows_the_downgrade_and_needs_its_checkbox_and_roll_back_moves_to_the_named_release()
 {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    let old = publish(&s, "acme", "1").await;
    let new = publish(&s, "acme", "2").await;
    promote_api(&s, "acme", "beta", &old).await;
    promote_api(&s, "acme", "beta", &new).await;
    let c = Console::sign_in(&s, &s.admin).await;

    let review = c
        .get(&format!(
            "/admin/apps/acme/promote?release={old}&channel=beta"
        ))
        .await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    assert!(
        review.body.contains("name=\"allow_downgrade\""),
        "{}",
        review.body
    );
    assert!(review.body.contains("policy and continuity checks pass"));
    let path = "/admin/apps/acme/channels/beta/promote";
    let refused = c.post(path, &[("release", &old)]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("backwards"), "{}", refused.body);
    assert_eq!(channel_release(&s, "acme", "beta").await, new.as_str());
    let moved = c
        .post(path, &[("release", &old), ("allow_downgrade", "yes")])
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert_eq!(channel_release(&s, "acme", "beta").await, old.as_str());

    // Roll back: the confirmation names where it goes; a stale confirmation is refused.
    let confirm = c.get("/admin/apps/acme/channels/beta/rollback").await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(
        confirm.body.contains(&format!("<code>{new}</code>")),
        "{}",
        confirm.body
    );
    assert!(
        confirm.body.contains("Roll back beta to 1.0 (2)"),
        "{}",
        confirm.body
    );
    let stale = c
        .post("/admin/apps/acme/channels/beta/rollback", &[("to", &old)])
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(channel_release(&s, "acme", "beta").await, old.as_str());
    let back = c
        .post("/admin/apps/acme/channels/beta/rollback", &[("to", &new)])
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(channel_release(&s, "acme", "beta").await, new.as_str());
    let rb = audit_rows(&s, "channel.rollback");
    assert_eq!(rb.len(), 1);
    assert_eq!(rb[0].0, actor_of(&s, &admin_id(&s)));

    // The channel page shows the pointer and the history, newest first.
    assert_eq!(
        back.location(),
        "/admin/apps/acme/channels/beta?ok=rolled-back"
    );
    let ch = c.get(back.location()).await;
    assert!(ch.body.contains("Rolled back."), "{}", ch.body);
    let first_move = ch.body.find("<td>rollback</td>").unwrap();
    let first_promote = ch.body.find("<td>promote</td>").unwrap();
    assert!(first_move < first_promote, "newest first");

    // Policy and access through the forms, as the API stores them.
    let p = c
        .post(
            "/admin/apps/acme/channels/beta/policy",
            &[("blocking_warnings", "android.signature.debug, *")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let a = c
        .post(
            "/admin/apps/acme/channels/beta/access",
            &[("access", "public")],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let (_, v) = s.get("/apps/acme/channels/beta", &s.admin).await;
    assert_eq!(
        v["policy"]["blocking_warnings"],
        json!(["android.signature.debug", "*"])
    );
    assert_eq!(v["access"], "public");

    // The policy result before confirming: a build with warnings, and a policy blocking all.
    let debuggable = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/android/debuggable.apk"),
    )
    .unwrap();
    let warned = publish_bytes(&s, "acme", "3", &debuggable).await;
    let review = c
        .get(&format!(
            "/admin/apps/acme/promote?release={warned}&channel=beta"
        ))
        .await;
    assert_eq!(review.status, StatusCode::OK);
    assert!(review.body.contains("Blocked by"), "{}", review.body);
    assert!(
        review.body.contains("android.manifest.debuggable"),
        "{}",
        review.body
    );
    assert!(
        review
            .body
            .contains("identity org.dist.fixture -&#62; org.dist.fixture.debug"),
        "the diff: {}",
        review.body
    );
    let blocked = c.post(path, &[("release", &warned)]).await;
    assert_eq!(
        blocked.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        blocked.body
    );
    assert!(
        blocked.body.contains("android.manifest.debuggable"),
        "{}",
        blocked.body
    );
    assert_eq!(channel_release(&s, "acme", "beta").await, new.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_releases_identity_tokens_and_audit_through_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    let c = Console::sign_in(&s, &s.admin).await;

    // Create an app.
    let made = c
        .post(
            "/admin/apps",
            &[
                ("slug", "acme"),
                ("name", "ACME <b>"),
                ("platform_android", "on"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let (st, v) = s.get("/apps/acme", &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["platforms"], json!(["android"]));
    assert_eq!(
        audit_rows(&s, "app.create")[0].0,
        actor_of(&s, &admin_id(&s))
    );
    let dup = c
        .post("/admin/apps", &[("slug", "acme"), ("name", "x")])
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    // App settings: page access and the version rule, each audited only when it changed.
    let set = c
        .post(
            "/admin/apps/acme/settings",
            &[("access", "public"), ("version_mismatch", "error")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    let (_, v) = s.get("/apps/acme", &s.admin).await;
    assert_eq!(
        (v["access"].as_str(), v["version_mismatch"].as_str()),
        (Some("public"), Some("error"))
    );
    // Back to the defaults (the releases below must publish); the same again writes nothing.
    for _ in 0..2 {
        let again = c
            .post(
                "/admin/apps/acme/settings",
                &[("access", "token"), ("version_mismatch", "warning")],
            )
            .await;
        assert_eq!(again.status, StatusCode::SEE_OTHER);
    }
    assert_eq!(audit_rows(&s, "app.access").len(), 2);
    assert_eq!(
        audit_rows(&s, "app.settings").len(),
        2,
        "unchanged: not written"
    );

    // Releases table and detail.
    let r1 = publish(&s, "acme", "1").await;
    let r2 = publish(&s, "acme", "2").await;
    promote_api(&s, "acme", "stable", &r1).await;
    let app = c.get("/admin/apps/acme").await;
    assert!(
        app.body.contains("ACME &#60;b&#62;"),
        "escaped: {}",
        app.body
    );
    assert!(app.body.contains("published"));
    let table = |html: &str| html.split("<h2>Releases</h2>").nth(1).unwrap().to_owned();
    assert!(table(&app.body).contains(&r1) && table(&app.body).contains(&r2));
    let drafts = c.get("/admin/apps/acme?status=draft").await;
    assert!(
        table(&drafts.body).contains("No releases match"),
        "filtered"
    );
    let bad = c.get("/admin/apps/acme?since=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let rel = c.get(&format!("/admin/releases/{r2}")).await;
    assert_eq!(rel.status, StatusCode::OK, "{}", rel.body);
    for want in [
        "Signature",
        "signed",
        "Identity",
        "Inspection JSON",
        "Download",
        "Changes against each channel",
        "stable <span class=\"muted\">now 1.0 (1)",
        // The APK declares another version than the release: the warning the publish
        // weighed is among the release's findings (it is in no file's inspection).
        "release.version_mismatch",
        "acme.apk: the file declares version",
    ] {
        assert!(rel.body.contains(want), "{want}: {}", rel.body);
    }

    // Settings and health: storage from the database (both releases share one file).
    let settings = c.get("/admin/settings").await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.body);
    for want in [
        "1 file(s), 12.7 KiB",
        "Free space",
        "Last gc removal",
        s.base.as_str(),
    ] {
        assert!(settings.body.contains(want), "{want}: {}", settings.body);
    }

    // Identity rules from the facts the target declares.
    let form = c.get("/admin/apps/acme/identity").await;
    assert!(
        form.body.contains("name=\"android.identities\""),
        "{}",
        form.body
    );
    assert!(form.body.contains("name=\"android.signer_sha256\""));
    assert!(
        !form.body.contains("android.team_ids"),
        "android declares no team"
    );
    let saved = c
        .post(
            "/admin/apps/acme/identity",
            &[
                ("android.identities", "com.example.*\n"),
                ("android.signer_sha256", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, v) = s.get("/apps/acme", &s.admin).await;
    assert_eq!(
        v["identity"],
        json!({"android": {"identities": ["com.example.*"]}})
    );
    let wrong = c
        .post(
            "/admin/apps/acme/identity",
            &[("android.team_ids", "ABCDE12345")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("reports no team_id"), "{}", wrong.body);

    // Tokens: created with the secret shown once, listed, revoked.
    let mk = c
        .post(
            "/admin/tokens",
            &[
                ("name", "ci-acme"),
                ("scope_publish", "on"),
                ("scope_read", "on"),
                ("app", "acme"),
                ("channels", ""),
                ("expires_at", ""),
            ],
        )
        .await;
    assert_eq!(mk.status, StatusCode::CREATED, "{}", mk.body);
    let secret = mk
        .body
        .split("id=\"secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the secret")
        .to_owned();
    assert!(secret.starts_with("dist_"), "{secret}");
    let (st, who) = s.get("/token", &secret).await;
    assert_eq!(st, StatusCode::OK, "the secret works");
    let id = who["token"]["id"].as_str().unwrap().to_owned();
    assert_eq!(who["token"]["created_by"], actor_of(&s, &admin_id(&s)));
    let list = c.get("/admin/tokens").await;
    assert!(
        list.body.contains(&id) && !list.body.contains(&secret),
        "shown once"
    );
    let rv = c.post(&format!("/admin/tokens/{id}/revoke"), &[]).await;
    assert_eq!(rv.status, StatusCode::SEE_OTHER);
    assert_eq!(s.get("/token", &secret).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        audit_rows(&s, "token.revoke")[0].2.as_deref(),
        Some(id.as_str())
    );

    // A person without the admin scope revokes what they made, not others'.
    let (pr, pr_id) = token(&s, json!({"name": "person", "scopes": ["promote", "read"]})).await;
    let p = Console::sign_in(&s, &pr).await;
    let other = p
        .post(&format!("/admin/tokens/{}/revoke", admin_id(&s)), &[])
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let own = p.post(&format!("/admin/tokens/{pr_id}/revoke"), &[]).await;
    assert_eq!(own.status, StatusCode::SEE_OTHER);
    assert_eq!(s.get("/token", &pr).await.0, StatusCode::UNAUTHORIZED);

    // Audit: filters, the chain's state, the export.
    let audit = c.get("/admin/audit?action=token.revoke").await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(audit.body.contains("Chain verifies"), "{}", audit.body);
    assert_eq!(
        audit.body.matches("<td>token.revoke</td>").count(),
        2,
        "{}",
        audit.body
    );
    assert!(!audit.body.contains("<td>app.create</td>"));
    // A later page does not verify unless asked.
    let later = c.get("/admin/audit?before=5").await;
    assert!(!later.body.contains("Chain verifies"), "{}", later.body);
    let asked = c.get("/admin/audit?before=5&verify=1").await;
    assert!(asked.body.contains("Chain verifies"), "{}", asked.body);
    let none = c.get("/admin/audit?until=2000-01-01").await;
    assert!(none.body.contains("No events match"), "{}", none.body);
    let by_actor = c
        .get(&format!(
            "/admin/audit?actor={}",
            actor_of(&s, &pr_id).replace(':', "%3A")
        ))
        .await;
    assert_eq!(by_actor.body.matches("<td>token.revoke</td>").count(), 1);
    let export = c.get("/admin/audit.jsonl?action=token.revoke").await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.headers["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = export
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|e| e["action"] == "token.revoke"));
    assert!(
        lines[0]["seq"].as_i64() < lines[1]["seq"].as_i64(),
        "oldest first"
    );
    let all = c.get("/admin/audit.jsonl").await;
    let n: i64 = db(&s)
        .query_row("SELECT COUNT(*) FROM audit_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(all.body.lines().count() as i64, n, "every event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_releases_table_pages_through_every_release_once_newest_first_with_filters_kept() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    s.create_app("acme").await;
    // 130 releases straight into SQLite: 120 published, 10 drafts.
    let n = 130;
    {
        let c = db(&s);
        for i in 0..n {
            c.execute(
                "INSERT INTO releases(id, app, version, build, status, fingerprint, created_at) \
                 VALUES (?1, 'acme', '2.0', ?2, 'draft', 'f', ?3)",
                rusqlite::params![
                    format!("rel_{i:020x}"),
                    i.to_string(),
                    format!("2026-01-01T00:{:02}:{:02}.000000Z", i / 60, i % 60)
                ],
            )
            .unwrap();
        }
        c.execute(
            "UPDATE releases SET status = 'published', published_at = created_at WHERE app = 'acme' AND CAST(build AS INTEGER) >= 10",
            [],
        )
        .unwrap();
    }
    let c = Console::sign_in(&s, &s.admin).await;
    let mut url = "/admin/apps/acme?status=published".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = c.get(&url).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        pages += 1;
        let table = page.body.split("<h2>Releases</h2>").nth(1).unwrap();
        for part in table.split("<a href=\"/admin/releases/").skip(1) {
            seen.push(part.split('"').next().unwrap().to_owned());
        }
        let Some(next) = table
            .split("rel=\"next\"")
            .next()
            .and_then(|before| before.rsplit("<a href=\"").next())
            .filter(|_| table.contains("rel=\"next\""))
        else {
            break;
        };
        url = next.split('"').next().unwrap().replace("&#38;", "&");
        assert!(url.contains("status=published"), "filters kept: {url}");
        assert!(pages < 10, "too many pages");
    }
    assert_eq!(pages, 3, "50 a page");
    let want: Vec<String> = (10..n).rev().map(|i| format!("rel_{i:020x}")).collect();
    assert_eq!(seen, want, "every published release once, newest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_session_cookie_is_secure() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(
        &dir.path().join("data"),
        &[("DIST_PUBLIC_URL", "https://dist.example.com")],
    )
    .await;
    let (c, a) = Console::try_sign_in(&s, &s.admin).await;
    assert!(c.is_some());
    let attrs = set_cookie(&a.headers, "dist_admin").unwrap();
    assert!(attrs.ends_with("; Secure"), "{attrs}");
    assert!(
        attrs.contains("SameSite=Strict") && attrs.contains("HttpOnly"),
        "{attrs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_audit_log_is_verified_on_request_and_a_broken_chain_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    let c = Console::sign_in(&s, &s.admin).await;
    assert!(c.get("/admin/audit").await.body.contains("Chain verifies"));
    // A row far past the end, with a hash that does not chain: the log reads as long (only
    // its last seq is looked at) and the chain as broken once verified.
    db(&s)
        .execute(
            "INSERT INTO audit_events(seq, at, actor, action, app, subject, details, prev_hash, hash) \
             VALUES (60000, '2026-01-01T00:00:00Z', 'forger', 'x.y', NULL, NULL, '{}', 'bad', 'bad')",
            [],
        )
        .unwrap();
    let page = c.get("/admin/audit").await;
    assert!(!page.body.contains("Chain verifies"), "{}", page.body);
    assert!(page.body.contains("Verify the hash chain"), "{}", page.body);
    let link = page
        .body
        .split("<a href=\"/admin/audit?")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    assert!(link.ends_with("verify=1"), "{link}");
    let verified = c.get(&format!("/admin/audit?{link}")).await;
    assert!(
        verified.body.contains("Chain does NOT verify"),
        "{}",
        verified.body
    );
    assert!(verified.body.contains("notice error"), "{}", verified.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_distd_runs_shows_as_the_last_backup_and_the_chain_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    let c = Console::sign_in(&s, &s.admin).await;
    assert!(
        c.get("/admin/settings")
            .await
            .body
            .contains("<dt>Last backup</dt><dd>none recorded</dd>")
    );
    let out = dir.path().join("b.sqlite3");
    let run = std::process::Command::new(common::DISTD)
        .arg("backup")
        .arg("--data")
        .arg(&s.data)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let rows = audit_rows(&s, "backup.create");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "system:backup");
    assert_eq!(rows[0].2.as_deref(), Some(out.to_str().unwrap()));
    // The copy does not hold its own event.
    let in_copy: i64 = rusqlite::Connection::open(&out)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'backup.create'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_copy, 0);
    let settings = c.get("/admin/settings").await;
    assert!(
        settings.body.contains("by system:backup ("),
        "{}",
        settings.body
    );
    // The server's next write chains on the CLI's event, and the whole chain verifies.
    let ok = c
        .post("/admin/apps", &[("slug", "after"), ("name", "After")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let (st, v) = s.get("/audit/verify", &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["ok"], true, "{v}");
    // And a restart finds the chain and its anchor in agreement (not read-only).
    let data = s.data.clone();
    let mut s = s;
    s.stop();
    let s = Server::start(&data).await;
    let (st, h) = s.call(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["status"], "ok", "{h}");
}

/// Issue 16: a release's detail shows a macOS file's notarization submission (dist.json's
/// word) beside the status read from the file, and the finding that says they disagree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_detail_shows_the_notarization_submission_beside_the_files_status() {
    let (_dir, s) = Server::fresh(&["acme"]).await;
    let zip = common::project_fixture("macos", "unsigned.zip");
    let (st, v) = s.put_blob("acme", &s.admin, zip.clone()).await;
    assert!(st.is_success(), "{v}");
    let id = "2efe2717-52ef-43a5-96dc-0797e4ca1041";
    let mut body = common::release_body("1.0", "1", &[("Tiny.zip", &zip)]);
    body["artifacts"][0]["notarization"] = json!({"submission_id": id, "status": "accepted"});
    let (rid, aid) = common::release_ids(&s.create_release("acme", body).await);
    let (st, v) = s
        .post_empty(&format!("/artifacts/{aid}/attach"), &s.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let c = Console::sign_in(&s, &s.admin).await;
    let rel = c.get(&format!("/admin/releases/{rid}")).await;
    assert_eq!(rel.status, StatusCode::OK, "{}", rel.body);
    for want in [
        "Notarization submission",
        &format!("{id} accepted (dist.json)"),
        "status: not-notarizable",
        "macos.notarization.accepted_not_developer_id",
        "dist.json says Apple accepted this build, but the file is not signed with a Developer ID",
    ] {
        assert!(rel.body.contains(want), "{want}: {}", rel.body);
    }
}
