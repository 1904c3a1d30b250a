# valgrind.sh: exovmm runs a booting instance, a faulting one and a bad
# configuration without a single memory error or leak under valgrind.
# valgrind exits 99 on any error or leak, so the expected statuses below
# prove a clean run (its warnings about KVM ioctls it has no wrapper for
# are not errors).
. "$(dirname "$0")/lib.sh"
[ -n "${VALGRIND:-}" ] && [ -x "$VALGRIND" ] || skip "valgrind not found (Debian package valgrind)"
require_backend

vg() {
	status=0
	timeout $((BOOT_TIMEOUT * 4)) "$VALGRIND" --quiet --error-exitcode=99 --leak-check=full \
		--suppressions="$(dirname "$0")/unicorn.supp" \
		--errors-for-leak-kinds=definite,indirect --track-fds=no \
		"$EXOVMM" "$@" >"$work/out" 2>"$work/err" || status=$?
	echo "--- valgrind exovmm $* exited $status; stderr:"
	cat "$work/err"
}

instance good cmdline=test=boot
instance bad cmdline=fault=triple
vg --log-dir "$work/logs" "$work/test.conf"
expect_status 70 "two instances under valgrind"
check_tap "$work/out" '\[good\] '

printf '[instance x]\nmemory = 3M\n' >"$work/bad.conf"
vg "$work/bad.conf"
expect_status 65 "bad config under valgrind"
finish
