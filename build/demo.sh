#!/usr/bin/env bash
# `npm run demo`: builds a tiny image locally (one static program, no registry, no network) and
# runs a container from it with the freshly built dist/box, in a temporary storage root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "demo: box creates namespaces and cgroups: run the demo as root" >&2
  exit 1
fi
work=$(mktemp -d /tmp/box-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export BOX_ROOT="$work/root"
# The demo's containers run with --network none: a bridge network would add a Linux bridge and an
# nftables table to the host that would outlive the temporary storage root.

mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev"
cc -static -Os -s -o "$work/rootfs/bin/hello" build/demo/hello.c
tar --numeric-owner --owner=0 --group=0 -C "$work/rootfs" -czf "$work/demo.tar.gz" .

echo "\$ box import demo.tar.gz demo --change 'CMD [\"/bin/hello\"]'"
./dist/box import "$work/demo.tar.gz" demo --change 'CMD ["/bin/hello"]'
echo "\$ box images"
./dist/box images
echo "\$ box run --rm --network none --hostname demo --memory 64m --pids-limit 32 demo"
./dist/box run --rm --network none --hostname demo --memory 64m --pids-limit 32 demo
echo "\$ box run --rm --network none --policy strict --privileged demo   # an admission policy refuses it"
./dist/box run --rm --network none --policy strict --privileged demo || echo "(exit $?: refused, nothing was created)"
echo "\$ box run --rm --network none --policy baseline demo              # another one admits it, setting limits"
./dist/box run --rm --network none --policy baseline demo
echo "\$ box policy log"
./dist/box policy log
