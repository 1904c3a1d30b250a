# boot.sh: the boot rows of `make bench`.
#
#   boot to first console line, and to exit: exovmm against QEMU with KVM
#   and the qboot ROM booting the same exo.elf and progs.cpio with 64 MiB,
#   medians of BENCH_RUNS runs each, interleaved so drift hits both alike;
#   exovmm's host memory per instance: RSS beyond the guest memory the
#   guest touched, from /proc/PID/smaps with 1 and with 8 instances running.
set -eu

RUNS=${BENCH_RUNS:-21}
MEMORY=64M
MEMORY_KIB=65536
MANY=8
work=$(mktemp -d "${TMPDIR:-/tmp}/exo-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

instance() { # NAME CMDLINE
	printf '[instance %s]\nimage = %s/exo.elf\ninitrd = %s/progs.cpio\nmemory = %s\ncmdline = %s\n' \
		"$1" "$EXO_IMAGES" "$EXO_IMAGES" "$MEMORY" "$2"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print v[int((NR + 1) / 2)] }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.1fx", b / a; else print "n/a" }'; }

instance bench "" >"$work/boot.conf"
qemu_ok=0
if [ -n "${QEMU:-}" ] && [ -x "$QEMU" ] && [ -w /dev/kvm ]; then qemu_ok=1; fi
firmware=
[ -n "${QBOOT_ROM:-}" ] && [ -r "$QBOOT_ROM" ] && firmware="-bios $QBOOT_ROM"

i=0
while [ "$i" -lt "$RUNS" ]; do
	"$BOOTTIME" "exo: exo " "$EXOVMM" "$work/boot.conf" >>"$work/exovmm.times" 2>"$work/exovmm.err"
	if [ "$qemu_ok" -eq 1 ]; then
		# shellcheck disable=SC2086 # $firmware is empty or two words
		"$BOOTTIME" "exo: exo " "$QEMU" -accel kvm -M pc -m "$MEMORY" $firmware \
			-kernel "$EXO_IMAGES/exo.elf" -initrd "$EXO_IMAGES/progs.cpio" -append "" \
			-nographic -nodefaults -serial stdio -monitor none -no-reboot \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 >>"$work/qemu.times" 2>"$work/qemu.err"
	fi
	i=$((i + 1))
done
if awk '$1 < 0 || $3 != 0 { bad = 1 } END { exit !bad }' "$work/exovmm.times"; then
	echo "bench: exovmm failed to boot the image: $(head -n 1 "$work/exovmm.times")" >&2
	cat "$work/exovmm.err" >&2
	exit 1
fi
# QEMU's isa-debug-exit turns the guest's exit code 0 into status 1.
if [ "$qemu_ok" -eq 1 ] && awk '$1 < 0 || $3 != 1 { bad = 1 } END { exit !bad }' "$work/qemu.times"; then
	echo "bench: QEMU failed to boot the image: $(head -n 1 "$work/qemu.times")" >&2
	cat "$work/qemu.err" >&2
	exit 1
fi
exo_first=$(cut -d' ' -f1 "$work/exovmm.times" | median)
exo_exit=$(cut -d' ' -f2 "$work/exovmm.times" | median)

# RSS of exovmm beyond its guests' RAM mappings (rw-p, exactly MEMORY_KIB).
overhead_kib() { # COUNT
	: >"$work/mem.conf"
	n=0
	while [ "$n" -lt "$1" ]; do instance "m$n" hold=3s >>"$work/mem.conf"; n=$((n + 1)); done
	"$EXOVMM" "$work/mem.conf" >"$work/mem.out" 2>&1 &
	pid=$!
	tries=0
	while [ "$(grep -c 'exo: memory:' "$work/mem.out")" -lt "$1" ] && [ "$tries" -lt 200 ]; do
		sleep 0.05
		tries=$((tries + 1))
	done
	awk -v guest="$MEMORY_KIB" '
		/^[0-9a-f]+-[0-9a-f]+ / { in_guest = 0; perms = $2; next }
		/^Size:/ { in_guest = ($2 == guest && perms == "rw-p") }
		/^Rss:/ { total += $2; if (in_guest) guest_rss += $2 }
		END { print total - guest_rss }' "/proc/$pid/smaps"
	wait "$pid"
}
one=$(overhead_kib 1)
many=$(overhead_kib "$MANY")
per_instance=$(( (many - one) / (MANY - 1) ))

echo
echo "exo benchmarks: boot ($(date -u +%Y-%m-%d), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))"
printf '%-44s %14s %26s %8s\n' "row" "exovmm" "QEMU+KVM (qboot)" "ratio"
if [ "$qemu_ok" -eq 1 ]; then
	q_first=$(cut -d' ' -f1 "$work/qemu.times" | median)
	q_exit=$(cut -d' ' -f2 "$work/qemu.times" | median)
	printf '%-44s %14s %26s %8s\n' "boot 64 MiB: start to first console line" "$(ms "$exo_first")" "$(ms "$q_first")" "$(ratio "$exo_first" "$q_first")"
	printf '%-44s %14s %26s %8s\n' "boot 64 MiB: start to exit" "$(ms "$exo_exit")" "$(ms "$q_exit")" "$(ratio "$exo_exit" "$q_exit")"
else
	printf '%-44s %14s %26s %8s\n' "boot 64 MiB: start to first console line" "$(ms "$exo_first")" "(no QEMU/KVM)" "-"
	printf '%-44s %14s %26s %8s\n' "boot 64 MiB: start to exit" "$(ms "$exo_exit")" "(no QEMU/KVM)" "-"
fi
printf '%-44s %14s\n' "exovmm RSS beyond guest RAM, 1 instance" "$one KiB"
printf '%-44s %14s\n' "exovmm RSS per further instance ($MANY run)" "$per_instance KiB"
echo "(medians of $RUNS runs; goals: >= 10x QEMU to first output, < 2048 KiB per instance)"
