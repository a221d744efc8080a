use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use parley_testing::{assert_problem, spawn_app};

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn create_read_update_delete_a_note() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;

    let created = alice.create_note("shopping", "Shopping", "milk").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(
        header(&created, "location").as_deref(),
        Some("/api/notes/shopping")
    );
    let first_tag = header(&created, "etag").expect("an ETag");
    assert!(first_tag.starts_with("\"1-"), "{first_tag}");
    let note: Value = created.json().await.expect("JSON");
    assert_eq!(note["key"], "shopping");
    assert_eq!(note["author"], "alice");
    assert_eq!(note["version"], 1);

    let read = app.get("/api/notes/shopping").await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(header(&read, "etag"), Some(first_tag.clone()));
    let read: Value = read.json().await.expect("JSON");
    assert_eq!(read, note);

    let updated = alice
        .request(Method::PUT, "/api/notes/shopping")
        .header("if-match", &first_tag)
        .json(&json!({"title": "Groceries", "body": "milk, eggs"}))
        .send()
        .await
        .expect("update");
    assert_eq!(updated.status(), StatusCode::OK);
    let second_tag = header(&updated, "etag").expect("an ETag");
    assert!(second_tag.starts_with("\"2-"), "{second_tag}");
    let updated: Value = updated.json().await.expect("JSON");
    assert_eq!(updated["title"], "Groceries");
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["created_at"], note["created_at"]);

    let deleted = alice
        .request(Method::DELETE, "/api/notes/shopping")
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/api/notes/shopping").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let again = alice
        .request(Method::DELETE, "/api/notes/shopping")
        .send()
        .await
        .expect("delete");
    assert_problem(again, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn a_stale_if_match_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let created = alice.create_note("plan", "Plan", "v1").await;
    let v1 = header(&created, "etag").expect("an ETag");
    let first = alice
        .request(Method::PUT, "/api/notes/plan")
        .header("if-match", &v1)
        .json(&json!({"title": "Plan", "body": "v2"}))
        .send()
        .await
        .expect("update");
    assert_eq!(first.status(), StatusCode::OK);

    // A second writer who also read version 1 loses, and learns why.
    let stale = alice
        .request(Method::PUT, "/api/notes/plan")
        .header("if-match", &v1)
        .json(&json!({"title": "Plan", "body": "lost update"}))
        .send()
        .await
        .expect("update");
    assert_problem(
        stale,
        StatusCode::PRECONDITION_FAILED,
        "precondition-failed",
    )
    .await;
    let stale_delete = alice
        .request(Method::DELETE, "/api/notes/plan")
        .header("if-match", &v1)
        .send()
        .await
        .expect("delete");
    assert_problem(
        stale_delete,
        StatusCode::PRECONDITION_FAILED,
        "precondition-failed",
    )
    .await;

    let note: Value = app.get("/api/notes/plan").await.json().await.expect("JSON");
    assert_eq!(note["body"], "v2");
    assert_eq!(note["version"], 2);

    // Without If-Match the update is unconditional.
    let blind = alice
        .send_json(
            Method::PUT,
            "/api/notes/plan",
            &json!({"title": "Plan", "body": "v3"}),
        )
        .await;
    assert_eq!(blind.status(), StatusCode::OK);
}

#[tokio::test]
async fn if_none_match_answers_not_modified_until_the_note_changes() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let created = alice.create_note("cached", "Cached", "").await;
    let tag = header(&created, "etag").expect("an ETag");
    let unchanged = app
        .client
        .get(app.url("/api/notes/cached"))
        .header("if-none-match", &tag)
        .send()
        .await
        .expect("read");
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    alice
        .send_json(
            Method::PUT,
            "/api/notes/cached",
            &json!({"title": "New", "body": ""}),
        )
        .await;
    let changed = app
        .client
        .get(app.url("/api/notes/cached"))
        .header("if-none-match", &tag)
        .send()
        .await
        .expect("read");
    assert_eq!(changed.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_the_author_may_change_a_note() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let mallory = app.signed_in("mallory").await;
    alice.create_note("mine", "Mine", "hands off").await;

    let update = mallory
        .send_json(
            Method::PUT,
            "/api/notes/mine",
            &json!({"title": "Mallory's", "body": ""}),
        )
        .await;
    assert_problem(update, StatusCode::FORBIDDEN, "forbidden").await;
    let delete = mallory
        .request(Method::DELETE, "/api/notes/mine")
        .send()
        .await
        .expect("delete");
    assert_problem(delete, StatusCode::FORBIDDEN, "forbidden").await;

    let note: Value = app.get("/api/notes/mine").await.json().await.expect("JSON");
    assert_eq!(note["title"], "Mine");
    assert_eq!(note["version"], 1);
}

#[tokio::test]
async fn a_duplicate_key_conflicts_and_keeps_the_original() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    assert_eq!(
        alice.create_note("taken", "First", "").await.status(),
        StatusCode::CREATED
    );
    assert_problem(
        bob.create_note("taken", "Second", "").await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let note: Value = app
        .get("/api/notes/taken")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(note["author"], "alice");
}

#[tokio::test]
async fn writes_need_a_session_and_reads_do_not() {
    let app = spawn_app().await;
    let anonymous = app
        .send_json(
            Method::POST,
            "/api/notes",
            None,
            &json!({"key": "anon", "title": "Anon", "body": ""}),
        )
        .await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(app.all_note_keys().await.is_empty());
    assert_eq!(app.get("/api/notes").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn lists_page_through_every_note_in_key_order() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let keys = ["e", "a", "d", "b", "c"];
    for key in keys {
        assert_eq!(
            alice.create_note(key, key, "body").await.status(),
            StatusCode::CREATED
        );
    }
    let mut seen = Vec::new();
    let mut path = "/api/notes?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page: Value = app.get(&path).await.json().await.expect("page");
        pages += 1;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        for item in items {
            assert!(item.get("body").is_none(), "lists leave bodies out");
            assert_eq!(item["author"], "alice");
            seen.push(item["key"].as_str().expect("key").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/notes?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    let default_page: Value = app.get("/api/notes").await.json().await.expect("page");
    assert_eq!(default_page["items"].as_array().map(Vec::len), Some(5));
    assert!(default_page.get("next_cursor").is_none());
}

#[tokio::test]
async fn a_tag_from_a_deleted_note_does_not_match_its_successor() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let old = alice.create_note("reused", "Old", "").await;
    let old_tag = header(&old, "etag").expect("an ETag");
    alice
        .request(Method::DELETE, "/api/notes/reused")
        .send()
        .await
        .expect("delete");
    alice.create_note("reused", "New", "").await;
    let stale = alice
        .request(Method::PUT, "/api/notes/reused")
        .header("if-match", &old_tag)
        .json(&json!({"title": "Overwrite", "body": ""}))
        .send()
        .await
        .expect("update");
    assert_problem(
        stale,
        StatusCode::PRECONDITION_FAILED,
        "precondition-failed",
    )
    .await;
}
