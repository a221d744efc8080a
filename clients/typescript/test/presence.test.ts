// Presence and typing against the real server: two users see each other join, type and
// leave; the member set of `subscribe`; the typed calls for presence, typing and rooms.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createParleyClient, type ParleyClient } from "../src/client.js";
import { PresenceTracker } from "../src/presence.js";
import type { SubscribeOptions } from "../src/subscribe.js";
import { Recorder } from "../testing/recorder.js";
import { TestServer } from "../testing/server.js";

// A short grace period, so that a leave is announced soon after the last stream closes.
const GRACE = ["--presence-grace", "1s"];
const password = "correct horse battery staple";

let server: TestServer;
let anon: ParleyClient;
const tokens: Record<string, string> = {};
const clients: Record<string, ParleyClient> = {};

before(async () => {
  server = await TestServer.start(undefined, undefined, GRACE);
  anon = createParleyClient(server.baseUrl);
  for (const username of ["alice", "bob"]) {
    assert.equal((await anon.POST("/api/users", { body: { username, password } })).response.status, 201);
    const { data } = await anon.POST("/api/sessions", { body: { username, password } });
    tokens[username] = data!.token;
    clients[username] = createParleyClient(server.baseUrl, { token: data!.token });
  }
});
after(() => server.dispose());

function join(room: string, user: string | undefined, options: Partial<SubscribeOptions> = {}) {
  return new Recorder(server.baseUrl, "chat", room, user === undefined ? options : { token: tokens[user], ...options });
}

const names = (r: Recorder) => [...(r.sub.presence?.members.keys() ?? [])].sort();
/** Its events but the user's own join, which may come just after `ready` (docs/presence.md). */
const othersThan = (me: string, r: Recorder) =>
  r.log.filter((e) => !(e.type === "presence.joined" && e.data.user === me)).map((e) => e.type);

test("two users see each other arrive, type, talk and leave; the member set follows", async () => {
  const room = "lobby";
  const alice = join(room, "alice");
  await alice.until("ready", (r) => r.readyCount() === 1);
  const greeting = alice.log.find((e) => e.type === "ready")!;
  assert.ok(greeting.type === "ready");
  assert.equal(greeting.data.you, "alice");
  assert.equal(greeting.data.presence?.large, false);
  assert.equal(alice.sub.presence?.you, "alice");
  await alice.until("alice herself present", (r) => names(r).includes("alice"));
  // An anonymous watcher: not a member, but it sees the members, and onPresence each change.
  const seen: string[][] = [];
  const watched = join(room, undefined, { onPresence: (p) => seen.push([...p.members.keys()].sort()) });
  await watched.until("ready, with alice", (r) => names(r).includes("alice"));
  assert.equal(watched.sub.presence?.you, undefined, "an anonymous stream has no `you`");

  const bob = join(room, "bob");
  await alice.until("bob's join", (r) => r.events.some((e) => e.type === "presence.joined" && e.data.user === "bob"));
  const joined = alice.events.find((e) => e.type === "presence.joined" && e.data.user === "bob")!;
  assert.ok(joined.id);
  assert.deepEqual(names(alice), ["alice", "bob"]);
  await bob.until("both, in bob's tracker", (r) => names(r).length === 2);
  assert.deepEqual(names(bob), ["alice", "bob"]);

  // bob types: alice hears it, without an id, and her resume position does not move.
  const positionBefore = alice.sub.lastEventId;
  const typed = await clients.bob!.POST("/api/rooms/{namespace}/{room}/typing", {
    params: { path: { namespace: "chat", room } },
  });
  assert.equal(typed.response.status, 202);
  await alice.until("bob typing", (r) => r.ephemeral.some((e) => e.type === "typing"));
  const typing = alice.ephemeral.find((e) => e.type === "typing")!;
  assert.ok(typing.type === "typing" && typing.data.user === "bob" && typing.data.expires_in_ms > 0);
  assert.ok(!("id" in typing));
  assert.equal(alice.sub.lastEventId, positionBefore, "typing does not move the resume position");

  await clients.bob!.POST("/api/rooms/{namespace}/{room}/messages", {
    params: { path: { namespace: "chat", room } },
    body: { message: "hi alice" },
  });
  await alice.until("bob's message", (r) => r.events.some((e) => e.type === "message.created"));

  // bob closes his only stream: after the grace period, alice hears that he left.
  await bob.close();
  await alice.until("bob's leave", (r) => r.events.some((e) => e.type === "presence.left"));
  const left = alice.events.find((e) => e.type === "presence.left")!;
  assert.ok(left.type === "presence.left" && left.data.user === "bob");
  assert.deepEqual(names(alice), ["alice"]);
  assert.deepEqual(othersThan("alice", alice), ["ready", "presence.joined", "message.created", "presence.left"]);
  await watched.until("the leave", (r) => r.events.some((e) => e.type === "presence.left"));
  assert.deepEqual(seen.slice(-2), [["alice", "bob"], ["alice"]]);

  // Resumed from before bob came: the joins and leaves are replayed, the typing is not.
  const replay = join(room, undefined, { lastEventId: greeting.data.position });
  await replay.until("ready", (r) => r.readyCount() === 1);
  assert.deepEqual(othersThan("alice", replay), ["presence.joined", "message.created", "presence.left", "ready"]);
  assert.deepEqual(replay.ephemeral, []);
  assert.deepEqual(names(replay), ["alice"]);
  for (const r of [alice, watched, replay]) {
    assert.deepEqual(r.errors, []);
    await r.close();
  }
});

test("the typed calls: a room's presence with its position, typing, the namespace's rooms", async () => {
  const room = "typed-calls";
  const alice = join(room, "alice");
  await alice.until("ready", (r) => r.readyCount() === 1);

  const snapshot = await anon.GET("/api/rooms/{namespace}/{room}/presence", {
    params: { path: { namespace: "chat", room } },
  });
  assert.equal(snapshot.response.status, 200);
  // Her join committed before her stream's 200: any read after it shows her.
  assert.deepEqual(snapshot.data?.members.map((m) => [m.user, m.sessions]), [["alice", 1]]);
  assert.equal(snapshot.data?.large, false);
  const position = snapshot.response.headers.get("Stream-Position");
  assert.ok(position);

  // The snapshot, then the room's events from its position: exact, with no gap.
  const tracker = new PresenceTracker();
  tracker.reset(snapshot.data!);
  const follower = join(room, undefined, { lastEventId: position });
  const bob = join(room, "bob");
  await follower.until("bob's join", (r) => r.events.some((e) => e.type === "presence.joined"));
  for (const event of follower.events) tracker.apply(event);
  assert.deepEqual([...tracker.members.keys()].sort(), ["alice", "bob"]);
  await follower.until("ready", (r) => r.readyCount() === 1);
  assert.deepEqual(names(follower), ["alice", "bob"], "and the stream's own, from its ready");

  const refused = await anon.POST("/api/rooms/{namespace}/{room}/typing", {
    params: { path: { namespace: "chat", room } },
  });
  assert.equal(refused.response.status, 401);
  assert.equal(refused.error?.type, "urn:parley:problem:unauthorized");

  const rooms = await anon.GET("/api/rooms/{namespace}", { params: { path: { namespace: "chat" }, query: { limit: 100 } } });
  assert.equal(rooms.response.status, 200);
  const listed = rooms.data?.items.find((r) => r.room === room);
  assert.equal(listed?.members, 2);
  assert.ok(listed?.last_activity);

  // A stream with a token the server does not know is refused, not taken for anonymous.
  const impostor = join(room, undefined, { token: "not-a-token" });
  const error = await impostor.sub.closed;
  assert.equal(error?.status, 401);
  assert.equal(error?.fatal, true);

  for (const r of [alice, follower, bob]) await r.close();
});

test("a large room: counts instead of names, flagged in the member set", async () => {
  // Its own server, where two members already make a room large.
  const small = await TestServer.start(undefined, undefined, [...GRACE, "--presence-large-room", "1"]);
  try {
    const member = async (username: string) => {
      const api = createParleyClient(small.baseUrl);
      assert.equal((await api.POST("/api/users", { body: { username, password } })).response.status, 201);
      const { data } = await api.POST("/api/sessions", { body: { username, password } });
      return new Recorder(small.baseUrl, "chat", "crowd", { token: data!.token });
    };
    const alice = await member("alice");
    await alice.until("ready", (r) => r.readyCount() === 1);
    const bob = await member("bob");
    // bob's ready finds the room large: no names; a presence.count follows at once.
    await bob.until("a count", (r) => r.ephemeral.some((e) => e.type === "presence.count"));
    const ready = bob.log.find((e) => e.type === "ready");
    assert.ok(ready?.type === "ready" && ready.data.presence?.large === true);
    assert.deepEqual(ready.data.presence.members, []);
    assert.equal(ready.data.presence.members_count, 2, "the count comes with the snapshot");
    assert.equal(bob.sub.presence?.large, true);
    assert.equal(bob.sub.presence?.count, 2);
    assert.equal(bob.sub.presence?.members.size, 0);
    // alice, in the room when it grew, gets the count too (within the 5 s counting round).
    await alice.until("a count", (r) => r.ephemeral.some((e) => e.type === "presence.count"));
    assert.equal(alice.sub.presence?.large, true);
    assert.equal(alice.sub.presence?.count, 2);
    assert.equal(alice.sub.presence?.members.size, 0, "a list that cannot be kept current is dropped");
    for (const r of [alice, bob]) await r.close();
  } finally {
    await small.dispose();
  }
});
