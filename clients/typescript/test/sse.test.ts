// The SSE parser and the reconnect logic of `subscribe`, against a scripted fetch (no server).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SseParser, type SseMessage } from "../src/sse.js";
import { subscribe, SubscribeError, streamUrl, type EphemeralEvent, type ParleyEvent } from "../src/subscribe.js";
import type { StreamMarker } from "../src/client.js";

function parse(chunks: string[], lastEventId = "") {
  const messages: SseMessage[] = [];
  const retries: number[] = [];
  const comments: string[] = [];
  const parser = new SseParser(
    { onMessage: (m) => messages.push(m), onRetry: (ms) => retries.push(ms), onComment: (c) => comments.push(c) },
    lastEventId,
  );
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return { messages, retries, comments, lastEventId: parser.lastEventId };
}

describe("SseParser", () => {
  test("id, event, multi-line data, comments and retry", () => {
    const { messages, retries, comments } = parse([
      "retry: 2500\n\n: keep-alive\n\nid: 1-1\nevent: note.created\ndata: {\"a\":\ndata: 1}\n\ndata:plain\n\n",
    ]);
    assert.deepEqual(retries, [2500]);
    assert.deepEqual(comments, ["keep-alive"]);
    assert.deepEqual(messages, [
      { type: "note.created", data: '{"a":\n1}', lastEventId: "1-1" },
      { type: "message", data: "plain", lastEventId: "1-1" },
    ]);
  });

  test("CRLF, CR and LF line ends, split anywhere, give the same events", () => {
    const text = "id: 7-3\r\nevent: ready\r\ndata: x\r\n\r\nevent: a\rdata: y\r\rdata: z\n\n";
    const whole = parse([text]).messages;
    const byChar = parse([...text]).messages;
    assert.deepEqual(byChar, whole);
    assert.deepEqual(
      whole.map((m) => [m.type, m.data, m.lastEventId]),
      [
        ["ready", "x", "7-3"],
        ["a", "y", "7-3"],
        ["message", "z", "7-3"],
      ],
    );
  });

  test("edge cases of the standard", () => {
    const { messages, retries, lastEventId } = parse(
      [
        "\uFEFFdata\n\n", // a field with no colon: empty value; BOM at the start is dropped
        "event: only-type\n\n", // no data: nothing dispatched
        "retry: 1s\nretry: -5\n\n", // not ASCII digits: ignored
        "id: bad\0id\ndata: keeps old id\n\n", // NUL in id: ignored
        "id: 9-9\nunknown: field\ndata:  two spaces\n\n",
        "data: no blank line at the end",
      ],
      "1-1",
    );
    assert.deepEqual(retries, []);
    assert.deepEqual(
      messages.map((m) => [m.type, m.data, m.lastEventId]),
      [
        ["message", "", "1-1"],
        ["message", "keeps old id", "1-1"],
        ["message", " two spaces", "9-9"],
      ],
    );
    assert.equal(lastEventId, "9-9");
  });
});

test("streamUrl: room, namespace, encoding and ?types=", () => {
  assert.equal(streamUrl("http://h:1/", "notes", "a b/c"), "http://h:1/api/rooms/notes/a%20b%2Fc/events");
  assert.equal(
    streamUrl("http://h:1", "notes", undefined, ["note.updated", "note.deleted"]),
    "http://h:1/api/rooms/notes/events?types=note.updated%2Cnote.deleted",
  );
});

/** A fetch that answers each call with the next scripted response and records the requests. */
function scriptedFetch(script: Array<(signal: AbortSignal) => Response>) {
  const calls: Array<{ url: string; lastEventId: string | null; at: number }> = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    calls.push({ url: String(input), lastEventId: headers.get("Last-Event-ID"), at: performance.now() });
    const next = script[calls.length - 1];
    if (!next) throw new Error("no more scripted responses");
    return next(init!.signal!);
  };
  return { fetch, calls };
}

function sse(text: string, keepOpen = false) {
  return (signal: AbortSignal) =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(text));
          if (keepOpen) signal.addEventListener("abort", () => controller.error(signal.reason));
          else controller.close();
        },
      }),
      { headers: { "Content-Type": "text/event-stream" } },
    );
}

test("subscribe reconnects after the retry hint with Last-Event-ID, and stops on a 4xx", async () => {
  const problem = { type: "urn:parley:problem:bad-request", title: "Bad request", status: 400, detail: "bad position" };
  const { fetch, calls } = scriptedFetch([
    sse('retry: 40\n\nid: 5-1\nevent: ready\ndata: {"position":"5-1"}\n\n'),
    sse('id: 6-2\nevent: note.deleted\ndata: {"key":"k"}\n\nid: 7-3\nevent: note.moved\ndata: {}\n\n'),
    () => {
      throw new TypeError("fetch failed"); // a network error: reported, then retried
    },
    () => Response.json(problem, { status: 400, headers: { "Content-Type": "application/problem+json" } }),
  ]);
  const events: ParleyEvent[] = [];
  const ready: StreamMarker[] = [];
  const errors: SubscribeError[] = [];
  const sub = subscribe("http://parley.test", "notes", "k", {
    lastEventId: "4-0",
    fetch,
    onEvent: (e) => events.push(e),
    onReady: (m) => ready.push(m),
    onError: (e) => errors.push(e),
  });
  const fatal = await sub.closed;
  assert.deepEqual(
    calls.map((c) => c.lastEventId),
    ["4-0", "5-1", "7-3", "7-3"], // the unknown event type is skipped, but its id still counts
  );
  for (let i = 1; i < calls.length; i++) assert.ok(calls[i]!.at - calls[i - 1]!.at >= 39, `waited the retry hint`);
  assert.deepEqual(ready, [{ position: "5-1" }]);
  assert.deepEqual(events, [{ type: "note.deleted", id: "6-2", data: { key: "k" } }]);
  assert.equal(errors.length, 2);
  assert.equal(errors[0]!.fatal, false);
  assert.ok(fatal instanceof SubscribeError && fatal.fatal);
  assert.equal(fatal, errors[1]);
  assert.equal(fatal.status, 400);
  assert.deepEqual(fatal.problem, problem);
  assert.equal(sub.lastEventId, "7-3");
});

test("subscribe stops cleanly on abort, with no error", async () => {
  const { fetch, calls } = scriptedFetch([sse('retry: 10\n\nid: 1-1\nevent: ready\ndata: {"position":"1-1"}\n\n', true)]);
  const abort = new AbortController();
  const errors: SubscribeError[] = [];
  let onReady!: () => void;
  const gotReady = new Promise<void>((resolve) => (onReady = resolve));
  const sub = subscribe("http://parley.test", "chat", undefined, {
    fetch,
    signal: abort.signal,
    onEvent: () => assert.fail("no events expected"),
    onReady,
    onError: (e) => errors.push(e),
  });
  await gotReady;
  abort.abort();
  assert.equal(await sub.closed, undefined);
  assert.deepEqual(errors, []);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.url, "http://parley.test/api/rooms/chat/events");
  assert.equal(sub.lastEventId, "1-1");
});

test("ephemeral events go to onEphemeral without an id; presence follows ready, joins, leaves and counts", async () => {
  const snapshot = {
    members: [{ user: "alice", sessions: 2, since: "2026-01-01T00:00:00Z" }],
    members_count: 1,
    anonymous: 1,
    large: false,
  };
  const { fetch, calls } = scriptedFetch([
    sse(
      `retry: 10\n\nid: 5-1\nevent: ready\ndata: ${JSON.stringify({ position: "5-1", you: "alice", presence: snapshot })}\n\n` +
        'id: 6-1\nevent: presence.joined\ndata: {"user":"bob","since":"2026-01-01T00:01:00Z"}\n\n' +
        'event: typing\ndata: {"user":"bob","expires_in_ms":5000}\n\n' +
        'id: 7-1\nevent: presence.left\ndata: {"user":"alice"}\n\n' +
        'event: presence.count\ndata: {"members":150,"anonymous":9}\n\n',
    ),
    () => new Response(null, { status: 204 }),
  ]);
  const stored: string[] = [];
  const ephemeral: EphemeralEvent[] = [];
  const seen: string[] = [];
  const sub = subscribe("http://parley.test", "chat", "general", {
    fetch,
    token: "secret",
    onEvent: (e) => stored.push(`${e.type} ${e.id}`),
    onEphemeral: (e) => ephemeral.push(e),
    onPresence: (p) => seen.push(`${[...p.members.keys()].join(",")}|${p.count}|${p.large}`),
  });
  assert.equal(await sub.closed, undefined);
  assert.deepEqual(stored, ["presence.joined 6-1", "presence.left 7-1"]);
  assert.deepEqual(ephemeral, [
    { type: "typing", data: { user: "bob", expires_in_ms: 5000 } },
    { type: "presence.count", data: { members: 150, anonymous: 9 } },
  ]);
  assert.deepEqual(seen, ["alice|1|false", "alice,bob|2|false", "bob|1|false", "|150|true"]);
  // The reconnect resumed from the last stored event: the ephemeral ones have no position.
  assert.deepEqual(calls.map((c) => c.lastEventId), [null, "7-1"]);
  assert.equal(sub.lastEventId, "7-1");
  assert.equal(sub.presence?.you, "alice");
  assert.equal(sub.presence?.anonymous, 9);
});

test("a large room's ready gives its member count at once, before any presence.count", async () => {
  const snapshot = { members: [], members_count: 140, anonymous: 3, large: true };
  const { fetch } = scriptedFetch([
    sse(`id: 5-1\nevent: ready\ndata: ${JSON.stringify({ position: "5-1", presence: snapshot })}\n\n`),
    () => new Response(null, { status: 204 }),
  ]);
  const seen: string[] = [];
  const sub = subscribe("http://parley.test", "chat", "general", {
    fetch,
    onEvent: () => {},
    onPresence: (p) => seen.push(`${p.members.size}|${p.count}|${p.large}|${p.anonymous}`),
  });
  assert.equal(await sub.closed, undefined);
  assert.deepEqual(seen, ["0|140|true|3"]);
});
