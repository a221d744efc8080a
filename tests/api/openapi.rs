use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use parley_testing::spawn_app;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[test]
fn the_committed_spec_matches_the_code() {
    let generated = parley::openapi::spec_json();
    assert!(
        generated == COMMITTED,
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn every_response_has_a_description() {
    // Generators (openapi-python-client among them) reject responses without one.
    let spec: Value = serde_json::from_str(COMMITTED).expect("spec JSON");
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            assert!(
                operation["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
            for (status, response) in operation["responses"].as_object().expect("responses") {
                let description = response["description"].as_str().unwrap_or_default();
                assert!(
                    !description.is_empty(),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_server_serves_the_spec_and_an_offline_ui() {
    let app = spawn_app().await;
    let served: Value = app
        .get("/api/openapi.json")
        .await
        .json()
        .await
        .expect("spec");
    let committed: Value = serde_json::from_str(COMMITTED).expect("spec JSON");
    assert_eq!(served, committed);

    // `/docs` redirects to `/docs/`, where the UI's relative links resolve.
    let page = app.get("/docs").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("HTML");
    assert!(html.contains("swagger-ui"), "{html}");
    // Everything the page loads comes from this server, not a CDN.
    for asset in html
        .split(['"', '\''])
        .filter(|s| s.ends_with(".js") || s.ends_with(".css"))
    {
        assert!(
            !asset.contains("://"),
            "the docs page loads {asset} from elsewhere"
        );
        let url = format!("/docs/{}", asset.trim_start_matches("./"));
        assert_eq!(app.get(&url).await.status(), StatusCode::OK, "{url}");
    }
}

/// The route table and the spec agree: each documented path answers exactly its
/// documented methods (others get 405 with `Allow` listing them).
#[tokio::test]
async fn every_documented_route_is_served_with_exactly_its_methods() {
    let app = spawn_app().await;
    let spec: Value = serde_json::from_str(COMMITTED).expect("spec JSON");
    for (path, item) in spec["paths"].as_object().expect("paths") {
        let documented: BTreeSet<String> = item
            .as_object()
            .expect("path item")
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        let concrete = path.replace("{key}", "some-key");
        let response = app
            .client
            .request(Method::TRACE, app.url(&concrete))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let allowed: BTreeSet<String> = response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        assert_eq!(allowed, documented, "{path}");
    }
}
