# concurrent.sh: the instances of one config run at the same time, each on
# its own thread, and all finish.  "slow" is listed first and holds three
# seconds, "fast" second holds one, "late" third holds three.  stdout and
# stderr go to one file, where each line lands as it is written, so line
# order is the order of events: all three banners come before the first
# instance ends (all three were running at once), and "fast" ends before
# "slow" although "slow" had booted first.  Run one after the other,
# "slow" would end before "fast" even started.  Only orderings are
# checked, each with a margin of a second or more, never a time limit.
. "$(dirname "$0")/lib.sh"
require_backend

instance slow cmdline=hold=3s
instance fast cmdline=hold=1s
instance late cmdline=hold=3s
run_exovmm_merged
expect_status 0 "three instances"
banner="exo: exo 0.1.0 booting on exovmm"
for name in slow fast late; do
	expect "$work/all" "[$name] exovmm: exited with code 0"
	expect_re "$work/all" "^\\[$name\\] exo: ticks [0-9]+\$"
done
first=$(grep -m 1 -E '^\[[a-z]+\] exovmm: ' "$work/all")
if [ "$first" = "[fast] exovmm: exited with code 0" ]; then
	pass "the first instance to end was fast"
else
	fail "the first instance to end was not fast: ${first:-none}"
fi
for name in slow fast late; do
	expect_before "$work/all" "[$name] $banner" "$first"
done
expect_before "$work/all" "[slow] $banner" "[fast] exovmm: exited with code 0"
expect_before "$work/all" "[fast] exovmm: exited with code 0" "[slow] exovmm: exited with code 0"
finish
