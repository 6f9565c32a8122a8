#!/usr/bin/env bash
# Brings up the local multi-cluster playground: 3 clusters (west, east, north) on 127.0.0.1, linked
# by Linkerd's service mirror, globalsvc in each, a demo StatefulSet exported from every cluster;
# prints the globals, their members and DNS answers, and stays up until Ctrl-C.
# Works from a fresh clone (Node 24, dependencies and the upstream binaries are brought on the way).
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/node.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
bash hack/build-binaries.sh
npm run --silent build
exec node dist/e2e/playground.js "$@"
