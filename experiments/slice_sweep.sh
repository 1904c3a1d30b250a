#!/usr/bin/env bash
# slice_sweep.sh: experiment (d), the exokernel's slice length against its
# cost, one command:
#
#   bash experiments/slice_sweep.sh [OUTDIR]      (default: doc/)
#
# For each slice length in SLICES, one instance runs two CPU-bound envs
# (`slice=S run=burn,burn`): boot envs hold every other slot of the slice
# vector, so the CPU changes env at every slice.  Measured:
#  - throughput: burn loops (both envs) per second of the vCPU thread's
#    CPU time (exovmm's cpu_s), so that CPU the host gives to others does
#    not count; overhead = the throughput lost against the longest slice,
#    in percent.
#  - latency: how long a runnable env waits for the CPU between two of its
#    slices: one slice period of the other env (its slice and the switch),
#    taken as wall time per slice started, from the kernel's count of
#    timer interrupts (`exo: ticks N`: one per slice once envs run).
# Each figure is the difference between a SHORT_S and a LONG_S run (burn
# runs for that many seconds of wall time), so boot and exit cancel;
# REPEATS rounds over all slices, interleaved, averaged; a run during
# which the rest of the host was busy is run again.  Writes
# OUTDIR/slice_sweep.csv (slice_ms, loops_per_cpu_s, overhead_percent,
# latency_ms, others_cpus: the most the rest of the host used during a
# run, spread_percent: of the throughput between rounds),
# plots overhead and latency against the slice to OUTDIR/slice_sweep.png
# when gnuplot is installed, prints the table and the slice the rule
# picks: the shortest whose overhead is under OVERHEAD_GOAL percent.
# Takes about 3 minutes; run it on an otherwise idle machine.  Where
# throughput moves by a percent or more from run to run (a shared or
# virtual host), one sweep does not settle a 1% rule: compare several
# (doc/BENCHMARKS.md, "Issue 5: slice length").  EXOVMM names the monitor
# (default: vmm/exovmm of this tree).
. "$(dirname "$0")/lib.sh"

SLICES="1 2 5 10 20 50 100" # ms, the longest last
SHORT_S=2
LONG_S=8
REPEATS=2
OVERHEAD_GOAL=1		    # percent
OTHERS_MAX=0.1		    # CPUs others may use during a run
RETRIES=3
RETRY_WAIT=10		    # s
work=$(mktemp -d "${TMPDIR:-/tmp}/exo-slice.XXXXXX")
trap 'rm -rf "$work"' EXIT

. "$(dirname "$0")/host.sh" # host_busy

# One run: SLICE ms, burn for SECONDS; prints "LOOPS CPU_S TICKS OTHERS":
# burn loops of both envs, the vCPU thread's CPU seconds, the kernel's
# timer interrupts, and the CPUs the rest of the host used meanwhile
# (busy time beyond the vCPU's, over the wall time).  A run during which
# others used more than OTHERS_MAX CPUs is run again, up to RETRIES times.
run() { # SLICE SECONDS
	local busy start try=0
	cat >"$work/run.conf" <<-EOF
	[instance sweep]
	image = $here/../images/exo.elf
	initrd = $here/../images/progs.cpio
	memory = 16M
	cmdline = slice=${1}ms run=burn,burn -- $2
	EOF
	while :; do
		busy=$(host_busy)
		start=$(date +%s.%N)
		if ! "$exovmm" --metrics "$work/run.csv" "$work/run.conf" >"$work/run.out" 2>&1 ||
			[ "$(grep -c '^\[sweep\] exo: env [0-9]* (burn) exited 0$' "$work/run.out")" -ne 2 ]; then
			echo "$experiment: slice=${1}ms, ${2} s failed:" >&2
			cat "$work/run.out" >&2
			exit 1
		fi
		awk -v busy="$(awk -v a="$busy" -v b="$(host_busy)" 'BEGIN { print b - a }')" \
			-v wall="$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" '
			FILENAME ~ /csv$/ { if (FNR > 1) cpu = $4; next }
			$2 == "burn:" && $4 == "loops" && $5 == "in" { loops += $3 }
			$2 == "exo:" && $3 == "ticks" { ticks = $4 }
			END { printf "%d %s %d %.3f\n", loops, cpu, ticks, (busy - cpu) / wall }' \
			FS=, "$work/run.csv" FS=' ' "$work/run.out" >"$work/run.figures"
		try=$((try + 1))
		if [ "$try" -gt "$RETRIES" ] ||
			awk -v max="$OTHERS_MAX" '{ exit !($4 <= max) }' "$work/run.figures"; then
			break
		fi
		echo "$experiment: others used $(cut -d' ' -f4 "$work/run.figures") CPUs meanwhile: again" >&2
		sleep "$RETRY_WAIT"
	done
	cat "$work/run.figures"
}

round=1
while [ "$round" -le "$REPEATS" ]; do
	for slice in $SLICES; do
		echo "$experiment: round $round of $REPEATS, slice ${slice}ms" >&2
		short=$(run "$slice" "$SHORT_S")
		long=$(run "$slice" "$LONG_S")
		echo "$slice $short $long" >>"$work/raw"
	done
	round=$((round + 1))
done

# Per slice, over the rounds: throughput and its spread (max - min, in
# percent of the mean), latency, the most CPUs others used; then overhead
# against the longest slice (the last line).
awk -v dt="$((LONG_S - SHORT_S))" '
	{
		s = $1
		if (!(s in n)) order[++m] = s
		n[s]++
		t = ($6 - $2) / ($7 - $3)
		tp[s] += t
		if (!(s in lo) || t < lo[s]) lo[s] = t
		if (!(s in hi) || t > hi[s]) hi[s] = t
		lat[s] += dt * 1000 / ($8 - $4)
		o = $5 > $9 ? $5 : $9
		if (o > others[s]) others[s] = o
	}
	END {
		print "slice_ms,loops_per_cpu_s,overhead_percent,latency_ms,others_cpus,spread_percent"
		ref = tp[order[m]] / n[order[m]]
		for (i = 1; i <= m; i++) {
			s = order[i]; t = tp[s] / n[s]
			printf "%s,%.0f,%.2f,%.2f,%.2f,%.2f\n", s, t, 100 * (1 - t / ref),
				lat[s] / n[s], others[s], 100 * (hi[s] - lo[s]) / t
		}
	}' "$work/raw" >"$out/slice_sweep.csv"

printf '%9s %16s %10s %12s %9s %14s\n' "slice" "loops/CPU-s" "overhead" "latency" "spread" "others (CPUs)"
awk -F, 'NR > 1 { printf "%6s ms %16s %9s%% %9s ms %8s%% %14s\n", $1, $2, $3, $4, $6, $5 }' "$out/slice_sweep.csv"
# The switch itself, from the shortest slice: wall time per slice beyond
# the slice (the timer interrupt to the next slice's timer).
awk -F, 'NR == 2 { printf "a switch takes about %.2f ms of wall time (latency - slice at %s ms)\n", $4 - $1, $1 }' \
	"$out/slice_sweep.csv"
if awk -F, -v max="$OTHERS_MAX" 'NR > 1 && $5 > max { busy = 1 } END { exit !busy }' "$out/slice_sweep.csv"; then
	echo "$experiment: other processes used over $OTHERS_MAX CPU during some runs: the figures are suspect" >&2
fi
chosen=$(awk -F, -v goal="$OVERHEAD_GOAL" 'NR > 1 && $3 < goal { print $1; exit }' "$out/slice_sweep.csv")
echo "the rule on this sweep (the shortest slice with overhead under ${OVERHEAD_GOAL}%): ${chosen}ms"

if have_gnuplot; then
	gnuplot <<-PLOT
	set terminal png size 800,450
	set output "$out/slice_sweep.png"
	set datafile separator ","
	set title "Slice length: overhead against latency (two burn envs, one instance)"
	set logscale x
	set logscale y2
	set xlabel "slice length (ms)"
	set ylabel "overhead: throughput lost against the longest (%)"
	set y2label "latency: wait between an env's slices (ms)"
	set ytics nomirror
	set y2tics
	set key top center
	set arrow from $chosen, graph 0 to $chosen, graph 1 nohead lc rgb "gray50"
	set label "the rule on this sweep: ${chosen} ms" at $chosen, graph 0.75 right offset -0.5, 0
	# Error bars: half the spread between rounds, either way.
	plot "$out/slice_sweep.csv" every ::1 using 1:3:(\$6 / 2) with yerrorlines lw 2 title "overhead", \
	     "$out/slice_sweep.csv" every ::1 using 1:4 axes x1y2 with linespoints lw 2 title "latency", \
	     $OVERHEAD_GOAL with lines lc rgb "gray50" title "${OVERHEAD_GOAL}% overhead"
	PLOT
	echo "$experiment: wrote $out/slice_sweep.csv and $out/slice_sweep.png"
else
	echo "$experiment: wrote $out/slice_sweep.csv"
fi
