#!/usr/bin/env bash
# Builds the kind-style test bed's images with no registry: everything from Debian's packages and our
# own Go builds, cached by what they are built from (docker save into the cache, docker load on reuse).
#
#   globalsvc.local/kind-node:<k8s>-<key>   the node (hack/kind/node/Dockerfile), with preloaded:
#     globalsvc.local/{kube-apiserver,kube-controller-manager,kube-scheduler}:v<k8s>  our binaries
#     globalsvc.local/etcd:<etcd>, globalsvc.local/coredns:v<coredns>                  our binaries
#     globalsvc.local/pause:3.10.1       pause.c from Kubernetes' own source (build/pause), gcc -static
#     globalsvc.local/workload:1         Debian's busybox-static (sh, nslookup, nc, httpd, wget)
#
# <key> is a hash of the versions, this script and hack/kind/node/: change any and the node is built
# again. Needs root and a Docker engine (hack/kind/dockerd.sh starts one), debootstrap, gcc and Go.
# Prints each step's time. The last line is the node image's name.
set -euo pipefail
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../bin-paths.sh
. "$HACK/bin-paths.sh"

DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PAUSE_VERSION=3.10.1
NODE_PACKAGES=systemd,systemd-sysv,dbus,containerd,runc,containernetworking-plugins,iproute2,iptables,conntrack,ethtool,socat,kmod,ca-certificates,procps,util-linux,mount,dnsutils
REPO=globalsvc.local
IMAGE_CACHE="$GLOBALSVC_CACHE/images"

log() { echo "[kind-images $(date +%H:%M:%S)] $*" >&2; }
step() { # step <what> <command...>: runs it and prints how long it took
  local what="$1" start; shift
  start=$(date +%s)
  "$@"
  log "$what: $(( $(date +%s) - start ))s"
}

for tool in docker debootstrap gcc go; do
  command -v "$tool" >/dev/null || { echo "hack/kind/build-images.sh needs $tool (apt-get install docker.io debootstrap gcc)" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "no Docker engine answers: start one with hack/kind/dockerd.sh start" >&2; exit 1; }

KEY="$( (echo "$K8S_VERSION $ETCD_VERSION $COREDNS_VERSION $PAUSE_VERSION $DEBIAN_SUITE $NODE_PACKAGES"
  cat "${BASH_SOURCE[0]}"; find "$HACK/kind/node" -type f | sort | xargs cat) | sha256sum | cut -c1-12)"
NODE_IMAGE="$REPO/kind-node:v$K8S_VERSION-$KEY"
NODE_TAR="$IMAGE_CACHE/kind-node-v$K8S_VERSION-$KEY.tar"
total=$(date +%s)

if docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
  log "$NODE_IMAGE: already in the engine"
  echo "$NODE_IMAGE"
  exit 0
fi
if [ -f "$NODE_TAR" ]; then
  step "docker load $NODE_TAR" docker load -q -i "$NODE_TAR"
  echo "$NODE_IMAGE"
  exit 0
fi

log "building $NODE_IMAGE"
bash "$HACK/build-binaries.sh" kubernetes etcd coredns kubernetes-node >/dev/null
mkdir -p "$IMAGE_CACHE"
work="$(mktemp -d "$IMAGE_CACHE/.build-$KEY.XXXXXX")" && chmod 755 "$work" # apt-get download runs as _apt
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/context/bin" "$work/context/images"

# image <name:tag> <dir> <entrypoint json>: a one-layer image of <dir>.
image() {
  tar -C "$2" --numeric-owner --owner=0 --group=0 -cf - . |
    docker import -c "ENTRYPOINT $3" -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$1" >/dev/null
}

# The Debian root filesystem, cached by suite and package list (debootstrap takes a minute or two).
ROOTFS_TAR="$IMAGE_CACHE/rootfs-$DEBIAN_SUITE-$(echo "$NODE_PACKAGES" | sha256sum | cut -c1-12).tar"
if [ ! -f "$ROOTFS_TAR" ]; then
  started=$(date +%s)
  debootstrap --variant=minbase --include="$NODE_PACKAGES" "$DEBIAN_SUITE" "$work/rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  log "debootstrap $DEBIAN_SUITE: $(( $(date +%s) - started ))s"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" --numeric-owner -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$work/rootfs"
fi
BASE="$REPO/kind-base:$KEY"
step "docker import of the root filesystem" docker import "$ROOTFS_TAR" "$BASE" >/dev/null

# The images preloaded into the node's containerd.
one() { mkdir -p "$work/$1/usr/local/bin" "$work/$1/tmp" && cp "$2" "$work/$1/usr/local/bin/"; }
build_images() {
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    one "$b" "$KUBERNETES_BIN_DIR/$b" && image "$REPO/$b:v$K8S_VERSION" "$work/$b" "[\"/usr/local/bin/$b\"]"
  done
  one etcd "$ETCD" && image "$REPO/etcd:$ETCD_VERSION" "$work/etcd" '["/usr/local/bin/etcd"]'
  mkdir -p "$work/coredns" && cp "$COREDNS" "$work/coredns/coredns" && image "$REPO/coredns:v$COREDNS_VERSION" "$work/coredns" '["/coredns"]'
  # pause: Kubernetes' own (build/pause/linux/pause.c in the k8s.io/kubernetes module we build from).
  local src
  src="$(cd "$HACK/go/kubernetes" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"
  mkdir -p "$work/pause" && gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-globalsvc" -o "$work/pause/pause" "$src"
  image "$REPO/pause:$PAUSE_VERSION" "$work/pause" '["/pause"]'
  # The workload: Debian's busybox-static, its applets linked in /bin.
  (cd "$work" && apt-get download -q busybox-static >/dev/null) && dpkg -x "$work"/busybox-static_*.deb "$work/busybox"
  mkdir -p "$work/workload/bin" "$work/workload/tmp" "$work/workload/etc" && cp "$work/busybox/bin/busybox" "$work/workload/bin/"
  local applet
  for applet in $("$work/workload/bin/busybox" --list); do [ "$applet" = busybox ] || ln -s busybox "$work/workload/bin/$applet"; done
  echo 'root:x:0:0:root:/:/bin/sh' >"$work/workload/etc/passwd"
  image "$REPO/workload:1" "$work/workload" '["/bin/sh"]'
  docker save -o "$work/context/images/images.tar" \
    "$REPO/kube-apiserver:v$K8S_VERSION" "$REPO/kube-controller-manager:v$K8S_VERSION" "$REPO/kube-scheduler:v$K8S_VERSION" \
    "$REPO/etcd:$ETCD_VERSION" "$REPO/coredns:v$COREDNS_VERSION" "$REPO/pause:$PAUSE_VERSION" "$REPO/workload:1"
}
step "control-plane, pause and workload images" build_images

cp "$KUBERNETES_NODE_BIN_DIR"/{kubelet,kubeadm,kube-proxy} "$KUBECTL" "$work/context/bin/"
cp "$HACK"/kind/node/* "$work/context/"
step "docker build of the node" env DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$BASE" -t "$NODE_IMAGE" "$work/context" >/dev/null
step "docker save into $NODE_TAR" docker save -o "$NODE_TAR.tmp" "$NODE_IMAGE"
mv "$NODE_TAR.tmp" "$NODE_TAR"
log "$NODE_IMAGE built in $(( $(date +%s) - total ))s"
echo "$NODE_IMAGE"
