#!/usr/bin/env bash
# Lays out the runtime image in DEST from a built tree (npm run build): the bundled CLI, the
# embedded chain, the modules the chain imports, and production dependencies only (no
# embedded PostgreSQL: the image always connects to a real database). The Dockerfile runs
# this script, and the tests run it too, so the layout they check is the one that ships.
set -euo pipefail
dest=${1:?usage: stage-image.sh DEST}
here=$(cd "$(dirname "$0")/.." && pwd)
[[ -f "$here/dist/cli/revisor/main.js" ]] || { echo "stage-image: run npm run build first" >&2; exit 3; }
rm -rf "$dest"
mkdir -p "$dest/dist"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
cp -r "$here/bin" "$dest/bin"
cp -r "$here/dist/cli" "$here/dist/migrations" "$here/dist/src" "$dest/dist/"
find "$dest/dist" \( -name '*.map' -o -name '*.d.ts' \) -delete
(cd "$dest" && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error)
rm "$dest/package-lock.json"
