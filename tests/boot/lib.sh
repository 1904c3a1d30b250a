# lib.sh: shared by the boot tests.  Sourced, not run.
#
# Each test builds a config in a private temporary directory, runs exovmm
# (or QEMU) on it with a time limit, and asserts on the console output and
# the exit status.  A test whose backend is missing exits 77 (skip) after
# printing why.  The environment comes from Makefile.am's
# AM_TESTS_ENVIRONMENT: EXOVMM, EXO_IMAGES, QEMU, QBOOT_ROM, VALGRIND.

set -u

: "${EXOVMM:?run the boot tests through make check}"
: "${EXO_IMAGES:?run the boot tests through make check}"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-60}
failures=0

work=$(mktemp -d "${TMPDIR:-/tmp}/exo-boot.XXXXXX")
trap 'rm -rf "$work"' EXIT

skip() {
	echo "SKIP: $*"
	exit 77
}

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

pass() {
	echo "ok: $*"
}

# The test's verdict, from the failures counted so far.
finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures check(s) failed"
		exit 1
	fi
	exit 0
}

require_kvm() {
	[ -e /dev/kvm ] || skip "/dev/kvm does not exist (no KVM on this host)"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not readable and writable by $(id -un)"
}

require_qemu() {
	[ -n "${QEMU:-}" ] && [ -x "$QEMU" ] || skip "qemu-system-x86_64 not found (Debian package qemu-system-x86)"
}

# instance NAME KEY=VALUE...: append an [instance NAME] section to
# $work/test.conf, using the built image and initrd unless KEY=VALUE
# names others.
instance() {
	name=$1
	shift
	{
		echo "[instance $name]"
		case " $* " in *" image="*) ;; *) echo "image = $EXO_IMAGES/exo.elf" ;; esac
		case " $* " in *" initrd="*) ;; *) echo "initrd = $EXO_IMAGES/progs.cpio" ;; esac
		for kv in "$@"; do
			echo "${kv%%=*} = ${kv#*=}"
		done
	} >>"$work/test.conf"
}

# run_exovmm [ARGS...]: run exovmm on $work/test.conf; sets $status, and
# leaves stdout in $work/out and stderr in $work/err.
run_exovmm() {
	status=0
	timeout "$BOOT_TIMEOUT" "$EXOVMM" "$@" "$work/test.conf" >"$work/out" 2>"$work/err" || status=$?
	echo "--- exovmm $* exited $status; stdout:"
	cat "$work/out"
	echo "--- stderr:"
	cat "$work/err"
	echo "---"
}

# expect_status N WHAT
expect_status() {
	if [ "$status" -eq "$1" ]; then pass "$2: exit status $1"; else fail "$2: exit status $status, expected $1"; fi
}

# expect FILE FIXED-STRING: the output holds this exact text on some line.
expect() {
	if grep -qF -- "$2" "$1"; then pass "found: $2"; else fail "missing in $(basename "$1"): $2"; fi
}

# expect_re FILE REGEX
expect_re() {
	if grep -qE -- "$2" "$1"; then pass "matched: $2"; else fail "no line in $(basename "$1") matches: $2"; fi
}

# expect_no FILE FIXED-STRING
expect_no() {
	if grep -qF -- "$2" "$1"; then fail "unexpected in $(basename "$1"): $2"; else pass "absent: $2"; fi
}

# check_tap FILE PREFIX: the lines starting with PREFIX form a passing TAP
# run: a plan 1..N, exactly N "ok" lines numbered 1..N, no "not ok".
check_tap() {
	file=$1
	prefix=$2
	plan=$(sed -n "s/^${prefix}1\\.\\.\\([0-9][0-9]*\\)\$/\\1/p" "$file" | head -n 1)
	if [ -z "$plan" ] || [ "$plan" -eq 0 ]; then
		fail "no TAP plan (1..N) in the output"
		return
	fi
	oks=$(grep -cE "^${prefix}ok [0-9]+( |$)" "$file")
	if grep -qE "^${prefix}not ok" "$file"; then
		fail "self-tests failed: $(grep -E "^${prefix}not ok" "$file" | tr '\n' ' ')"
	elif [ "$oks" -ne "$plan" ]; then
		fail "TAP plan says $plan tests but $oks passed (missing or extra lines)"
	else
		pass "$plan self-tests passed"
	fi
}
