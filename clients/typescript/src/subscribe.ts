import { PresenceTracker } from "./presence.js";
import type { components, paths } from "./schema.js";
import { SseParser, type SseMessage } from "./sse.js";

type Schemas = components["schemas"];
type EventType = Schemas["EventType"];
type Problem = Schemas["Problem"];

/**
 * One event of a stream as the spec describes it (`StreamEvent`, a union discriminated by
 * `event`): every event type, and the `ready` and `reset` markers. The types below all come
 * from it, so an event type added to the server's contract reaches them on regeneration.
 */
type StreamEvent = Schemas["StreamEvent"];
type MarkerName = "ready" | "reset";
type StreamMarker = Extract<StreamEvent, { event: MarkerName }>["data"];

/** The spec's schema of one event of type `T` (`{event, id, data}`, or `{event, data}`). */
type Frame<T extends EventType> = Extract<StreamEvent, { event: T }>;

/**
 * The event types stored in the log: their frames have an `id` (a position), are replayed
 * on resume, and move the position a client resumes from. Derived from the spec.
 */
export type DurableEventType = { [T in EventType]: "id" extends keyof Frame<T> ? T : never }[EventType];

/**
 * The ephemeral event types (`typing`, `presence.count`): no `id`, never stored or
 * replayed, and they never move the position a client resumes from. Derived from the spec.
 */
export type EphemeralEventType = Exclude<EventType, DurableEventType>;

/**
 * Every event type, at run time, and whether it is stored. `satisfies` makes the compiler
 * check it against the spec: a type missing here, one the spec does not have, or an
 * ephemeral one marked durable (or the reverse) fails the build.
 */
const KNOWN = {
  "note.created": "durable",
  "note.updated": "durable",
  "note.deleted": "durable",
  "message.created": "durable",
  "message.updated": "durable",
  "message.deleted": "durable",
  "presence.joined": "durable",
  "presence.left": "durable",
  typing: "ephemeral",
  "presence.count": "ephemeral",
} as const satisfies { [T in EventType]: T extends DurableEventType ? "durable" : "ephemeral" };

/** The stream's events other than the markers are exactly the `types` filter's values. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const streamMatchesTypes: Same<Exclude<StreamEvent["event"], MarkerName>, EventType> = true;
void streamMatchesTypes;

/** Every event type, at run time. */
export const EVENT_TYPES = Object.keys(KNOWN) as EventType[];

/** The ephemeral event types, at run time. */
export const EPHEMERAL_EVENT_TYPES = EVENT_TYPES.filter((type) => KNOWN[type] === "ephemeral") as EphemeralEventType[];

/** The `data` of an event of type `T`, e.g. `EventPayload<"note.deleted">` is `DeletedNote`. */
export type EventPayload<T extends EventType> = Frame<T>["data"];

/**
 * One change, as a discriminated union on `type`:
 * `{type: "note.created", id, data: Note} | … | {type: "presence.left", id, data: PresenceLeft}`.
 * `id` is the event's log position (send it back as `lastEventId` to resume after it).
 */
export type ParleyEvent = { [T in DurableEventType]: { type: T; id: string; data: EventPayload<T> } }[DurableEventType];

/**
 * A signal about now, as a discriminated union on `type`:
 * `{type: "typing", data: Typing} | {type: "presence.count", data: PresenceCount}`. It has
 * no `id`: it is not a position to resume from.
 */
export type EphemeralEvent = {
  [T in EphemeralEventType]: { type: T; data: EventPayload<T> };
}[EphemeralEventType];

/** A failed connection, a bad frame, or an exception thrown by one of your callbacks. */
export class SubscribeError extends Error {
  override name = "SubscribeError";
  constructor(
    message: string,
    /** True when the subscription has stopped for good (a 4xx answer, or not an event stream). */
    readonly fatal: boolean,
    /** The HTTP status, when the server answered with an error. */
    readonly status?: number,
    /** The server's problem+json document, when it sent one. */
    readonly problem?: Problem,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface SubscribeOptions {
  /** Resume after this position: an event `id`, a `ready`/`reset` position or a `Stream-Position`. */
  lastEventId?: string | undefined;
  /** Only these event types (`?types=`). `ready` and `reset` always come. */
  types?: readonly EventType[] | undefined;
  /**
   * A session token, sent as `Authorization: Bearer …`: the stream then makes you a member
   * of the room (and `ready` greets you in `you`). Without it the stream is anonymous:
   * counted, not named. A token the server refuses stops the subscription with a 401.
   */
  token?: string | undefined;
  /** Every event stored in the log, in order: changes, and `presence.joined` / `presence.left`. */
  onEvent: (event: ParleyEvent) => void;
  /** `typing` and `presence.count`: about now, not stored, without an `id`. */
  onEphemeral?: ((event: EphemeralEvent) => void) | undefined;
  /**
   * A room's membership changed (`subscription.presence`): a `ready`'s snapshot replaced
   * it, or a join, leave or count updated it. Not called for a namespace's stream.
   */
  onPresence?: ((presence: PresenceTracker) => void) | undefined;
  /** The stream has caught up: every earlier change has been delivered. Comes on every (re)connect. */
  onReady?: ((marker: StreamMarker) => void) | undefined;
  /** The position was older than the log keeps: refetch your state, then carry on. */
  onReset?: ((marker: StreamMarker) => void) | undefined;
  /**
   * Something went wrong. Unless `error.fatal`, the subscription carries on: it reconnects
   * (after the server's `retry:` hint) with `Last-Event-ID`.
   */
  onError?: ((error: SubscribeError) => void) | undefined;
  /** Aborting it closes the subscription, like `close()`. */
  signal?: AbortSignal | undefined;
  /** The wait before reconnecting until the server sends a `retry:` hint. Default 3000 ms. */
  retryMs?: number | undefined;
  /** A custom fetch. Defaults to `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch | undefined;
}

export interface Subscription {
  /** Stops the subscription: closes the connection and cancels any pending reconnect. */
  close(): void;
  /**
   * The id of the last event received (events, `ready` and `reset` alike; ephemeral events
   * have none): resume from it later.
   */
  readonly lastEventId: string | undefined;
  /**
   * Who is in the room, exact at the last event received: set from each `ready`'s
   * snapshot, then kept by joins, leaves and counts. `undefined` for a namespace's stream.
   */
  readonly presence: PresenceTracker | undefined;
  /** Settles when the subscription stops: with the fatal error, or `undefined` after `close()`/abort. */
  readonly closed: Promise<SubscribeError | undefined>;
}

const ROOM_EVENTS = "/api/rooms/{namespace}/{room}/events" satisfies keyof paths;
const NAMESPACE_EVENTS = "/api/rooms/{namespace}/events" satisfies keyof paths;
type StreamQuery = NonNullable<paths[typeof ROOM_EVENTS]["get"]["parameters"]["query"]>;

/** The URL of a room's stream, or of a whole namespace's when `room` is `undefined`. */
export function streamUrl(baseUrl: string, namespace: string, room?: string, types?: readonly EventType[]): string {
  const path = (room === undefined ? NAMESPACE_EVENTS : ROOM_EVENTS)
    .replace("{namespace}", encodeURIComponent(namespace))
    .replace("{room}", encodeURIComponent(room ?? ""));
  const url = new URL(baseUrl.replace(/\/+$/, "") + path);
  if (types?.length) {
    // The spec's `style: form, explode: false`: one comma-separated value.
    const query: StreamQuery = { types: [...types] };
    url.searchParams.set("types", query.types?.join(",") ?? "");
  }
  return url.toString();
}

/**
 * Follows the event stream of room `namespace/room`, or of every room of `namespace` when
 * `room` is `undefined`, with `EventSource` semantics over `fetch` (so it runs in Node 20,
 * which has no `EventSource`, and in browsers): it reconnects whenever the stream ends or
 * fails, after the server's `retry:` hint, sending `Last-Event-ID`, so no event is lost or
 * repeated. A 4xx answer (bad position or `types`) stops it; 5xx and network errors retry.
 */
export function subscribe(
  baseUrl: string,
  namespace: string,
  room: string | undefined,
  options: SubscribeOptions,
): Subscription {
  const url = streamUrl(baseUrl, namespace, room, options.types);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const controller = new AbortController();
  const abort = () => controller.abort();
  options.signal?.addEventListener("abort", abort, { once: true });
  if (options.signal?.aborted) abort();

  let lastEventId = options.lastEventId || undefined;
  let retryMs = options.retryMs ?? 3000;
  // A namespace's stream mixes the presence of all its rooms, without saying which room.
  const presence = room === undefined ? undefined : new PresenceTracker();

  const report = (error: SubscribeError) => options.onError?.(error);
  const guarded = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (cause) {
      report(new SubscribeError(`${what} threw: ${String(cause)}`, false, undefined, undefined, { cause }));
    }
  };

  const dispatch = (message: SseMessage) => {
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch (cause) {
      return report(new SubscribeError(`event ${message.type} has invalid JSON data`, false, undefined, undefined, { cause }));
    }
    const presenceChanged = () => {
      const callback = options.onPresence;
      if (presence && callback) guarded("onPresence", () => callback(presence));
    };
    if (message.type === "ready" || message.type === "reset") {
      const marker = data as StreamMarker;
      if (message.type === "ready" && presence) {
        if (typeof marker.you === "string") presence.you = marker.you;
        if (marker.presence) {
          presence.reset(marker.presence);
          presenceChanged();
        }
      }
      const callback = message.type === "ready" ? options.onReady : options.onReset;
      if (callback) guarded(`on${message.type === "ready" ? "Ready" : "Reset"}`, () => callback(marker));
    } else if (Object.hasOwn(KNOWN, message.type)) {
      const type = message.type as EventType;
      // An ephemeral event carries no id of its own (`lastEventId` is the previous event's).
      const event =
        KNOWN[type] === "ephemeral"
          ? ({ type, data } as EphemeralEvent)
          : ({ type, id: message.lastEventId, data } as ParleyEvent);
      if (presence?.apply(event)) presenceChanged();
      if ("id" in event) guarded("onEvent", () => options.onEvent(event));
      else if (options.onEphemeral) {
        const callback = options.onEphemeral;
        guarded("onEphemeral", () => callback(event));
      }
    }
    // Any other type comes from a newer server: skip it.
  };

  /** One connection; resolves when the stream ends (true: stop for good), throws on failure. */
  const connect = async (): Promise<boolean> => {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
    const response = await fetchImpl(url, { headers, cache: "no-store", signal: controller.signal });
    if (response.status === 204) return true; // the SSE way for a server to say "stop"
    if (!response.ok) throw await httpError(response);
    const contentType = response.headers.get("Content-Type") ?? "";
    if (!contentType.startsWith("text/event-stream") || !response.body) {
      await response.body?.cancel();
      throw new SubscribeError(`expected text/event-stream, got ${contentType || "no body"}`, true, response.status);
    }
    const parser = new SseParser(
      {
        onMessage: dispatch,
        onRetry: (ms) => (retryMs = ms),
        onLastEventId: (id) => (lastEventId = id || undefined),
      },
      lastEventId,
    );
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.push(decoder.decode(value, { stream: true }));
      }
    } finally {
      parser.end();
      reader.releaseLock();
    }
    return false;
  };

  const run = async (): Promise<SubscribeError | undefined> => {
    try {
      while (!controller.signal.aborted) {
        try {
          if (await connect()) return undefined;
        } catch (cause) {
          if (controller.signal.aborted) break;
          const error =
            cause instanceof SubscribeError
              ? cause
              : new SubscribeError(`stream failed: ${String(cause)}`, false, undefined, undefined, { cause });
          report(error);
          if (error.fatal) return error;
        }
        await sleep(retryMs, controller.signal);
      }
      return undefined;
    } finally {
      options.signal?.removeEventListener("abort", abort);
      controller.abort();
    }
  };

  const closed = run();
  return {
    close: abort,
    get lastEventId() {
      return lastEventId;
    },
    presence,
    closed,
  };
}

async function httpError(response: Response): Promise<SubscribeError> {
  const text = await response.text().catch(() => "");
  let problem: Problem | undefined;
  if (/json/.test(response.headers.get("Content-Type") ?? "")) {
    try {
      problem = JSON.parse(text) as Problem;
    } catch {
      problem = undefined;
    }
  }
  // A 4xx will not get better by retrying (bad position, bad types); 5xx and 429 may.
  const fatal = response.status < 500 && response.status !== 429 && response.status !== 408;
  const detail = problem?.detail ?? (text || response.statusText);
  return new SubscribeError(`HTTP ${response.status}: ${detail}`, fatal, response.status, problem);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
