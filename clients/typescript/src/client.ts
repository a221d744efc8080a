import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** Every schema of the OpenAPI document, by name. */
export type Schemas = components["schemas"];
export type Note = Schemas["Note"];
export type NoteSummary = Schemas["NoteSummary"];
export type NotePage = Schemas["NotePage"];
export type CreateNote = Schemas["CreateNote"];
export type UpdateNote = Schemas["UpdateNote"];
export type DeletedNote = Schemas["DeletedNote"];
export type Message = Schemas["Message"];
export type MessageBody = Schemas["MessageBody"];
export type MessagePage = Schemas["MessagePage"];
export type DeletedMessage = Schemas["DeletedMessage"];
export type StreamMarker = Schemas["StreamMarker"];
export type PresenceJoined = Schemas["PresenceJoined"];
export type PresenceLeft = Schemas["PresenceLeft"];
export type PresenceCount = Schemas["PresenceCount"];
export type PresenceMember = Schemas["PresenceMember"];
export type PresenceSnapshot = Schemas["PresenceSnapshot"];
export type Typing = Schemas["Typing"];
export type RoomSummary = Schemas["RoomSummary"];
export type RoomPage = Schemas["RoomPage"];
export type EventType = Schemas["EventType"];
export type User = Schemas["User"];
export type Credentials = Schemas["Credentials"];
export type Session = Schemas["Session"];
export type Problem = Schemas["Problem"];
export type FieldError = Schemas["FieldError"];
export type Health = Schemas["Health"];

/** A typed `openapi-fetch` client for every path of the Parley API. */
export type ParleyClient = Client<paths>;

export interface ParleyClientOptions {
  /** A session token (`token` from `POST /api/sessions`), sent as `Authorization: Bearer …`. */
  token?: string | undefined;
  /** A custom fetch, e.g. for tests or a proxy. Defaults to `globalThis.fetch`. */
  fetch?: ((input: Request) => Promise<Response>) | undefined;
}

/** Adds `Authorization: Bearer <token>` to every request that does not set its own. */
export function bearerAuth(token: string): Middleware {
  return {
    onRequest({ request }) {
      if (!request.headers.has("Authorization")) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
}

/**
 * A client for the Parley server at `baseUrl` (e.g. `http://127.0.0.1:8080`, without `/api`).
 * Paths, parameters, bodies, responses and `Problem` errors are all typed from the spec:
 * `await client.GET("/api/notes/{key}", { params: { path: { key } } })`.
 */
export function createParleyClient(baseUrl: string, options: ParleyClientOptions = {}): ParleyClient {
  const client = createClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ""),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  if (options.token !== undefined) client.use(bearerAuth(options.token));
  return client;
}
