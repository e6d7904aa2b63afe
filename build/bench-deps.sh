#!/usr/bin/env bash
# Installs the Debian packages `npm run bench` measures box against, if any is missing (run as
# root); called by `npm run bench` before the build.
#   runc crun       the OCI runtimes box-runc's lifecycle is timed beside (test/bench/oci.mjs) and
#                   the run latency's peers (start-latency.mjs)
#   buildah         the daemonless builder `box build` is measured against (test/bench/build.mjs)
#   podman          podman run --rm with box-runc and with runc as its runtime, and podman's own runs
#   busybox-static  the root filesystem of the benchmarks' containers
set -euo pipefail
APT_PACKAGES=(runc crun buildah podman busybox-static)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "bench-deps: missing Debian packages ${missing[*]}: install them as root" >&2
  exit 1
fi
echo "bench-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
