// The event types are the spec's: `tsc` compiles this file before any test runs, so each
// `@ts-expect-error` below fails the build if the type it expects to be wrong were accepted.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { components } from "../src/schema.js";
import {
  EPHEMERAL_EVENT_TYPES,
  EVENT_TYPES,
  type EphemeralEvent,
  type EventPayload,
  type ParleyEvent,
} from "../src/subscribe.js";

type Schemas = components["schemas"];

/** What a handler can read from an event, narrowed by its name alone. */
function describe(event: ParleyEvent): string {
  switch (event.type) {
    case "note.created":
    case "note.updated":
      return `${event.data.key}: ${event.data.title} v${event.data.version}`;
    case "note.deleted":
      // @ts-expect-error a deleted note's data is a DeletedNote: it has no title
      void event.data.title;
      return `deleted ${event.data.key}`;
    case "message.created":
    case "message.updated":
      return `${event.data.from}: ${event.data.message}`;
    case "message.deleted":
      // @ts-expect-error a deleted message's data is a DeletedMessage: it has no text
      void event.data.message;
      return `deleted ${event.data.id}`;
    case "presence.joined":
      return `${event.data.user} joined at ${event.data.since}`;
    case "presence.left":
      // @ts-expect-error a leave says who, not since when
      void event.data.since;
      return `${event.data.user} left`;
  }
}

/** The ephemeral events: no id, and their own payloads. */
function signal(event: EphemeralEvent): string {
  // @ts-expect-error an ephemeral event has no position
  void event.id;
  switch (event.type) {
    case "typing":
      return `${event.data.user} is typing for ${event.data.expires_in_ms} ms`;
    case "presence.count":
      return `${event.data.members} members, ${event.data.anonymous} guests`;
  }
}

test("each event's data has the schema the spec gives its name", () => {
  const deleted: EventPayload<"note.deleted"> = { key: "k" } satisfies Schemas["DeletedNote"];
  // @ts-expect-error `note.created` carries a whole Note, not just its key
  const partial: EventPayload<"note.created"> = { key: "k" };
  void partial;
  // @ts-expect-error not an event type of the spec
  const unknown: ParleyEvent["type"] = "note.moved";
  void unknown;
  // @ts-expect-error typing is ephemeral: never an event with a position
  const stored: ParleyEvent["type"] = "typing";
  void stored;
  assert.equal(describe({ type: "note.deleted", id: "1-1", data: deleted }), "deleted k");
  assert.equal(signal({ type: "typing", data: { user: "bob", expires_in_ms: 5000 } }), "bob is typing for 5000 ms");
});

test("the run-time list of event types is the spec's", () => {
  const all: Record<Schemas["EventType"], true> = {
    "note.created": true,
    "note.updated": true,
    "note.deleted": true,
    "message.created": true,
    "message.updated": true,
    "message.deleted": true,
    "presence.joined": true,
    "presence.left": true,
    typing: true,
    "presence.count": true,
  };
  assert.deepEqual([...EVENT_TYPES].sort(), Object.keys(all).sort());
  assert.deepEqual([...EPHEMERAL_EVENT_TYPES].sort(), ["presence.count", "typing"]);
});
