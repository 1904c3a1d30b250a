#!/usr/bin/env bash
# install-deps.sh: install what building and testing exo needs on Debian 12
# (bookworm).  Runs apt-get as root, through sudo when not root.
set -euo pipefail

packages=(
	build-essential autoconf automake libtool pkg-config
	linux-libc-dev libinih-dev check cpio
	qemu-system-x86 valgrind
	gnuplot-nox
	libunicorn-dev
)

# Unicorn 2.1 (the backend for hosts without /dev/kvm) is in Debian 13
# (trixie); bookworm's 2.0 cannot run a paging kernel.  Trixie's archive
# is added with every package pinned below bookworm's, except Unicorn's
# two, which need nothing newer than bookworm's libc.
trixie_sources=/etc/apt/sources.list.d/exo-trixie.sources
trixie_pin=/etc/apt/preferences.d/exo-unicorn
write_trixie_source() {
	cat <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
}
write_trixie_pin() {
	cat <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100

Package: libunicorn2t64 libunicorn-dev
Pin: release n=trixie
Pin-Priority: 990
PIN
}

as_root=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps.sh: run as root (no sudo here)" >&2; exit 1; }
	as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
write_trixie_source | "${as_root[@]}" tee "$trixie_sources" >/dev/null
write_trixie_pin | "${as_root[@]}" tee "$trixie_pin" >/dev/null
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps.sh: installed ${packages[*]}"
