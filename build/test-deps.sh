#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, if any is missing (run as root).
# Used by .ci/run and by the test setup, so `npm test` works on a fresh machine too.
#   gcc libc6-dev   the static C helper and the tests' ptrace attacker test/support/ptrace-race.c
#                   (cc -static needs libc.a from libc6-dev)
#   clang lld       the built-in policies, C compiled for wasm32 (build/policies.mjs)
#   busybox-static  the root filesystem of test containers
#   util-linux      setpriv, used by a test that runs box as an unprivileged user
#   file            test/integration/binary.test.ts checks the helper is static and stripped
#   python3         test/support/pty-driver.py drives `box run -t` through a real pseudo-terminal
#   tar             builds the test images' root filesystem tarballs
#   docker-registry the reference OCI registry the pull tests run on 127.0.0.1
#   skopeo umoci    build and push the test images to it
#   apache2-utils   htpasswd, for the registry with basic auth
#   openssl         the bearer-token test server's signing key
#   strace          shows that a layer is flushed to disk before it is committed
#   clang-format    checks the helper's C is formatted as .clang-format says (npm run lint:c)
#   iproute2        `ip`, with which network tests make their own namespaces and veths and read the
#                   kernel's view of links, addresses and routes (box itself speaks netlink)
#   nftables        `nft`, with which network tests read box's nftables table back from the kernel
#   zsh fish        the shells `box completion` scripts are loaded into (bash is there already)
#   containerd      containerd and `ctr`, the real client oci-containerd.test.ts runs box-runc under
#                   (the test starts its own daemon on private paths; on a host with systemd the
#                   package also enables the host's own containerd service, which the tests never use)
#   podman          the other real client: oci-podman.test.ts runs `podman --runtime box-runc` (conmon)
#                   on private storage roots
#   docker.io       dockerd, the third: oci-docker.test.ts starts its own daemon (private roots, no
#                   iptables, no bridge) with box-runc added as a runtime (--add-runtime)
set -euo pipefail
APT_PACKAGES=(
  gcc libc6-dev clang lld busybox-static util-linux file python3 tar docker-registry skopeo umoci apache2-utils
  openssl strace clang-format iproute2 nftables zsh fish containerd podman docker.io
)

exec bash "$(dirname "${BASH_SOURCE[0]}")/apt-missing.sh" test-deps "${APT_PACKAGES[@]}"
