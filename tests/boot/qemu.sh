# qemu.sh: the same exo.elf and progs.cpio boot unchanged under QEMU's own
# PVH loader and print the same banner.  The self-tests run under TCG,
# which behaves the same on every host; a plain boot also runs under KVM
# when /dev/kvm is usable.  (Some hosts' KVM cannot deliver a breakpoint
# raised in ring 0, which one self-test does; exovmm's KVM backend works
# around that, QEMU does not.)
. "$(dirname "$0")/lib.sh"
require_qemu

firmware=
if [ -n "${QBOOT_ROM:-}" ] && [ -r "$QBOOT_ROM" ]; then firmware="-bios $QBOOT_ROM"; fi

# run_qemu ACCEL CMDLINE: sets $status; the console is in $work/console.
run_qemu() {
	status=0
	# shellcheck disable=SC2086 # $firmware is empty or two words
	timeout "$BOOT_TIMEOUT" "$QEMU" -accel "$1" -M pc -m 64M $firmware \
		-kernel "$EXO_IMAGES/exo.elf" -initrd "$EXO_IMAGES/progs.cpio" \
		-append "$2" -nographic -no-reboot -nodefaults \
		-serial stdio -monitor none \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 >"$work/out" 2>"$work/err" || status=$?
	tr -d '\r' <"$work/out" >"$work/console"
	echo "--- qemu -accel $1 -append '$2' exited $status:"
	cat "$work/console" "$work/err"
}

# check_banner HYPERVISOR-REGEX
check_banner() {
	expect_re "$work/console" "^exo: exo 0\\.1\\.0 booting on $1\$"
	expect "$work/console" "exo: memory: "
	expect_re "$work/console" '^exo: timer: lapic periodic 10000 us \(input [0-9]+ kHz, calibrated\)$'
	expect_re "$work/console" '^exo: initrd:   hello [0-9]+ bytes ELF64 x86-64 entry 0x[0-9a-f]+$'
}

run_qemu tcg "test=boot tick=10ms"
# isa-debug-exit makes QEMU exit with (code << 1) | 1.
expect_status 1 "TCG: exit code 0 through isa-debug-exit"
check_banner '(unknown hypervisor "TCGTCGTCGTCG"|bare hardware)'
check_tap "$work/console" ''

if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	run_qemu kvm "tick=10ms"
	expect_status 1 "KVM: exit code 0 through isa-debug-exit"
	check_banner 'unknown hypervisor "KVMKVMKVM"'
else
	echo "note: /dev/kvm not usable; QEMU ran under TCG only"
fi
finish
