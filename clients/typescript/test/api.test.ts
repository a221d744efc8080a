// The typed REST client against the real server.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createParleyClient, type FieldError, type NoteSummary, type ParleyClient } from "../src/client.js";
import { TestServer } from "../testing/server.js";

const password = "correct horse battery staple";
let server: TestServer;
let anon: ParleyClient;
let alice: ParleyClient;

before(async () => {
  server = await TestServer.start();
  anon = createParleyClient(server.baseUrl);
});
after(() => server.dispose());

test("register, log in, who am I", async () => {
  const registered = await anon.POST("/api/users", { body: { username: "alice", password } });
  assert.equal(registered.response.status, 201);
  assert.equal(registered.data?.username, "alice");

  const login = await anon.POST("/api/sessions", { body: { username: "alice", password } });
  assert.equal(login.response.status, 201);
  const token = login.data?.token;
  assert.ok(token);
  alice = createParleyClient(server.baseUrl, { token });

  const me = await alice.GET("/api/users/me");
  assert.equal(me.data?.username, "alice");

  const nobody = await anon.GET("/api/users/me");
  assert.equal(nobody.response.status, 401);
  assert.equal(nobody.error?.type, "urn:parley:problem:unauthorized");
  assert.equal(nobody.response.headers.get("WWW-Authenticate"), "Bearer");

  const wrong = await anon.POST("/api/sessions", { body: { username: "alice", password: "not the password" } });
  assert.equal(wrong.response.status, 401);
});

test("a note: create, read with ETag, 304, update with If-Match, 412 on a stale ETag", async () => {
  const created = await alice.POST("/api/notes", { body: { key: "shopping", title: "Shopping list", body: "milk, eggs" } });
  assert.equal(created.response.status, 201);
  assert.equal(created.response.headers.get("Location"), "/api/notes/shopping");
  assert.deepEqual(
    { key: created.data?.key, author: created.data?.author, version: created.data?.version },
    { key: "shopping", author: "alice", version: 1 },
  );

  const duplicate = await alice.POST("/api/notes", { body: { key: "shopping", title: "again" } });
  assert.equal(duplicate.response.status, 409);
  assert.equal(duplicate.error?.type, "urn:parley:problem:conflict");

  const read = await anon.GET("/api/notes/{key}", { params: { path: { key: "shopping" } } });
  assert.equal(read.data?.body, "milk, eggs");
  const etag = read.response.headers.get("ETag");
  assert.match(etag ?? "", /^"1-\d+"$/);
  assert.match(read.response.headers.get("Stream-Position") ?? "", /^\d+-\d+$/);

  const unchanged = await anon.GET("/api/notes/{key}", {
    params: { path: { key: "shopping" }, header: { "If-None-Match": etag! } },
  });
  assert.equal(unchanged.response.status, 304);

  const updated = await alice.PUT("/api/notes/{key}", {
    params: { path: { key: "shopping" }, header: { "If-Match": etag! } },
    body: { title: "Shopping list", body: "milk, eggs, bread" },
  });
  assert.equal(updated.response.status, 200);
  assert.equal(updated.data?.version, 2);
  const newEtag = updated.response.headers.get("ETag");
  assert.match(newEtag ?? "", /^"2-\d+"$/);

  const stale = await alice.PUT("/api/notes/{key}", {
    params: { path: { key: "shopping" }, header: { "If-Match": etag! } },
    body: { title: "Shopping list", body: "milk only" },
  });
  assert.equal(stale.response.status, 412);
  assert.equal(stale.error?.type, "urn:parley:problem:precondition-failed");
  assert.ok(stale.error?.detail.includes(newEtag!), stale.error?.detail);

  const after = await anon.GET("/api/notes/{key}", { params: { path: { key: "shopping" } } });
  assert.equal(after.data?.body, "milk, eggs, bread", "the stale update changed nothing");
});

test("list notes a page at a time with the cursor", async () => {
  for (const key of ["b-note", "a-note", "c-note"]) {
    const { response } = await alice.POST("/api/notes", { body: { key, title: `Note ${key}` } });
    assert.equal(response.status, 201);
  }
  const seen: NoteSummary[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await anon.GET("/api/notes", { params: { query: { limit: 2, ...(cursor ? { cursor } : {}) } } });
    assert.ok(page.data, JSON.stringify(page.error));
    assert.ok(page.data.items.length <= 2);
    seen.push(...page.data.items);
    cursor = page.data.next_cursor ?? undefined;
    pages++;
  } while (cursor);
  assert.equal(pages, 2);
  assert.deepEqual(
    seen.map((n) => n.key),
    ["a-note", "b-note", "c-note", "shopping"],
  );

  const bad = await anon.GET("/api/notes", { params: { query: { limit: 0 } } });
  assert.equal(bad.response.status, 422);
  assert.deepEqual(bad.error?.errors?.map((e) => e.field), ["limit"]);
});

test("comments: post, list newest first, edit; from is the signed-in user", async () => {
  const room = { namespace: "notes", room: "shopping" };
  const first = await alice.POST("/api/rooms/{namespace}/{room}/messages", {
    params: { path: room },
    body: { message: "milk?" },
  });
  assert.equal(first.response.status, 201);
  assert.equal(first.data?.from, "alice");
  assert.equal(first.response.headers.get("Location"), `/api/messages/${first.data?.id}`);
  await alice.POST("/api/rooms/{namespace}/{room}/messages", { params: { path: room }, body: { message: "bread" } });

  const list = await anon.GET("/api/rooms/{namespace}/{room}/messages", { params: { path: room } });
  assert.deepEqual(
    list.data?.items.map((m) => m.message),
    ["bread", "milk?"],
  );

  const edited = await alice.PATCH("/api/messages/{id}", {
    params: { path: { id: first.data!.id } },
    body: { message: "oat milk?" },
  });
  assert.equal(edited.data?.message, "oat milk?");

  const noNote = await alice.POST("/api/rooms/{namespace}/{room}/messages", {
    params: { path: { namespace: "notes", room: "no-such-note" } },
    body: { message: "hello?" },
  });
  assert.equal(noNote.response.status, 404);

  const anonymous = await anon.POST("/api/rooms/{namespace}/{room}/messages", {
    params: { path: { namespace: "chat", room: "general" } },
    body: { message: "hi" },
  });
  assert.equal(anonymous.response.status, 401);
});

test("a 422 problem+json carries the typed errors array", async () => {
  const { data, error, response } = await anon.POST("/api/users", { body: { username: "a b", password: "short" } });
  assert.equal(data, undefined);
  assert.equal(response.status, 422);
  assert.equal(response.headers.get("Content-Type"), "application/problem+json");
  assert.equal(error?.type, "urn:parley:problem:validation");
  assert.equal(error?.status, 422);
  const errors: FieldError[] = error?.errors ?? [];
  assert.deepEqual(
    errors.map((e) => e.field),
    ["username", "password"],
  );
  for (const e of errors) assert.ok(e.message.length > 0);
});
