#!/usr/bin/env bash
# memory.sh: the memory rows of `make bench`.
#
#   revocation: how long exovmm takes to get 64 MiB back from a tenant,
#   and how much memory the host gets back.  Two exovmm processes side by
#   side (revoke_deadline is the whole monitor's), each running one
#   instance of 96 MiB whose wset has touched the frames from memory_min
#   up; once both working sets are in, each target goes 96M -> 32M, one
#   after the other (the first exovmm stopped before the second is
#   measured), and the time runs from `exoctl set` until `exoctl stats`
#   shows 32 MiB granted (looked at every 10 ms):
#     forced:  the kernel ignores the target (memory=ignore) and exovmm
#              takes the chunks after a revoke_deadline of 10 ms: the
#              time includes that deadline;
#     visible: the kernel asks the env, the env gives pages back, whole
#              chunks are released; what the env has not given back at
#              its own deadline (revoke=, VISIBLE_REVOKE) its kernel
#              repossesses.
#   The RSS drop is exovmm's VmRSS just before the set less just after,
#   as a share of the 64 MiB taken; beside it, from /proc/PID/pagemap,
#   the host memory behind the taken chunks before and after (a tenant
#   that touches the memory it keeps raises VmRSS meanwhile).
#   density: N instances of 32 MiB with cmdline hold=DENSITY_HOLD in one
#   exovmm, N from DENSITY_COUNTS in turn (64 is the most one config may
#   have): the first N whose instances all boot, are all up at once and
#   all exit 0, and exovmm's VmRSS / N while they all hold.  It runs while
#   the revocation tenants fault their working sets in (most of the run):
#   none of its figures is a time.
#
# Prints its rows in the table format of exo.sh.  Takes about 95 s.
# EXOVMM, EXOCTL and EXO_IMAGES name the monitor, its client and the
# image directory (defaults: this tree's).
. "$(dirname "$0")/../experiments/lib.sh"

EXO_IMAGES=${EXO_IMAGES:-$here/../images}
FROM_MIB=96          # the revocation tenant's memory
TO_MIB=32            # its target: 64 MiB go
MIN_MIB=32           # its memory_min, the target: every data chunk goes
                     # (its vital frames live below it)
WSET_MIB=66          # its frames fill memory from MIN_MIB up
WSET_SECONDS=600     # outlasts the run: exovmm is stopped at the end
FAULT_IN_WAIT_S=200  # two such working sets fault in side by side
FORCED_DEADLINE=10ms # exovmm's, on the forced path
VISIBLE_DEADLINE=60s # exovmm's, on the visible path: never reached
VISIBLE_REVOKE=10s   # the env's, to answer its kernel
RSS_GOAL_PERCENT=95
DENSITY_MIB=32
DENSITY_COUNTS="64 32 16 8" # the most first
DENSITY_HOLD=30s     # long enough for 64 boots on 2 busy CPUs
KIB_PER_MIB=1024

background_runs

# instance NAME MIB CMDLINE [KEY=VALUE...]: an [instance] section.
instance() {
	printf '[instance %s]\nimage = %s/exo.elf\ninitrd = %s/progs.cpio\nmemory = %sM\ncmdline = %s\n' \
		"$1" "$EXO_IMAGES" "$EXO_IMAGES" "$2" "$3"
	shift 3
	for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
}

row() { printf '%-48s %24s  %s\n' "$@"; } # TITLE FIGURE [GOAL]

# ---- Revocation: the tenants ---------------------------------------------

# start_tenant PATH DEADLINE CMDLINE_WORD: launch exovmm on one revocation
# tenant named PATH; its pid in pid_PATH.
start_tenant() {
	{
		printf '[exovmm]\nrevoke_deadline = %s\n' "$2"
		instance "$1" "$FROM_MIB" "run=wset $3 -- $WSET_MIB $WSET_SECONDS app" "memory_min=${MIN_MIB}M"
	} >"$work/$1.conf"
	launch "$work/$1.log" --control "$work/$1.sock" "$work/$1.conf"
	printf -v "pid_$1" %s "$exovmm_pid"
}

start_tenant forced "$FORCED_DEADLINE" memory=ignore
start_tenant visible "$VISIBLE_DEADLINE" "revoke=$VISIBLE_REVOKE"

# ---- Density, meanwhile ------------------------------------------------------

all_up() { [ "$(grep -c 'exo: nothing to run' "$1")" -ge "$2" ]; } # LOG N

# density N: run N instances holding; true if all were up at once and
# all exited 0; sets density_rss (KiB) to exovmm's VmRSS while all held.
density() {
	local log="$work/density$1.log" n=0 up=0
	: >"$work/density.conf"
	while [ "$n" -lt "$1" ]; do
		instance "d$n" "$DENSITY_MIB" "hold=$DENSITY_HOLD" >>"$work/density.conf"
		n=$((n + 1))
	done
	launch "$log" "$work/density.conf"
	if wait_until "$exovmm_pid" all_up "$log" "$1"; then
		density_rss=$(rss_kib "$exovmm_pid")
		# Up at once: none had ended yet.
		grep -q "exovmm: exited" "$log" || up=1
	fi
	finish "$exovmm_pid" "$log" && [ "$up" -eq 1 ]
}

most=0
for n in $DENSITY_COUNTS; do
	if density "$n"; then
		most=$n
		break
	fi
done

# ---- Revocation: the measurements ----------------------------------------

working_set_in() { grep -q "wset: second 1:" "$1"; } # LOG

# revoke PATH: take the tenant down to TO_MIB and stop it; sets took_PATH
# (seconds), drop_PATH (KiB of VmRSS), held_PATH and kept_PATH (KiB the
# host held behind the taken chunks before and after), chunks_PATH.
revoke() {
	local pid_var="pid_$1" pid before after took
	pid=${!pid_var}
	WAIT_S=$FAULT_IN_WAIT_S wait_until "$pid" working_set_in "$work/$1.log" ||
		die "$1 path: the working set was not in:$(printf '\n'; cat "$work/$1.log")"
	printf -v "held_$1" %s "$(resident_kib "$pid" "$FROM_MIB" "$TO_MIB" "$FROM_MIB")"
	before=$(rss_kib "$pid")
	took=$(retarget "$work/$1.sock" "$1" "$TO_MIB") ||
		die "$1 path: memory did not reach $TO_MIB MiB:$(printf '\n'; cat "$work/$1.log")"
	after=$(rss_kib "$pid")
	printf -v "kept_$1" %s "$(resident_kib "$pid" "$FROM_MIB" "$TO_MIB" "$FROM_MIB")"
	printf -v "took_$1" %s "$took"
	printf -v "drop_$1" %s $((before - after))
	printf -v "chunks_$1" '%s released, %s taken' \
		"$(stat_of "$work/$1.sock" "$1" chunks_released)" "$(stat_of "$work/$1.sock" "$1" chunks_taken)"
	kill -TERM "$pid"
	finish "$pid" "$work/$1.log" || true # stopped: 128 + SIGTERM
}

revoke forced
revoke visible

# ---- Rows ------------------------------------------------------------------

taken_mib=$((FROM_MIB - TO_MIB))
percent() { awk -v part="$1" -v whole="$2" 'BEGIN { printf "%.1f%%", 100 * part / whole }'; }
goal() { awk -v p="${1%\%}" -v g="$RSS_GOAL_PERCENT" 'BEGIN { print ">= " g "%: " (p >= g ? "met" : "MISSED") }'; }

echo
echo "exo benchmarks: memory ($(date -u +%Y-%m-%d), $(nproc) CPUs)"
row "row" "figure" "goal"
for path in forced visible; do
	took_var="took_$path" drop_var="drop_$path" held_var="held_$path" kept_var="kept_$path"
	chunks_var="chunks_$path"
	p=$(percent "${!drop_var}" $((taken_mib * KIB_PER_MIB)))
	row "take back $taken_mib MiB, $path path: time" "${!took_var} s" "(chunks: ${!chunks_var})"
	row "take back $taken_mib MiB, $path path: VmRSS drop" "${!drop_var} KiB, $p" "$(goal "$p")"
	row "  host memory behind the taken chunks" "${!held_var} -> ${!kept_var} KiB" \
		"($(percent $((${!held_var} - ${!kept_var})) "${!held_var}") of it freed)"
done
if [ "$most" -gt 0 ]; then
	row "$DENSITY_MIB MiB instances one exovmm ran (tried ${DENSITY_COUNTS// /, })" "$most"
	row "exovmm VmRSS per instance ($most holding)" "$((density_rss / most)) KiB"
else
	row "$DENSITY_MIB MiB instances one exovmm ran (tried ${DENSITY_COUNTS// /, })" "none"
fi
echo "(forced: the time includes its $FORCED_DEADLINE revoke_deadline; visible: the env's own deadline is $VISIBLE_REVOKE)"
