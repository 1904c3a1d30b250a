#!/usr/bin/env bash
# memory_target.sh: experiment (c), a tenant whose memory target is halved
# and restored, one command:
#
#   bash experiments/memory_target.sh [OUTDIR]      (default: doc/)
#
# The tenant runs wset (images/programs/wset.c) over 12 MiB with the
# application's own revocation policy, in 32 MiB.  Once its working set
# is in (FULL_SECONDS whole seconds of passes without a fault), the script
# halves its target with `exoctl set NAME memory=16M`, holds it HOLD_S,
# restores 32M, and lets the tenant run to its end.  Twice, one exovmm
# after the other:
#   visible  (memory_target.conf): the kernel asks the env, the env's
#            policy picks the pages to give back, the kernel returns whole
#            chunks; exovmm waits 10 s before it would take any itself;
#   forced   (memory_target_forced.conf): the kernel ignores the target
#            (memory=ignore), exovmm takes the chunks by force after
#            100 ms and the kernel repossesses their frames from the env.
# Two runs, not two instances of one exovmm: revoke_deadline belongs to
# the whole monitor, and the two paths need different ones.
#
# Owns OUTDIR/memory_target.csv, one row per sample:
#   run               visible or forced
#   kind              wset (the tenant's line for one second), metrics
#                     (exovmm's sample, every 500 ms) or set (an
#                     `exoctl set` of the memory target)
#   time_s            seconds since exovmm started: for wset, the end of
#                     the tenant's second (its env's start line plus the
#                     second's number); for metrics, exovmm's time_s; for
#                     set, just before exoctl ran
#   passes, faults, pages
#                     wset: passes over the region that second (each is
#                     counted in the second it began in, so a pass that
#                     lasts several seconds shows once, and the fault-in as
#                     second 1), pages its pager made again, pages mapped
#   memory_mib, memory_target_mib, memory_used_mib, revocations,
#   chunks_released, chunks_taken
#                     metrics: exovmm's columns of those names
#                     (exovmm.conf(5)); set: memory_target_mib, the target
#   reached_s         set: seconds until exoctl showed the target granted
#                     (looked at every 10 ms)
# Empty fields do not apply to the row's kind.  Also OUTDIR/memory_target.png
# when gnuplot is installed (passes and faults per second, memory granted
# and target; one panel a run), and prints per run and phase (the
# FULL_SECONDS before halving, halved, restored) the mean passes and faults
# per second and the time the target took, then the console lines of
# what was taken without asking.  Takes about 80 s.  EXOVMM
# names the monitor (default: vmm/exovmm of this tree), EXOCTL its client.
. "$(dirname "$0")/lib.sh"

RUNS="visible:memory_target.conf forced:memory_target_forced.conf"
FULL_MIB=32       # the tenant's memory, as in the configs
HALF_MIB=16       # its target while halved
FULL_SECONDS=3    # whole seconds without a fault before halving
HOLD_S=10         # how long the target stays halved
RESTORED_MIN_S=8  # seconds the tenant must still run once restored
COLUMNS="run,kind,time_s,passes,faults,pages,memory_mib,memory_target_mib,memory_used_mib,revocations,chunks_released,chunks_taken,reached_s"
csv=$out/memory_target.csv

background_runs

# Whether the tenant's last FULL_SECONDS + 1 lines all made passes without
# a fault (the first of them may end the fault-in).
working_set_in() { # LOG
	awk -v want=$((FULL_SECONDS + 1)) '$3 == "wset:" && $4 == "second" {
			n = ($7 > 0 && $9 == 0) ? n + 1 : 0 }
		END { exit n < want }' "$1"
}

# The tenant's lines of LOG and exovmm's METRICS as rows of the CSV.
rows() { # RUN LOG METRICS
	awk -v run="$1" '$3 == "exo:" && $4 == "env" && $6 == "(wset):" && start == "" { start = $1 }
		$3 == "wset:" && $4 == "second" {
			printf "%s,wset,%.3f,%s,%s,%s,,,,,,,\n", run, start + $5, $7, $9, $11 }' "$2"
	awk -F, -v run="$1" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{ printf "%s,metrics,%s,,,,%s,%s,%s,%s,%s,%s,\n", run, $col["time_s"],
			$col["memory_mib"], $col["memory_target_mib"], $col["memory_used_mib"],
			$col["revocations"], $col["chunks_released"], $col["chunks_taken"] }' "$3"
}

set_row() { echo "$1,set,$2,,,,,$3,,,,,$4"; } # RUN TIME MIB REACHED

run_one() { # RUN CONF
	local run=$1 log="$work/$1.log" sock="$work/$1.sock" t_half took_half t_full took_full
	launch "$log" --control "$sock" --metrics "$work/$run.csv" "$here/$2"
	wait_until "$exovmm_pid" working_set_in "$log" ||
		die "$run: the working set was not in within ${WAIT_S}s:$(printf '\n'; cat "$log")"
	t_half=$(since_launch)
	took_half=$(retarget "$sock" "$run" "$HALF_MIB") ||
		die "$run: memory did not reach ${HALF_MIB} MiB within ${WAIT_S}s"
	sleep "$(awk -v hold="$HOLD_S" -v took="$took_half" 'BEGIN { print (hold > took ? hold - took : 0) }')"
	t_full=$(since_launch)
	took_full=$(retarget "$sock" "$run" "$FULL_MIB") ||
		die "$run: memory did not reach ${FULL_MIB} MiB within ${WAIT_S}s"
	if ! finish "$exovmm_pid" "$log" ||
		! grep -qE "\[$run\] exo: env [0-9]+ \(wset\) exited 0$" "$log"; then
		die "$run: the tenant failed:$(printf '\n'; cat "$log")"
	fi
	rows "$run" "$log" "$work/$run.csv" >>"$csv"
	# What the kernel and exovmm took without asking, when.
	awk -v run="$run" '/deadline passed|by force/ { t = $1; $1 = ""; printf "%-8s %7.3f s%s\n", run, t, $0 }' \
		"$log" >>"$work/events"
	set_row "$run" "$t_half" "$HALF_MIB" "$took_half" >>"$csv"
	set_row "$run" "$t_full" "$FULL_MIB" "$took_full" >>"$csv"
}

echo "$COLUMNS" >"$csv"
: >"$work/events"
for r in $RUNS; do
	run_one "${r%%:*}" "${r#*:}"
done

# Per run and phase, from the CSV: the FULL_SECONDS before the halving,
# the seconds that ended while halved, and those after the restore.
awk -F, -v full="$FULL_SECONDS" -v restored_min="$RESTORED_MIN_S" '
	NR == 1 { next }
	!($1 in seen) { seen[$1] = 1; order[nrun++] = $1 }
	$2 == "set" { k = nset[$1]++; at[$1, k] = $3; mib[$1, k] = $8; took[$1, k] = $13 }
	$2 == "wset" { n = nw[$1]++; t[$1, n] = $3; p[$1, n] = $4; f[$1, n] = $5 }
	$2 == "metrics" { rel[$1] = $11; taken[$1] = $12 }
	function add(r, ph, i) { secs[r, ph]++; sp[r, ph] += p[r, i]; sf[r, ph] += f[r, i] }
	function line(r, ph, reached) {
		printf "%-8s %-9s %7d %9.1f %9.1f  %s\n", r, ph, secs[r, ph],
			sp[r, ph] / secs[r, ph], sf[r, ph] / secs[r, ph], reached }
	END {
		printf "%-8s %-9s %7s %9s %9s  %s\n", "run", "phase", "seconds",
			"passes/s", "faults/s", "target reached in"
		for (j = 0; j < nrun; j++) {
			r = order[j]
			last = -1
			for (i = 0; i < nw[r]; i++) {
				if (t[r, i] <= at[r, 0]) last = i
				else if (t[r, i] <= at[r, 1]) add(r, "halved", i)
				else add(r, "restored", i)
			}
			for (i = last - full + 1; i <= last; i++) add(r, "full", i)
			line(r, "full", "-")
			line(r, "halved", sprintf("%.3f s (%d MiB)", took[r, 0], mib[r, 0]))
			line(r, "restored", sprintf("%.3f s (%d MiB)", took[r, 1], mib[r, 1]))
			printf "%-8s chunks released %d, taken by force %d\n", r, rel[r], taken[r]
			if (secs[r, "restored"] < restored_min)
				printf "%-8s warning: only %d s after the restore (the fault-in was slow)\n",
					r, secs[r, "restored"]
		}
	}' "$csv"
echo "taken without asking (seconds since exovmm started):"
cat "$work/events"

if have_gnuplot; then
	gnuplot <<-PLOT
	set terminal png size 900,800
	set output "$out/memory_target.png"
	set datafile separator ","
	set multiplot layout 2,1 title "wset (12 MiB, application's policy): memory target 32 -> 16 -> 32 MiB"
	set xlabel "time (s)"
	set ylabel "per second"
	set y2label "MiB"
	set yrange [0:*]
	set y2range [0:$((FULL_MIB + 4))]
	set ytics nomirror
	set y2tics
	set key below horizontal
	do for [r in "visible forced"] {
		set title sprintf("%s path", r)
		plot "< grep '^".r.",wset,' $csv" using (\$3 - 1):4 with steps lw 2 title "passes/s", \
		     "" using (\$3 - 1):5 with steps lw 2 title "faults/s", \
		     "< grep '^".r.",metrics,' $csv" using 3:7 axes x1y2 with steps lw 2 title "granted", \
		     "" using 3:9 axes x1y2 with steps title "in use", \
		     "" using 3:8 axes x1y2 with steps dt 2 title "target"
	}
	unset multiplot
	PLOT
	echo "$experiment: wrote $csv and $out/memory_target.png"
else
	echo "$experiment: wrote $csv"
fi
