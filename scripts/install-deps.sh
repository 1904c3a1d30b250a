#!/usr/bin/env bash
# install-deps.sh: install what building and testing exo needs on Debian 12
# (bookworm).  Runs apt-get as root, through sudo when not root.
set -euo pipefail

packages=(
	build-essential autoconf automake libtool pkg-config
	linux-libc-dev libinih-dev check cpio
	qemu-system-x86 valgrind
	gnuplot-nox
)

as_root=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps.sh: run as root (no sudo here)" >&2; exit 1; }
	as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps.sh: installed ${packages[*]}"
