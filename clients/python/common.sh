# Sourced by generate.sh, check-generated.sh and run-tests.sh: makes .venv (if missing)
# with the pinned tools of requirements-dev.txt, and puts it first on PATH (the generator
# runs `ruff` from PATH).
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "clients/python needs Python 3.11 or newer (set PYTHON=/path/to/python3.x)" >&2
    exit 1
  fi
  "$python" -m venv .venv
fi
export PATH="$PWD/.venv/bin:$PATH" PIP_DISABLE_PIP_VERSION_CHECK=1
pip install -q -r requirements-dev.txt

# generate DIR: the client for ../../openapi/openapi.json, written to DIR. DIR is removed
# first: the generator's --overwrite alone replaces only api/ and models/, and would keep
# files that a newer generator or spec no longer writes.
generate() {
  rm -rf "$1"
  openapi-python-client generate --path ../../openapi/openapi.json --config config.yml \
    --meta setup --output-path "$1" --overwrite --fail-on-warning
}
