# lib.sh: shared by the experiment scripts.  Sourced, not run.
#
# Sets `here` (this directory), `out` (the output directory: the script's
# first argument, default doc/ of this tree) and `exovmm` (the monitor:
# $EXOVMM, default vmm/exovmm of this tree), and stops with a message if
# the monitor is not built or KVM is not usable.  `experiment` names the
# script in messages.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
experiment=$(basename "$0")
out=${1:-$here/../doc}
exovmm=${EXOVMM:-$here/../vmm/exovmm}

[ -x "$exovmm" ] || { echo "$experiment: no monitor at $exovmm (build first, or set EXOVMM)" >&2; exit 1; }
[ -w /dev/kvm ] || { echo "$experiment: /dev/kvm is not usable" >&2; exit 1; }
mkdir -p "$out"

# have_gnuplot: whether plots can be drawn (else say so once).
have_gnuplot() {
	command -v gnuplot >/dev/null && return 0
	echo "$experiment: no gnuplot: no plots"
	return 1
}
