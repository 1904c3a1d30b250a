# selftest.sh: the kernel's built-in self-tests (test=boot) all pass under
# exovmm, and the timer ticks at the configured period and never faster
# than real time; the same run with console=uart reaches the terminal
# through exovmm's UART instead of the console hypercall.  First, that
# check_tap itself rejects TAP output with a gap, a duplicate, a line out
# of order or a failure, so a pass from it means something.
. "$(dirname "$0")/lib.sh"

# tap_verdict LINES...: check_tap's verdict on a file of these lines.
tap_verdict() {
	printf '%s\n' "$@" >"$work/tap"
	(failures=0; check_tap "$work/tap" '\[x\] ' >/dev/null; [ "$failures" -eq 0 ]) && echo pass || echo fail
}
for case in \
	"pass:[x] 1..3:[x] ok 1 a:[x] ok 2 b:[x] ok 3" \
	"fail:[x] 1..3:[x] ok 1 a:[x] ok 3 c:[x] ok 4 d" \
	"fail:[x] 1..3:[x] ok 1 a:[x] ok 1 a:[x] ok 2 b" \
	"fail:[x] 1..3:[x] ok 2 b:[x] ok 1 a:[x] ok 3 c" \
	"fail:[x] 1..2:[x] ok 1 a:[x] ok 2 b:[x] ok 3 c" \
	"fail:[x] 1..2:[x] ok 1 a" \
	"fail:[x] 1..2:[x] ok 1 a:[x] not ok 2 b" \
	"fail:[x] ok 1 a"; do
	want=${case%%:*}
	lines=${case#*:}
	old_ifs=$IFS
	IFS=:
	# shellcheck disable=SC2086 # split on ":" into the lines
	set -- $lines
	IFS=$old_ifs
	got=$(tap_verdict "$@")
	if [ "$got" = "$want" ]; then pass "check_tap: $want on $lines"; else fail "check_tap: $got on $lines, expected $want"; fi
done

require_backend

instance t cmdline='"test=boot tick=1ms"'
run_exovmm
expect_status 0 "test=boot"
expect "$work/out" "[t] exo: cmdline: test=boot tick=1ms"
expect "$work/out" "[t] exo: timer: lapic periodic 1000 us (input 1000000 kHz, from exovmm)"
check_tap "$work/out" '\[t\] '
ticks=$(sed -n 's/^\[t\] exo: ticks \([0-9][0-9]*\)$/\1/p' "$work/out")
if [ -n "$ticks" ] && [ "$ticks" -gt 0 ]; then pass "timer ticked $ticks times"; else fail "no timer ticks reported"; fi

# The timer does not run fast: at tick=1ms, N ticks take at least N ms of
# real time, however quickly the whole run went; and hold=500ms waited
# for 500 of them.  No upper bound: a loaded machine may be slow.
begin_config
instance h cmdline='"tick=1ms hold=500ms"'
start_ns=$(date +%s%N)
run_exovmm
end_ns=$(date +%s%N)
elapsed_ms=$(((end_ns - start_ns) / 1000000))
expect_status 0 "tick=1ms hold=500ms"
ticks=$(sed -n 's/^\[h\] exo: ticks \([0-9][0-9]*\)$/\1/p' "$work/out")
if [ -z "$ticks" ]; then
	fail "no timer ticks reported"
else
	if [ "$ticks" -ge 500 ]; then pass "hold=500ms waited $ticks ticks (>= 500)"; else fail "hold=500ms ended after $ticks ticks, fewer than 500"; fi
	if [ "$elapsed_ms" -ge "$ticks" ]; then
		pass "$ticks ticks of 1 ms took $elapsed_ms ms (not faster than real time)"
	else
		fail "$ticks ticks of 1 ms in only $elapsed_ms ms: the timer runs fast"
	fi
fi

begin_config
instance u cmdline='"console=uart test=boot"'
run_exovmm
expect_status 0 "test=boot over the UART"
expect "$work/out" "[u] exo: cmdline: console=uart test=boot"
check_tap "$work/out" '\[u\] '
finish
