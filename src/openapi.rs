//! The OpenAPI document, generated from the handlers' annotations. The committed copy,
//! `openapi/openapi.json`, must equal `spec_json()` (a test checks it).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{health, messages, notes, sessions, streams, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Parley",
        description = "Realtime notes and messages: a JSON REST API over PostgreSQL that streams every change as Server-Sent Events.\n\nErrors are RFC 9457 `application/problem+json` documents (schema `Problem`). Reading is public; writes need a session, sent as `Authorization: Bearer <token>` or the `parley_session` cookie."
    ),
    paths(
        health::read_health,
        health::read_readiness,
        health::read_metrics,
        users::create_user,
        users::read_current_user,
        sessions::create_session,
        sessions::delete_current_session,
        sessions::delete_all_sessions,
        notes::list_notes,
        notes::create_note,
        notes::read_note,
        notes::update_note,
        notes::delete_note,
        messages::list_messages,
        messages::create_message,
        messages::read_message,
        messages::update_message,
        messages::delete_message,
        streams::stream_room_events,
        streams::stream_namespace_events,
    ),
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::event::EventType,
        crate::api_types::Note,
        crate::api_types::DeletedNote,
        crate::api_types::Message,
        crate::api_types::DeletedMessage,
        crate::api_types::StreamMarker,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "notes", description = "Notes: titled texts with a key, edited by their author"),
        (name = "messages", description = "Comments on notes (namespace `notes`, room = note key) and chat messages in any namespace and room"),
        (name = "streams", description = "Server-Sent Events: every change, live, with resume by `Last-Event-ID`"),
        (name = "users", description = "Registration and the signed-in user"),
        (name = "sessions", description = "Logging in and out"),
        (name = "ops", description = "Health checks for load balancers and orchestrators"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The `token` from `POST /api/sessions`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "Set by `POST /api/sessions`",
            ))),
        );
    }
}

pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as committed: pretty JSON with a final newline.
pub fn spec_json() -> String {
    let mut json = spec().to_pretty_json().unwrap_or_else(|error| {
        // Serializing a value built from static annotations cannot fail in practice.
        panic!("the OpenAPI document does not serialize: {error}")
    });
    json.push('\n');
    json
}
