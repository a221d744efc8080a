// A subscription that records everything it receives, in order, and can be waited on.
import assert from "node:assert/strict";
import type { StreamMarker } from "../src/client.js";
import {
  subscribe,
  type EphemeralEvent,
  type ParleyEvent,
  type SubscribeError,
  type SubscribeOptions,
  type Subscription,
} from "../src/subscribe.js";

const WAIT_LIMIT_MS = 15_000;

export type Entry = ParleyEvent | { type: "ready" | "reset"; data: StreamMarker };

export class Recorder {
  /** Events (with their ids) and markers, in order. */
  readonly log: Entry[] = [];
  /** Ephemeral events (`typing`, `presence.count`), in order. */
  readonly ephemeral: EphemeralEvent[] = [];
  readonly errors: SubscribeError[] = [];
  readonly sub: Subscription;
  #changed: Array<() => void> = [];

  constructor(baseUrl: string, namespace: string, room: string | undefined, options: Partial<SubscribeOptions> = {}) {
    const push = (entry: Entry) => {
      this.log.push(entry);
      this.#wake();
    };
    this.sub = subscribe(baseUrl, namespace, room, {
      ...options,
      onEvent: push,
      onEphemeral: (event) => {
        this.ephemeral.push(event);
        this.#wake();
      },
      onReady: (data) => push({ type: "ready", data }),
      onReset: (data) => push({ type: "reset", data }),
      onError: (error) => {
        this.errors.push(error);
        this.#wake();
      },
    });
  }

  #wake() {
    for (const wake of this.#changed.splice(0)) wake();
  }

  get events(): ParleyEvent[] {
    return this.log.filter((e): e is ParleyEvent => e.type !== "ready" && e.type !== "reset");
  }

  get types(): string[] {
    return this.log.map((e) => e.type);
  }

  /** Resolves once `predicate` holds (checked on every arrival); fails after WAIT_LIMIT_MS. */
  async until(what: string, predicate: (r: this) => boolean): Promise<void> {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(this.types)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#changed.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  readyCount(): number {
    return this.log.filter((e) => e.type === "ready").length;
  }

  async close(): Promise<void> {
    this.sub.close();
    assert.equal(await this.sub.closed, undefined);
  }
}
