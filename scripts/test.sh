#!/usr/bin/env bash
# The one test command (README: npm test): build, static checks, the test cluster's
# binaries (built once, then cached), then every test tier: unit, integration, end-to-end.
set -euo pipefail
cd "$(dirname "$0")/.."
node --version | grep -q '^v2[4-9]\.' || { echo "npm test needs the pinned Node 24 (run it through npm: npm test)" >&2; exit 3; }
npm run --silent build
npm run --silent typecheck
npm run --silent lint
bash scripts/kube-assets.sh
bash scripts/test-deps.sh
npx vitest run
