import type { components } from "./schema.js";

type Schemas = components["schemas"];
type PresenceSnapshot = Schemas["PresenceSnapshot"];

/** A member as the stream knows them: who, and since when (their current stay). */
export interface Member {
  user: string;
  since: string;
}

/** What `PresenceTracker.apply` understands: the presence events, as `subscribe` delivers them. */
export type PresenceChange =
  | { type: "presence.joined"; data: Schemas["PresenceJoined"] }
  | { type: "presence.left"; data: Schemas["PresenceLeft"] }
  | { type: "presence.count"; data: Schemas["PresenceCount"] };

/**
 * Who is in one room, kept exact from a snapshot plus the room's stream from the
 * snapshot's position: `ready`'s `presence` (or `GET …/presence` with its
 * `Stream-Position`) replaces it, `presence.joined` and `presence.left` update it, in order
 * with the room's other events. In a large room (`large`) the server sends
 * `presence.count` instead of joins and leaves: then only `count` and `anonymous` are
 * known, and `members` is empty (a list that could not be kept current would be wrong).
 */
export class PresenceTracker {
  #members = new Map<string, Member>();
  #anonymous = 0;
  #large = false;
  #largeCount = 0;
  #known = false;

  /** The signed-in user of the stream (`ready`'s `you`); `undefined` for an anonymous one. */
  you: string | undefined = undefined;

  /** Signed-in members by username (one entry per user, however many tabs they have open). */
  get members(): ReadonlyMap<string, Member> {
    return this.#members;
  }

  /** Open anonymous streams of the room (counted, not named). */
  get anonymous(): number {
    return this.#anonymous;
  }

  /** The room is above the server's `--presence-large-room`: counts only. */
  get large(): boolean {
    return this.#large;
  }

  /**
   * Signed-in members: `members.size`, or in a large room the snapshot's `members_count`
   * and then the last `presence.count`.
   */
  get count(): number {
    return this.#large ? this.#largeCount : this.#members.size;
  }

  /** Whether a snapshot has arrived (before it, the tracker knows only changes). */
  get known(): boolean {
    return this.#known;
  }

  /** Replaces everything with a snapshot: `ready`'s `presence`, or `GET …/presence`'s body. */
  reset(snapshot: PresenceSnapshot): void {
    this.#members.clear();
    for (const { user, since } of snapshot.members) this.#members.set(user, { user, since });
    this.#anonymous = snapshot.anonymous;
    this.#large = snapshot.large;
    this.#largeCount = snapshot.members_count;
    this.#known = true;
  }

  /** Applies one presence event; returns false for any other event (nothing changed). */
  apply(event: PresenceChange | { type: string; data: unknown }): boolean {
    const change = event as PresenceChange;
    switch (change.type) {
      case "presence.joined":
        this.#members.set(change.data.user, { user: change.data.user, since: change.data.since });
        return true;
      case "presence.left":
        return this.#members.delete(change.data.user);
      case "presence.count":
        this.#large = true;
        this.#largeCount = change.data.members;
        this.#anonymous = change.data.anonymous;
        this.#members.clear();
        return true;
      default:
        return false;
    }
  }
}
