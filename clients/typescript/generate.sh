#!/usr/bin/env bash
# Regenerates src/schema.d.ts from the committed spec, openapi/openapi.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source ./ensure-deps.sh
ensure_node_modules
npm run --silent generate
