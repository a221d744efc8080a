#!/usr/bin/env bash
# Regenerates every SDK from the committed spec, openapi/openapi.json. Run it after
# `cargo run -- openapi > openapi/openapi.json` whenever the API changes.
set -euo pipefail
cd "$(dirname "$0")"
bash typescript/generate.sh
bash python/generate.sh
node web/scripts/event-types.js
