# concurrent.sh: two instances in one config run at the same time, each on
# its own thread, and both finish.  Instance "slow" is listed first and
# waits two seconds; "fast" is listed second and exits at once.  Run one
# after the other, "slow" would finish first; concurrently, "fast" does.
. "$(dirname "$0")/lib.sh"
require_kvm

instance slow cmdline=hold=2s
instance fast cmdline=
run_exovmm
expect_status 0 "two instances"
expect "$work/err" "[slow] exovmm: exited with code 0"
expect "$work/err" "[fast] exovmm: exited with code 0"
first=$(grep -o '^\[[a-z]*\] exovmm: exited' "$work/err" | head -n 1)
if [ "$first" = "[fast] exovmm: exited" ]; then
	pass "the second instance finished while the first still ran"
else
	fail "instances did not run concurrently (first to finish: $first)"
fi
finish
