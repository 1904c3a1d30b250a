#!/usr/bin/env bash
# policy.sh: the revocation-policy experiment, one command:
#
#   bash experiments/policy.sh [OUTDIR]      (default: doc/)
#
# Runs exovmm on experiments/policy.conf: the guest program exp_policy
# (images/programs/exp_policy.c says what it does) runs the same
# working-set program under two library OS configurations side by side,
# the default clock policy and the application's own, through three
# phases of memory quota: full, pressure, restored.  Writes
# OUTDIR/policy.csv (one row per pass: policy, phase, pass number, faults,
# microseconds) and, when gnuplot is installed, OUTDIR/policy.png (faults
# per pass over the run); prints the summary table.  EXOVMM names the
# monitor (default: vmm/exovmm of this tree).
. "$(dirname "$0")/lib.sh"
log=$(mktemp "${TMPDIR:-/tmp}/exo-policy.XXXXXX")
trap 'rm -f "$log"' EXIT

if ! "$exovmm" "$here/policy.conf" >"$log" 2>&1 ||
	! grep -q '^\[policy\] exo: env [0-9]* (exp_policy) exited 0$' "$log"; then
	echo "policy.sh: the experiment failed:" >&2
	cat "$log" >&2
	exit 1
fi

# "[policy] pass POLICY PHASE FAULTS US" -> policy,phase,pass,faults,us
awk 'BEGIN { print "policy,phase,pass,faults,us" }
	$2 == "pass" { n[$3]++; print $3 "," $4 "," n[$3] "," $5 "," $6 }' \
	"$log" >"$out/policy.csv"

echo "policy  phase     passes  faults/pass  ms/pass"
awk '$2 == "summary" { printf "%-7s %-9s %6s  %11s  %7.1f\n", $3, $4, $5, $6, $7 / 1000 }' "$log"

if have_gnuplot; then
	gnuplot <<-PLOT
	set terminal png size 800,450
	set output "$out/policy.png"
	set datafile separator ","
	set title "Page faults per pass: the default policy against the application's"
	set xlabel "pass (full, then pressure, then restored quota)"
	set ylabel "faults per pass (pages paged in)"
	set key top right
	plot "< grep '^clock' $out/policy.csv" using 3:4 with linespoints title "clock (default)", \
	     "< grep '^app' $out/policy.csv" using 3:4 with linespoints title "application's policy"
	PLOT
	echo "policy.sh: wrote $out/policy.csv and $out/policy.png"
else
	echo "policy.sh: wrote $out/policy.csv"
fi
