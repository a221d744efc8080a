//! The event contract as OpenAPI: one schema per event (`{event, id, data, retry}`, `data`
//! being the event type's payload schema), their union `StreamEvent` with a discriminator
//! on `event`, and the streams' description, all built from [`EventType`] and [`Marker`].
//!
//! OpenAPI 3.1 has no way to say "a stream of these"; 3.2's `itemSchema` has, but the
//! project's Python generator refuses 3.2 documents. So each stream's `text/event-stream`
//! response has `StreamEvent` as its schema, standing for one event of the stream
//! (docs/api-design.md, "Event streams").

use std::borrow::Cow;

use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{Discriminator, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::{EventType, Marker};
use crate::api_types::StreamMarker;

/// One event of a stream: any event type, or a stream marker, told apart by `event`.
pub struct StreamEvent;

/// The name of the event's component, `NoteCreatedEvent` for `NoteCreated`.
fn component(variant: &dyn std::fmt::Debug) -> String {
    format!("{variant:?}Event")
}

/// Every event a stream sends: `(wire name, component name, payload schema name)`.
pub fn events() -> Vec<(&'static str, String, Cow<'static, str>)> {
    let changes = EventType::ALL
        .iter()
        .map(|kind| (kind.as_str(), component(kind), kind.payload_schema()));
    let markers = Marker::ALL
        .iter()
        .map(|marker| (marker.as_str(), component(marker), Marker::payload_schema()));
    changes.chain(markers).collect()
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn event_schema(wire: &str, payload: &str) -> RefOr<Schema> {
    let ephemeral = EventType::parse(wire).is_some_and(EventType::is_ephemeral);
    // utoipa has no `const`; a JSON Schema keyword passes through as an extension. `const`
    // (rather than a one-value `enum`) makes generators type `event` as a literal.
    let constant = Extensions::from_iter([("const", wire)]);
    let event = ObjectBuilder::new()
        .schema_type(Type::String)
        .extensions(Some(constant));
    let id = ObjectBuilder::new().schema_type(Type::String).description(Some(
        "The log position after this event: send it back as `Last-Event-ID` to resume after it.",
    ));
    // Ephemeral events are not in the log: no `id:`, so they never move the position a
    // client resumes from.
    let description = if ephemeral {
        format!(
            "`event: {wire}`: `data` is a `{payload}`, sent as its JSON text. Ephemeral: no `id`, never stored or replayed."
        )
    } else {
        format!("`event: {wire}`: `data` is a `{payload}`, sent as its JSON text.")
    };
    let retry = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .description(Some(
            "Milliseconds to wait before reconnecting (`retry:`), when the server sends a new hint.",
        ));
    let mut schema = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .property("event", event);
    if !ephemeral {
        schema = schema.property("id", id);
    }
    schema = schema
        .property("data", reference(payload))
        .property("retry", retry)
        .required("event");
    if !ephemeral {
        schema = schema.required("id");
    }
    schema.required("data").into()
}

impl PartialSchema for StreamEvent {
    fn schema() -> RefOr<Schema> {
        let mut discriminator = Discriminator::new("event");
        let mut one_of = OneOfBuilder::new().description(Some(
            "One event of a stream, by its `event` name. On the wire each is an SSE frame: `id:`, `event:` and one `data:` line holding the payload as JSON.",
        ));
        for (wire, name, _) in events() {
            discriminator
                .mapping
                .insert(wire.to_owned(), format!("#/components/schemas/{name}"));
            one_of = one_of.item(reference(&name));
        }
        one_of.discriminator(Some(discriminator)).into()
    }
}

impl ToSchema for StreamEvent {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        for (wire, name, payload) in events() {
            schemas.push((name, event_schema(wire, &payload)));
        }
        EventType::payload_schemas(schemas);
        schemas.push((StreamMarker::name().into_owned(), StreamMarker::schema()));
        schemas.push((EventType::name().into_owned(), EventType::schema()));
    }
}

/// What a stream's `200` says: the order of what comes, and which `data` each event has.
pub fn stream_description() -> String {
    let carries: Vec<String> = events()
        .iter()
        .map(|(wire, _, payload)| format!("`{wire}`: `{payload}`"))
        .collect();
    format!(
        "An endless `text/event-stream` of `StreamEvent`s: if you resumed, every event after your position in order, then `event: {ready}`, then live events; the first of them also carries `retry:` (how long to wait before reconnecting). The server subscribes before it answers, so a change made once the headers arrive is delivered. Each event has `id: <position>` (send it back as `Last-Event-ID`), `event: <type>` and `data: <JSON>`, whose schema depends on the type: {carries}. `{reset}` means your position is older than the log keeps: refetch, then carry on. Ephemeral events ({ephemeral}) have no `id:`: they are never replayed and do not change the position you resume from. On a room's stream, `{ready}` also carries `presence` (who is here, exactly at its position) and, for a signed-in user, `you`. A comment line (`: keep-alive`) arrives when the stream has been idle for `--sse-keep-alive`. Ignore event types you do not know: newer servers may add some.",
        ready = Marker::Ready.as_str(),
        reset = Marker::Reset.as_str(),
        carries = carries.join(", "),
        ephemeral = EventType::ALL
            .iter()
            .filter(|kind| kind.is_ephemeral())
            .map(|kind| format!("`{}`", kind.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
    )
}
