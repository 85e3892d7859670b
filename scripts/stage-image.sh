#!/usr/bin/env bash
# Lays out the runtime image in DEST from a built tree (npm run build): the bundled CLI, the
# embedded chain, the modules the chain imports, and the few packages the bundle does not
# contain (no embedded PostgreSQL: the image always connects to a real database). The Dockerfile runs
# this script, and the tests run it too, so the layout they check is the one that ships.
set -euo pipefail
dest=${1:?usage: stage-image.sh DEST}
here=$(cd "$(dirname "$0")/.." && pwd)
[[ -f "$here/dist/cli/revisor/main.js" ]] || { echo "stage-image: run npm run build first" >&2; exit 3; }
rm -rf "$dest"
mkdir -p "$dest/dist"
cp -r "$here/bin" "$dest/bin"
cp -r "$here/dist/cli" "$here/dist/migrations" "$here/dist/src" "$dest/dist/"
find "$dest/dist" \( -name '*.map' -o -name '*.d.ts' \) -delete
# Only the packages the bundle leaves outside (rolldown.config.mjs "external", and pino,
# which src/log/logger.ts loads with the first log line): the rest (client-node, pg, zod,
# prom-client) is inside dist/cli already, and a second copy in node_modules would only add
# to the image. Their versions, and those of everything they pull in, come from the
# lockfile; npm ci cannot install a subset of it, npm install can.
node -e '
  const pkg = require(process.argv[1]);
  const runtime = ["@opentelemetry/api", "@opentelemetry/exporter-trace-otlp-http", "@opentelemetry/resources",
    "@opentelemetry/sdk-trace", "libpg-query", "node-fetch", "pino"];
  const dependencies = Object.fromEntries(runtime.map((name) => {
    if (!pkg.dependencies[name]) throw new Error(`stage-image: ${name} is not a dependency`);
    return [name, pkg.dependencies[name]];
  }));
  const { name, version, description, license, type, bin, exports, engines } = pkg;
  process.stdout.write(JSON.stringify({ name, version, description, license, type, bin, exports, engines, dependencies }, null, 2));
' "$here/package.json" >"$dest/package.json"
cp "$here/package-lock.json" "$dest/"
(cd "$dest" && npm install --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error)
rm "$dest/package-lock.json"
# The embedded chain never changes inside the image: a sealed index lets every init
# container's no-op at head skip reading it (src/migrator/chain/index-file.ts).
node "$dest/bin/revisor.js" index --seal --migrations "$dest/dist/migrations" >/dev/null
