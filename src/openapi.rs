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
        description = "Realtime notes and messages: a JSON REST API over PostgreSQL that streams every change as Server-Sent Events.\n\nErrors are RFC 9457 `application/problem+json` documents (schema `Problem`). Reading is public; writes need a session, sent as `Authorization: Bearer <token>` or the `parley_session` cookie.",
        contact(name = "Parley maintainers"),
    ),
    // Relative first: the Swagger UI at `/docs`, and a web page of the same origin, call
    // the server that served them. The second is where a server listens by default.
    servers(
        (url = "/", description = "The server that serves this document"),
        (url = "http://127.0.0.1:8080", description = "A local server on the default `--listen` address"),
    ),
    // The event payloads come with the streams' `StreamEvent` (`event::spec`); the values
    // parameters refer to are listed here, since utoipa collects only what bodies refer to.
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::api_types::NoteKeyText,
        crate::api_types::NamespaceText,
        crate::api_types::RoomText,
        crate::api_types::EntityTags,
        crate::api_types::StreamPosition,
        crate::api_types::Cursor,
    )),
    modifiers(&ServedOperations, &SecuritySchemes),
    tags(
        (name = "notes", description = "Notes: titled texts with a key, edited by their author"),
        (name = "messages", description = "Comments on notes (namespace `notes`, room = note key) and chat messages in any namespace and room"),
        (name = "streams", description = "Server-Sent Events: every change, live, with resume by `Last-Event-ID`"),
        (name = "presence", description = "Who is in a room, typing signals, and the rooms of a namespace"),
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

    /// Strings each rule must accept, and strings it must refuse, at their edges.
    const SAMPLES: &[&str] = &[
        "",
        " ",
        "\t\n",
        "\u{85}",
        "\u{a0}",
        "\u{3000}",
        "\u{feff}",
        "\u{200b}",
        "a",
        ".",
        "..",
        "...",
        ".a",
        "a.",
        "~",
        "-",
        "_",
        "ab",
        "abc",
        "a b",
        "a\0",
        "\0",
        "é",
        "日本",
        "🎉",
        "a/b",
        "A",
        "Chat",
        "chat-2_x",
        "-chat",
        "0",
        "\u{1}",
        "\u{7f}",
        "\u{9f}",
        "\u{a1}",
        "x\ny",
        "*",
        "\"3\"",
        "W/\"3\"",
        "\"a\", W/\"b\"",
        "\"a\",,\"b\"",
        "\"a,b\"",
        "W/*",
        "\"",
        "3",
        "7412-93",
        "0-0",
        "1-",
        "-1",
        "1-2-3",
        "999999999999999999-1",
    ];

    /// Inputs around each rule's length bounds.
    fn samples(max: usize) -> Vec<String> {
        let mut all: Vec<String> = SAMPLES.iter().map(|s| (*s).to_owned()).collect();
        for len in [max - 1, max, max + 1] {
            all.extend(["k", "é", "🎉", " "].map(|c| c.repeat(len)));
        }
        all
    }

    /// A string schema of the committed spec as a predicate: its pattern and its lengths
    /// (counted in code points, as JSON Schema does).
    fn accepts(spec: &Value, component: &str) -> impl Fn(&str) -> bool + use<> {
        let schema = &spec["components"]["schemas"][component];
        assert_eq!(schema["type"], "string", "{component}");
        let pattern = schema["pattern"].as_str().map(|pattern| {
            regex::Regex::new(pattern).expect("the pattern is a regular expression")
        });
        let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
        let max = schema["maxLength"].as_u64().map(|max| max as usize);
        move |value: &str| {
            let len = value.chars().count();
            len >= min
                && max.is_none_or(|max| len <= max)
                && pattern
                    .as_ref()
                    .is_none_or(|pattern| pattern.is_match(value))
        }
    }

    /// A server-side check: does it accept the value?
    type Check = dyn Fn(&str) -> bool;

    /// The spec allows exactly what the server accepts: for each value the server checks,
    /// the component's pattern and lengths agree with the check on every sample.
    #[test]
    fn the_spec_states_the_rules_the_server_enforces() {
        use crate::domain::*;
        use crate::event::Position;

        fn ok<T, E>(result: Result<T, E>) -> bool {
            result.is_ok()
        }
        let rules: [(&str, usize, &Check); 9] = [
            ("Username", Username::MAX, &|v| {
                ok(Username::parse("f", v.into()))
            }),
            ("Password", Password::MAX, &|v| {
                ok(Password::parse("f", v.into()))
            }),
            ("NoteKey", NoteKey::MAX, &|v| {
                ok(NoteKey::parse("f", v.into()))
            }),
            ("NoteTitle", NoteTitle::MAX, &|v| {
                ok(NoteTitle::parse("f", v.into()))
            }),
            ("NoteBody", 10, &|v| ok(NoteBody::parse("f", v.into()))),
            ("Namespace", Namespace::MAX, &|v| {
                ok(Namespace::parse("f", v.into()))
            }),
            ("Room", Room::MAX, &|v| ok(Room::parse("f", v.into()))),
            ("MessageText", MessageText::MAX, &|v| {
                ok(MessageText::parse("f", v.into()))
            }),
            ("StreamPosition", 20, &|v| v.parse::<Position>().is_ok()),
        ];
        let spec = committed();
        for (component, max, server) in rules {
            let spec_accepts = accepts(&spec, component);
            for value in samples(max) {
                assert_eq!(
                    spec_accepts(&value),
                    server(&value),
                    "{component}: the spec and the server disagree on {value:?}"
                );
            }
        }
    }

    /// `If-Match` and `If-None-Match`: the spec states RFC 9110's grammar, which the server
    /// accepts (it also takes more spacing and empty list items), and which its own tags
    /// follow.
    #[test]
    fn the_spec_allows_only_entity_tags_the_server_accepts() {
        use actix_web::http::header::IF_MATCH;

        let spec_accepts = accepts(&committed(), "EntityTags");
        let server_accepts = |value: &str| {
            let request = actix_web::test::TestRequest::default()
                .insert_header((IF_MATCH, value))
                .to_http_request();
            crate::routes::preconditions::listed_tags(&request, IF_MATCH)
                .is_ok_and(|tags| tags.is_some())
        };
        let accepted: Vec<String> = samples(10)
            .into_iter()
            .filter(|value| spec_accepts(value))
            .collect();
        assert!(accepted.len() >= 4, "{accepted:?}");
        for value in accepted {
            assert!(server_accepts(&value), "the spec allows {value:?}");
        }
        let created = chrono::DateTime::from_timestamp_micros(1).expect("time");
        assert!(spec_accepts(&crate::routes::preconditions::etag(
            3, created
        )));
        for refused in ["0", "null", "abA\"", "W/*", "\"a,b\""] {
            assert!(!spec_accepts(refused), "{refused:?}");
        }
    }

    /// Every operation says whether it needs a session (`security: []` when it does not),
    /// so no generator or linter has to guess.
    #[test]
    fn every_operation_states_its_security() {
        let spec = committed();
        for (path, item) in spec["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                assert!(
                    operation["security"].is_array(),
                    "{method} {path} does not state its security"
                );
            }
        }
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
