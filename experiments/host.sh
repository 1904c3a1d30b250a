# host.sh: the host's CPU time, for scripts that must know what the rest
# of the machine used while they measured (experiments/slice_sweep.sh,
# bench/cpu.sh).  Sourced, not run.

host_hz=$(getconf CLK_TCK)

# "BUSY IDLE": seconds all the host's CPUs spent busy and idle so far
# (/proc/stat; idle counts iowait), to the hundredth (awk's default
# output keeps six digits, a tenth of a second after a few hours of
# uptime).  awk reads "BUSY IDLE" as BUSY where a number is wanted.
host_busy() {
	awk -v hz="$host_hz" '$1 == "cpu" { printf "%.2f %.2f\n", ($2 + $3 + $4 + $7 + $8 + $9) / hz, ($5 + $6) / hz }' /proc/stat
}
