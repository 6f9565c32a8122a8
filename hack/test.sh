#!/usr/bin/env bash
# Runs every test: lint, unit tests, then the e2e suite on the local multi-cluster test bed.
# Works from a fresh clone: brings Node 24, installs the locked dependencies, builds the pinned
# upstream binaries into their cache (reused when present), builds the product, and ends with
# one summary line: "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/node.sh

started=$(date +%s)
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
bash hack/build-binaries.sh
if ! command -v prometheus >/dev/null 2>&1; then
  # Bursting's e2e reads a real Prometheus: Debian's package (not started as a service).
  echo "== installing Debian's prometheus"
  as_root=""
  [ "$(id -u)" -eq 0 ] || as_root=sudo
  $as_root apt-get install -y --no-install-recommends prometheus >/dev/null ||
    { $as_root apt-get update >/dev/null && $as_root apt-get install -y --no-install-recommends prometheus >/dev/null; }
fi
echo "== lint"
npm run --silent lint
echo "== audit (production dependencies)"
bash hack/audit.sh
echo "== build"
npm run --silent build

mkdir -p .testbed && rm -f .testbed/unit.json .testbed/e2e.json
status=0
echo "== unit tests"
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json=.testbed/unit.json || status=$?
echo "== e2e tests (real clusters on 127.0.0.1)"
npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json=.testbed/e2e.json "$@" || status=$?

node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of [".testbed/unit.json", ".testbed/e2e.json"]) {
    if (!fs.existsSync(f)) { failed++; console.log(`${f}: no report (the run did not finish)`); continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    // A file that failed with no failed test (an import error, a failed hook) counts once; a file whose
    // tests failed is already counted by them.
    const brokenFiles = r.testResults.filter((t) => t.status === "failed" && !t.assertionResults.some((a) => a.status === "failed")).length;
    passed += r.numPassedTests; failed += r.numFailedTests + brokenFiles; skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`took ${Math.round((Date.now() / 1000 - '"$started"'))} s`);
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
'
exit $status
