#!/usr/bin/env bash
# cpu_shares.sh: the CPU quota experiments, one command:
#
#   bash experiments/cpu_shares.sh [OUTDIR]      (default: doc/)
#
# (a) cpu_weights.conf: three CPU-bound tenants with weights 1:2:4 on 2
#     CPUs.  One vCPU can use at most one CPU, so the targets are 1/3, 2/3
#     and 1 CPU.
# (b) cpu_cap.conf: the same with a 25% cap on the heaviest: 0.75, 1 and
#     0.25.
# Each runs 20 s with exovmm writing its metrics to OUTDIR/cpu_NAME.csv
# (columns in exovmm.conf(5)).  The script prints, per tenant, the mean
# share it got over the steady middle of the run against its target and
# the error in CPUs, and plots share and target over time to
# OUTDIR/cpu_NAME.png when gnuplot is installed.  For accurate figures run
# it on an otherwise idle machine: the layer shares the CPUs it is given,
# and another busy process takes from all tenants.  EXOVMM names the
# monitor (default: vmm/exovmm of this tree).
. "$(dirname "$0")/lib.sh"

STEADY_FROM=2  # s: past the boots
STEADY_TO=18   # s: before the first tenant ends

run_one() {
	local name=$1 csv="$out/cpu_$1.csv" log
	log=$(mktemp "${TMPDIR:-/tmp}/exo-cpu.XXXXXX")
	if ! "$exovmm" --metrics "$csv" "$here/cpu_$name.conf" >"$log" 2>&1; then
		echo "$experiment: cpu_$name.conf failed:" >&2
		cat "$log" >&2
		rm -f "$log"
		exit 1
	fi
	rm -f "$log"
	echo "== cpu_$name: mean over ${STEADY_FROM}-${STEADY_TO} s"
	awk -F, -v from="$STEADY_FROM" -v to="$STEADY_TO" '
		NR > 1 && $1 >= from && $1 <= to && $3 != "ended" {
			if (!($2 in k)) order[n++] = $2
			share[$2] += $5; target[$2] += $6; k[$2]++
		}
		END {
			printf "%-8s %7s %7s %7s\n", "tenant", "share", "target", "error"
			for (i = 0; i < n; i++) {
				t = order[i]
				printf "%-8s %7.4f %7.4f %+7.4f\n", t, share[t] / k[t],
					target[t] / k[t], (share[t] - target[t]) / k[t]
			}
		}' "$csv"
	if have_gnuplot; then
		gnuplot <<-PLOT
		set terminal png size 800,450
		set output "$out/cpu_$name.png"
		set datafile separator ","
		set title "CPU share per tenant (cpu_$name.conf, 2 CPUs)" noenhanced
		set xlabel "time (s)"
		set ylabel "CPUs"
		set yrange [0:1.2]
		set key outside right
		plot for [t in "light middle heavy"] \
			"< grep ',' $csv | grep ',".t.",'" using 1:5 with lines lw 2 title t, \
		     for [t in "light middle heavy"] \
			"< grep ',' $csv | grep ',".t.",'" using 1:6 with lines dt 2 title t." target"
		PLOT
		echo "$experiment: wrote $csv and $out/cpu_$name.png"
	else
		echo "$experiment: wrote $csv"
	fi
}

run_one weights
run_one cap
