# selftest.sh: the kernel's built-in self-tests (test=boot) all pass under
# exovmm, and the timer ticks at the configured period; the same run with
# console=uart reaches the terminal through exovmm's UART instead of the
# console hypercall.
. "$(dirname "$0")/lib.sh"
require_kvm

instance t cmdline='"test=boot tick=1ms"'
run_exovmm
expect_status 0 "test=boot"
expect "$work/out" "[t] exo: cmdline: test=boot tick=1ms"
expect "$work/out" "[t] exo: timer: lapic periodic 1000 us (input 1000000 kHz, from exovmm)"
check_tap "$work/out" '\[t\] '
ticks=$(sed -n 's/^\[t\] exo: ticks \([0-9][0-9]*\)$/\1/p' "$work/out")
if [ -n "$ticks" ] && [ "$ticks" -gt 0 ]; then pass "timer ticked $ticks times"; else fail "no timer ticks reported"; fi

: >"$work/test.conf"
instance u cmdline='"console=uart test=boot"'
run_exovmm
expect_status 0 "test=boot over the UART"
expect "$work/out" "[u] exo: cmdline: console=uart test=boot"
check_tap "$work/out" '\[u\] '
finish
