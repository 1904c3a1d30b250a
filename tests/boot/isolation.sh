# isolation.sh: an instance that does something no guest may do (triple
# fault, I/O to a port nobody owns, MMIO outside its memory, a hypercall
# whose request lies outside its memory) is stopped
# alone, with a log line naming it, the reason and the guest RIP, while
# the other instance runs on to a clean exit.  stdout and stderr go to one
# file, in the order the lines were written: "bad" is stopped before
# "good" (holding a second) exits, and "good" still passes every
# self-test after that, so the stop did not end or disturb it.
. "$(dirname "$0")/lib.sh"
require_backend

for case in triple:'triple fault' port:'unexpected I/O: write of 1 bytes at port 0x' \
	mmio:'unexpected MMIO: write of' hvc:'hypercall console: request at 0xfffffff8 lies outside guest memory'; do
	name=${case%%:*}
	reason=${case#*:}
	begin_config
	instance bad cmdline="fault=$name"
	instance good cmdline='"test=boot hold=1s"'
	run_exovmm_merged
	expect_status 70 "fault=$name"
	expect_re "$work/all" "^\\[bad\\] exovmm: stopped: $reason.*, at rip 0x[0-9a-f]+\$"
	expect "$work/all" "[good] exovmm: exited with code 0"
	expect_before "$work/all" "[bad] exovmm: stopped: " "[good] exovmm: exited with code 0"
	check_tap "$work/all" '\[good\] '
done
finish
