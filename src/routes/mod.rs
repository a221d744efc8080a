//! The route table: every path the server answers, and the methods each allows.

pub mod fallback;
pub mod health;
pub mod messages;
pub mod notes;
pub mod pages;
pub mod pagination;
pub mod sessions;
pub mod streams;
pub mod users;

use actix_web::{HttpRequest, Resource, web};

use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz", "GET").route(web::get().to(health::read_health)))
        .service(resource("/readyz", "GET").route(web::get().to(health::read_readiness)))
        .service(resource("/metrics", "GET").route(web::get().to(health::read_metrics)))
        .service(resource("/api/users", "POST").route(web::post().to(users::create_user)))
        .service(resource("/api/users/me", "GET").route(web::get().to(users::read_current_user)))
        .service(
            resource("/api/sessions", "POST, DELETE")
                .route(web::post().to(sessions::create_session))
                .route(web::delete().to(sessions::delete_all_sessions)),
        )
        .service(
            resource("/api/sessions/current", "DELETE")
                .route(web::delete().to(sessions::delete_current_session)),
        )
        .service(
            resource("/api/notes", "GET, POST")
                .route(web::get().to(notes::list_notes))
                .route(web::post().to(notes::create_note)),
        )
        .service(resource("/docs", "GET").route(web::get().to(fallback::docs_redirect)))
        .service(
            resource("/api/notes/{key}", "GET, PUT, DELETE")
                .route(web::get().to(notes::read_note))
                .route(web::put().to(notes::update_note))
                .route(web::delete().to(notes::delete_note)),
        )
        .service(
            resource("/api/rooms/{namespace}/{room}/messages", "GET, POST")
                .route(web::get().to(messages::list_messages))
                .route(web::post().to(messages::create_message)),
        )
        .service(
            resource("/api/rooms/{namespace}/{room}/events", "GET")
                .route(web::get().to(streams::stream_room_events)),
        )
        .service(
            resource("/api/rooms/{namespace}/events", "GET")
                .route(web::get().to(streams::stream_namespace_events)),
        )
        .service(
            resource("/api/messages/{id}", "GET, PATCH, DELETE")
                .route(web::get().to(messages::read_message))
                .route(web::patch().to(messages::update_message))
                .route(web::delete().to(messages::delete_message)),
        );
}

/// A resource that answers other methods with 405 and an `Allow` header listing `allow`.
fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<actix_web::HttpResponse, _>(ApiError::MethodNotAllowed {
            detail: format!(
                "{} is not allowed on {}; use {allow}",
                req.method(),
                req.path()
            ),
            allow,
        })
    }))
}
