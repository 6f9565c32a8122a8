#!/bin/sh
# The kind-style node's entrypoint (PID 1 until it execs systemd). It does, inside the node's own
# mount namespace, what a --privileged container would not need and this machine's Docker cannot give
# (it refuses --privileged: the sandbox lacks CAP_SYS_RESOURCE):
#  1. cgroup v1: Docker mounts each hierarchy read-only and a remount is refused ("mount point is
#     busy"); each is unmounted and mounted again read-write (the container's cgroup namespace keeps
#     it to the node's own subtree).
#  2. The host-wide sysctls the kubelet sets when they differ (vm.overcommit_memory, kernel.panic, ...)
#     would change the whole machine's kernel: each is covered by a read-only file holding the value
#     the kubelet wants, so it reads what it wants and writes nothing.
#  3. The pod network: a bridge CNI configuration over this node's pod range (POD_CIDR).
set -eu

mount -o remount,rw /sys/fs/cgroup
for dir in /sys/fs/cgroup/*; do
  [ -L "$dir" ] && continue
  mountpoint -q "$dir" || continue
  fstype=$(awk -v m="$dir" '$2 == m { print $3 }' /proc/self/mounts)
  opts=$(awk -v m="$dir" '$2 == m { print $4 }' /proc/self/mounts | tr ',' '\n' |
    grep -vE '^(ro|rw|nosuid|nodev|noexec|relatime)$' | paste -sd, -)
  umount "$dir"
  if [ "$fstype" = cgroup2 ]; then
    mount -t cgroup2 -o rw,nosuid,nodev,noexec cgroup2 "$dir"
  else
    mount -t cgroup -o "rw,nosuid,nodev,noexec,$opts" cgroup "$dir"
  fi
done

mkdir -p /kind/sysctl
for setting in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
  kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
  key=${setting%%=*}
  file=/kind/sysctl/$(echo "$key" | tr / .)
  echo "${setting#*=}" >"$file"
  mount --bind "$file" "/proc/sys/$key"
  mount -o remount,bind,ro "/proc/sys/$key"
done

: "${POD_CIDR:?the node needs POD_CIDR, its pod range}"
mkdir -p /etc/cni/net.d
cat >/etc/cni/net.d/10-bridge.conflist <<CNI
{
  "cniVersion": "1.0.0",
  "name": "kind",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CNI

exec /sbin/init "$@"
