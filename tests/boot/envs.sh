# envs.sh: the functional guest tests (images/programs/t_*.c) of every
# system call's success and error paths and of exception dispatch to user
# level.  Each program is the only boot env of its own instance (they
# expect every slice and frame share to be theirs); the instances run at
# once in one exovmm run.  Each must exit 0, print a passing TAP run
# (lines prefixed with its instance name), and have exactly as many envs
# killed as it kills on purpose: a kill line more or fewer means an env
# died that should not have, or survived what should have ended it.
. "$(dirname "$0")/lib.sh"
require_backend

# program:kills, where kills counts "exo: env N (...) killed:" lines:
#   t_cap    a child it kills
#   t_mem    four children it kills (the last one holds a mapping of a
#            page freed alone, from a partly freed capability)
#   t_env    64 envs for the envid test, a spinning child, three in the
#            quota tree, an exit code above 63, a grandchild whose parent
#            exits, a child holding a slice freed by libos_spawn_free
#   t_batch  a child killed in a batch, a child whose batch kills itself
#   t_exc    a fault with no handler, a handler faulting until its upcall
#            stack overflows (a fault in it nests), no upcall stack
#   t_pct    a callee that kills itself mid-call, the server at the end
#   t_sched  the child given a slice
#   t_args   none
#   t_revoke a child that could pay only with vital frames, one at the end,
#            a cascade's middle child and its grandchild at the end
#   t_libc   none
#   t_fork   none
#   t_vm     none
#   t_thread none
#   t_malloc none (its children exit, reporting bad frees)
#   t_ipc    none
#   t_policy none
tests="t_cap:1 t_mem:4 t_env:71 t_batch:2 t_exc:3 t_pct:2 t_sched:1 t_args:0
t_revoke:4 t_libc:0 t_fork:0 t_vm:0 t_thread:0 t_malloc:0 t_ipc:0
t_policy:0"

# Small guests: the kernel's frame-table walks scale with RAM, and the
# tests need far less.  t_sched checks that an epilogue answered in time
# is not charged: long slices (so a long bound, 100ms) keep a loaded
# host's pauses from counting against it.  Sixteen instances here share 2
# CPUs; the vCPU's stolen time (the mailbox's stolen_ns: parked by
# exovmm's CPU quota layer, or waiting for a host CPU) is added back to
# the bound by the kernel, as to revocation deadlines; the host's own
# pauses of the whole VM are not, and the bound runs on wall time.
begin_config
for t in $tests; do
	name=${t%%:*}
	extra= limits=
	case $name in
	t_mem) limits=memory_min=8M ;; # vital frames come from below it
	t_sched) extra=" slice=200ms" ;;
	t_thread | t_malloc) extra=" slice=2ms" ;; # preemption comes often
	# Its voluntary answers page out and clear bits (slow page-table
	# writes on some hosts): a grace no loaded host overruns.
	t_policy) extra=" revoke=2s" ;;
	esac
	instance "$name" "cmdline=\"run=$name$extra\"" memory=16M $limits
done
run_exovmm_merged
expect_status 0 "the guest tests"
expect_no "$work/all" "exo: PANIC"
expect_no "$work/all" "exo: EXCEPTION"
for t in $tests; do
	name=${t%%:*}
	kills=${t#*:}
	expect "$work/all" "[$name] exovmm: exited with code 0"
	check_tap "$work/all" "\\[$name\\] "
	n=$(grep -cE "^\\[$name\\] exo: env [0-9]+ \\([^)]*\\) killed: " "$work/all")
	if [ "$n" -eq "$kills" ]; then
		pass "$name: $n env(s) killed, as planned"
	else
		fail "$name: $n env(s) killed, expected $kills"
	fi
done
finish
