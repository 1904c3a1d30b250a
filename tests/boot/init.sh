# init.sh: the init program (images/programs/init.c) and the boot
# arguments it reads: the words after "--" on the kernel command line.
# Each case is an instance of its own, all in one exovmm run:
#   ok     init runs hello and two test programs that pass as spawned
#          children (t_libc, t_vm): a report line each, exit 0
#   twice  two boot envs: each gets the arguments, each runs hello
#   mixed  an unknown name, a program that exits 1 (init itself, given
#          no arguments) and one that is killed (adv_nohandler): each
#          reported, the others still run, exit 1, one kill
#   none   init with no arguments: it says so and exits 1
#   long   arguments past EXO_ARGS_MAX (1024 bytes, a NUL after each
#          word): the kernel refuses the command line (exit 3)
#   number, hex, zero: a program's numeric argument (libos_arg_number):
#          wset takes 1 and 1, refuses "0x10" and "0" naming the
#          argument, exit 1
. "$(dirname "$0")/lib.sh"
require_backend

# Words of 8 bytes, 9 with their NUL: the 114th passes 1024 bytes.
long=$(seq -f 'word%04g' 1 120 | tr '\n' ' ')

begin_config
instance ok "cmdline=\"run=init -- hello t_libc t_vm\"" memory=16M
instance twice "cmdline=\"run=init,init -- hello\"" memory=16M
instance mixed "cmdline=\"run=init -- hello nosuch init adv_nohandler\"" memory=16M
instance none "cmdline=\"run=init\"" memory=16M
instance long "cmdline=\"run=init -- $long\"" memory=16M
instance number "cmdline=\"run=wset -- 1 1\"" memory=16M
instance hex "cmdline=\"run=wset -- 0x10 1\"" memory=16M
instance zero "cmdline=\"run=wset -- 1 0\"" memory=16M
run_exovmm_merged
# exovmm's own status is the first non-zero one in config order: mixed's.
expect_status 1 "the init instances"
expect_no "$work/all" "exo: PANIC"
expect_no "$work/all" "exo: EXCEPTION"

# kills NAME N: exactly N "exo: env ... killed:" lines in instance NAME.
kills() {
	n=$(grep -cE "^\\[$1\\] exo: env [0-9]+ \\([^)]*\\) killed: " "$work/all")
	if [ "$n" -eq "$2" ]; then pass "$1: $n env(s) killed"; else fail "$1: $n env(s) killed, expected $2"; fi
}

for p in hello t_libc t_vm; do
	expect "$work/all" "[ok] init: starting $p ("
	expect "$work/all" "[ok] init: $p exited with code 0"
done
expect "$work/all" "[ok] hello from exo"
expect "$work/all" "[ok] init: 0 of 3 programs failed"
expect_no "$work/all" "[ok] not ok"
expect "$work/all" "[ok] exovmm: exited with code 0"
kills ok 0

n=$(grep -cF "[twice] init: hello exited with code 0" "$work/all")
if [ "$n" -eq 2 ]; then pass "both boot envs ran hello"; else fail "hello reported $n time(s) in twice, expected 2"; fi
expect "$work/all" "[twice] exovmm: exited with code 0"
kills twice 0

expect "$work/all" "[mixed] init: nosuch: no such program in the initrd"
expect "$work/all" "[mixed] init: hello exited with code 0"
expect "$work/all" "[mixed] init: no programs to run (name them after -- on the kernel command line)"
expect "$work/all" "[mixed] init: init exited with code 1"
expect "$work/all" "[mixed] init: adv_nohandler was killed"
expect "$work/all" "[mixed] init: 3 of 4 programs failed"
expect "$work/all" "[mixed] exovmm: exited with code 1"
expect_no "$work/all" "[mixed] init: starting nosuch"
kills mixed 1

expect "$work/all" "[none] init: no programs to run (name them after -- on the kernel command line)"
expect "$work/all" "[none] exovmm: exited with code 1"
expect_no "$work/all" "[none] init: starting"

expect "$work/all" "[long] exo: cmdline: arguments after -- too long at \"word0114\": more than 1024 bytes with a NUL after each word"
expect "$work/all" "[long] exovmm: exited with code 3"
expect_no "$work/all" "[long] init:"

expect_re "$work/all" '^\[number\] wset: second 1: passes [1-9][0-9]* .* bad 0$'
expect "$work/all" "[number] exovmm: exited with code 0"
expect "$work/all" "[hex] wset: want MIB from 1 to"
expect "$work/all" "[hex] exovmm: exited with code 1"
expect "$work/all" "[zero] wset: want SECONDS from 1 to"
expect "$work/all" "[zero] exovmm: exited with code 1"
finish
