#!/usr/bin/env bash
# Fails when a committed SDK is stale against the committed spec (fix: clients/generate.sh).
set -euo pipefail
cd "$(dirname "$0")"
bash typescript/check-generated.sh
bash python/check-generated.sh
node web/scripts/event-types.js --check
