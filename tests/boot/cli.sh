# cli.sh: exovmm's command line, its exit statuses, and its errors for bad
# input: each names the file (and line or field), exits non-zero, and
# leaves nothing started or created behind.
. "$(dirname "$0")/lib.sh"

run_plain() {
	status=0
	"$EXOVMM" "$@" >"$work/out" 2>"$work/err" || status=$?
}

run_plain --help
expect_status 0 "--help"
expect "$work/out" "Usage: exovmm [OPTION]... CONFIG"
run_plain --version
expect_status 0 "--version"
expect "$work/out" "exovmm (exo) 0.1.0"
run_plain
expect_status 64 "no arguments"
expect "$work/err" "exovmm: missing CONFIG file"
run_plain --bogus "$work/test.conf"
expect_status 64 "unknown option"
run_plain "$work/absent.conf"
expect_status 65 "missing config"
expect "$work/err" "exovmm: $work/absent.conf: cannot open: No such file or directory"
printf '[exovmm]\ncolour = blue\n' >"$work/test.conf"
run_plain "$work/test.conf"
expect_status 65 "unknown key"
expect_re "$work/err" "^exovmm: $work/test.conf:2: .*colour"

require_kvm

# A bad image in the second instance: neither instance runs, no log file
# is left, and the log directory exovmm made is gone again.
: >"$work/test.conf"
instance first
instance second image="$EXO_IMAGES/progs.cpio"
run_exovmm --log-dir "$work/logs"
expect_status 66 "image that is not an ELF file"
expect "$work/err" "exovmm: $work/test.conf:4: [instance second] $EXO_IMAGES/progs.cpio: not an ELF file"
expect_no "$work/out" "[first]"
if [ -e "$work/logs" ]; then fail "log directory left behind after a failed start"; else pass "nothing left behind"; fi

: >"$work/test.conf"
instance first image="$work/absent.elf"
run_exovmm
expect_status 66 "missing image"
expect "$work/err" "exovmm: $work/test.conf:1: [instance first] $work/absent.elf: cannot read: No such file or directory"

# An initrd that is not a cpio archive is the guest's to refuse: it exits
# with EXO_EXIT_BAD_BOOT (3), which becomes exovmm's status.
: >"$work/test.conf"
instance first initrd="$EXO_IMAGES/exo.elf"
run_exovmm
expect_status 3 "initrd that is not a cpio archive"
expect_re "$work/out" '^\[first\] exo: initrd: bad archive at byte 0: '

# A FIFO as image is refused at once, not waited on.
mkfifo "$work/fifo.elf"
: >"$work/test.conf"
instance first image="$work/fifo.elf"
run_exovmm
expect_status 66 "FIFO as image"
expect "$work/err" "$work/fifo.elf: cannot read: not a regular file"

# A metrics file that cannot be created stops the run before any instance
# starts, and leaves nothing behind (not even the log directory).
printf '[exovmm]\nmetrics = %s\n' "$work/absent/m.csv" >"$work/test.conf"
instance first
run_exovmm --log-dir "$work/metrics-logs"
expect_status 66 "metrics file in a missing directory"
expect "$work/err" "exovmm: $work/absent/m.csv: cannot write metrics: No such file or directory"
expect_no "$work/out" "[first]"
if [ -e "$work/metrics-logs" ]; then fail "log directory left behind"; else pass "no log directory left behind"; fi

# An instance without image and initrd keys boots the default image
# directory's exo.elf and progs.cpio.
printf '[instance plain]\n' >"$work/test.conf"
status=0
EXOVMM_IMAGE_DIR="$EXO_IMAGES" "$EXOVMM" "$work/test.conf" >"$work/out" 2>"$work/err" || status=$?
expect_status 0 "default image directory"
expect_re "$work/out" '^\[plain\] exo: initrd:   hello [0-9]+ bytes'

# The log file holds the console without the terminal's name prefix.
: >"$work/test.conf"
instance logged
run_exovmm --log-dir "$work/logs"
expect_status 0 "logged run"
expect "$work/logs/logged.log" "exo: exo 0.1.0 booting on exovmm"
expect "$work/logs/logged.log" "exovmm: exited with code 0"
expect_no "$work/logs/logged.log" "[logged]"
finish
