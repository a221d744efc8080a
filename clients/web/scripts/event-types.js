// Writes public/js/event-types.js, the page's list of event types, from the spec's
// `EventType` (openapi/openapi.json), which the server derives from its event contract;
// the ephemeral ones are those whose `StreamEvent` schema has no `id` (never stored).
// `node scripts/event-types.js --check` fails instead when the committed file differs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(fs.readFileSync(path.join(here, '../../../openapi/openapi.json'), 'utf8'));
const target = path.join(here, '../public/js/event-types.js');

const schemas = spec.components.schemas;
const types = schemas.EventType.enum;
const mapping = schemas.StreamEvent.discriminator.mapping;
const ephemeral = types.filter((type) => {
  const schema = schemas[mapping[type].split('/').pop()];
  return !schema.required.includes('id');
});
const list = (values) => JSON.stringify(values, null, 2).replaceAll('"', "'");
const text = `// Generated from openapi/openapi.json by clients/web/scripts/event-types.js: do not edit.
// Every event type a stream sends (\`event:\`), besides the \`ready\` and \`reset\` markers.
export const EVENT_TYPES = Object.freeze(${list(types)});
// The ephemeral ones: sent without \`id:\`, never stored or replayed.
export const EPHEMERAL_TYPES = Object.freeze(${list(ephemeral)});
`;

if (process.argv.includes('--check')) {
  if (fs.readFileSync(target, 'utf8') !== text) {
    console.error('clients/web/public/js/event-types.js is stale: run clients/generate.sh');
    process.exit(1);
  }
  console.log('clients/web/public/js/event-types.js matches openapi/openapi.json');
} else {
  fs.writeFileSync(target, text);
}
