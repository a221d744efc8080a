// `subscribe` against the real server: live delivery, typed payloads, resume, ?types=, restart.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createParleyClient, type ParleyClient } from "../src/client.js";
import type { SubscribeOptions } from "../src/subscribe.js";
import { Recorder } from "../testing/recorder.js";
import { TestServer } from "../testing/server.js";

let server: TestServer;
let alice: ParleyClient;

before(async () => {
  server = await TestServer.start();
  const anon = createParleyClient(server.baseUrl);
  const credentials = { username: "alice", password: "correct horse battery staple" };
  assert.equal((await anon.POST("/api/users", { body: credentials })).response.status, 201);
  const { data } = await anon.POST("/api/sessions", { body: credentials });
  alice = createParleyClient(server.baseUrl, { token: data!.token });
});
after(() => server.dispose());

/** Records everything a subscription to `namespace/room` of the test server receives. */
function record(room: string | undefined, options: Partial<SubscribeOptions> = {}, namespace = "notes") {
  return new Recorder(server.baseUrl, namespace, room, options);
}

async function createNote(key: string, body = "") {
  const { data, error } = await alice.POST("/api/notes", { body: { key, title: `Title of ${key}`, body } });
  assert.ok(data, JSON.stringify(error));
  return data;
}
async function updateNote(key: string, body: string) {
  const { data, error } = await alice.PUT("/api/notes/{key}", {
    params: { path: { key } },
    body: { title: `Title of ${key}`, body },
  });
  assert.ok(data, JSON.stringify(error));
  return data;
}
async function comment(key: string, message: string) {
  const { data, error } = await alice.POST("/api/rooms/{namespace}/{room}/messages", {
    params: { path: { namespace: "notes", room: key } },
    body: { message },
  });
  assert.ok(data, JSON.stringify(error));
  return data;
}

test("a room and its namespace receive every change of a note and its comments, typed", async () => {
  const room = record("groceries");
  const home = record(undefined);
  await room.until("ready", (r) => r.readyCount() === 1);
  await home.until("ready", (r) => r.readyCount() === 1);

  await createNote("groceries", "milk");
  const posted = await comment("groceries", "oat milk?");
  await alice.PATCH("/api/messages/{id}", { params: { path: { id: posted.id } }, body: { message: "soy milk?" } });
  await updateNote("groceries", "milk, eggs");
  await alice.DELETE("/api/messages/{id}", { params: { path: { id: posted.id } } });
  await alice.DELETE("/api/notes/{key}", { params: { path: { key: "groceries" } } });

  const expected = [
    "note.created",
    "message.created",
    "message.updated",
    "note.updated",
    "message.deleted",
    "note.deleted",
  ];
  for (const r of [room, home]) {
    await r.until("six events", (x) => x.events.length >= expected.length);
    assert.deepEqual(r.types, ["ready", ...expected]);
    assert.equal(new Set(r.events.map((e) => e.id)).size, expected.length, "every event has its own id");
    assert.equal(r.sub.lastEventId, r.events.at(-1)!.id);
    for (const event of r.events) {
      // The union narrows `data` by `type`: each branch reads fields only that payload has.
      switch (event.type) {
        case "note.created":
          assert.deepEqual([event.data.key, event.data.body, event.data.version], ["groceries", "milk", 1]);
          break;
        case "note.updated":
          assert.deepEqual([event.data.body, event.data.version, event.data.author], ["milk, eggs", 2, "alice"]);
          break;
        case "note.deleted":
          assert.deepEqual(event.data, { key: "groceries" });
          break;
        case "message.created":
          assert.deepEqual([event.data.id, event.data.from, event.data.message], [posted.id, "alice", "oat milk?"]);
          break;
        case "message.updated":
          assert.equal(event.data.message, "soy milk?");
          break;
        case "message.deleted":
          assert.deepEqual(event.data, { id: posted.id, namespace: "notes", room: "groceries" });
          break;
      }
    }
    assert.deepEqual(r.errors, []);
    await r.close();
  }
});

test("resume with lastEventId: exactly the missed events, then ready; a ready's id resumes too", async () => {
  const first = record("todo");
  await first.until("ready", (r) => r.readyCount() === 1);
  await createNote("todo", "write docs");
  await first.until("note.created", (r) => r.events.length === 1);
  await first.close();
  const resumeFrom = first.sub.lastEventId;
  assert.equal(resumeFrom, first.events[0]!.id);

  // While nobody listens:
  const missed = await comment("todo", "which docs?");
  await updateNote("todo", "write the SDK docs");
  await createNote("elsewhere"); // another room: not part of this stream

  const second = record("todo", { lastEventId: resumeFrom! });
  await second.until("ready", (r) => r.readyCount() === 1);
  assert.deepEqual(second.types, ["message.created", "note.updated", "ready"]);
  const [created, updated] = second.events;
  assert.ok(created?.type === "message.created" && created.data.id === missed.id);
  assert.ok(updated?.type === "note.updated" && updated.data.version === 2);
  const ready = second.log.at(-1)!;
  assert.ok(ready.type === "ready");
  await second.close();
  // The ready frame has an id, and it is what the subscription resumes from.
  assert.equal(second.sub.lastEventId, ready.data.position);

  await updateNote("todo", "ship it");
  const third = record("todo", { lastEventId: second.sub.lastEventId! });
  await third.until("ready", (r) => r.readyCount() === 1);
  assert.deepEqual(third.types, ["note.updated", "ready"]);
  assert.ok(third.events[0]?.type === "note.updated" && third.events[0].data.body === "ship it");
  await third.close();
});

test("list, then subscribe from Stream-Position: no change is missed", async () => {
  const list = await alice.GET("/api/notes");
  const position = list.response.headers.get("Stream-Position");
  assert.ok(position);
  await createNote("after-list");
  const r = record(undefined, { lastEventId: position });
  await r.until("ready", (x) => x.readyCount() === 1);
  assert.deepEqual(r.types, ["note.created", "ready"]);
  await r.close();
});

test("?types= filters the stream; a bad type or position is a fatal, typed error", async () => {
  const r = record(undefined, { types: ["note.updated", "note.deleted"] });
  await r.until("ready", (x) => x.readyCount() === 1);
  await createNote("filtered");
  await comment("filtered", "not shown");
  await updateNote("filtered", "shown");
  await alice.DELETE("/api/notes/{key}", { params: { path: { key: "filtered" } } });
  await r.until("two events", (x) => x.events.length >= 2);
  assert.deepEqual(r.types, ["ready", "note.updated", "note.deleted"]);
  await r.close();

  const badType = record(undefined, { types: ["note.updated", "note.moved" as "note.updated"] });
  const typeError = await badType.sub.closed;
  assert.equal(typeError?.fatal, true);
  assert.equal(typeError?.status, 422);
  assert.deepEqual(typeError?.problem?.errors?.map((e) => e.field), ["types"]);

  const badPosition = record("x", { lastEventId: "banana" });
  const positionError = await badPosition.sub.closed;
  assert.equal(positionError?.status, 400);
  assert.equal(positionError?.problem?.type, "urn:parley:problem:bad-request");
  assert.deepEqual(badPosition.log, []);
});

test("the server restarts: the subscription reconnects with Last-Event-ID and loses nothing", async () => {
  const sent: Array<string | null> = [];
  const spy: typeof fetch = (input, init) => {
    sent.push(new Headers(init?.headers).get("Last-Event-ID"));
    return fetch(input, init);
  };
  const r = record(undefined, { fetch: spy });
  await r.until("ready", (x) => x.readyCount() === 1);
  await createNote("durable", "v1");
  await r.until("note.created", (x) => x.events.length === 1);
  const before = r.sub.lastEventId;

  await server.stop(); // SIGTERM ends the stream cleanly
  server = await TestServer.start(server.dataDir, server.address);
  // Written after the restart, most likely before the subscriber is back (retry: 2-3 s):
  await updateNote("durable", "v2");
  await createNote("durable-2", "v1");

  await r.until("both changes", (x) => x.events.length >= 3);
  await r.until("the reconnected stream's ready", (x) => x.readyCount() === 2);
  assert.deepEqual(
    r.events.map((e) => [e.type, "key" in e.data ? e.data.key : undefined]),
    [
      ["note.created", "durable"],
      ["note.updated", "durable"],
      ["note.created", "durable-2"],
    ],
  );
  assert.equal(sent[0], null, "the first connection starts live");
  assert.ok(sent.length >= 2);
  assert.ok(
    sent.slice(1).every((id) => id === before),
    `every reconnect sent Last-Event-ID ${before}: ${JSON.stringify(sent)}`,
  );
  assert.ok(r.errors.every((e) => !e.fatal));
  await r.close();
});
