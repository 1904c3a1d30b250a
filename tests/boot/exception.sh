# exception.sh: a deliberate CPU exception in the kernel prints the
# register dump and ends the instance with EXO_EXIT_EXCEPTION(vector).
. "$(dirname "$0")/lib.sh"
require_backend

# fault name, vector, mnemonic
for case in de:0:DE bp:3:BP ud:6:UD gp:13:GP pf:14:PF; do
	name=${case%%:*}
	rest=${case#*:}
	vector=${rest%%:*}
	mnemonic=${rest#*:}
	begin_config
	instance crash cmdline="fault=$name"
	run_exovmm
	expect_status $((32 + vector)) "fault=$name"
	expect_re "$work/out" "^\\[crash\\] exo: EXCEPTION $vector #$mnemonic .* at rip 0x[0-9a-f]+"
	expect_re "$work/out" '^\[crash\] exo:   rax=0x[0-9a-f]+'
	expect "$work/err" "[crash] exovmm: exited with code $((32 + vector))"
done
finish
