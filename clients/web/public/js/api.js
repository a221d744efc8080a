// The one place that talks HTTP to the Parley API. Requests are same-origin, so the
// HttpOnly `parley_session` cookie authenticates them; the page never sees the token.

/** An error answer from the API (a problem+json document), or a network failure. */
export class ApiError extends Error {
  constructor(status, problem, headers) {
    super(problem?.detail || problem?.title || `request failed (${status})`);
    this.name = 'ApiError';
    this.status = status;
    /** Seconds to wait before trying again (`Retry-After` of a 429 or 503), or null. */
    this.retryAfter = headers?.get('Retry-After') ?? null;
    this.type = problem?.type ?? '';
    this.title = problem?.title ?? '';
    this.detail = problem?.detail ?? '';
    /** `[{field, message}]` for validation problems; empty otherwise. */
    this.fieldErrors = Array.isArray(problem?.errors) ? problem.errors : [];
  }

  /** True when the problem's `type` ends with `code` (`validation`, `conflict`, …). */
  is(code) {
    return this.type === `urn:parley:problem:${code}`;
  }
}

/** Turns any error into a sentence for a person. */
export function describeError(error) {
  if (error instanceof ApiError) {
    if (error.status === 0) return error.detail;
    if (error.status === 401) return 'You are not signed in (or your session has ended). Log in and try again.';
    if (error.status === 503) return 'The server is busy or restarting. Try again in a moment.';
    const text = error.detail || error.title || `The server answered ${error.status}.`;
    return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? '' : '.');
  }
  return error?.message ? `Something went wrong: ${error.message}` : 'Something went wrong.';
}

/**
 * Sends a request to the API. Resolves to `{status, data, headers}` for a 2xx or 304
 * answer, and rejects with an ApiError for anything else. A fetch aborted through
 * `signal` rejects with the AbortError, which callers let pass.
 */
export async function api(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const init = {
    method,
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { Accept: 'application/json, application/problem+json', ...headers },
    signal,
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError(0, {
      title: 'Network error',
      detail: 'Could not reach the server. Check your connection and try again.',
    });
  }
  let data = null;
  const type = response.headers.get('Content-Type') ?? '';
  if (response.status !== 204 && response.status !== 304 && type.includes('json')) {
    try {
      data = await response.json();
    } catch (error) {
      if (error?.name === 'AbortError') throw error;
      throw new ApiError(response.status, {
        title: 'Bad response',
        detail: `the server sent a response that is not valid JSON (status ${response.status})`,
      });
    }
  }
  if (!response.ok && response.status !== 304) {
    const problem = data && typeof data === 'object' ? data : {
      title: response.statusText,
      detail: `the server answered ${response.status} ${response.statusText}`.trim(),
    };
    throw new ApiError(response.status, problem, response.headers);
  }
  return { status: response.status, data, headers: response.headers };
}

/** True for the error a fetch throws when its AbortSignal fires. */
export function isAbort(error) {
  return error?.name === 'AbortError';
}

export const paths = {
  users: '/api/users',
  me: '/api/users/me',
  sessions: '/api/sessions',
  currentSession: '/api/sessions/current',
  notes: '/api/notes',
  note: (key) => `/api/notes/${encodeURIComponent(key)}`,
  messages: (namespace, room) =>
    `/api/rooms/${encodeURIComponent(namespace)}/${encodeURIComponent(room)}/messages`,
  message: (id) => `/api/messages/${encodeURIComponent(id)}`,
  roomEvents: (namespace, room) =>
    `/api/rooms/${encodeURIComponent(namespace)}/${encodeURIComponent(room)}/events`,
  namespaceEvents: (namespace) => `/api/rooms/${encodeURIComponent(namespace)}/events`,
  rooms: (namespace) => `/api/rooms/${encodeURIComponent(namespace)}`,
  typing: (namespace, room) =>
    `/api/rooms/${encodeURIComponent(namespace)}/${encodeURIComponent(room)}/typing`,
};
