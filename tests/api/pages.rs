use reqwest::StatusCode;

use parley_testing::{assert_problem, spawn_app};

#[tokio::test]
async fn the_web_front_end_is_served_with_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/notes/shopping", "/notes/v1.2", "/chat/general"] {
        let page = app.get(path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let header = |name: &str| {
            page.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(header("content-type").starts_with("text/html"), "{path}");
        assert!(
            header("content-security-policy").contains("default-src 'self'"),
            "{path}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("x-frame-options"), "DENY");
        let html = page.text().await.expect("HTML");
        assert!(
            html.contains("<title>Parley</title>"),
            "{path}: the single page app"
        );
    }
    assert_problem(
        app.get("/no-such-file.js").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert_problem(
        app.get("/api/no-such-route").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
}
