# quota_mem.sh: the memory quota layer, end to end.  Each scenario runs
# the working-set tenant (images/programs/wset: passes over a region whose
# every word is checked) and changes memory targets live through exoctl:
#  - shrinking: the exokernel revokes, its env gives pages back, whole
#    chunks are released (none taken by force) and exovmm's resident memory
#    drops; growing back grants at once; the tenant reads no bad word;
#  - shrinking to memory_min keeps the env whole (its vital frames live
#    below it) and gives back every chunk above;
#  - a guest that ignores the request (memory=ignore) loses the chunks by
#    force past revoke_deadline, while its neighbour keeps all its memory;
#    its env is repossessed and still reads no bad word;
#  - a guest that touches a chunk it gave back stops alone, with a log line;
#  - targets outside memory_min..memory_max are refused, naming the bound.
. "$(dirname "$0")/lib.sh"
require_backend

EXOCTL=${EXOCTL:-$(dirname "$EXOVMM")/exoctl}
SETTLE_TIMEOUT=$((20 * slowdown)) # seconds for a target to be reached
MIB_KB=1024
# The tenants outlive every check (a loaded host may run them slowly);
# each scenario ends them itself.
WSET_SECONDS=300
WSET_MORE_SECONDS=2 # of wset lines wanted after the last change

# scenario DEADLINE: a config with a control socket and that revoke_deadline.
scenario() {
	begin_config control="$work/ctl.sock" revoke_deadline="$1"
}

# start_controlled: exovmm on the scenario, once its control socket is up.
start_controlled() {
	start_exovmm
	wait_for_file "$work/ctl.sock" || fail "no control socket"
}

ctl() {
	"$EXOCTL" -s "$work/ctl.sock" "$@"
}

# stat NAME KEY: KEY's value in `exoctl stats NAME`.
stat() {
	ctl stats "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# wait_stat NAME KEY VALUE: wait until KEY reaches VALUE; fails the check
# if it does not within SETTLE_TIMEOUT.
wait_stat() {
	tries=$((SETTLE_TIMEOUT * 10))
	until [ "$(stat "$1" "$2")" = "$3" ]; do
		tries=$((tries - 1))
		if [ "$tries" -le 0 ]; then
			fail "$1: $2 is $(stat "$1" "$2"), not $3 after ${SETTLE_TIMEOUT}s"
			return 1
		fi
		sleep 0.1
	done
	pass "$1: $2 reached $3"
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$exovmm_pid/status"
}

# tenants_still_right NAME...: each tenant goes on a few seconds after the
# last change, then exovmm is stopped: no tenant stopped or read a bad word.
tenants_still_right() {
	sleep "$WSET_MORE_SECONDS"
	kill -TERM "$exovmm_pid"
	wait_exovmm
	expect_status 143 "stopped by SIGTERM, as the scenario ends"
	for name in "$@"; do
		expect_re "$work/all" "^\\[$name\\] wset: second [0-9]+: .* bad 0\$"
		expect_no "$work/all" "[$name] exovmm: stopped"
	done
	if grep -qE 'wset: second [0-9]+: .* bad [1-9]' "$work/all"; then
		fail "a tenant read a bad word"
	else
		pass "no tenant read a bad word"
	fi
}

# start_working [NAME]: exovmm on the scenario, once the wset of NAME (or
# the only tenant) is into its second second.
start_working() {
	start_controlled
	wait_for_line "$work/all" "${1:+[$1] }wset: second 2:"
}

# set_memory NAME SIZE: give NAME a memory target through exoctl.
set_memory() {
	ctl set "$1" memory="$2" >/dev/null || fail "set $1 memory=$2 refused"
}

expect_stat() {
	got=$(stat "$1" "$2")
	if [ "$got" = "$3" ]; then
		pass "$1: $2 = $3"
	else
		fail "$1: $2 = $got, want $3"
	fi
}

echo "=== shrink through the visible path, then grow back"
scenario 10s
instance a memory=32M memory_min=8M memory_max=48M "cmdline=run=wset revoke=2s -- 8 $WSET_SECONDS"
start_working
before=$(rss_kb)
set_memory a 12M
wait_stat a memory_mib 12
after=$(rss_kb)
expect_stat a chunks_released 10
expect_stat a chunks_taken 0
if [ "$((before - after))" -ge $((4 * MIB_KB)) ]; then
	pass "resident memory dropped from $before kB to $after kB"
else
	fail "resident memory went from $before kB to $after kB, want a drop of 4 MiB at least"
fi
if [ "$(stat a revocations)" -ge 1 ]; then
	pass "the exokernel asked its env ($(stat a revocations) requests)"
else
	fail "no revocation request was made"
fi
set_memory a 48M
expect_stat a memory_mib 48
tenants_still_right a

echo "=== shrink to memory_min: what the env cannot do without stays"
# Its stacks, image and vital pages live below memory_min; its 2 MiB
# working set no longer fits and pages, and every chunk above goes back.
scenario 10s
instance a memory=32M memory_min=8M "cmdline=run=wset revoke=2s -- 2 $WSET_SECONDS"
start_working
set_memory a 8M
wait_stat a memory_mib 8
expect_stat a chunks_released 12
expect_stat a chunks_taken 0
tenants_still_right a
expect_no "$work/all" "deadline passed"
expect_no "$work/all" "killed"

echo "=== a guest that ignores the request loses chunks by force; its neighbour does not"
scenario 1s
instance hog memory=32M memory_min=8M "cmdline=run=wset memory=ignore -- 8 $WSET_SECONDS"
instance calm memory=32M memory_min=8M "cmdline=run=wset -- 4 $WSET_SECONDS"
start_working hog
set_memory hog 12M
wait_stat hog chunks_taken 10
expect_stat hog memory_mib 12
expect_stat hog chunks_released 0
expect_stat calm memory_mib 32
expect_stat calm chunks_taken 0
wait_for_line "$work/all" "[hog] exo: chunks: exovmm took 10 chunks by force"
expect "$work/all" "[hog] exovmm: memory: took 10 chunks (20 MiB) by force"
expect_no "$work/all" "[calm] exovmm: memory:"
tenants_still_right hog calm

echo "=== touching a chunk given back stops that guest alone"
scenario 1s
instance bad memory=32M memory_min=8M "cmdline=fault=withdrawn"
instance good memory=32M "cmdline=run=hello"
run_exovmm_merged
expect_status 70 "exovmm reports the stopped instance"
expect_re "$work/all" '^\[bad\] exovmm: stopped: touched guest-physical 0x[0-9a-f]+ in chunk 15, which is not granted to it'
expect "$work/all" "[good] hello from exo"
expect "$work/all" "[good] exovmm: exited with code 0"

echo "=== targets outside the bounds are refused"
scenario 1s
instance a memory=32M memory_min=16M memory_max=64M "cmdline=hold=30s"
start_controlled
for bad in "memory=8M:below memory_min (16M)" "memory=128M:above memory_max (64M)" \
	"memory=33M:"; do
	value=${bad%%:*}
	want=${bad#*:}
	if out=$(ctl set a "$value" 2>&1); then
		fail "set a $value was accepted"
	elif [ -n "$want" ] && ! printf '%s' "$out" | grep -qF "$want"; then
		fail "set a $value: \"$out\" does not say \"$want\""
	else
		pass "set a $value refused: $out"
	fi
done
expect_stat a memory_mib 32
kill -TERM "$exovmm_pid"
wait_exovmm
finish
