# exo.sh: the exokernel-primitive rows of `make bench`.
#
#   each primitive the exokernel offers a guest program, in cycles (TSC
#   ticks), against its nearest Linux counterpart measured on this host in
#   the same run by bench/linux_prims (see its top comment for what each
#   Linux figure times); ratio is Linux / exo, how many times faster exo is.
#   The exo column comes from exo_results below: "NAME CYCLES" lines named
#   null_syscall, exc_pagefault, exc_breakpoint, pct_roundtrip,
#   frame_map_unmap, the Appel-Li set appel_dirty, appel_prot1,
#   appel_prot100, appel_unprot100, appel_trap, appel_appel1 and
#   appel_appel2, fork_4m and pipe_roundtrip, each in the unit
#   bench/linux_vm.c (or linux_prims.c) gives its Linux namesake; a figure
#   it does not give shows as n/a.
set -eu

work=$(mktemp -d "${TMPDIR:-/tmp}/exo-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The guest programs that print the exo column, run one after the other
# so that neither is timed while the other runs: bench (the primitives)
# and bench_vm (the library OS's Appel-Li set and fork_4m).
guest_programs="bench bench_vm"

# The guest's figures, "NAME CYCLES" lines, for the exo column: the file
# EXO_RESULTS names if set, else what each of guest_programs prints as
# "result NAME CYCLES" when exovmm runs it (nothing without /dev/kvm).
exo_results() {
	if [ -n "${EXO_RESULTS:-}" ]; then
		if [ ! -r "$EXO_RESULTS" ]; then
			echo "bench: cannot read EXO_RESULTS file $EXO_RESULTS" >&2
			exit 1
		fi
		cat "$EXO_RESULTS"
		return
	fi
	if [ ! -w /dev/kvm ]; then
		echo "bench: /dev/kvm is not usable; exo figures are n/a" >&2
		return
	fi
	for program in $guest_programs; do
		run_guest "$program"
	done
}

# Run images/progs/PROGRAM as the only boot env of an instance named
# bench (its console lines start "[bench] "); print its figures.
run_guest() { # PROGRAM
	cat >"$work/$1.conf" <<-EOF
	[instance bench]
	image = $EXO_IMAGES/exo.elf
	initrd = $EXO_IMAGES/progs.cpio
	memory = 64M
	cmdline = run=$1
	EOF
	"$EXOVMM" "$work/$1.conf" >"$work/$1.out" 2>&1 || {
		echo "bench: the guest benchmark $1 failed:" >&2
		cat "$work/$1.out" >&2
		exit 1
	}
	if ! exited_ok "$1" "$work/$1.out"; then
		echo "bench: the guest benchmark $1 did not exit 0:" >&2
		cat "$work/$1.out" >&2
		exit 1
	fi
	sed -n 's/^\[bench\] result //p' "$work/$1.out"
}

# Whether PROGRAM, the boot env of the run that printed FILE, exited 0:
# the kernel's own exit code does not say, its console lines do.  The
# first "env ID (PROGRAM):" line names the boot env's ID.
exited_ok() { # PROGRAM FILE
	awk -v prog="($1)" '$3 == "env" && $5 == prog ":" && !id { id = $4 }
		id && $3 == "env" && $4 == id && $5 == prog && $6 == "exited" &&
			$7 == "0" { ok = 1 }
		END { exit !ok }' "$2"
}

# Every line of FILE must be "NAME CYCLES" (blank lines aside), so that a
# garbled figure stops the run instead of showing as n/a.
check() { # FILE WHAT
	awk -v what="$2" 'NF && (NF != 2 || $2 !~ /^[0-9]+$/) {
		print "bench: bad line in " what ": " $0 > "/dev/stderr"; bad = 1 }
		END { exit bad }' "$1"
}
# The cycles named NAME in FILE; empty if FILE has none.
figure() { awk -v name="$2" '$1 == name { print $2; exit }' "$1"; } # FILE NAME
ratio() { awk -v exo="$1" -v linux="$2" 'BEGIN { if (exo > 0) printf "%.1fx", linux / exo; else print "n/a" }'; }
# Goal text, then whether the exo figure meets it: at most MAX_FRACTION of
# Linux's cycles, and under MAX_CYCLES if given.
goal() { # EXO LINUX TEXT MAX_FRACTION [MAX_CYCLES]
	if [ -z "$1" ]; then
		echo "$3"
		return
	fi
	awk -v exo="$1" -v linux="$2" -v text="$3" -v frac="$4" -v max="${5:-}" 'BEGIN {
		met = exo <= frac * linux && (max == "" || exo < max)
		print text ": " (met ? "met" : "MISSED") }'
}

"$LINUX_PRIMS" >"$work/linux" || { echo "bench: linux_prims failed" >&2; exit 1; }
exo_results >"$work/exo"
check "$work/linux" "linux_prims output"
check "$work/exo" "guest results"

row() { # TITLE EXO_NAME LINUX_NAME GOAL_TEXT MAX_FRACTION [MAX_CYCLES]
	exo=$(figure "$work/exo" "$2")
	linux=$(figure "$work/linux" "$3")
	if [ -z "$linux" ]; then
		echo "bench: linux_prims gave no $3 figure" >&2
		exit 1
	fi
	printf '%-44s %14s %16s %8s  %s\n' "$1" "${exo:-n/a}" "$linux" \
		"$(if [ -n "$exo" ]; then ratio "$exo" "$linux"; else echo n/a; fi)" \
		"$(goal "$exo" "$linux" "$4" "$5" "${6:-}")"
}

echo
echo "exo benchmarks: primitives ($(date -u +%Y-%m-%d), $(figure "$work/linux" cpus) CPUs, nothing pinned)"
printf '%-44s %14s %16s %8s  %s\n' "row" "exo (cycles)" "Linux (cycles)" "ratio" "goal"
# Goals as the largest fraction of Linux's cycles exo may take: 0.3x for
# the null system call, 20x faster (1/20) for exceptions, 50x (1/50) and
# under 1000 cycles for a protected control transfer, 10x (1/10) for frames.
row "null system call (Linux getppid)" null_syscall getppid "exo <= 0.3x Linux" 0.3
row "page fault to user handler (SIGSEGV)" exc_pagefault sigsegv_mprotect ">= 20x" 0.05
row "breakpoint to user handler (SIGTRAP)" exc_breakpoint sigtrap ">= 20x" 0.05
row "protected control transfer (pipe) round trip" pct_roundtrip pipe_roundtrip ">= 50x, < 1000 cycles" 0.02 1000
row "frame alloc+map+touch+unmap (mmap 4 KiB)" frame_map_unmap mmap_touch_munmap ">= 10x" 0.1
# The library OS's virtual memory, fork and pipe against Linux's: the same
# name on both sides, the goal 10x (1/10) for each.
libos_row() { row "$1" "$2" "$2" ">= 10x" 0.1; } # TITLE NAME
libos_row "Appel-Li dirty: is one page dirty" appel_dirty
libos_row "Appel-Li prot1: protect 1 page" appel_prot1
libos_row "Appel-Li prot100: protect 100 pages, 1 call" appel_prot100
libos_row "Appel-Li unprot100: unprotect 100 pages" appel_unprot100
libos_row "Appel-Li trap: fault to handler and back" appel_trap
libos_row "Appel-Li appel1: prot1+trap+unprot, /page" appel_appel1
libos_row "Appel-Li appel2: protN+trap+unprot, /page" appel_appel2
libos_row "fork+exit+wait, 4 MiB touched" fork_4m
libos_row "pipe round trip (library OS pipe)" pipe_roundtrip
echo "(medians; ratio = Linux / exo; Linux figures are net of $(figure "$work/linux" rdtsc_overhead) cycles of rdtsc overhead;"
# A pipe round trip within one CPU costs several times less than across
# two, and the scheduler decides which one was measured: say which.
echo " $(figure "$work/linux" pipe_same_cpu_percent)% of the pipe round trips had both processes on one CPU;"
# Linux answers the dirty query from pagemap's soft-dirty bit, which a
# kernel built without CONFIG_MEM_SOFT_DIRTY never sets: say which.
if [ "$(figure "$work/linux" soft_dirty_tracked)" = 1 ]; then
	echo " Linux's dirty query reads a soft-dirty bit this kernel maintains)"
else
	echo " Linux's dirty query walks pagemap, but this kernel keeps no soft-dirty bit)"
fi
