// Generated from openapi/openapi.json by clients/web/scripts/event-types.js: do not edit.
// Every event type a stream sends (`event:`), besides the `ready` and `reset` markers.
export const EVENT_TYPES = Object.freeze([
  'note.created',
  'note.updated',
  'note.deleted',
  'message.created',
  'message.updated',
  'message.deleted',
  'presence.joined',
  'presence.left',
  'typing',
  'presence.count'
]);
// The ephemeral ones: sent without `id:`, never stored or replayed.
export const EPHEMERAL_TYPES = Object.freeze([
  'typing',
  'presence.count'
]);
