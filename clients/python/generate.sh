#!/usr/bin/env bash
# Regenerates parley-client/ (the `parley_client` package) from the committed OpenAPI
# document. The directory is replaced whole, so nothing hand-written lives in it (the SSE
# helper is parley_events/). Running it twice in a row changes nothing.
set -euo pipefail
cd "$(dirname "$0")"
source ./common.sh
generate parley-client
