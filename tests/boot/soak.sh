# soak.sh: the soak test, images/programs/t_soak.c, alone in an instance
# of its own: a minute of fork, exit and wait (children with threads and
# grandchildren) beside threads of the parent, ending with every frame
# back where it was.  It must exit 0, print a passing TAP run and its
# progress, and no env may be killed: t_soak kills none.
. "$(dirname "$0")/lib.sh"
require_backend

# t_soak runs SOAK_SECONDS (60, in t_soak.c) after its warm-up: room for
# boot, the warm-up and the last round on a loaded host, unless the
# caller allows more.
soak_timeout=180
[ "$BOOT_TIMEOUT" -ge "$soak_timeout" ] || BOOT_TIMEOUT=$soak_timeout

begin_config
instance soak "cmdline=\"run=t_soak\"" memory=32M
run_exovmm_merged
expect_status 0 "the soak test"
expect "$work/all" "[soak] exovmm: exited with code 0"
check_tap "$work/all" '\[soak\] '
expect_re "$work/all" '^\[soak\] # [0-9]+ rounds in [0-9]+ s \(frames in use [0-9]+\)$'
expect_no "$work/all" "exo: PANIC"
expect_no "$work/all" "exo: EXCEPTION"
n=$(grep -cE '^\[soak\] exo: env [0-9]+ \([^)]*\) killed: ' "$work/all")
if [ "$n" -eq 0 ]; then pass "no env killed"; else fail "$n env(s) killed, expected none"; fi
finish
