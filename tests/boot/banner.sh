# banner.sh: one instance boots, prints the banner with the memory map of
# its configured size, lists the initrd, and exits 0.
. "$(dirname "$0")/lib.sh"
require_backend

for mem in 64M:65536:0x0000000004000000 128M:131072:0x0000000008000000; do
	size=${mem%%:*}
	rest=${mem#*:}
	kib=${rest%%:*}
	end=${rest#*:}
	begin_config
	instance hello memory="$size"
	run_exovmm
	expect_status 0 "memory $size"
	expect "$work/out" "[hello] exo: exo 0.1.0 booting on exovmm"
	expect "$work/out" "[hello] exo:   [0x0000000000000000-$end) ram"
	expect "$work/out" "[hello] exo: memory: $kib KiB RAM"
	expect_re "$work/out" '^\[hello\] exo: initrd:   hello [0-9]+ bytes ELF64 x86-64 entry 0x[0-9a-f]+$'
	expect "$work/err" "[hello] exovmm: exited with code 0"
done
finish
