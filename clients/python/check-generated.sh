#!/usr/bin/env bash
# Fails when parley-client/ differs from what the committed OpenAPI document generates.
set -euo pipefail
cd "$(dirname "$0")"
source ./common.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generate "$tmp/parley-client" >/dev/null
ignored=(--exclude=__pycache__ --exclude='*.egg-info' --exclude=build --exclude=.ruff_cache)
if ! diff -ru "${ignored[@]}" parley-client "$tmp/parley-client"; then
  echo "clients/python/parley-client is stale: run clients/python/generate.sh" >&2
  exit 1
fi
echo "clients/python/parley-client matches openapi/openapi.json"
