export * from "./client.js";
export * from "./subscribe.js";
export * from "./presence.js";
export { SseParser, type SseHandlers, type SseMessage } from "./sse.js";
