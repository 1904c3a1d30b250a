# signals.sh: SIGINT and SIGTERM stop every instance, each with a line
# saying where it was interrupted, and end exovmm with 128 plus the
# signal's number (130, 143) -- unless an instance earlier in the file had
# already exited non-zero, whose code then wins.  The instances hold for
# 30 seconds; the signal is sent once their banners are out, and exovmm
# must end within the test's time limit with the status above (an exovmm
# that ignored the signal would exit 0 after the hold).
. "$(dirname "$0")/lib.sh"
require_backend

banner="exo: exo 0.1.0 booting on exovmm"

for case in INT:130:Interrupt TERM:143:Terminated; do
	sig=${case%%:*}
	rest=${case#*:}
	code=${rest%%:*}
	text=${rest#*:}
	begin_config
	instance one cmdline=hold=30s
	instance two cmdline=hold=30s
	start_exovmm
	wait_for_line "$work/all" "[one] $banner" &&
		wait_for_line "$work/all" "[two] $banner" &&
		kill "-$sig" "$exovmm_pid"
	wait_exovmm
	expect_status "$code" "SIG$sig"
	expect "$work/all" "exovmm: $text: stopping every instance"
	for name in one two; do
		expect_re "$work/all" "^\\[$name\\] exovmm: interrupted at rip 0x[0-9a-f]+\$"
		expect_no "$work/all" "[$name] exovmm: exited"
		expect_no "$work/all" "[$name] exo: exit"
	done
done

# "early" ends at once with a #UD in the kernel (exit code 32 + 6); "held"
# is interrupted later.  The first instance in file order that did not
# exit 0 is "early", so its code is the status, not 130.
begin_config
instance early cmdline=fault=ud
instance held cmdline=hold=30s
start_exovmm
wait_for_line "$work/all" "[early] exovmm: exited with code 38" &&
	wait_for_line "$work/all" "[held] $banner" &&
	kill -INT "$exovmm_pid"
wait_exovmm
expect_status 38 "SIGINT after an earlier instance exited 38"
expect "$work/all" "exovmm: Interrupt: stopping every instance"
expect_re "$work/all" '^\[held\] exovmm: interrupted at rip 0x[0-9a-f]+$'
finish
