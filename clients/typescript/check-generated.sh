#!/usr/bin/env bash
# Fails when src/schema.d.ts is not what openapi/openapi.json generates.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source ./ensure-deps.sh
ensure_node_modules
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node_modules/.bin/openapi-typescript ../../openapi/openapi.json -o "$tmp/schema.d.ts" > /dev/null
if ! cmp -s "$tmp/schema.d.ts" src/schema.d.ts; then
  diff -u src/schema.d.ts "$tmp/schema.d.ts" | head -40 >&2 || true
  echo "error: clients/typescript/src/schema.d.ts is out of date with openapi/openapi.json;" \
    "run clients/typescript/generate.sh and commit the result" >&2
  exit 1
fi
echo "clients/typescript/src/schema.d.ts matches openapi/openapi.json"
