# lib.sh: shared by the boot tests.  Sourced, not run.
#
# Each test builds a config in a private temporary directory, runs exovmm
# (or QEMU) on it with a time limit, and asserts on the console output and
# the exit status.  A test whose backend is missing exits 77 (skip) after
# printing why.  The environment comes from Makefile.am's
# AM_TESTS_ENVIRONMENT: EXOVMM, EXO_IMAGES, QEMU, QBOOT_ROM, VALGRIND,
# EXO_HAVE_UNICORN; and, for a test that runs exovmm, from the entry
# Makefile.inc makes for each backend: EXO_BACKEND (kvm or unicorn).

set -u

: "${EXOVMM:?run the boot tests through make check}"
: "${EXO_IMAGES:?run the boot tests through make check}"
failures=0

# A log names its backend first: the kvm and unicorn runs of a test look
# alike otherwise.
echo "backend: ${EXO_BACKEND:-none (this test runs once, not once per exovmm backend)}"

# Unicorn emulates the guest; measured here it runs this kernel about as
# fast as a nested host's KVM does, but a busy host slows it more: time
# limits (BOOT_TIMEOUT, given for KVM, and a test's own) are multiplied by
# $slowdown.  Measurements and their tolerances are not.
case ${EXO_BACKEND:-} in
unicorn) slowdown=3 ;;
*) slowdown=1 ;;
esac
BOOT_TIMEOUT=$((${BOOT_TIMEOUT:-60} * slowdown))

work=$(mktemp -d "${TMPDIR:-/tmp}/exo-boot.XXXXXX")
exovmm_pid= helper_pid=
# An exovmm left running by start_exovmm (a test that ended early) is
# killed; wait_exovmm clears exovmm_pid once it has ended.  So is a host
# process a test started beside it (helper_pid).
trap '[ -z "$exovmm_pid" ] || kill -KILL "$exovmm_pid" 2>/dev/null; [ -z "$helper_pid" ] || kill "$helper_pid" 2>/dev/null; rm -rf "$work"' EXIT

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

# require_backend: the backend under test, $EXO_BACKEND, can run here;
# skip (saying why) if not.
require_backend() {
	case ${EXO_BACKEND:-} in
	kvm)
		[ -e /dev/kvm ] || skip "kvm: /dev/kvm does not exist (no KVM on this host)"
		{ : <>/dev/kvm; } 2>/dev/null || skip "kvm: /dev/kvm cannot be opened read-write by $(id -un)"
		;;
	unicorn)
		[ "${EXO_HAVE_UNICORN:-}" = yes ] ||
			skip "unicorn: exovmm built without Unicorn 2.1: run scripts/install-deps.sh and reconfigure"
		;;
	*)
		# A hard error, not a skip: the test would otherwise never run.
		echo "ERROR: EXO_BACKEND is \"${EXO_BACKEND:-}\", not kvm or unicorn: run the test as Makefile.inc registers it"
		exit 99
		;;
	esac
}

require_qemu() {
	[ -n "${QEMU:-}" ] && [ -x "$QEMU" ] || skip "qemu-system-x86_64 not found (Debian package qemu-system-x86)"
}

# keys KEY=VALUE...: print each as a config line.
keys() {
	for kv in "$@"; do
		echo "${kv%%=*} = ${kv#*=}"
	done
}

# begin_config [KEY=VALUE...]: start $work/test.conf afresh with its
# [exovmm] section: the backend under test, and these keys.  This is the
# one place a config gets its backend; a test sets other [exovmm] keys
# here, since a second [exovmm] section is an error.
begin_config() {
	{
		echo "[exovmm]"
		echo "backend = ${EXO_BACKEND:?run the test as Makefile.inc registers it}"
		keys "$@"
	} >"$work/test.conf"
}

# instance NAME KEY=VALUE...: append an [instance NAME] section to
# $work/test.conf, using the built image and initrd unless KEY=VALUE
# names others.  An empty or absent config is begun first, so that no
# instance runs on exovmm's default backend instead of the one under test.
# It leaves $name alone: tests label their checks with their own.
instance() {
	[ -s "$work/test.conf" ] || begin_config
	{
		echo "[instance $1]"
		shift
		case " $* " in *" image="*) ;; *) echo "image = $EXO_IMAGES/exo.elf" ;; esac
		case " $* " in *" initrd="*) ;; *) echo "initrd = $EXO_IMAGES/progs.cpio" ;; esac
		keys "$@"
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

# run_exovmm_merged [ARGS...]: like run_exovmm, but stdout and stderr go
# to the one file $work/all.  exovmm writes each line with one write() as
# it happens, so the order of lines there is the order of events.
run_exovmm_merged() {
	status=0
	timeout "$BOOT_TIMEOUT" "$EXOVMM" "$@" "$work/test.conf" >"$work/all" 2>&1 || status=$?
	echo "--- exovmm $* exited $status; stdout and stderr:"
	cat "$work/all"
	echo "---"
}

# line_of FILE FIXED-STRING: the number of the first line holding this
# text, or nothing.
line_of() {
	grep -nF -m 1 -- "$2" "$1" | cut -d: -f1
}

# expect_before FILE FIRST SECOND: both texts are in FILE, and the first
# line holding FIRST comes before the first line holding SECOND.
expect_before() {
	a=$(line_of "$1" "$2")
	b=$(line_of "$1" "$3")
	if [ -z "$a" ]; then
		fail "missing in $(basename "$1"): $2"
	elif [ -z "$b" ]; then
		fail "missing in $(basename "$1"): $3"
	elif [ "$a" -lt "$b" ]; then
		pass "line $a ($2) before line $b ($3)"
	else
		fail "line $a ($2) not before line $b ($3)"
	fi
}

# start_exovmm [ARGS...]: start exovmm on $work/test.conf in the
# background, stdout and stderr to $work/all, with SIGINT and SIGTERM at
# their default action (a background job of a script ignores SIGINT);
# its pid is then in $exovmm_pid.  End with wait_exovmm.
start_exovmm() {
	rm -f "$work/pid" "$work/status"
	(
		status=0
		sh -c 'echo $$ >"$1.tmp" && mv "$1.tmp" "$1" && shift && exec "$@"' sh "$work/pid" \
			env --default-signal=INT,TERM "$EXOVMM" "$@" "$work/test.conf" \
			>"$work/all" 2>&1 || status=$?
		{ echo "$status" >"$work/status.tmp" && mv "$work/status.tmp" "$work/status"; } 2>/dev/null
	) &
	exovmm_job=$!
	exovmm_pid=
	if wait_for_file "$work/pid"; then
		exovmm_pid=$(cat "$work/pid")
	fi
}

# wait_for_file FILE: wait (BOOT_TIMEOUT at most) until FILE exists.
wait_for_file() {
	tries=$((BOOT_TIMEOUT * 10))
	while [ ! -e "$1" ]; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.1
	done
}

# wait_for_line FILE FIXED-STRING: wait (BOOT_TIMEOUT at most) until FILE
# holds this text; fails the check if it never does.
wait_for_line() {
	tries=$((BOOT_TIMEOUT * 10))
	until grep -qF -- "$2" "$1" 2>/dev/null; do
		tries=$((tries - 1))
		if [ "$tries" -le 0 ]; then
			fail "did not appear in $(basename "$1") within ${BOOT_TIMEOUT}s: $2"
			return 1
		fi
		sleep 0.1
	done
	pass "appeared: $2"
}

# wait_exovmm: wait (BOOT_TIMEOUT at most) for the exovmm start_exovmm
# started to end; sets $status as run_exovmm does.  One still running
# then is killed, and the check fails.
wait_exovmm() {
	if ! wait_for_file "$work/status"; then
		fail "exovmm still running after ${BOOT_TIMEOUT}s; killing it"
		[ -n "$exovmm_pid" ] && kill -KILL "$exovmm_pid" 2>/dev/null
	fi
	wait "$exovmm_job"
	exovmm_pid=
	status=$(cat "$work/status" 2>/dev/null || echo none)
	echo "--- exovmm exited $status; stdout and stderr:"
	cat "$work/all"
	echo "---"
	[ "$status" != none ] || status=255
}

# check_tap FILE PREFIX: the lines starting with PREFIX form a passing TAP
# run: a plan 1..N, and "ok" lines numbered exactly 1, 2, ... N in that
# order (no gap, duplicate or extra line), no "not ok".
check_tap() {
	file=$1
	prefix=$2
	plan=$(sed -n "s/^${prefix}1\\.\\.\\([0-9][0-9]*\\)\$/\\1/p" "$file" | head -n 1)
	if [ -z "$plan" ] || [ "$plan" -eq 0 ]; then
		fail "no TAP plan (1..N) in the output"
		return
	fi
	numbers=$(grep -E "^${prefix}ok [0-9]+( |\$)" "$file" | sed "s/^${prefix}ok \\([0-9]*\\).*/\\1/" | tr '\n' ' ')
	want=$(seq 1 "$plan" | tr '\n' ' ')
	if grep -qE "^${prefix}not ok" "$file"; then
		fail "self-tests failed: $(grep -E "^${prefix}not ok" "$file" | tr '\n' ' ')"
	elif [ "$numbers" != "$want" ]; then
		fail "TAP plan says 1..$plan but the ok lines are numbered: ${numbers:-none}"
	else
		pass "$plan self-tests passed"
	fi
}
