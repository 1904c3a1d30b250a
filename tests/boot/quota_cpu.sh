# quota_cpu.sh: the CPU quota layer, measured from exovmm's own metrics
# ([exovmm] metrics, every 500ms).  Each scenario runs CPU-bound tenants
# (images/programs/burn, or the kernel's spin=) for a few seconds and
# compares each instance's mean share over a window in the middle of the
# run with what its weight and cap entitle it to.  The tolerance is a
# generous SHARE_TOLERANCE of a CPU: the precise figure is a benchmark
# (make bench), not a test.  A tenant entitled to a whole CPU is only held
# to a floor (see whole_cpu).  The scenarios:
#  - weights 1:2:4 on 2 CPUs: 1/3, 2/3 and 1 CPU (one vCPU cannot use two);
#  - the same with a 25% cap on the heaviest: 0.75, 1 and 0.25, and the
#    capped one was parked;
#  - on 1 CPU, a tenant that idles (halted) for 2 s, then spins with
#    interrupts off for 2 s next to a burner of equal weight: halted, it
#    takes nothing and leaves the burner the whole CPU; awake, it gets its
#    half at once (not starved) and the burner keeps the other half (the
#    spinner was parked although it never took an interrupt);
#  - on 1 CPU, a host process spinning on the same CPU as a burner: the
#    burner's waited_s (its vCPU thread's wait for a CPU, which the guest
#    learns as stolen time) grows by about half the time.
# Makefile.inc runs this test after all the others, so no other test
# competes for the CPUs it measures.
. "$(dirname "$0")/lib.sh"
require_backend

SHARE_TOLERANCE=0.1
WHOLE_CPU_FLOOR=0.75
METRICS_INTERVAL=500ms

# scenario CPUS: start a config with metrics on CPUS CPUs.
scenario() {
	begin_config cpus="$1" metrics="$work/metrics.csv" metrics_interval="$METRICS_INTERVAL"
}

# column NAME FROM TO COLUMN: mean of COLUMN over NAME's rows with
# FROM <= time_s <= TO.
column_mean() {
	awk -F, -v n="$1" -v from="$2" -v to="$3" -v c="$4" '
		NR > 1 && $2 == n && $1 >= from && $1 <= to { s += $c; k++ }
		END { if (k) printf "%.4f", s / k; else print "none" }' \
		"$work/metrics.csv"
}

# column_growth NAME FROM TO COLUMN: how much COLUMN (a running total)
# grew in NAME's rows from time FROM to time TO.
column_growth() {
	awk -F, -v n="$1" -v from="$2" -v to="$3" -v c="$4" '
		NR > 1 && $2 == n && $1 <= from { a = $c }
		NR > 1 && $2 == n && $1 <= to { b = $c }
		END { printf "%.4f", b - a }' "$work/metrics.csv"
}

# column_max NAME COLUMN: the largest value of COLUMN in NAME's rows.
column_max() {
	awk -F, -v n="$1" -v c="$2" '
		NR > 1 && $2 == n && $c > m { m = $c }
		END { printf "%.4f", m + 0 }' "$work/metrics.csv"
}

# near NAME GOT WANT: GOT within SHARE_TOLERANCE of WANT.
near() {
	if [ "$2" != none ] && awk -v g="$2" -v w="$3" -v t="$SHARE_TOLERANCE" \
		'BEGIN { d = g - w; exit !(d <= t && d >= -t) }'; then
		pass "$1: $2 of a CPU (want $3)"
	else
		fail "$1: $2 of a CPU, want $3 +- $SHARE_TOLERANCE"
	fi
}

# at_most NAME GOT LIMIT WHAT
at_most() {
	if awk -v g="$2" -v l="$3" 'BEGIN { exit !(g <= l) }'; then
		pass "$1: $4 $2 (at most $3)"
	else
		fail "$1: $4 $2, want at most $3"
	fi
}

# at_least NAME GOT FLOOR WHAT
at_least() {
	if awk -v g="$2" -v f="$3" 'BEGIN { exit !(g >= f) }'; then
		pass "$1: $4 $2 (at least $3)"
	else
		fail "$1: $4 $2, want at least $3"
	fi
}

# whole_cpu NAME GOT: a tenant entitled to a whole CPU.  The layer never
# holds it back, but it gets only what the host schedules its thread,
# which loses some to exovmm's own threads and the host's work for the
# other tenants' parking: a floor, not a band.
whole_cpu() {
	at_least "$1" "$2" "$WHOLE_CPU_FLOOR" "entitled to a whole CPU, got"
}

header_ok() {
	expect_re "$work/metrics.csv" '^time_s,instance,state,cpu_s,share,target,credit_ms,parked_s,weight,cap,memory_mib,exits,memory_used_mib,memory_target_mib,revocations,chunks_released,chunks_taken,waited_s$'
}

echo "=== weights 1:2:4 on 2 CPUs"
scenario 2
instance light weight=1 memory=16M "cmdline=run=burn -- 5"
instance middle weight=2 memory=16M "cmdline=run=burn -- 5"
instance heavy weight=4 memory=16M "cmdline=run=burn -- 5"
run_exovmm_merged
expect_status 0 "three burners"
header_ok
near light "$(column_mean light 1.5 4.5 5)" 0.3333
near middle "$(column_mean middle 1.5 4.5 5)" 0.6667
whole_cpu heavy "$(column_mean heavy 1.5 4.5 5)"
near "light's target" "$(column_mean light 1.5 4.5 6)" 0.3333

echo "=== the same with a 25% cap on the heaviest"
scenario 2
instance light weight=1 memory=16M "cmdline=run=burn -- 5"
instance middle weight=2 memory=16M "cmdline=run=burn -- 5"
instance heavy weight=4 cap=25% memory=16M "cmdline=run=burn -- 5"
run_exovmm_merged
expect_status 0 "three burners, one capped"
near light "$(column_mean light 1.5 4.5 5)" 0.75
whole_cpu middle "$(column_mean middle 1.5 4.5 5)"
near heavy "$(column_mean heavy 1.5 4.5 5)" 0.25
at_most heavy "$(column_mean heavy 1.5 4.5 5)" 0.27 "capped at 25%:"
if awk -v p="$(column_max heavy 8)" 'BEGIN { exit !(p > 1) }'; then
	pass "heavy was parked for $(column_max heavy 8) s"
else
	fail "heavy was parked for only $(column_max heavy 8) s"
fi

echo "=== on 1 CPU: halted, then spinning with interrupts off, next to a burner"
scenario 1
instance burner memory=16M "cmdline=run=burn -- 5"
instance sleeper memory=16M "cmdline=hold=2s spin=2s"
run_exovmm_merged
expect_status 0 "a burner and a sleeper"
near "sleeper, halted" "$(column_mean sleeper 0.75 1.75 5)" 0.0
# Alone, it may lose a little to the sleeper's boot and timer ticks.
at_least burner "$(column_mean burner 0.75 1.75 5)" 0.8 "beside a halted guest:"
at_most sleeper "$(column_growth sleeper 0.75 1.75 8)" 0.05 \
	"halted for a second, parked for (s)"
near "sleeper, spinning" "$(column_mean sleeper 2.75 3.75 5)" 0.5
near "burner, beside it" "$(column_mean burner 2.75 3.75 5)" 0.5

echo "=== on 1 CPU, a host process spinning on it too"
if [ ! -r /proc/self/schedstat ]; then
	echo "# skipped: this kernel keeps no schedstat, so no wait to see"
	finish
fi
# The pool is the first CPU exovmm may run on, which is ours.
pool_cpu=$(awk '$1 == "Cpus_allowed_list:" { split($2, a, /[,-]/); print a[1] }' /proc/self/status)
scenario 1
instance burner memory=16M "cmdline=run=burn -- 4"
timeout "$BOOT_TIMEOUT" taskset -c "$pool_cpu" sh -c 'while :; do :; done' &
helper_pid=$!
run_exovmm_merged
kill "$helper_pid"
wait "$helper_pid" 2>/dev/null || true
helper_pid=
expect_status 0 "a burner beside a host process"
# Sharing the CPU evenly, it waits about half the time: 1 s of these 2.
at_least burner "$(column_growth burner 1 3 18)" 0.5 \
	"waited for the CPU the host process held, over 2 s (s):"
finish
