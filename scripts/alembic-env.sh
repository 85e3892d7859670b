#!/usr/bin/env bash
# A pinned Alembic in .cache/alembic (git-ignored), for the test that Alembic continues a
# database revisor migrated, and revisor one Alembic migrated. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/.cache/alembic"
pins="alembic==1.20.1 sqlalchemy==2.1.9 psycopg2-binary==2.9.13"
if [[ -x "$venv/bin/alembic" && "$(cat "$venv/.pins" 2>/dev/null)" == "$pins" ]]; then exit 0; fi
command -v python3 >/dev/null || { echo "alembic-env: python3 (>= 3.9) is needed for the Alembic compatibility test" >&2; exit 3; }
rm -rf "$venv"
python3 -m venv "$venv"
# shellcheck disable=SC2086
"$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: $pins
echo "$pins" >"$venv/.pins"
