# adversarial.sh: hostile guest programs, each booted beside the
# well-behaved images/progs/good as `run=adv_X,good` in one exokernel
# (images/programs/adv_*.c and good.c; the programs say what each tries).
# For each pair: the adversary alone is stopped or refused (its kill line,
# or its own TAP run and a clean exit), good prints every one of its
# "good: " TAP lines and exits 0, the kernel neither faults nor panics,
# and exovmm's exit status is what the kernel reports: 5 when the
# adversary (boot env 0) was killed, 0 when it only met errors.  stdout
# and stderr go to one file, in order (see lib.sh).
. "$(dirname "$0")/lib.sh"
require_backend

inst='\[x\] '

# pair ADV STATUS [CMDLINE-WORDS [PROGRAMS]]: boot adv and good (or
# PROGRAMS); the common checks.
pair() {
	adv=$1
	status_want=$2
	extra=${3:-}
	programs=${4:-$adv,good}
	echo "=== run=$programs${extra:+ $extra}"
	begin_config
	instance x memory=64M cmdline="\"run=$programs${extra:+ $extra}\""
	run_exovmm_merged
	expect_status "$status_want" "$adv"
	check_tap "$work/all" "${inst}good: "
	expect_re "$work/all" "^${inst}exo: env [0-9]+ \\(good\\) exited 0\$"
	expect_no "$work/all" "(good) killed"
	expect_no "$work/all" "(good) preempted"
	expect_no "$work/all" "(good): deadline passed"
	expect_no "$work/all" "exo: EXCEPTION"
	expect_no "$work/all" "panic"
	expect_re "$work/all" "^${inst}exovmm: exited with code $status_want\$"
}

# boot_id NAME: the envid the kernel gave boot env NAME (its children
# carry the same name, but only boot envs get a "N frames, M slots" line).
boot_id() {
	sed -n "s/^${inst}exo: env \\([0-9]*\\) ($1): [0-9]* frames, .*/\\1/p" "$work/all" | head -n 1
}

# killed ADV REASON-REGEX: the boot env ADV was killed for that reason,
# before good finished (good ran on after it).
killed() {
	id=$(boot_id "$1")
	expect_re "$work/all" "^${inst}exo: env ${id:-NONE} \\($1\\) killed: $2"
	expect_before "$work/all" "exo: env ${id:-NONE} ($1) killed: " "(good) exited 0"
	expect_no "$work/all" "still alive"
}

# refused ADV: the adversary's own TAP run passed, and the boot env ADV
# exited 0 without being killed (children it made may be killed).
refused() {
	id=$(boot_id "$1")
	check_tap "$work/all" "$inst"
	expect "$work/all" "exo: env ${id:-NONE} ($1) exited 0"
	expect_no "$work/all" "exo: env ${id:-NONE} ($1) killed"
}

hex='0x[0-9a-f]+'
sedhex='0x[0-9a-f]*'

# Frames it does not own: good's (by name), the kernel's, bad slots.  The
# frames it named are good's: its guess of good's root is good's own.
pair adv_frame 0
refused adv_frame
guess=$(sed -n "s/^${inst}# good's pml4 should be at \\($sedhex\\)\$/\\1/p" "$work/all")
real=$(sed -n "s/^${inst}good: # env [0-9]*, pml4 at \\($sedhex\\)\$/\\1/p" "$work/all")
if [ -n "$guess" ] && [ "$guess" = "$real" ]; then
	pass "the frames adv_frame named were good's (root $real)"
else
	fail "adv_frame aimed at ${guess:-nothing}, good's root is ${real:-unknown}"
fi

# Its own page tables through the UVPT view, and pte_set above the limit.
pair adv_uvpt 5
check_tap "$work/all" "$inst"
killed adv_uvpt "exception 14 error 0x7 at rip $hex \\(addr 0x00007f8000002000\\) and no handler\$"

# Freed, forged and widened capabilities.
pair adv_cap 0
refused adv_cap

# Kernel, non-canonical and unmapped pointers, huge lengths.
pair adv_ptr 0
refused adv_ptr

# PCT without a capability for it.
pair adv_pct 0
refused adv_pct

# A child that ignores a revocation request; the kernel takes by force.
pair adv_revoke 0 revoke=20ms
refused adv_revoke
expect_re "$work/all" "^${inst}exo: env [0-9]+ \\(adv_revoke\\): deadline passed, repossessed 5 frames and 0 slots\$"

# Spinning without a yield, with no handlers: switched out at each slice
# end, so good finishes while it still spins.
pair adv_spin 0
refused adv_spin
expect_before "$work/all" "(good) exited 0" "exo: env $(boot_id adv_spin) (adv_spin) exited 0"

# Spinning through its epilogue: preempted by force, charged.
pair adv_spin_epilogue 0
refused adv_spin_epilogue
expect_re "$work/all" "^${inst}exo: env [0-9]+ \\(adv_spin_epilogue\\) preempted: no yield within [0-9]+ us of its epilogue\$"
expect_before "$work/all" "(adv_spin_epilogue) preempted: " "(good) exited 0"
expect_before "$work/all" "(good) exited 0" "exo: env $(boot_id adv_spin_epilogue) (adv_spin_epilogue) exited 0"

# A fault with no handler.
pair adv_nohandler 5
killed adv_nohandler "exception 14 error 0x6 at rip $hex \\(addr 0x0000000000000000\\) and no handler\$"

# A fault inside its own fault handler: nested until the stack is full.
pair adv_handlerfault 5
expect "$work/all" "# adv_handlerfault: handler entered (1) for trap 14 addr 0x8; now faulting in it"
expect "$work/all" "# adv_handlerfault: handler entered (2) for trap 14 addr 0x0; now faulting in it"
# The last fault is the null write, or the handler's own frame hitting the
# unmapped page below the stack: either way the stack is full.
killed adv_handlerfault "exception 14 error 0x[0-9a-f]+ at rip $hex \\(addr $hex\\) and its upcall stack overflowed\$"
expect_no "$work/all" "the handler survived"

# Its upcall stack on its own read-only code.
pair adv_badstack 5
killed adv_badstack "exception 14 error 0x6 at rip $hex \\(addr 0x0000000000000000\\) and its upcall stack is not mapped writable\$"
expect_no "$work/all" "handler entered on a read-only stack"

# Jumps into the kernel and into non-executable pages; privileged
# instructions; then a jump into the kernel with no handler.
pair adv_exec 5
check_tap "$work/all" "$inst"
killed adv_exec "exception 14 error 0x15 at rip 0xffffffff80100000 \\(addr 0xffffffff80100000\\) and no handler\$"

# An exit code the exit port cannot carry (0 if cut to 32 bits).
pair adv_exit 5
killed adv_exit "exit code 4294967296 is above 63\$"

# The env table filled by one env, dead entries reused: the kill of
# adv_nohandler must still decide the exit status.
pair adv_envs 5 "" adv_envs,good,adv_nohandler
refused adv_envs
killed adv_nohandler "exception 14 error 0x6 at rip $hex \\(addr 0x0000000000000000\\) and no handler\$"
expect_before "$work/all" "(adv_nohandler) killed: " "exo: env $(boot_id adv_envs) (adv_envs) exited 0"

finish
