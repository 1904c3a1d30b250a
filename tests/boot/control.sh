# control.sh: exovmm's control socket and exoctl(1).
#  - A control path where no socket can be made (a regular file, a
#    missing directory) stops exovmm before any instance runs (status 66),
#    naming the path, and leaves the path as it was.
#  - exoctl says why it cannot connect (exit 1), and refuses bad usage
#    (exit 2).
#  - Two instances burn a CPU each; exoctl lists both, refuses a set on an
#    unknown instance (naming the instances) or with a bad value (naming
#    the field, memory_min for too little memory), exit 1, and a good set
#    changes the weight and cap at once.  The CPU layer's target follows
#    exactly; the share measured a few seconds later is only held to a
#    generous band (other tests may share the CPUs under make check -j).
#  - `top -n 2` prints two frames naming both instances.
#  - The socket file is gone once exovmm ends; one left by a killed exovmm
#    is replaced by the next.
. "$(dirname "$0")/lib.sh"
require_backend

EXOCTL=${EXOCTL:-$(dirname "$EXOVMM")/exoctl}
SOCKET=$work/ctl.sock
SHARE_MIN=0.3 # a's share under a 50% cap, measured: a generous band
SHARE_MAX=0.6
SETTLE_S=3 # for a whole metrics interval (1s) under the new cap

# exoctl ARGS...: run exoctl on $SOCKET; sets $status, stdout in
# $work/ctl.out, stderr in $work/ctl.err.
exoctl() {
	status=0
	"$EXOCTL" -s "$SOCKET" "$@" >"$work/ctl.out" 2>"$work/ctl.err" || status=$?
	echo "--- exoctl $* exited $status; stdout:"
	cat "$work/ctl.out"
	echo "--- stderr:"
	cat "$work/ctl.err"
}

# stat_of KEY: KEY's value in the stats line in $work/ctl.out.
stat_of() {
	sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p" "$work/ctl.out"
}

# between WHAT GOT MIN MAX
between() {
	if [ -n "$2" ] && awk -v g="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(g >= lo && g <= hi) }'; then
		pass "$1: $2 (from $3 to $4)"
	else
		fail "$1: ${2:-none}, want from $3 to $4"
	fi
}

echo "=== a control path that cannot be a socket"
begin_config
instance a
echo "not a socket" >"$work/file"
run_exovmm --control "$work/file"
expect_status 66 "control path is a regular file"
expect "$work/err" "exovmm: $work/file: cannot create the control socket: it exists and is not a socket"
expect_no "$work/out" "[a]"
expect "$work/file" "not a socket"
run_exovmm --control "$work/absent/ctl.sock"
expect_status 66 "control socket in a missing directory"
expect "$work/err" "exovmm: $work/absent/ctl.sock: cannot create the control socket: No such file or directory"

echo "=== exoctl without exovmm"
exoctl list
expect_status 1 "no exovmm"
expect "$work/ctl.err" "exoctl: $SOCKET: cannot connect: No such file or directory (is exovmm running with control = $SOCKET?)"
status=0
"$EXOCTL" list 2>"$work/ctl.err" || status=$?
expect_status 2 "no -s"
exoctl frobnicate
expect_status 2 "unknown command"
expect "$work/ctl.err" 'exoctl: unknown command "frobnicate"'

echo "=== two burners under control"
begin_config control=ctl.sock # relative to the file
instance a "cmdline=run=burn -- 20"
instance b "cmdline=run=burn -- 20"
start_exovmm
wait_for_line "$work/all" "[a] burn: second 1:" &&
	wait_for_line "$work/all" "[b] burn: second 1:"
if [ -S "$SOCKET" ]; then pass "socket $SOCKET exists"; else fail "no socket at $SOCKET"; fi

exoctl list
expect_status 0 "list"
expect_re "$work/ctl.out" '^a state=(running|parked) weight=256 cap=0 memory_mib=64 memory_target_mib=64$'
expect_re "$work/ctl.out" '^b state=(running|parked) weight=256 cap=0 '

exoctl set x weight=1
expect_status 1 "set on an unknown instance"
expect "$work/ctl.err" 'exoctl: no instance "x" (instances: a, b)'
exoctl set a weight=0
expect_status 1 "weight=0"
expect "$work/ctl.err" 'exoctl: weight: expected an integer from 1 to 65535, got "0"'
exoctl set a cap=150
expect_status 1 "cap=150"
expect "$work/ctl.err" 'exoctl: cap: expected a percentage from 0% to 100%, got "150"'
exoctl set a memory=3M
expect_status 1 "memory=3M"
expect "$work/ctl.err" 'exoctl: memory: 3M is not a multiple of 2M'
# memory_min is memory (64M) when not set: the instance never shrinks.
exoctl set a weight=512 memory=32M
expect_status 1 "memory=32M"
expect "$work/ctl.err" "memory_min"
exoctl set a colour=red
expect_status 1 "unknown setting"
expect "$work/ctl.err" 'exoctl: unknown setting "colour" (settings: weight, cap, memory)'
exoctl stats a
expect "$work/ctl.out" "a state="
expect "$work/ctl.out" " weight=256 cap=0 " # nothing was applied

exoctl set a weight=512 cap=50
expect_status 0 "set a weight=512 cap=50"
expect_re "$work/ctl.out" '^ok$'
exoctl stats a
expect "$work/ctl.out" " weight=512 cap=50 "
expect "$work/ctl.out" " target=0.500 "
sleep "$SETTLE_S"
exoctl stats a
between "a's share under a 50% cap" "$(stat_of share)" "$SHARE_MIN" "$SHARE_MAX"
exoctl stats b
expect "$work/ctl.out" " weight=256 cap=0 "
expect "$work/ctl.out" " target=1.000 "

exoctl top -n 2 -d 0.5
expect_status 0 "top -n 2"
frames=$(grep -c '^exovmm at ' "$work/ctl.out")
if [ "$frames" -eq 2 ]; then pass "top printed 2 frames"; else fail "top printed $frames frames, want 2"; fi
expect_re "$work/ctl.out" '^a +parked|^a +running'
expect_re "$work/ctl.out" '^b +parked|^b +running'
# Not a terminal: no escape sequences to clear the screen.
if grep -q "$(printf '\033')" "$work/ctl.out"; then fail "top wrote escape sequences to a file"; else pass "top wrote no escape sequences to a file"; fi

kill -TERM "$exovmm_pid"
wait_exovmm
expect_status 143 "exovmm stopped by SIGTERM"
if [ -e "$SOCKET" ]; then fail "socket left behind after exovmm ended"; else pass "socket removed"; fi

echo "=== a socket left by a killed exovmm is replaced"
begin_config
instance held cmdline=hold=30s
start_exovmm --control "$SOCKET"
wait_for_line "$work/all" "[held] exo: exo 0.1.0 booting on exovmm" && kill -KILL "$exovmm_pid"
wait_exovmm
if [ -S "$SOCKET" ]; then pass "killed exovmm left its socket"; else fail "no stale socket at $SOCKET"; fi
begin_config
instance quick
run_exovmm --control "$SOCKET"
expect_status 0 "exovmm over a stale socket"
if [ -e "$SOCKET" ]; then fail "socket left behind"; else pass "stale socket replaced, then removed"; fi
finish
