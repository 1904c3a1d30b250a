# boot.sh: the boot rows of `make bench`.
#
#   boot to first console line, and to exit: exovmm against QEMU with KVM
#   and the qboot ROM booting the same exo.elf and progs.cpio with 64 MiB,
#   medians of BENCH_RUNS runs each, interleaved so drift hits both alike;
#   exovmm's host memory per instance: RSS beyond the guest memory the
#   guest touched, from /proc/PID/smaps with 1 and with 8 instances running;
#   under emulation, the same two boot rows for exovmm's Unicorn backend
#   against QEMU's TCG (qboot), where exovmm has Unicorn.
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
{ printf '[exovmm]\nbackend = unicorn\n'; instance bench ""; } >"$work/unicorn.conf"
unicorn_ok=0
if "$EXOVMM" --check "$work/unicorn.conf" >/dev/null 2>&1 && [ -n "${QEMU:-}" ] && [ -x "$QEMU" ]; then
	unicorn_ok=1
fi
qemu_ok=0
if [ -n "${QEMU:-}" ] && [ -x "$QEMU" ] && [ -w /dev/kvm ]; then qemu_ok=1; fi
firmware=
[ -n "${QBOOT_ROM:-}" ] && [ -r "$QBOOT_ROM" ] && firmware="-bios $QBOOT_ROM"

qemu_boot() { # ACCEL: QEMU boots the same image and command line
	# shellcheck disable=SC2086 # $firmware is empty or two words
	"$BOOTTIME" "exo: exo " "$QEMU" -accel "$1" -M pc -m "$MEMORY" $firmware \
		-kernel "$EXO_IMAGES/exo.elf" -initrd "$EXO_IMAGES/progs.cpio" -append "" \
		-nographic -nodefaults -serial stdio -monitor none -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04
}

i=0
while [ "$i" -lt "$RUNS" ]; do
	"$BOOTTIME" "exo: exo " "$EXOVMM" "$work/boot.conf" >>"$work/exovmm.times" 2>"$work/exovmm.err"
	if [ "$qemu_ok" -eq 1 ]; then
		qemu_boot kvm >>"$work/qemu.times" 2>"$work/qemu.err"
	fi
	if [ "$unicorn_ok" -eq 1 ]; then
		"$BOOTTIME" "exo: exo " "$EXOVMM" "$work/unicorn.conf" >>"$work/unicorn.times" 2>"$work/unicorn.err"
		qemu_boot tcg >>"$work/tcg.times" 2>"$work/tcg.err"
	fi
	i=$((i + 1))
done
# booted NAME STATUS WHAT: every run of NAME printed and exited with STATUS.
booted() {
	if awk -v want="$2" '$1 < 0 || $3 != want { bad = 1 } END { exit !bad }' "$work/$1.times"; then
		echo "bench: $3 failed to boot the image: $(head -n 1 "$work/$1.times")" >&2
		cat "$work/$1.err" >&2
		exit 1
	fi
}
booted exovmm 0 exovmm
# QEMU's isa-debug-exit turns the guest's exit code 0 into status 1.
[ "$qemu_ok" -eq 0 ] || booted qemu 1 "QEMU with KVM"
[ "$unicorn_ok" -eq 0 ] || { booted unicorn 0 "exovmm with Unicorn"; booted tcg 1 "QEMU with TCG"; }
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
echo
if [ "$unicorn_ok" -eq 1 ]; then
	u_first=$(cut -d' ' -f1 "$work/unicorn.times" | median)
	u_exit=$(cut -d' ' -f2 "$work/unicorn.times" | median)
	t_first=$(cut -d' ' -f1 "$work/tcg.times" | median)
	t_exit=$(cut -d' ' -f2 "$work/tcg.times" | median)
	printf '%-44s %14s %26s %8s\n' "row (emulated CPU)" "exovmm+Unicorn" "QEMU TCG (qboot)" "ratio"
	printf '%-44s %14s %26s %8s\n' "boot 64 MiB: start to first console line" "$(ms "$u_first")" "$(ms "$t_first")" "$(ratio "$u_first" "$t_first")"
	printf '%-44s %14s %26s %8s\n' "boot 64 MiB: start to exit" "$(ms "$u_exit")" "$(ms "$t_exit")" "$(ratio "$u_exit" "$t_exit")"
	echo "(medians of $RUNS runs; goal: first line faster than QEMU TCG)"
else
	echo "(no Unicorn rows: exovmm built without Unicorn, or no QEMU)"
fi
