/**
 * A Server-Sent Events parser, as the HTML standard specifies it
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
 * lines end with CRLF, LF or CR; `:` starts a comment; `data` lines join with "\n";
 * `id` sets the last event id (kept across events, ignored if it contains NUL); `retry`
 * takes ASCII digits only; a blank line dispatches. Feed it decoded text in chunks of any
 * size: a line, or a CRLF, split across two chunks is handled.
 */

/** One dispatched event. `lastEventId` is the id in force when it was dispatched. */
export interface SseMessage {
  type: string;
  data: string;
  lastEventId: string;
}

export interface SseHandlers {
  onMessage(message: SseMessage): void;
  onRetry?(ms: number): void;
  onComment?(text: string): void;
  /** The last event id changed (an event was dispatched after an `id:` field). */
  onLastEventId?(id: string): void;
}

export class SseParser {
  #pending = "";
  #skipLeadingLF = false;
  #first = true;
  #data: string[] = [];
  #type = "";
  #idBuffer: string;
  #lastEventId: string;

  constructor(
    private readonly handlers: SseHandlers,
    lastEventId = "",
  ) {
    this.#idBuffer = lastEventId;
    this.#lastEventId = lastEventId;
  }

  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** Feeds decoded text. Complete lines are processed at once; a partial one waits. */
  push(text: string): void {
    if (this.#first && text.length > 0) {
      this.#first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.#skipLeadingLF && text.startsWith("\n")) text = text.slice(1);
    this.#skipLeadingLF = false;
    const buf = this.#pending + text;
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      this.#line(buf.slice(start, i));
      if (c === 0x0d) {
        if (i + 1 === buf.length) this.#skipLeadingLF = true;
        else if (buf.charCodeAt(i + 1) === 0x0a) i++;
      }
      start = i + 1;
    }
    this.#pending = buf.slice(start);
  }

  /** The stream ended: an event without its blank line is discarded, as the standard says. */
  end(): void {
    this.#pending = "";
    this.#data = [];
    this.#type = "";
    this.#skipLeadingLF = false;
  }

  #line(line: string): void {
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) return this.handlers.onComment?.(line.slice(1).replace(/^ /, ""));
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.#type = value;
        break;
      case "data":
        this.#data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.#idBuffer = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      // Any other field is ignored.
    }
  }

  #dispatch(): void {
    if (this.#lastEventId !== this.#idBuffer) {
      this.#lastEventId = this.#idBuffer;
      this.handlers.onLastEventId?.(this.#lastEventId);
    }
    const data = this.#data;
    const type = this.#type;
    this.#data = [];
    this.#type = "";
    if (data.length === 0) return;
    this.handlers.onMessage({ type: type || "message", data: data.join("\n"), lastEventId: this.#lastEventId });
  }
}
