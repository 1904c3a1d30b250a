# cli.sh: exovmm's command line, its exit statuses, and its errors for bad
# input: each names the file (and line or field), exits non-zero, and
# leaves nothing started or created behind.  The configuration and every
# image are checked before any backend is opened, so most checks here run
# on any host; a host without KVM is made, where root may, by giving
# exovmm an empty /dev of its own.  The checks that boot a guest come last
# and need the backend under test.
. "$(dirname "$0")/lib.sh"

# Seconds for an exovmm that boots nothing.
CLI_TIMEOUT=60

# run_cmd CMD...: as run_exovmm, for a command line of any shape.
run_cmd() {
	status=0
	timeout "$CLI_TIMEOUT" "$@" >"$work/out" 2>"$work/err" || status=$?
	echo "--- $* exited $status; stdout, then stderr:"
	cat "$work/out" "$work/err"
}

# verify WHAT TEST...: one check, passed when the command TEST succeeds.
# The output it judges is in the log, just above.
verify() {
	what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

not() { ! "$@"; }
starts_with() { case $1 in "$2"*) return 0 ;; esac; return 1; }

status_is() { verify "$2: exit status $1 (it was $status)" [ "$status" -eq "$1" ]; }
has() { verify "$(basename "$1") holds: $2" grep -qF -- "$2" "$1"; }
lacks() { verify "$(basename "$1") lacks: $2" not grep -qF -- "$2" "$1"; }
first_line_is() { verify "$(basename "$1") begins with the line: $2" [ "$(head -n 1 "$1")" = "$2" ]; }
first_line_starts() { verify "$(basename "$1") begins: $2" starts_with "$(head -n 1 "$1")" "$2"; }
lines_are() { verify "$(basename "$1") has $2 line(s)" [ "$(wc -l <"$1")" -eq "$2" ]; }
absent_path() { verify "$2: no $1" [ ! -e "$1" ]; }

# config [LINES]: begin a config whose [exovmm] section holds LINES (each
# ending in \n) and no backend unless they name one, so auto: the checks
# that use it open no backend or any that runs here.  lib.sh's instance()
# then adds to it.
config() {
	printf '[exovmm]\n%b' "${1:-}" >"$work/test.conf"
}

# The backend names this exovmm accepts, as its messages list them.
if [ "${EXO_HAVE_UNICORN:-}" = yes ]; then
	choices="auto, kvm or unicorn"
	kvm_hint="(use backend = auto or unicorn on a host without KVM)"
else
	choices="auto or kvm"
	kvm_hint="(this exovmm has no backend for hosts without KVM: build it with Unicorn 2.1)"
fi

# --- Usage ----------------------------------------------------------------

run_exovmm --help
status_is 0 "--help"
has "$work/out" "Usage: exovmm [OPTION]... CONFIG"
has "$work/out" "-b, --backend=NAME"
has "$work/out" "-n, --check"
run_exovmm --version
status_is 0 "--version"
has "$work/out" "exovmm (exo) 0.1.0"
run_cmd "$EXOVMM"
status_is 64 "no arguments"
has "$work/err" "exovmm: missing CONFIG file"
run_exovmm --bogus
status_is 64 "unknown option"

# A bad --backend is refused before the configuration is even read.
run_cmd "$EXOVMM" --backend bogus "$work/absent.conf"
status_is 64 "--backend bogus"
first_line_is "$work/err" "exovmm: --backend: expected $choices, got \"bogus\""
has "$work/err" "Try 'exovmm --help' for more information."
run_cmd "$EXOVMM" --backend=libvirt "$work/absent.conf"
status_is 64 "--backend libvirt"
first_line_is "$work/err" "exovmm: --backend: \"libvirt\" is not built yet; expected $choices"

# --- The configuration ----------------------------------------------------

run_cmd "$EXOVMM" "$work/absent.conf"
status_is 65 "missing config"
has "$work/err" "exovmm: $work/absent.conf: cannot open: No such file or directory"
printf '[exovmm]\ncolour = blue\n' >"$work/test.conf"
run_exovmm
status_is 65 "unknown key"
first_line_is "$work/err" "exovmm: $work/test.conf:2: [exovmm] unknown key \"colour\""

# A bad backend name is the line's fault, with or without --check.
config "backend = qemu\n"
instance first
run_exovmm
status_is 65 "[exovmm] backend = qemu"
first_line_is "$work/err" "exovmm: $work/test.conf:2: [exovmm] backend: expected $choices, got \"qemu\""
config
instance first backend=kvmm
run_exovmm --check
status_is 65 "--check, [instance first] backend = kvmm"
first_line_is "$work/err" "exovmm: $work/test.conf:5: [instance first] backend: expected $choices, got \"kvmm\""
lines_are "$work/out" 0
config "backend = unicorn\n"
instance first
run_exovmm --check
if [ "${EXO_HAVE_UNICORN:-}" = yes ]; then
	status_is 0 "--check, backend = unicorn in an exovmm with Unicorn"
	run_exovmm --check --backend unicorn
	status_is 0 "--check --backend unicorn in an exovmm with Unicorn"
else
	status_is 65 "--check, backend = unicorn in an exovmm without Unicorn"
	first_line_is "$work/err" "exovmm: $work/test.conf:2: [exovmm] backend: \"unicorn\" is not built into this exovmm (configure found no Unicorn 2.1); expected auto or kvm"
	run_exovmm --check --backend unicorn
	status_is 64 "--backend unicorn in an exovmm without Unicorn"
	first_line_is "$work/err" "exovmm: --backend: \"unicorn\" is not built into this exovmm (configure found no Unicorn 2.1); expected auto or kvm"
fi

# --check reads everything and starts nothing: no console line, no
# backend chosen, and no log directory, metrics file or control socket.
config "metrics = $work/m.csv\ncontrol = $work/exo.sock\n"
instance first cmdline="test=boot"
instance second memory=32M
for flag in --check -n; do
	run_exovmm "$flag" --log-dir "$work/check-logs"
	status_is 0 "$flag on a good config"
	first_line_is "$work/out" "$work/test.conf: ok"
	lines_are "$work/out" 1
	lines_are "$work/err" 0
	absent_path "$work/check-logs" "$flag"
	absent_path "$work/m.csv" "$flag"
	absent_path "$work/exo.sock" "$flag"
done

# --check names a missing image, at its instance's line.
config
instance first
instance second image="$work/absent.elf"
run_exovmm --check
status_is 66 "--check, missing image"
first_line_is "$work/err" "exovmm: $work/test.conf:5: [instance second] $work/absent.elf: cannot read: No such file or directory"
lines_are "$work/out" 0

# --check looks where exovmm would make the metrics file.
config "metrics = $work/absent/m.csv\n"
instance first
run_exovmm --check
status_is 66 "--check, metrics in a missing directory"
first_line_is "$work/err" "exovmm: $work/absent/m.csv: cannot create the metrics file: $work/absent: No such file or directory"

# A bad image in the second instance: neither instance runs, no log file
# is left, and the log directory exovmm made is gone again; no backend
# is chosen for a configuration that cannot run.
config
instance first
instance second image="$EXO_IMAGES/progs.cpio"
run_exovmm --log-dir "$work/logs"
status_is 66 "image that is not an ELF file"
first_line_is "$work/err" "exovmm: $work/test.conf:5: [instance second] $EXO_IMAGES/progs.cpio: not an ELF file"
lines_are "$work/err" 1
lacks "$work/out" "[first]"
absent_path "$work/logs" "after a failed start"

config
instance first image="$work/absent.elf"
run_exovmm
status_is 66 "missing image"
first_line_is "$work/err" "exovmm: $work/test.conf:2: [instance first] $work/absent.elf: cannot read: No such file or directory"

# A FIFO as image is refused at once, not waited on.
mkfifo "$work/fifo.elf"
config
instance first image="$work/fifo.elf"
run_exovmm
status_is 66 "FIFO as image"
has "$work/err" "$work/fifo.elf: cannot read: not a regular file"

# --- The host ---------------------------------------------------------------

# $no_kvm runs a command where /dev/kvm does not exist: as is on a host
# without KVM, else (root only) in a mount namespace with an empty /dev.
no_kvm=
if [ ! -e /dev/kvm ]; then
	no_kvm=env
elif unshare --mount sh -c 'mount -t tmpfs exo-no-kvm /dev' 2>/dev/null; then
	no_kvm=$work/no-kvm
	cat >"$no_kvm" <<'EOF'
#!/bin/sh
exec unshare --mount sh -c 'mount -t tmpfs exo-no-kvm /dev && exec "$@"' sh "$@"
EOF
	chmod +x "$no_kvm"
fi

# The KVM device opens here (what backend = auto asks first).
kvm_opens=no
{ : <>/dev/kvm; } 2>/dev/null && kvm_opens=yes

if [ -z "$no_kvm" ]; then
	echo "skip: the checks on a host without KVM: /dev/kvm exists, and $(id -un) cannot hide it (unshare --mount)"
else
	# backend = kvm asked for on a host without KVM is the host's
	# fault: the message names the instance, not a line.
	config
	instance first
	run_cmd "$no_kvm" "$EXOVMM" --backend kvm "$work/test.conf"
	status_is 66 "--backend kvm without /dev/kvm"
	first_line_starts "$work/err" "exovmm: instance first: backend kvm: /dev/kvm: No such file or directory"
	has "$work/err" "$kvm_hint"
	lines_are "$work/err" 1
	lacks "$work/err" "$work/test.conf:"
	lacks "$work/out" "[first]"

	# The configuration is still checked the same there.
	run_cmd "$no_kvm" "$EXOVMM" --check --backend kvm "$work/test.conf"
	status_is 0 "--check --backend kvm without /dev/kvm"
	first_line_is "$work/out" "$work/test.conf: ok"
	config
	instance first image="$EXO_IMAGES/progs.cpio"
	run_cmd "$no_kvm" "$EXOVMM" --backend kvm "$work/test.conf"
	status_is 66 "a bad image without /dev/kvm"
	first_line_is "$work/err" "exovmm: $work/test.conf:2: [instance first] $EXO_IMAGES/progs.cpio: not an ELF file"

	# backend = auto without KVM: Unicorn, or nothing to run on.  A
	# metrics file that cannot be made stops the run once the backends
	# are chosen and the instances made, before any runs.
	config "metrics = $work/absent/m.csv\n"
	instance first
	instance second
	run_cmd "$no_kvm" "$EXOVMM" "$work/test.conf"
	status_is 66 "backend = auto without /dev/kvm"
	if [ "${EXO_HAVE_UNICORN:-}" = yes ]; then
		first_line_starts "$work/err" "exovmm: backend auto: unicorn (/dev/kvm: No such file or directory"
		has "$work/err" "exovmm: $work/absent/m.csv: cannot write metrics: No such file or directory"
		lines_are "$work/err" 2
	else
		first_line_starts "$work/err" "exovmm: instance first: backend auto: no backend can run on this host (kvm: /dev/kvm: No such file or directory"
		has "$work/err" "; unicorn: not built into this exovmm)"
		lines_are "$work/err" 1
	fi
fi

if [ "$kvm_opens" = yes ]; then
	# One line for the whole run, however many instances use auto.
	config "metrics = $work/absent/m.csv\n"
	instance first
	instance second
	run_exovmm
	status_is 66 "backend = auto with KVM"
	first_line_is "$work/err" "exovmm: backend auto: kvm (/dev/kvm opens)"
	has "$work/err" "exovmm: $work/absent/m.csv: cannot write metrics: No such file or directory"
	lines_are "$work/err" 2
else
	echo "skip: backend = auto on a host with KVM: /dev/kvm does not open here"
fi

# --- Booting, on the backend under test -----------------------------------

# lib.sh's instance() begins an empty config with the backend under test.
rm -f "$work/test.conf"
instance probe
run_exovmm
if [ "$status" -ne 0 ] && grep -qE "^exovmm: (instance probe: backend |$work/test.conf:[0-9]+: \[exovmm\] backend: \"unicorn\" is not built)" "$work/err"; then
	echo "skip: the checks that boot a guest: $(head -n 1 "$work/err")"
	finish
fi
status_is 0 "a plain boot"

# An initrd that is not a cpio archive is the guest's to refuse: it exits
# with EXO_EXIT_BAD_BOOT (3), which becomes exovmm's status.
rm -f "$work/test.conf"
instance first initrd="$EXO_IMAGES/exo.elf"
run_exovmm
status_is 3 "initrd that is not a cpio archive"
verify "the guest refused the initrd" grep -qE '^\[first\] exo: initrd: bad archive at byte 0: ' "$work/out"

# A metrics file that cannot be created stops the run before any instance
# starts, and leaves nothing behind (not even the log directory).  On
# backend = auto: some backend runs here, since the one under test does.
config "metrics = $work/absent/m.csv\n"
instance first
run_exovmm --log-dir "$work/metrics-logs"
status_is 66 "metrics file in a missing directory"
has "$work/err" "exovmm: $work/absent/m.csv: cannot write metrics: No such file or directory"
lacks "$work/out" "[first]"
absent_path "$work/metrics-logs" "after a failed start"

# An instance without image and initrd keys boots the default image
# directory's exo.elf and progs.cpio.
printf '[instance plain]\n' >"$work/test.conf"
run_cmd env EXOVMM_IMAGE_DIR="$EXO_IMAGES" "$EXOVMM" "$work/test.conf"
status_is 0 "default image directory"
verify "the default initrd booted" grep -qE '^\[plain\] exo: initrd:   hello [0-9]+ bytes' "$work/out"

# The log file holds the console without the terminal's name prefix.
rm -f "$work/test.conf"
instance logged
run_exovmm --log-dir "$work/logs"
status_is 0 "logged run"
has "$work/logs/logged.log" "exo: exo 0.1.0 booting on exovmm"
has "$work/logs/logged.log" "exovmm: exited with code 0"
lacks "$work/logs/logged.log" "[logged]"
finish
