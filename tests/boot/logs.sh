# logs.sh: with --log-dir DIR, each instance's DIR/NAME.log holds exactly
# its own lines -- console and exovmm's line on how it ended -- in order
# and without the "[NAME] " prefix of the terminal.  And a run that fails
# to start truncates or removes no earlier log file and leaves no new one:
# not when the second instance's image is not an ELF file, nor when the
# second instance's log file cannot be opened after the first one's was.
. "$(dirname "$0")/lib.sh"
require_backend

logs=$work/logs
instance first cmdline='"test=boot"'
instance second cmdline=hold=100ms
run_exovmm_merged --log-dir "$logs"
expect_status 0 "two instances with --log-dir"
for name in first second; do
	log=$logs/$name.log
	if [ ! -f "$log" ]; then
		fail "no log file $name.log"
		continue
	fi
	expect "$log" "exo: exo 0.1.0 booting on exovmm"
	expect "$log" "exovmm: exited with code 0"
	expect_no "$log" "[first]"
	expect_no "$log" "[second]"
	# The log is the terminal's lines for this instance, prefix removed.
	sed -n "s/^\\[$name\\] //p" "$work/all" >"$work/want.$name"
	if cmp -s "$work/want.$name" "$log"; then
		pass "$name.log is its $(wc -l <"$log") terminal lines without the prefix"
	else
		fail "$name.log differs from its terminal lines without the prefix:"
		diff "$work/want.$name" "$log"
	fi
done
check_tap "$logs/first.log" ''

# A later run that fails to start leaves the earlier log alone.
echo precious >"$logs/first.log"
rm -f "$logs/second.log"
begin_config
instance first
instance second image="$EXO_IMAGES/progs.cpio"
run_exovmm_merged --log-dir "$logs"
expect_status 66 "second image not an ELF file"
expect "$work/all" "$EXO_IMAGES/progs.cpio: not an ELF file"
expect_no "$work/all" "[first]"
if [ -d "$logs" ]; then pass "the existing log directory is still there"; else fail "the existing log directory was removed"; fi
if [ -f "$logs/first.log" ] && grep -qx precious "$logs/first.log"; then
	pass "first.log from before still holds its contents"
else
	fail "first.log from before was truncated or removed by a run that never started"
fi
if [ -e "$logs/second.log" ]; then fail "second.log created by a run that never started"; else pass "no second.log"; fi

# Both instances are fine, but second.log is a directory, so opening it
# fails after first.log has been opened.
mkdir "$logs/second.log"
begin_config
instance first
instance second
run_exovmm_merged --log-dir "$logs"
expect_status 66 "log file that cannot be opened"
expect "$work/all" "$logs/second.log: cannot create log file"
expect_no "$work/all" "[first]"
if [ -f "$logs/first.log" ] && grep -qx precious "$logs/first.log"; then
	pass "first.log from before still holds its contents"
else
	fail "first.log from before was truncated or removed by a run that never started"
fi
finish
