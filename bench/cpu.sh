# cpu.sh: the CPU quota layer rows of `make bench`.
#
#   share accuracy: four CPU-bound tenants (images/programs/burn) with
#   weights 1:1:2:4 on `cpus = 2`, metrics every 500ms; then the same with
#   a 25% cap on the heaviest.  For each tenant, the share it got over
#   every WINDOW-second window of the steady part of the run (windows
#   sliding by one metrics interval, shares from the cpu_s column) against
#   the share its weight and cap entitle it to; a row shows the window
#   where |share - target| was worst, and a last row the worst tenant.
#   Then the worst tenant against its part of what the tenants got
#   together (the CPU the host left them), which is the layer's own
#   accuracy: the host's use of the CPUs is not the layer's to hand out.
#   scheduler overhead: the CPU that exovmm's threads other than the vCPU
#   threads (the quota layer's, mostly) used over the steady
#   part of each run, as a fraction of one CPU, from utime+stime in
#   /proc/PID/task/TID/stat (so to 1/CLK_TCK s a thread).  The threads
#   are unnamed: a vCPU thread is told by its CPU time, which is its
#   instance's cpu_s in the metrics (within MATCH_SLACK).  Beside it, how
#   often those threads woke (voluntary context switches: the quota
#   layer's ticks, mostly) and the CPU per wake-up.
#   others on the host: what the host's CPUs did over the same span
#   (/proc/stat) beyond the exovmm process; a run during which others
#   used more than OTHERS_MAX is run again, up to RETRIES times, and shows
#   as suspect if they still did.  Then how much of the host's CPUs sat
#   idle meanwhile, which the tenants wanted.
# Goals: every share within GOAL of a CPU of its target; the overhead
# under GOAL of a CPU.  Prints its rows in the table format of exo.sh.
# Takes about 40 s.  EXOVMM and EXO_IMAGES name the monitor and the image
# directory.
set -eu

BURN_SECONDS=16
CPUS=2
METRICS_INTERVAL=500ms
WINDOW=10	# s: the window a share is measured over
STEADY_FROM=2	# s: past the boots
STEADY_TO=15	# s: before the first tenant ends
GOAL=0.01	# CPUs
MATCH_SLACK=1	# s of CPU
OTHERS_MAX=0.1	# CPUs the rest of the host may use during a run
RETRIES=2
RETRY_WAIT=10	# s
# Each run: "NAME WEIGHT CAP TARGET" per tenant, cap in percent (0: none),
# target the share in CPUs (2 CPUs by weight, none above one CPU or its
# cap, what a cap leaves shared among the rest by weight).
WEIGHTS="a 1 0 0.25
b 1 0 0.25
c 2 0 0.5
d 4 0 1"
CAPS="a 1 0 0.4375
b 1 0 0.4375
c 2 0 0.875
d 4 25 0.25"

work=$(mktemp -d "${TMPDIR:-/tmp}/exo-bench.XXXXXX")
exovmm_pid=
trap '[ -z "$exovmm_pid" ] || kill "$exovmm_pid" 2>/dev/null; rm -rf "$work"' EXIT
. "$(dirname "$0")/../experiments/host.sh"
hz=$host_hz

if [ ! -w /dev/kvm ]; then
	echo "bench: /dev/kvm is not usable; no CPU quota rows" >&2
	exit 0
fi

# The config of a run whose tenants SPEC lists.
config() { # SPEC
	printf '[exovmm]\ncpus = %s\nmetrics_interval = %s\n' "$CPUS" "$METRICS_INTERVAL"
	echo "$1" | while read -r name weight cap target; do
		printf '\n[instance %s]\nimage = %s/exo.elf\ninitrd = %s/progs.cpio\n' \
			"$name" "$EXO_IMAGES" "$EXO_IMAGES"
		printf 'memory = 16M\nweight = %s\ncap = %s%%\ncmdline = run=burn -- %s\n' \
			"$weight" "$cap" "$BURN_SECONDS"
	done
}

# "TID SECONDS WAKEUPS" for each thread of process PID: its CPU time and
# its voluntary context switches (waits it woke from) so far.
thread_times() { # PID
	for task in /proc/"$1"/task/*; do
		awk -v hz="$hz" -v tid="${task##*/}" '
			FILENAME ~ /stat$/ { sub(/^.*\) /, ""); cpu = ($12 + $13) / hz }
			$1 == "voluntary_ctxt_switches:" { wakeups = $2 }
			END { print tid, cpu, wakeups }' "$task/stat" "$task/status" 2>/dev/null || true
	done
}

# Seconds since the epoch, to the nanosecond.
now() { date +%s.%N; }

# Sleep until SECONDS after START (both from now()).
sleep_until() { # START SECONDS
	delay=$(awk -v s="$1" -v d="$2" -v n="$(now)" 'BEGIN { d = s + d - n; print (d > 0 ? d : 0) }')
	sleep "$delay"
}

# Run the tenants of SPEC under NAME; leaves NAME.csv (metrics), NAME.out
# (consoles), NAME.overhead (CPUs used by exovmm's own threads over the
# steady part, or "n/a: why") and NAME.others (CPUs the rest of the host
# used meanwhile, and CPUs left idle).
run() { # NAME SPEC
	config "$2" >"$work/$1.conf"
	start=$(now)
	"$EXOVMM" --metrics "$work/$1.csv" "$work/$1.conf" >"$work/$1.out" 2>&1 &
	exovmm_pid=$!
	sleep_until "$start" "$STEADY_FROM"
	t1=$(now)
	busy1=$(host_busy)
	thread_times "$exovmm_pid" >"$work/$1.t1"
	sleep_until "$start" "$STEADY_TO"
	t2=$(now)
	busy2=$(host_busy)
	thread_times "$exovmm_pid" >"$work/$1.t2"
	# The latest cpu_s of each instance, read after the threads' times.
	awk -F, 'NR > 1 { cpu[$2] = $4 } END { for (n in cpu) print n, cpu[n] }' \
		"$work/$1.csv" >"$work/$1.cpu"
	status=0
	wait "$exovmm_pid" || status=$?
	exovmm_pid=
	if [ "$status" -ne 0 ]; then
		echo "bench: the CPU quota run $1 failed (status $status):" >&2
		cat "$work/$1.out" >&2
		exit 1
	fi
	echo "$busy1 $busy2" | awk -v t1="$t1" -v t2="$t2" '
		FILENAME == "-" { busy = $3 - $1; idle = $4 - $2; next }
		FILENAME ~ /\.t1$/ { before[$1] = $2; next }
		{ process += $2 - before[$1] }
		END { printf "%.4f %.4f\n", (busy - process) / (t2 - t1), idle / (t2 - t1) }' \
		- "$work/$1.t1" "$work/$1.t2" >"$work/$1.others"
	# A thread whose time at t2 is an instance's cpu_s is that
	# instance's vCPU thread; the rest are exovmm's own.
	awk -v t1="$t1" -v t2="$t2" -v slack="$MATCH_SLACK" -v tenants="$(echo "$2" | wc -l)" '
		FILENAME ~ /\.cpu$/ { cpu[++n] = $2; next }
		FILENAME ~ /\.t1$/ { before[$1] = $2; woke[$1] = $3; next }
		{
			vcpu = 0
			for (i = 1; i <= n; i++)
				if ($2 >= cpu[i] - slack && $2 <= cpu[i] + slack)
					vcpu = 1
			if (vcpu) {
				vcpus++
			} else {
				own += $2 - before[$1]
				wakeups += $3 - woke[$1]
			}
		}
		END {
			if (vcpus != tenants)
				printf "n/a: %d threads look like vCPUs, not %d\n", vcpus, tenants
			else
				printf "%.4f %.0f %.0f\n", own / (t2 - t1), wakeups / (t2 - t1),
					wakeups ? own * 1e6 / wakeups : 0
		}' "$work/$1.cpu" "$work/$1.t1" "$work/$1.t2" >"$work/$1.overhead"
}

# Run NAME as run() does, again (up to RETRIES times) while the rest of
# the host used more than OTHERS_MAX CPUs meanwhile: the shares would be
# theirs to explain, not the layer's.
measure() { # NAME SPEC
	try=0
	run "$1" "$2"
	while [ "$try" -lt "$RETRIES" ] &&
		awk -v max="$OTHERS_MAX" '{ exit !($1 > max) }' "$work/$1.others"; do
		echo "bench: others used $(cat "$work/$1.others") CPUs during the CPU quota run $1: again" >&2
		try=$((try + 1))
		sleep "$RETRY_WAIT"
		run "$1" "$2"
	done
}

# "NAME SHARE TARGET ERROR FAIR_ERROR" for each tenant of SPEC in run
# NAME: over every WINDOW-second window between STEADY_FROM and STEADY_TO,
# the share from the growth of cpu_s against the target; the window of
# the largest |error|.  FAIR_ERROR is the largest |error| against the
# tenant's part of what the tenants got together in the same window (the
# CPU the host left them): a capped tenant's target stays its cap, the
# others' targets are scaled to share what the rest got.  The metrics
# write every tenant's line at the same sample, so the k-th lines of all
# tenants make one window; one that some tenant lacks is not measured.
shares() { # NAME SPEC
	echo "$2" | awk -v from="$STEADY_FROM" -v to="$STEADY_TO" -v win="$WINDOW" '
		FILENAME == "-" {
			target[$1] = $4; capped[$1] = $3 > 0; order[++m] = $1
			if ($3 == 0) free_sum += $4
			next
		}
		FNR > 1 && $3 != "ended" && $1 >= from && $1 <= to {
			k = ++rows[$2]; t[$2, k] = $1; c[$2, k] = $4
		}
		# The share of tenant x over the window from its a-th line, or
		# -1 if none is WINDOW long.
		function window_share(x, a,    b) {
			for (b = a + 1; b <= rows[x]; b++)
				if (t[x, b] - t[x, a] >= win)
					return (c[x, b] - c[x, a]) / (t[x, b] - t[x, a])
			return -1
		}
		function abs(v) { return v < 0 ? -v : v }
		END {
			for (i = 1; i <= m; i++) {
				x = order[i]; worst = -1; fair_worst = -1
				for (a = 1; a <= rows[x]; a++) {
					if ((s = window_share(x, a)) < 0)
						continue
					free_got = 0; whole = 1
					for (j = 1; j <= m; j++) {
						y = order[j]; sy = window_share(y, a)
						whole = whole && sy >= 0
						if (!capped[y]) free_got += sy
					}
					if (!whole)
						continue
					fair = target[x]
					if (!capped[x])
						fair *= free_got / free_sum
					if (abs(s - target[x]) > worst) {
						worst = abs(s - target[x]); share = s; err = s - target[x]
					}
					if (abs(s - fair) > fair_worst) {
						fair_worst = abs(s - fair); fair_err = s - fair
					}
				}
				if (worst < 0)
					printf "%s n/a %s n/a n/a\n", x, target[x]
				else
					printf "%s %.4f %.4f %+.4f %+.4f\n", x, share, target[x], err, fair_err
			}
		}' - FS=, "$work/$1.csv"
}

# A row of the table, in the columns of bench/exo.sh.
line() { printf '%-44s %14s %16s %8s  %s\n' "$@"; }
# Goal text for ERROR (signed, in CPUs), or for an overhead.
goal() { # FIGURE TEXT
	awk -v f="$1" -v goal="$GOAL" -v text="$2" 'BEGIN {
		if (f !~ /^[-+]?[0-9.]+$/) { print text; exit }
		if (f < 0) f = -f
		print text ": " (f <= goal ? "met" : "MISSED") }'
}

# The largest |error| in column COLUMN of a shares() FILE.
worst_error() { # COLUMN FILE
	awk -v c="$1" '$c != "n/a" { e = $c < 0 ? -$c : $c; if (e > w) w = e }
		END { printf "%.4f", w }' "$2"
}

# The rows of run NAME, whose tenants SPEC lists, titled TITLE.
rows() { # NAME SPEC TITLE
	shares "$1" "$2" >"$work/$1.shares"
	while read -r name share target err fair_err; do
		weight=$(echo "$2" | awk -v n="$name" '$1 == n { print $2 (($3 > 0) ? ", cap " $3 "%" : "") }')
		line "$3: $name (weight $weight)" "$share" "$target" "$err" \
			"$(goal "$err" "within $GOAL CPU")"
	done <"$work/$1.shares"
	worst=$(worst_error 4 "$work/$1.shares")
	line "$3: worst tenant" "" "" "$worst" "$(goal "$worst" "within $GOAL CPU")"
	worst=$(worst_error 5 "$work/$1.shares")
	line "$3: worst vs the tenants' total" "" "" "$worst" "$(goal "$worst" "within $GOAL CPU")"
	read -r overhead wakeups per_wakeup <"$work/$1.overhead" || true
	case $overhead in
	n/a*)
		echo "bench: $1: $(cat "$work/$1.overhead")" >&2
		line "$3: exovmm outside vCPUs (CPUs)" "n/a" "" "" "under $GOAL CPU"
		;;
	*)
		line "$3: exovmm outside vCPUs (CPUs)" "$overhead" "" "" \
			"$(goal "$overhead" "under $GOAL CPU") ($wakeups wake-ups/s, $per_wakeup us each)"
		;;
	esac
	read -r others idle <"$work/$1.others"
	line "$3: others on the host (CPUs)" "$others" "" "" \
		"$(awk -v o="$others" -v max="$OTHERS_MAX" 'BEGIN { print (o > max ? "busy host: shares suspect" : "") }')"
	line "$3: host CPUs idle (CPUs)" "$idle" "" "" ""
}

measure weights "$WEIGHTS"
measure caps "$CAPS"

echo
echo "exo benchmarks: CPU quota layer ($(date -u +%Y-%m-%d), $CPUS of $(nproc) CPUs, 4 burn tenants)"
line "row" "share (CPUs)" "target (CPUs)" "error" "goal"
rows weights "$WEIGHTS" "weights 1:1:2:4"
rows caps "$CAPS" "d capped at 25%"
echo "(share: the worst of the ${WINDOW} s windows from ${STEADY_FROM} to ${STEADY_TO} s, from exovmm's metrics;"
echo " vs the tenants' total: the error against each tenant's part, by weight and cap, of the CPU the"
echo " tenants got together in the same window, which is what the host left them;"
echo " exovmm outside vCPUs: its other threads, the quota layer's mostly, over the same span, to 1/$hz s)"
