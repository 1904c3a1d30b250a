# lib.sh: shared by the experiment scripts (and bench/memory.sh).
# Sourced, not run.
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

# ---- exovmm in the background, and its memory ---------------------------
# Shared by memory_target.sh and bench/memory.sh.  `exoctl` is the control
# client ($EXOCTL, default: beside the monitor).  Times are seconds with
# three decimals, from bash's $EPOCHREALTIME: no process is started to
# read the clock, so a stamp costs microseconds.
exoctl=${EXOCTL:-$(dirname "$exovmm")/exoctl}
POLL_S=0.01           # how often a waiting helper looks again
WAIT_S=60             # the longest any helper waits for anything
STAMP_END="-- end --" # stamp's last line, once the console has closed

die() {
	echo "$experiment: $*" >&2
	exit 1
}

# The clock in microseconds.
now_us() { echo "${EPOCHREALTIME//[.,]/}"; }

# Microseconds as seconds with three decimals.
seconds() { printf '%d.%03d' $(($1 / 1000000)) $(($1 / 1000 % 1000)); }

# When a wait that starts now gives up (WAIT_S on), and whether that
# time is past.
give_up_at() { echo $(($(now_us) + WAIT_S * 1000000)); }
past() { [ "${EPOCHREALTIME//[.,]/}" -ge "$1" ]; }

# Seconds since launch (below) started exovmm.
since_launch() { seconds $(($(now_us) - launch_us)); }

# background_runs: make `work` (a private directory, removed at exit) and
# stop at exit every exovmm that launch started and that still runs.
background_runs() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/exo-$experiment.XXXXXX")
	launched=""
	trap 'for p in $launched; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
}

# stamp T0_US: copy standard input, each line prefixed with the seconds
# since T0_US (when each line came), then STAMP_END.
stamp() {
	local line
	while IFS= read -r line; do
		printf '%s %s\n' "$(seconds $((${EPOCHREALTIME//[.,]/} - $1)))" "$line"
	done
	echo "$STAMP_END"
}

# launch LOG ARGS...: start exovmm ARGS in the background, its console
# (standard output and error) stamped into LOG; sets exovmm_pid and
# launch_us (when it started).
launch() {
	local log=$1
	shift
	launch_us=$(now_us)
	"$exovmm" "$@" > >(stamp "$launch_us" >"$log") 2>&1 &
	exovmm_pid=$!
	launched="$launched $exovmm_pid"
}

# finish PID LOG: wait for the exovmm PID that launch started, then for
# its LOG to be complete; returns exovmm's exit status.
finish() {
	local status=0 until_us
	wait "$1" || status=$?
	until_us=$(give_up_at)
	until grep -qxF -- "$STAMP_END" "$2" || past "$until_us"; do
		sleep "$POLL_S"
	done
	return "$status"
}

# wait_until PID COMMAND...: wait until COMMAND succeeds; false if exovmm
# PID ended or WAIT_S passed first.
wait_until() {
	local pid=$1 until_us
	shift
	until_us=$(give_up_at)
	until "$@"; do
		kill -0 "$pid" 2>/dev/null && ! past "$until_us" || return 1
		sleep "$POLL_S"
	done
}

# stat_of SOCKET NAME KEY: KEY's value in `exoctl stats NAME`.
stat_of() {
	"$exoctl" -s "$1" stats "$2" | tr ' ' '\n' | sed -n "s/^$3=//p"
}

# retarget SOCKET NAME MIB: set NAME's memory target to MIB MiB and wait
# until exoctl shows that much granted; prints the seconds from just
# before the set to the look that saw it.  False if exovmm refused or
# ended, or after WAIT_S.
retarget() {
	local t0 got until_us
	t0=$(now_us)
	until_us=$((t0 + WAIT_S * 1000000))
	"$exoctl" -s "$1" set "$2" "memory=$3M" >/dev/null || return 1
	while got=$(stat_of "$1" "$2" memory_mib) && [ "$got" != "$3" ]; do
		! past "$until_us" || return 1
		sleep "$POLL_S"
	done
	[ "$got" = "$3" ] || return 1
	seconds $(($(now_us) - t0))
}

# rss_kib PID: the resident memory of process PID, in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# resident_kib PID SIZE_MIB FROM_MIB TO_MIB: of the guest RAM of exovmm
# PID (its read-write mapping of exactly SIZE_MIB), how much of guest
# memory [FROM_MIB, TO_MIB) the host holds, in KiB: the pages whose
# /proc/PID/pagemap entry has the present bit (63, the top hex digit 8-f).
PAGE_SHIFT=12
MIB_SHIFT=20
PAGEMAP_ENTRY=8 # bytes
resident_kib() {
	local range perms rest start="" first pages
	while read -r range perms rest; do
		if [ "$perms" = rw-p ] && [ $((16#${range#*-} - 16#${range%-*})) -eq $(($2 << MIB_SHIFT)) ]; then
			start=$((16#${range%-*}))
			break
		fi
	done <"/proc/$1/maps"
	[ -n "$start" ] || return 1
	first=$(((start >> PAGE_SHIFT) + ($3 << (MIB_SHIFT - PAGE_SHIFT))))
	pages=$((($4 - $3) << (MIB_SHIFT - PAGE_SHIFT)))
	dd if="/proc/$1/pagemap" bs=64K iflag=skip_bytes,count_bytes status=none \
		skip=$((first * PAGEMAP_ENTRY)) count=$((pages * PAGEMAP_ENTRY)) |
		od -An -v -tx8 -w8 |
		awk -v kib=$((1 << (PAGE_SHIFT - 10))) '$1 ~ /^[89a-f]/ { n++ } END { print n * kib }'
}
