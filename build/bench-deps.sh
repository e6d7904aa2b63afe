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

exec bash "$(dirname "${BASH_SOURCE[0]}")/apt-missing.sh" bench-deps "${APT_PACKAGES[@]}"
