//! The OpenAPI document, generated from the handlers' annotations: its paths are the
//! operations of the route table (`routes::OPERATIONS`), so every served operation is
//! documented and every documented one served. The committed copy, `openapi/openapi.json`,
//! must equal `spec_json()` (a test checks it).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Parley",
        description = "Realtime notes and messages: a JSON REST API over PostgreSQL that streams every change as Server-Sent Events.\n\nErrors are RFC 9457 `application/problem+json` documents (schema `Problem`). Reading is public; writes need a session, sent as `Authorization: Bearer <token>` or the `parley_session` cookie."
    ),
    // The event payloads come with the streams' `StreamEvent` (`event::spec`): every
    // component listed here or reached from a path is referenced.
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&ServedOperations, &SecuritySchemes),
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

/// Adds the route table's operations, with the schemas they refer to.
struct ServedOperations;

impl Modify for ServedOperations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for operation in routes::OPERATIONS {
            openapi.merge(operation.document());
        }
    }
}

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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use crate::event::{EventType, Marker};
    use crate::routes::{OPERATIONS, PAGES};

    /// The spec clients are generated from.
    const COMMITTED: &str = include_str!("../openapi/openapi.json");

    fn committed() -> Value {
        serde_json::from_str(COMMITTED).expect("openapi/openapi.json is JSON")
    }

    /// `GET /api/notes`, for each operation of the committed spec.
    fn documented() -> BTreeSet<String> {
        let spec = committed();
        let paths = spec["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                let methods = item.as_object().expect("path item").keys();
                methods.map(move |method| format!("{} {path}", method.to_uppercase()))
            })
            .collect()
    }

    /// `GET /api/notes`, for each API operation the router serves.
    fn served() -> BTreeSet<String> {
        OPERATIONS
            .iter()
            .flat_map(|operation| operation.endpoints())
            .map(|(path, method)| format!("{method} {path}"))
            .collect()
    }

    #[test]
    fn every_served_operation_is_documented_and_every_documented_one_served() {
        let served = served();
        let documented = documented();
        assert!(served.len() > 10, "too few operations served: {served:?}");
        let undocumented: Vec<&String> = served.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "served but not in openapi/openapi.json (regenerate it with `cargo run -- openapi > openapi/openapi.json`): {undocumented:?}"
        );
        let unserved: Vec<&String> = documented.difference(&served).collect();
        assert!(
            unserved.is_empty(),
            "in openapi/openapi.json but not in the route table: {unserved:?}"
        );
    }

    /// Pages are the only routes outside the spec: they must not be, or hide, API paths.
    #[test]
    fn pages_are_outside_the_api() {
        let spec = committed();
        for page in PAGES {
            assert!(
                !page.path.starts_with("/api/") && spec["paths"].get(page.path).is_none(),
                "{} is an API path: make it an annotated operation",
                page.path
            );
        }
    }

    /// The event types the committed spec describes, with the schema each one's `data`
    /// refers to: what SDKs are generated from.
    fn documented_events() -> BTreeSet<(String, String)> {
        let spec = committed();
        let schemas = &spec["components"]["schemas"];
        let mapping = schemas["StreamEvent"]["discriminator"]["mapping"]
            .as_object()
            .expect("StreamEvent has a discriminator mapping");
        mapping
            .iter()
            .map(|(wire, target)| {
                let name = target
                    .as_str()
                    .expect("a mapping target")
                    .rsplit('/')
                    .next();
                let event = &schemas[name.expect("a schema name")];
                assert_eq!(event["properties"]["event"]["const"], *wire, "{target}");
                let data = event["properties"]["data"]["$ref"]
                    .as_str()
                    .expect("data is a $ref");
                (wire.clone(), data.to_owned())
            })
            .collect()
    }

    #[test]
    fn the_spec_lists_every_event_type_and_marker_with_its_payload() {
        let payload = |name: &str| format!("#/components/schemas/{name}");
        let mut declared: BTreeSet<(String, String)> = EventType::ALL
            .iter()
            .map(|kind| (kind.as_str().to_owned(), payload(&kind.payload_schema())))
            .collect();
        declared.extend(Marker::ALL.iter().map(|marker| {
            let data = payload(&Marker::payload_schema());
            (marker.as_str().to_owned(), data)
        }));
        assert_eq!(declared.len(), EventType::ALL.len() + Marker::ALL.len());
        assert_eq!(documented_events(), declared);
    }

    #[test]
    fn both_streams_return_stream_events_filtered_by_event_type() {
        let spec = committed();
        let types: Vec<&str> = EventType::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(
            spec["components"]["schemas"]["EventType"]["enum"],
            json!(types)
        );
        for path in [
            "/api/rooms/{namespace}/events",
            "/api/rooms/{namespace}/{room}/events",
        ] {
            let operation = &spec["paths"][path]["get"];
            let body = &operation["responses"]["200"]["content"]["text/event-stream"]["schema"];
            assert_eq!(body["$ref"], "#/components/schemas/StreamEvent", "{path}");
            let parameters = operation["parameters"].as_array().expect("parameters");
            let filter = parameters
                .iter()
                .find(|parameter| parameter["name"] == "types")
                .expect("a types parameter");
            assert_eq!(
                filter["schema"]["items"]["$ref"],
                "#/components/schemas/EventType"
            );
            assert_eq!(
                (&filter["style"], &filter["explode"]),
                (&json!("form"), &json!(false))
            );
        }
    }
}
