//! Issue 14, item 7: the OpenAPI document is the API's contract. The README's API table lists
//! exactly its routes (both ways), every operation says how it authenticates and answers
//! errors in the one error shape, and a running distd serves the same document.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

use common::Server;

fn document() -> Value {
    serde_json::to_value(server::http::openapi_document()).expect("the document serialises")
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "head"];

/// `METHOD /api/v1/...` of every operation in the document.
fn document_routes(doc: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert(format!("{} {path}", m.to_uppercase()));
            }
        }
    }
    out
}

/// `METHOD /api/v1/...` of every row of the README's API table: the first cell of a row, in
/// backticks, one route a row.
fn readme_routes() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let section = readme
        .split("\n## HTTP API v1\n")
        .nth(1)
        .expect("README has a section \"## HTTP API v1\"");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut out = BTreeSet::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cell = line.split('|').nth(1).unwrap_or("").trim();
        let route = cell.trim_matches('`');
        let Some((method, path)) = route.split_once(' ') else {
            continue;
        };
        if path.starts_with("/api/v1/") {
            assert!(
                !route.contains('`') && !path.contains(' ') && !path.contains('['),
                "README row {line:?}: one route a row, `METHOD /api/v1/path`"
            );
            assert!(
                out.insert(format!("{method} {path}")),
                "README lists {route} twice"
            );
        }
    }
    out
}

#[test]
fn the_readme_table_lists_exactly_the_documented_routes() {
    let doc = document_routes(&document());
    let readme = readme_routes();
    assert!(doc.len() > 25, "the document has too few routes: {doc:?}");
    let missing: Vec<&String> = doc.difference(&readme).collect();
    let extra: Vec<&String> = readme.difference(&doc).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README's API table and /api/v1/openapi.json differ.\nin the document, not the README: {missing:#?}\nin the README, not the document: {extra:#?}"
    );
}

#[test]
fn every_operation_documents_auth_errors_and_bodies() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["token_query"]["in"], "query", "{schemes}");
    assert_eq!(doc["security"][0]["bearer"], serde_json::json!([]));
    let error_ref = "#/components/schemas/ErrorBody";
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let what = format!("{} {path}", m.to_uppercase());
            let responses = op["responses"].as_object().expect("responses");
            if path != "/api/v1/openapi.json" {
                for range in ["4XX", "5XX"] {
                    assert_eq!(
                        responses[range]["content"]["application/json"]["schema"]["$ref"],
                        error_ref,
                        "{what}: {range}"
                    );
                }
            }
            let success: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
            assert!(!success.is_empty(), "{what}: no success answer");
            if matches!(m, "post" | "put") && op.get("requestBody").is_none() {
                // Actions on a resource in the path take no body.
                assert!(
                    ["/publish", "/attach", "/rollback", "/tokens/{id}/revoke"]
                        .iter()
                        .any(|end| path.ends_with(end)),
                    "{what}: no request body documented"
                );
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert!(
                    p["schema"].is_object(),
                    "{what}: parameter without a schema: {p}"
                );
            }
        }
    }
    // Ids and names carry the patterns the server checks, so a client can build them.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["ReleaseId"]["pattern"], "^rel_[A-Za-z0-9]{1,60}$");
    assert_eq!(schemas["Sha256"]["pattern"], "^[0-9a-f]{64}$");
    // The download is the one route that also takes ?token=.
    let dl = &doc["paths"]["/api/v1/artifacts/{id}/download"]["get"];
    assert_eq!(
        dl["security"][1]["token_query"],
        serde_json::json!([]),
        "{dl}"
    );
    // The document itself needs no token.
    let own = &doc["paths"]["/api/v1/openapi.json"]["get"];
    assert_eq!(own["security"], serde_json::json!([{}]), "{own}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distd_serves_the_document_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data")).await;
    let res = s.client.get(s.url("/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let served: Value = res.json().await.unwrap();
    assert_eq!(served, document());
}

/// Issue 16: an artifact's notarization submission is in the document as the API answers it:
/// a UUID and one of the statuses the notary service reports, on the spec and the artifact.
#[test]
fn the_notarization_submission_is_documented() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    for owner in ["Artifact", "ArtifactSpec"] {
        let prop = &schemas[owner]["properties"]["notarization"];
        assert!(
            prop.to_string()
                .contains("#/components/schemas/Notarization"),
            "{owner}.notarization: {prop}"
        );
    }
    let n = &schemas["Notarization"];
    assert_eq!(
        n["required"],
        serde_json::json!(["submission_id", "status"]),
        "{n}"
    );
    assert!(
        n["properties"]["submission_id"]["pattern"]
            .as_str()
            .is_some_and(|p| p.contains("[0-9A-Fa-f]{8}-")),
        "{n}"
    );
    assert_eq!(
        schemas["NotarizationStatus"]["enum"],
        serde_json::json!(["accepted", "in-progress", "invalid", "rejected"])
    );
}
