#!/usr/bin/env bash
# Runs the test suite (or the vitest arguments given) on Node 24, the Lambda runtime's major version,
# installed from the npm registry into .cache/ by scripts/node24.sh. Nothing global changes: Node 24 is put
# first on PATH for this command only, so vitest and every `node`/process.execPath it spawns are Node 24.
#   npm run test:node24                       the whole suite
#   npm run test:node24 -- test/unit          some of it
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node24=$("$root/scripts/node24.sh")
export PATH="$(dirname "$node24"):$PATH"
echo "test:node24: $(node --version) ($(command -v node))" >&2
cd "$root"
exec node node_modules/vitest/vitest.mjs run "$@"
