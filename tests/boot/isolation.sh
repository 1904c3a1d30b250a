# isolation.sh: an instance that does something no guest may do (triple
# fault, I/O to a port nobody owns, MMIO outside its memory) is stopped
# alone, with a log line naming it, the reason and the guest RIP, while
# the other instance runs on to a clean exit.
. "$(dirname "$0")/lib.sh"
require_kvm

for case in triple:'triple fault' port:'unexpected I/O: write of 1 bytes at port 0x' mmio:'unexpected MMIO: write of'; do
	name=${case%%:*}
	reason=${case#*:}
	: >"$work/test.conf"
	instance bad cmdline="fault=$name"
	instance good cmdline='"test=boot hold=1s"'
	run_exovmm
	expect_status 70 "fault=$name"
	expect_re "$work/err" "^\\[bad\\] exovmm: stopped: $reason.*, at rip 0x[0-9a-f]+\$"
	expect "$work/err" "[good] exovmm: exited with code 0"
	check_tap "$work/out" '\[good\] '
done
finish
