export * from "./client.js";
export * from "./subscribe.js";
export { SseParser, type SseHandlers, type SseMessage } from "./sse.js";
