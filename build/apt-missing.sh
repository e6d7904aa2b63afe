#!/usr/bin/env bash
# apt-missing.sh WHO PACKAGE...: installs those of the Debian packages that are missing (as root);
# the shared body of test-deps.sh and bench-deps.sh, WHO naming the caller in its messages.
set -euo pipefail
who=$1
shift
missing=()
for p in "$@"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "$who: missing Debian packages ${missing[*]}: install them as root" >&2
  exit 1
fi
echo "$who: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
