#!/bin/bash
# Integration tests for box-helper (run as root). Builds the helper, makes a busybox rootfs and
# runs real containers. No network traffic. Usage: native/test-helper.sh [-v]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
VERBOSE=${1:-}
[ "$(id -u)" = 0 ] || { echo "must run as root"; exit 1; }

T=$(mktemp -d /tmp/box-helper-test.XXXXXX)
HELPER=$T/box-helper
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	[ -n "${CG:-}" ] && rmdir "$CG" 2>/dev/null
	# a container's cgroup can be removed once the kernel has reaped its last process
	[ -n "${CGX:-}" ] && for _ in $(seq 100); do rmdir "$CGX" 2>/dev/null && break; sleep 0.05; done
	# the test never mounts on the host; only unmount if something leaked (it is a failure anyway)
	grep -q "$T" /proc/self/mounts && awk -v t="$T" '$2 ~ t {print $2}' /proc/self/mounts | sort -r | xargs -r -n1 umount -l
	rm -rf "$T"
}
trap cleanup EXIT

PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     | /'; }
check() { # NAME CONDITION-EXIT-STATUS DETAIL
	if [ "$2" = 0 ]; then ok "$1"; else bad "$1" "${3:-}"; fi
}
waitfor() { # CONDITION (shell code): polls it for up to 10 s
	for _ in $(seq 200); do eval "$1" && return 0; sleep 0.05; done
	return 1
}
statf() { sed 's/.*) //' /proc/$1/stat 2>/dev/null | cut -d' ' -f$2; } # PID FIELD: 1 state, 2 ppid, 4 sid
alive() { # PID: exists and is not a zombie
	local s
	s=$(statf $1 1)
	[ -n "$s" ] && [ "$s" != Z ]
}

echo "# build"
size=$(cd "$HERE/.." && cc -static -O2 -Wall -Wextra -Werror -o "$HELPER" native/*.c && stat -c %s "$HELPER") || { echo "build failed"; exit 1; }
echo "     helper: $size bytes"
# specs are encoded by box's own encoder (test/support/helper-spec-cli.ts, bundled once)
"$HERE/../node_modules/.bin/esbuild" "$HERE/../test/support/helper-spec-cli.ts" --bundle --platform=node \
	--log-level=warning --outfile=$T/boxspec.cjs || { echo "spec encoder build failed"; exit 1; }
boxspec() { node $T/boxspec.cjs "$@"; }
# box's answer on the control channel (fd 5) once the container's init exists
GO=$T/go
echo go >$GO

if ! command -v busybox >/dev/null; then apt-get install -y busybox-static >/dev/null || exit 1; fi
R=$T/rootfs
mkdir -p $R/bin $R/proc $R/sys $R/dev $R/etc $R/tmp $R/root
cp "$(command -v busybox)" $R/bin/busybox
chroot $R /bin/busybox --install -s /bin
ln -s / $R/evil # absolute symlink: must resolve inside the rootfs, never to the host's /
echo lower >$R/etc/lower
echo hostfile >$T/hostfile
mkdir -p $T/hostdir && echo indir >$T/hostdir/f

# newcase: the next case's number N and its directory w, with the overlay's upper, work and mnt (a
# caller's `local w` keeps it the caller's)
N=0
newcase() {
	N=$((N + 1))
	w=$T/c$N
	mkdir -p $w/upper $w/work $w/mnt
}
# run NAME [spec options] -- CMD...: one container on a fresh overlay; sets OUT, ST, RC (fd 5: $CTL
# if set, else `go`)
run() {
	local w
	newcase
	boxspec --rootfs $R --work $w "$@" >$w/spec || { echo "spec encoding failed"; exit 1; }
	timeout 20 "$HELPER" run 3<$w/spec 5<${CTL:-$GO} 4>$w/status >$w/out 2>&1 </dev/null
	RC=$?
	OUT=$(cat $w/out) ST=$(cat $w/status) W=$w
	[ -n "$VERBOSE" ] && printf '  [rc=%s]\n%s\n  --\n%s\n' "$RC" "$OUT" "$ST"
	leakcheck
}
leakcheck() {
	if grep -q "$T" /proc/self/mounts; then bad "no mounts leaked on the host (case $N)" "$(grep "$T" /proc/self/mounts)"; fi
}
raw() { # JSON-RECORDS: encode verbatim; sets RC, ST
	N=$((N + 1))
	boxspec --json "$1" >$T/raw$N
	timeout 10 "$HELPER" run 3<$T/raw$N 5<$GO 4>$T/raw$N.st >/dev/null 2>&1 </dev/null
	RC=$? ST=$(cat $T/raw$N.st)
}

echo "# spec validation"
raw '[["bogus","x"],["args","true"]]'
check "unknown op -> error spec 22, rc 125" $([ $RC = 125 ] && [ "$ST" = "error spec 22 unknown op bogus" ]; echo $?) "$RC $ST"
printf 'NOTASPEC' >$T/badmagic
"$HELPER" run 3<$T/badmagic 5<$GO 4>$T/badmagic.st; RC=$?
check "bad magic -> rc 125" $([ $RC = 125 ] && grep -q '^error spec 22 bad magic' $T/badmagic.st; echo $?) "$RC $(cat $T/badmagic.st)"
# a well-formed spec of another version (1: before the control channel; 3): refused as a whole
for v in 1 3; do
	boxspec --version $v --json '[["args","sh","-c","echo ran"]]' >$T/v${v}spec
	"$HELPER" run 3<$T/v${v}spec 5<$GO 4>$T/v${v}spec.st >$T/v${v}spec.out 2>&1; RC=$?
	check "spec version $v -> rc 125, error spec 22 unsupported version $v" \
		$([ $RC = 125 ] &&
			[ "$(cat $T/v${v}spec.st)" = "error spec 22 unsupported version $v (this helper speaks version 2)" ] &&
			! grep -q ran $T/v${v}spec.out; echo $?) \
		"$RC $(cat $T/v${v}spec.st)"
done
raw '[["mount","a","b"],["args","true"]]'
check "wrong arg count rejected" $([ $RC = 125 ] && [[ $ST == "error spec 22 op mount: wrong number"* ]]; echo $?) "$ST"
raw '[["rlimit","7","x","1"],["args","true"]]'
check "bad number rejected" $([ $RC = 125 ] && [[ $ST == "error spec 22 op rlimit: bad number x" ]]; echo $?) "$ST"

echo "# basic container"
run -- sh -c 'echo pid=$$; hostname; echo new >/etc/new; cat /etc/lower; exit 3'
check "exit 3 -> rc 3, status pid/started/exit 3" $([ $RC = 3 ] && [[ $ST =~ ^pid\ [0-9]+$'\n'started$'\n'exit\ 3$ ]]; echo $?) "$RC $ST"
check "PID 1 in the container" $(grep -qx pid=1 <<<"$OUT"; echo $?) "$OUT"
check "hostname" $(grep -qx testbox <<<"$OUT"; echo $?) "$OUT"
check "overlay: writes land in upperdir, lowerdir untouched" $([ -f $W/upper/etc/new ] && [ ! -e $R/etc/new ] && grep -qx lower <<<"$OUT"; echo $?)

run -- sh -c 'for d in null zero full random urandom tty; do [ -c /dev/$d ] || echo missing $d; done
	head -c 4 /dev/zero | od -An -tx1; echo x >/dev/full || echo full-ok
	awk "{print \$3\" \"\$2}" /proc/self/mounts; echo fds=$(ls /proc/self/fd | tr "\n" " ")'
check "device nodes null/zero/full/random/urandom/tty" \
	$(! grep -q missing <<<"$OUT" &&
		grep -q "00 00 00 00" <<<"$OUT" &&
		grep -q full-ok <<<"$OUT"; echo $?) \
	"$OUT"
for m in "overlay /" "proc /proc" "sysfs /sys" "tmpfs /dev" "devpts /dev/pts" "tmpfs /dev/shm" "mqueue /dev/mqueue"; do
	check "mount: $m" $(grep -qx "$m" <<<"$OUT"; echo $?) "$OUT"
done
check "only fds 0-2 reach the container" $(grep -qx "fds=0 1 2 3" <<<"$OUT"; echo $?) "$OUT"
check "old root detached after pivot" $(! grep -q "$T" <<<"$OUT"; echo $?) "$OUT"

run -- sh -c 'cat /proc/keys | wc -c; ls /sys/firmware | wc -l; touch /sys/firmware/x 2>/dev/null && echo fw-writable
	echo 1 >/proc/sys/kernel/panic 2>/dev/null && echo sys-writable; grep " /proc/sys " /proc/self/mounts'
check "mask: /proc/keys empty, /sys/firmware empty read-only" \
	$([ "$(sed -n 1p <<<"$OUT")" = 0 ] &&
		[ "$(sed -n 2p <<<"$OUT")" = 0 ] &&
		! grep -q fw-writable <<<"$OUT"; echo $?) \
	"$OUT"
check "readonly: /proc/sys read-only" $(! grep -q sys-writable <<<"$OUT" && grep -q "/proc/sys proc ro," <<<"$OUT"; echo $?) "$OUT"

run --readonly-root -- sh -c 'touch /x 2>/dev/null && echo root-writable; touch /dev/shm/y && echo shm-ok'
check "remount / read-only" $(! grep -q root-writable <<<"$OUT" && grep -q shm-ok <<<"$OUT"; echo $?) "$OUT"

echo "# the control channel: box's go or abort once the init exists"
newcase
boxspec --rootfs $R --work $w -- sh -c 'echo ran' >$w/spec
mkfifo $w/ctl
exec 7<>$w/ctl # box's end: held open, so the helper's read waits instead of seeing EOF
"$HELPER" run 3<$w/spec 5<$w/ctl 4>$w/status >$w/out 2>&1 </dev/null &
hp=$!; PIDS+=($hp)
waitfor "grep -q '^pid ' $w/status"
cp=$(sed -n 's/^pid //p' $w/status)
check "control: the init exists in its own namespaces and waits; nothing of the command ran" \
	$([ -n "$cp" ] &&
		[ -d /proc/$cp ] &&
		[ "$(readlink /proc/$cp/ns/net)" != "$(readlink /proc/self/ns/net)" ] &&
		[ ! -s $w/out ] &&
		[ "$(cat $w/status)" = "pid $cp" ]; echo $?) \
	"pid=$cp $(cat $w/status $w/out)"
echo go >&7
exec 7>&-
wait $hp; RC=$?
check "control: go -> the command runs" $([ $RC = 0 ] && grep -qx ran $w/out && grep -q '^started$' $w/status; echo $?) "rc=$RC $(cat $w/status $w/out)"
leakcheck
echo abort >$T/abort
printf 'hello\n' >$T/hello
CTL=$T/abort run -- sh -c 'echo ran'
cp=$(sed -n 's/^pid //p' <<<"$ST")
check "control: abort -> rc 125, error abort, the init killed, nothing ran" \
	$([ $RC = 125 ] &&
		[[ $ST =~ ^pid\ [0-9]+$'\n'"error abort 125 box aborted the start"$ ]] &&
		! alive $cp &&
		[ -z "$OUT" ]; echo $?) \
	"rc=$RC $ST $OUT"
CTL=/dev/null run -- sh -c 'echo ran'
check "control: end of input before go -> abort" \
	$([ $RC = 125 ] &&
		[[ $ST == *$'\n'"error abort 125 box closed the control channel before go" ]] &&
		[ -z "$OUT" ]; echo $?) \
	"rc=$RC $ST $OUT"
CTL=$T/hello run -- sh -c 'echo ran'
check "control: another message -> error control 22, nothing ran" \
	$([ $RC = 125 ] &&
		[[ $ST == *$'\n'"error control 22 unknown control message hello (expected go or abort)" ]] &&
		[ -z "$OUT" ]; echo $?) \
	"rc=$RC $ST $OUT"
boxspec --json '[["args","true"]]' >$T/noctl.spec
"$HELPER" run 3<$T/noctl.spec 4>$T/noctl.st 5<&-; RC=$?
check "control: run without fd 5 refused before anything is created" \
	$([ $RC = 125 ] &&
		[ "$(cat $T/noctl.st)" = "error control 9 fd 5 (box's control channel) is not open" ]; echo $?) \
	"rc=$RC $(cat $T/noctl.st)"
newcase
boxspec --rootfs $R --work $w --extra '["control-fifo","'$w'/ctl"]' -- sh -c 'echo ran' >$w/spec
"$HELPER" run 3<$w/spec 4>$w/status >$w/out 2>&1 </dev/null 5<&- &
hp=$!; PIDS+=($hp)
waitfor "grep -q '^pid ' $w/status"
check "control-fifo: the helper makes the FIFO (0600) and waits on it; nothing ran" \
	$([ -p $w/ctl ] && [ "$(stat -c %a $w/ctl)" = 600 ] && [ ! -s $w/out ]; echo $?) "$(ls -l $w/ctl) $(cat $w/out)"
echo go >$w/ctl
wait $hp; RC=$?
check "control-fifo: go written into it -> the command runs" \
	$([ $RC = 0 ] && grep -qx ran $w/out; echo $?) "rc=$RC $(cat $w/status $w/out)"
leakcheck
# the caller's fd 0 closed: the sealed binary's mount (sealed-exe.c) must not take fd 5, where the
# FIFO goes, or dropping it once started closes the FIFO (the helper then spun on it)
newcase
boxspec --rootfs $R --work $w --extra '["control-fifo","'$w'/ctl"]' -- sh -c 'echo ran' >$w/spec
timeout -s KILL 10 "$HELPER" run 3<$w/spec 4>$w/status >$w/out 2>&1 <&- 5<&- &
hp=$!; PIDS+=($hp)
waitfor "[ -p $w/ctl ]"
echo go >$w/ctl
wait $hp; RC=$?
check "control-fifo, the caller's fd 0 closed: the command runs, the helper ends" \
	$([ $RC = 0 ] && grep -qx ran $w/out; echo $?) "rc=$RC $(cat $w/status $w/out)"
leakcheck
newcase
ln -s $T/planted $w/ctl
boxspec --rootfs $R --work $w --extra '["control-fifo","'$w'/ctl"]' -- sh -c 'echo ran' >$w/spec
"$HELPER" run 3<$w/spec 4>$w/status >$w/out 2>&1 </dev/null 5<&-; RC=$?
check "control-fifo: a symlink at its name -> error control 17, nothing made through it, nothing ran" \
	$([ $RC = 125 ] && [[ "$(cat $w/status)" == "error control 17 make the FIFO $w/ctl"* ]] &&
		[ ! -e $T/planted ] && [ ! -s $w/out ]; echo $?) "rc=$RC $(cat $w/status $w/out)"

# a foreground run's lifeline (box-runc run): its end before go is an abort, go ends the watch
lifeline_case() { # CLOSE-BEFORE-GO (1: box "killed" before go)
	newcase
	boxspec --rootfs $R --work $w --extra '["lifeline","6"]' -- sh -c 'echo ran' >$w/spec
	mkfifo $w/ctl $w/ll
	exec 7<>$w/ctl
	"$HELPER" run 3<$w/spec 5<$w/ctl 6<$w/ll 4>$w/status >$w/out 2>&1 </dev/null &
	hp=$!; PIDS+=($hp)
	exec 8>$w/ll # box's end of the lifeline (the helper's open above waits for it)
	waitfor "grep -q '^pid ' $w/status"
	cp=$(sed -n 's/^pid //p' $w/status)
	if [ "$1" = 1 ]; then exec 8>&-; else echo go >&7; fi
	wait $hp; RC=$?
	exec 7>&- 8>&-
	ST=$(cat $w/status)
}
lifeline_case 1
check "lifeline: its end before go -> error abort, the init killed, nothing ran" \
	$([ $RC = 125 ] &&
		[[ $ST == *$'\n'"error abort 125 box ended before the container was started" ]] &&
		! alive $cp && [ ! -s $w/out ]; echo $?) \
	"rc=$RC $ST $(cat $w/out)"
leakcheck
lifeline_case 0
check "lifeline: go while it is open -> the command runs" \
	$([ $RC = 0 ] && grep -qx ran $w/out; echo $?) "rc=$RC $ST $(cat $w/out)"
leakcheck

echo "# exec errors"
run -- true
check "exit 0" $([ $RC = 0 ] && [[ $ST == *$'\n'exit\ 0 ]]; echo $?) "$RC $ST"
run -- nosuchcommand
check "not found in PATH -> 127, error exec 2" $([ $RC = 127 ] && [[ $ST == *$'\n'"error exec 2 "* ]] && [[ $ST != *started* ]]; echo $?) "$RC $ST"
run -- /etc/lower
check "not executable -> 126, error exec 13" $([ $RC = 126 ] && [[ $ST == *"error exec 13 "* ]]; echo $?) "$RC $ST"
run -- /etc
check "a directory -> 126" $([ $RC = 126 ]; echo $?) "$RC $ST"
run --extra '["mount","/nonexistent-src","/mnt","","4096",""]' -- true
check "failed mount -> 125, error mount" $([ $RC = 125 ] && [[ $ST == *"error mount 2 "* ]]; echo $?) "$RC $ST"

echo "# mounts inside the rootfs"
run --bind $T/hostfile:/etc/hostfile:ro --bind $T/hostdir:/evil/tmp/escape-$$ -- \
	sh -c 'cat /etc/hostfile; echo y >/etc/hostfile 2>/dev/null && echo file-writable; cat /tmp/escape-'$$'/f'
check "file bind (target created), read-only" $(grep -qx hostfile <<<"$OUT" && ! grep -q file-writable <<<"$OUT"; echo $?) "$OUT"
check "symlink target resolved inside the rootfs, not on the host" $(grep -qx indir <<<"$OUT" && [ ! -e /tmp/escape-$$ ]; echo $?) "$OUT"
mkdir -p $T/vol && ln -s $T/hostdir $T/hostdir-link
run --step '["bind","'$T'/hostdir","/b","20481"]' --step '["copy-up","/etc","'$T'/vol"]' \
	--step '["bind","'$T'/vol","/v","20480"]' -- \
	sh -c 'cat /b/f; echo y >/b/new 2>/dev/null && echo bind-writable; cat /v/lower'
check "bind by handle: read-only, recursive" $(grep -qx indir <<<"$OUT" && ! grep -q bind-writable <<<"$OUT"; echo $?) "$OUT"
check "copy-up: the image's /etc copied into the empty volume, then bound" $(grep -qx lower <<<"$OUT" && [ "$(cat $T/vol/lower)" = lower ]; echo $?) "$OUT"
run --step '["bind","'$T'/hostdir-link","/b","20480"]' -- true
check "bind: a symlink on the source's way -> 125, error bind 40 (ELOOP)" $([ $RC = 125 ] && [[ $ST == *"error bind 40 "* ]]; echo $?) "$RC $ST"
run --sysctl kernel.shmmax=123456 --cwd /work/dir --user 1000:1000 -- sh -c 'cat /proc/sys/kernel/shmmax; pwd; stat -c %u:%g .; ulimit -n; id -u'
check "sysctl in the container's ipc namespace" $(grep -qx 123456 <<<"$OUT" && [ "$(cat /proc/sys/kernel/shmmax)" != 123456 ]; echo $?) "$OUT"
check "cwd created, owned by the user; rlimit; user" \
	$(grep -qx /work/dir <<<"$OUT" &&
		grep -qx 1000:1000 <<<"$OUT" &&
		grep -qx 1024 <<<"$OUT" &&
		grep -qx 1000 <<<"$OUT"; echo $?) \
	"$OUT"

echo "# capabilities, seccomp"
run --caps default -- grep -E 'Cap(Eff|Bnd|Prm)' /proc/self/status
check "caps: docker default set in eff/prm/bnd" $([ "$(grep -c 00000000a80425fb <<<"$OUT")" = 3 ]; echo $?) "$OUT"
run --caps default --user 1000:1000 --nnp -- grep -E 'Cap(Eff|Bnd)|NoNewPrivs' /proc/self/status
check "caps: non-root user has none, bounding kept, no_new_privs" \
	$(grep -q "CapEff:.0000000000000000" <<<"$OUT" &&
		grep -q "CapBnd:.00000000a80425fb" <<<"$OUT" &&
		grep -q "NoNewPrivs:.1" <<<"$OUT"; echo $?) \
	"$OUT"
# ambient: a non-root user keeps CAP_NET_BIND_SERVICE (10) through exec
run --user 1000:1000 --extra '["caps","1024","1024","1024","1024","1024"]' -- grep -E 'CapEff|CapAmb' /proc/self/status
check "ambient capability for a non-root user" $([ "$(grep -c 0000000000000400 <<<"$OUT")" = 2 ]; echo $?) "$OUT"
# seccomp: mkdir(83) and mkdirat(258) fail with EPERM, everything else allowed
BPF=$(python3 -c 'import struct
f = [(0x20, 0, 0, 0), (0x15, 2, 0, 83), (0x15, 1, 0, 258), (0x06, 0, 0, 0x7fff0000), (0x06, 0, 0, 0x00050001)]
print(b"".join(struct.pack("<HBBI", *x) for x in f).hex())')
run --nnp --seccomp $BPF -- sh -c 'mkdir /d 2>&1; touch /f && echo touch-ok'
check "seccomp filter (with no_new_privs)" $(grep -q "Operation not permitted" <<<"$OUT" && grep -q touch-ok <<<"$OUT"; echo $?) "$OUT"
run --seccomp $BPF --caps default -- sh -c 'mkdir /d 2>&1; echo done'
check "seccomp filter (without no_new_privs, loaded before the cap drop)" $(grep -q "Operation not permitted" <<<"$OUT"; echo $?) "$RC $OUT $ST"

echo "# signals"
sigcase() { # NAME EXPECTED-RC [spec options] -- CMD: sends SIGTERM to the helper once READY
	local name=$1 want=$2
	shift 2
	local w
	newcase
	boxspec --rootfs $R --work $w "$@" >$w/spec
	"$HELPER" run 3<$w/spec 5<$GO 4>$w/status >$w/out 2>&1 </dev/null &
	local hp=$!
	PIDS+=($hp)
	for _ in $(seq 100); do grep -q READY $w/out && break; sleep 0.05; done
	# the binary it runs, as a container would reach it: where, a write (as root), its memfd seals
	EXE=$(readlink /proc/$hp/exe)
	WRITE=$( (printf x >>/proc/$hp/exe) 2>&1)
	SEALS=$(python3 -c 'import fcntl, os, sys; print(fcntl.fcntl(os.open(sys.argv[1], os.O_RDONLY), 1034))' \
		/proc/$hp/exe 2>/dev/null)
	kill -TERM $hp
	wait $hp
	RC=$? OUT=$(cat $w/out) ST=$(cat $w/status)
	check "$name" $([ $RC = "$want" ]; echo $?) "rc=$RC $OUT $ST"
	leakcheck
}
sigcase "SIGTERM forwarded to the container (trap -> exit 42)" 42 -- sh -c 'trap "echo got-term; exit 42" TERM; echo READY; while :; do sleep 0.05; done'
check "helper runs from its own file through a private overlayfs (nothing copied)" $([ "$EXE" = /box-helper ]; echo $?) "$EXE"
check "that binary is read-only, even to root, even while it runs" \
	$([[ $WRITE == *"Read-only file system"* ]]; echo $?) "$WRITE"
# where overlayfs cannot be used (here: a ':' in the helper's directory), a sealed memfd copy
mkdir -p "$T/no:overlay" && cp "$HELPER" "$T/no:overlay/box-helper"
HELPER="$T/no:overlay/box-helper" sigcase "memfd fallback: SIGTERM forwarded" 42 -- \
	sh -c 'trap "exit 42" TERM; echo READY; while :; do sleep 0.05; done'
check "memfd fallback: helper runs from a sealed memfd (seal, shrink, grow, write)" \
	$([[ $EXE == /memfd:box-helper* ]] && [ "$SEALS" = 15 ]; echo $?) "$EXE seals=$SEALS"
sigcase "init: SIGTERM forwarded to the command (no trap -> signal 15, rc 143)" 143 --init -- sh -c 'echo READY; sleep 10'
check "init: status says signal 15" $([[ $ST == *$'\n'"signal 15" ]]; echo $?) "$ST"

# the helper dies -> the container dies (PR_SET_PDEATHSIG)
newcase
boxspec --rootfs $R --work $w -- sleep 30 >$w/spec
"$HELPER" run 3<$w/spec 5<$GO 4>$w/status </dev/null &
hp=$!; PIDS+=($hp)
for _ in $(seq 100); do grep -q started $w/status && break; sleep 0.05; done
cp=$(sed -n 's/^pid //p' $w/status)
kill -KILL $hp; wait $hp 2>/dev/null
for _ in $(seq 40); do [ -d /proc/$cp ] || break; sleep 0.05; done
check "helper killed -> container killed" $([ -n "$cp" ] && [ ! -d /proc/$cp ]; echo $?) "pid=$cp"
leakcheck

echo "# init and zombies"
ZCMD='sh -c "sleep 0.1 &"; (sleep 0.7; ps -o pid,stat,comm) & exec sleep 1'
run -- sh -c "$ZCMD"
check "without init: the orphan stays a zombie" $(grep -Eq '^ *[0-9]+ +Z' <<<"$OUT"; echo $?) "$OUT"
run --init -- sh -c "$ZCMD"
check "with init: the orphan is reaped" $(! grep -Eq '^ *[0-9]+ +Z' <<<"$OUT" && grep -q sleep <<<"$OUT" && [ $RC = 0 ]; echo $?) "$OUT"
run --init -- sh -c 'echo pid=$$; exit 5'
check "with init: command is pid 2, exit code passed through" $([ $RC = 5 ] && grep -qx pid=2 <<<"$OUT"; echo $?) "$RC $OUT"
# the init never execs: nothing of the caller's (fd 7, a host directory; stdout, a host file) stays in it
{ run --init -- ls -l /proc/1/fd; } 7<$T
check "with init: PID 1 holds only its pipe to the helper, nothing of the host" \
	$([ $RC = 0 ] && grep -q "pipe:" <<<"$OUT" && ! grep -q "$T" <<<"$OUT"; echo $?) \
	"$OUT"
run --init -- nosuchcommand
check "with init: exec error still reported (127)" $([ $RC = 127 ] && [[ $ST == *"error exec 2 "* ]]; echo $?) "$RC $ST"
run --init --caps default --user 1000:1000 -- sh -c 'grep CapEff /proc/1/status; grep NoNewPrivs /proc/1/status; ps -o user,comm | sed -n 2p' 
check "init runs as the user with no capabilities, no_new_privs" \
	$(grep -q "CapEff:.0000000000000000" <<<"$OUT" && grep -q "NoNewPrivs:.1" <<<"$OUT"; echo $?) \
	"$OUT"
run --init --caps default -- sh -c 'grep CapEff /proc/1/status; grep CapEff /proc/self/status'
check "root init keeps only CAP_KILL" $(grep -q "CapEff:.0000000000000020" <<<"$OUT" && grep -q "CapEff:.00000000a80425fb" <<<"$OUT"; echo $?) "$OUT"

echo "# cgroups"
if [ -d /sys/fs/cgroup/pids ]; then
	CG=/sys/fs/cgroup/pids/box-helper-test-$$
	mkdir $CG
	run --cgroup $CG/cgroup.procs --cgroupns -- cat /proc/self/cgroup
	check "cgroup: child placed in the cgroup, cgroupns hides the path" \
		$([ $RC = 0 ] && grep -q ':pids:/$' <<<"$OUT" && ! grep -q box-helper-test <<<"$OUT"; echo $?) \
		"$OUT"
	run --cgroup $CG/cgroup.procs -- cat /proc/self/cgroup
	check "cgroup: without cgroupns the path is visible" $(grep -q ":pids:/box-helper-test-$$" <<<"$OUT"; echo $?) "$OUT"
	rmdir $CG && CG=
fi
# cgroup v2: the child is born in its cgroup (clone3 CLONE_INTO_CGROUP), no pid is written for it
CG2M=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$CG2M" ] && command -v strace >/dev/null; then
	CG=$CG2M/box-helper-test-$$
	mkdir $CG
	newcase
	boxspec --rootfs $R --work $w --cgroup $CG/cgroup.procs -- cat /proc/self/cgroup >$w/spec
	strace -f -qq -e trace=clone,clone3,openat -o $w/strace "$HELPER" run 3<$w/spec 5<$GO 4>$w/status >$w/out 2>&1 </dev/null
	RC=$? OUT=$(cat $w/out)
	check "cgroup v2: child born in its cgroup (clone3 CLONE_INTO_CGROUP), cgroup.procs never opened" \
		$([ $RC = 0 ] && grep -q "^0::/box-helper-test-$$\$" <<<"$OUT" && grep -q 'clone3(.*CLONE_INTO_CGROUP' $w/strace &&
			! grep -q "cgroup.procs" $w/strace; echo $?) "$OUT $(grep -E 'clone|cgroup' $w/strace)"
	leakcheck
	waitfor "rmdir $CG 2>/dev/null" && CG=
fi

echo "# tty"
ttycase() { # NAME EXPECT-RC [spec options] -- CMD: drives the helper from a python pty
	local name=$1 want=$2
	shift 2
	local w
	newcase
	if [ -n "${TTYJOIN:-}" ]; then # `box-helper exec` into the running container TTYJOIN
		boxspec --join $TTYJOIN --tty "$@" >$w/spec
	else
		boxspec --rootfs $R --work $w --tty "$@" >$w/spec
	fi
	timeout 20 python3 - "$HELPER" $w $GO ${TTYJOIN:+exec} <<'EOF' >$w/out 2>&1
import fcntl, os, pty, select, struct, sys, termios, time
helper, w, go = sys.argv[1], sys.argv[2], sys.argv[3]
sub = sys.argv[4] if len(sys.argv) > 4 else "run"
pid, fd = pty.fork()
if pid == 0:
    # the size is set before the helper can read it (from the parent it would race the exec)
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    os.execv("/bin/sh", ["sh", "-c", 'stty -g >%s/before; %s %s 3<%s/spec 5<%s 4>%s/status; echo "rc=$?"; stty -g >%s/after' % (w, helper, sub, w, go, w, w)])
buf, sent = b"", 0
while True:
    r, _, _ = select.select([fd], [], [], 10)
    if not r: break
    try: d = os.read(fd, 4096)
    except OSError: break
    if not d: break
    buf += d
    if sent == 0 and b"READY" in buf:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        time.sleep(0.3)
        os.write(fd, b"hello\r"); sent = 1
    if sent == 1 and b"INTME" in buf:
        time.sleep(0.2); os.write(fd, b"\x03"); sent = 2
os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace"))
EOF
	OUT=$(cat $w/out) ST=$(cat $w/status)
	check "$name" $(grep -q "rc=$want" <<<"$OUT"; echo $?) "$OUT
$ST"
	check "$name: terminal restored" $(cmp -s $w/before $w/after; echo $?)
	leakcheck
}
ttycase "tty: pty in the container, stdin relayed, window size, exit 7" 7 -- sh -c 'tty; stty size; echo READY; read x; echo got=$x; stty size; exit 7'
check "tty: /dev/pts/0, initial size 33 101, input, SIGWINCH -> 40 120" \
	$(grep -q "^/dev/pts/0" <<<"$OUT" &&
		grep -q "^33 101" <<<"$OUT" &&
		grep -q "got=hello" <<<"$OUT" &&
		grep -q "^40 120" <<<"$OUT"; echo $?) \
	"$OUT"
ttycase "tty+init: ^C reaches the command's process group once" 9 --init -- \
	sh -c 'trap "echo INT; exit 9" INT; echo READY; read x; echo INTME; while :; do sleep 0.05; done'

echo "# detached containers: the monitor"
export BOXTEST_MARK=1 # must not reach the on-exit callback (its environment is PATH only)
# nsprocs PID: host pids of every process in PID's pid namespace but PID, with their state
nsprocs() {
	local ns p
	ns=$(readlink /proc/$1/ns/pid)
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = $1 ] && continue
		[ "$(readlink $p/ns/pid 2>/dev/null)" = "$ns" ] && echo "${p#/proc/} $(statf ${p#/proc/} 1)"
	done
}
# dstart [spec options] -- CMD: a detached container with a state file W/state; sets W, RC, ST,
# MON (the monitor), CPID (the container), CATRC (124 if the caller's pipe never reached EOF)
dstart() {
	local w
	newcase
	W=$w
	boxspec --rootfs $R --work $W --detach --state $W/state "$@" >$W/spec || { echo "spec encoding failed"; exit 1; }
	# fd 4, stdout and stderr are one pipe: `cat` ends only when every holder closed it
	"$HELPER" run 3<$W/spec 5<${CTL:-$GO} 4>&1 2>&1 </dev/null | timeout 10 cat >$W/status
	RC=${PIPESTATUS[0]} CATRC=${PIPESTATUS[1]}
	ST=$(cat $W/status)
	MON=$(sed -n 's/^monitor //p' $W/status)
	[ -n "$MON" ] && PIDS+=($MON)
	CPID=$(sed -n 's/^pid //p' $W/state 2>/dev/null)
	[ -n "$VERBOSE" ] && printf '  [rc=%s]\n%s\n' "$RC" "$ST"
	leakcheck
}
CTL=$T/abort dstart -- sh -c 'echo ran'
check "control: abort of a detached start -> rc 125, error abort, the monitor and the init gone" \
	$([ $RC = 125 ] &&
		[[ $ST == *$'\n'"error abort 125 box aborted the start"$'\n'"monitor "* ]] &&
		! alive $MON &&
		[ -n "$CPID" ] &&
		! alive $CPID; echo $?) \
	"rc=$RC $ST"
# jsonlog FILE...: checks every record (one JSON object a line, Docker's json-file keys, RFC3339
# nanosecond UTC time) and prints STREAM:repr(log) per record; exit 1 on a malformed one
jsonlog() {
	python3 - "$@" <<'PY'
import json, re, sys
bad = 0
for f in sys.argv[1:]:
    data = open(f, "rb").read()
    if data and not data.endswith(b"\n"): print("BAD no trailing newline", f); bad = 1
    for line in data.split(b"\n")[:-1]:
        try:
            r = json.loads(line.decode("utf-8"))
        except Exception as e:
            print("BAD", e, line[:80]); bad = 1; continue
        if sorted(r) != ["log", "stream", "time"] or r["stream"] not in ("stdout", "stderr") or \
           not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", r["time"]):
            print("BAD", r); bad = 1; continue
        print("%s:%r" % (r["stream"], r["log"]))
sys.exit(bad)
PY
}

w=$T/c$((N + 1))
dstart --log $w/log:0:1 -- sh -c 'trap "printf bye; exit 42" TERM; echo out1; echo err1 >&2; echo out2
	printf "q\"b\\\\ \t\001\303\251\377\n"; echo err2 >&2; echo READY >&2; while :; do sleep 0.05; done'
check "detach: helper exits 0 at once; fd 4 and stdio reach EOF; pid/started/monitor" \
	$([ $RC = 0 ] &&
		[ $CATRC = 0 ] &&
		[[ $ST =~ ^pid\ [0-9]+$'\n'started$'\n'monitor\ [0-9]+$ ]]; echo $?) \
	"rc=$RC cat=$CATRC $ST"
check "detach: monitor alive in its own session, parent of the running container" \
	$(alive $MON && alive $CPID && [ "$(statf $CPID 2)" = $MON ] && [ "$(statf $MON 4)" = $MON ]; echo $?) \
	"mon=$MON cpid=$CPID $(cat /proc/$CPID/status 2>&1 | grep PPid)"
check "state file: monitor, pid, started" $([[ $(cat $W/state) =~ ^monitor\ $MON$'\n'pid\ $CPID$'\n'started\ [0-9]{19}$ ]]; echo $?) "$(cat $W/state)"
STATE_INO=$(stat -c %i $W/state)
waitfor "grep -q READY $W/log"
kill -TERM $MON
waitfor "grep -q ^exited $W/state"
check "SIGTERM to the monitor reaches the container's trap: state exited 42" $(grep -Eqx "exited 42 [0-9]{19}" $W/state; echo $?) "$(cat $W/state)"
# each later version only adds a line: appended in place, no new inode (PROTOCOL.md `state`)
check "state file: exited appended to the same file (same inode, 4 lines, no state.tmp)" \
	$([ "$(stat -c %i $W/state)" = "$STATE_INO" ] && [ "$(wc -l <$W/state)" = 4 ] && [ ! -e $W/state.tmp ]; echo $?) \
	"ino $STATE_INO -> $(stat -c %i $W/state) $(cat $W/state)"
LOG=$(jsonlog $W/log)
check "log: well-formed JSON lines" $? "$LOG"
check "log: stdout lines in order, escapes, UTF-8 kept, invalid byte U+FFFD, trailing partial line" $([ "$(grep ^stdout: <<<"$LOG")" = "stdout:'out1\n'
stdout:'out2\n'
stdout:'q\"b\\\\ \t\x01é�\n'
stdout:'bye'" ]; echo $?) "$LOG"
check "log: stderr lines in order" $([ "$(grep ^stderr: <<<"$LOG" | tr '\n' ' ')" = "stderr:'err1\n' stderr:'err2\n' stderr:'READY\n' " ]; echo $?) "$LOG"
check "log: control characters as \\u00XX, UTF-8 as is" $(grep -q '\\u0001é\\ufffd\\n"' $W/log; echo $?) "$(cat $W/log)"
waitfor "! alive $MON"
check "without on-exit the monitor exits after the container" $?

w=$T/c$((N + 1))
dstart --log $w/log:0:1 -- sh -c 'head -c 40000 /dev/zero | tr "\0" a; echo; head -c 16383 /dev/zero | tr "\0" b; printf "\303\251\n"'
waitfor "grep -q ^exited $W/state"
LOG=$(jsonlog $W/log | python3 -c 'import sys, ast
for l in sys.stdin:
    s, v = l.rstrip("\n").split(":", 1); v = ast.literal_eval(v); print(s, len(v), repr(v[-1]))')
check "log: a line over 16 KiB is split, never inside a UTF-8 sequence" $([ "$LOG" = "stdout 16384 'a'
stdout 16384 'a'
stdout 7233 '\n'
stdout 16383 'b'
stdout 2 '\n'" ]; echo $?) "$LOG"

w=$T/c$((N + 1))
dstart --log $w/log:1000:3 -- sh -c 'i=0; while [ $i -lt 60 ]; do echo line-$i; i=$((i + 1)); done'
waitfor "grep -q ^exited $W/state"
LOG=$(jsonlog $W/log.2 $W/log.1 $W/log)
check "log rotation: FILE, FILE.1, FILE.2 at most MAX_BYTES each, oldest dropped, order kept" \
	$([ $? = 0 ] &&
		[ ! -e $W/log.3 ] &&
		[ "$(stat -c %s $W/log $W/log.1 $W/log.2 | sort -n | tail -1)" -le 1000 ] &&
		python3 -c 'import sys
n = [int(l.split("line-")[1][:-3]) for l in sys.stdin.read().split()]
sys.exit(not (n[-1] == 59 and n[0] > 0 and n == list(range(n[0], 60))))' <<<"$LOG"; echo $?) \
	"$(ls -l $W/) $LOG"

cat >$T/cb-done.sh <<'SH'
#!/bin/sh
# the fds the monitor passed (and this script): listed by a child, so no redirection of ours shows
/bin/sh -c 'ls -l /proc/$PPID/fd >"$0"' "$2.fds"
{ echo "args=$*"; cat "$1"; env | sed 's/^/env /'; sed -n 's/.* \([0-9]*\) -> /fd \1 /p' "$2.fds"; } >"$2.tmp"
mv "$2.tmp" "$2"
echo done
SH
cat >$T/cb-exec.sh <<'SH'
#!/bin/sh
printf 'exec /bin/sh -c "echo again $$ >\\"%s\\""\n' "$1"
SH
chmod +x $T/cb-done.sh $T/cb-exec.sh
w=$T/c$((N + 1))
dstart --on-exit $T/cb-done.sh --on-exit $w/state --on-exit "$w/cb out" -- sh -c 'exit 3'
waitfor "[ -e '$W/cb out' ]"
CB=$(cat "$W/cb out" 2>&1)
check "on-exit: state says exited 3 before the callback runs" $(grep -Eqx "exited 3 [0-9]{19}" <<<"$CB"; echo $?) "$CB"
check "on-exit: callback got its arguments" $(grep -qx "args=$W/state $W/cb out" <<<"$CB"; echo $?) "$CB"
check "on-exit: environment is PATH only" $(grep -q "^env PATH=" <<<"$CB" && ! grep -q BOXTEST_MARK <<<"$CB"; echo $?) "$CB"
check "on-exit: stdin/stderr /dev/null, stdout a pipe, no other pipe or socket" \
	$(grep -qx "fd 0 /dev/null" <<<"$CB" &&
		grep -qx "fd 2 /dev/null" <<<"$CB" &&
		grep -q "^fd 1 pipe:" <<<"$CB" &&
		[ "$(grep -cE 'pipe:|socket:' <<<"$CB")" = 1 ]; echo $?) \
	"$CB"
waitfor "! alive $MON"
check "on-exit: \`done\` -> the monitor exits" $?

w=$T/c$((N + 1))
dstart --on-exit $T/cb-exec.sh --on-exit "$w/again file" -- true
waitfor "[ -s '$W/again file' ]"
check "on-exit: \`exec ARG...\` replaces the monitor (quoted args)" \
	$([ "$(cat "$W/again file" 2>&1)" = "again $MON" ]; echo $?) \
	"mon=$MON $(cat "$W/again file" 2>&1)"

dstart -- sleep 1000
kill -KILL $MON
waitfor "! alive $CPID"
check "monitor killed -> container killed" $? "cpid=$CPID"

dstart -- nosuchcommand
check "detach: exec error -> rc 127, error exec 2, then monitor PID" \
	$([ $RC = 127 ] &&
		[ $CATRC = 0 ] &&
		[[ $ST == *$'\n'"error exec 2 "*$'\n'"monitor $MON" ]] &&
		[[ $ST != *started* ]]; echo $?) \
	"rc=$RC $ST"
check "detach: failed start recorded as exited 127" $(grep -Eqx "exited 127 [0-9]{19}" $W/state; echo $?) "$(cat $W/state)"
boxspec --json '[["detach"],["tty"],["join","1"],["args","true"]]' >$T/xtty.spec
"$HELPER" exec 3<$T/xtty.spec 4>$T/xtty.st; RC=$? ST=$(cat $T/xtty.st)
check "exec: tty with detach refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 tty with detach is not supported for exec" ]]; echo $?) "$ST"
raw '[["detach"],["stdin"],["args","true"]]'
check "stdin without attach refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 op stdin needs attach or relay" ]]; echo $?) "$ST"
raw '[["attach","/a","0"],["args","true"]]'
check "attach without detach refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 op attach needs detach" ]]; echo $?) "$ST"
raw '[["detach"],["lifeline","7"],["args","true"]]'
check "lifeline not open refused" $([ $RC = 125 ] && [[ $ST == "error lifeline 9 "* ]]; echo $?) "$ST"
raw '[["log","/x","0","1"],["args","true"]]'
check "log without detach refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 op log needs detach, relay or tty" ]]; echo $?) "$ST"
raw '[["relay"],["tty"],["args","true"]]'
check "relay with tty refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 op relay cannot go with tty" ]]; echo $?) "$ST"
raw '[["relay"],["detach"],["args","true"]]'
check "relay with detach refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 op relay cannot go with detach" ]]; echo $?) "$ST"
raw '[["ready"],["args","true"]]'
check "ready without release refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 op ready needs release" ]]; echo $?) "$ST"
raw '[["tty-size","24","80"],["args","true"]]'
check "tty-size without tty refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 op tty-size needs tty" ]]; echo $?) "$ST"
raw '[["detach"],["state","rel/state"],["args","true"]]'
check "relative state path refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 op state: not an absolute path: rel/state" ]]; echo $?) "$ST"
raw '[["join","1"],["args","true"]]'
check "join is not valid for run" $([ $RC = 125 ] && [[ $ST == "error spec 22 op join is not valid for run" ]]; echo $?) "$ST"

echo "# foreground stdio through pipes (relay)"
# the caller's stdio are files of the test's: the container gets pipes and cannot chmod the files
newcase
boxspec --rootfs $R --work $w --log $w/log:0:1 --extra '["relay"]' --extra '["stdin"]' -- sh -c \
	'chmod 777 /proc/self/fd/0 /proc/self/fd/1; stat -L -c %F /proc/self/fd/0 /proc/self/fd/1; tr a-z A-Z
	echo err >&2; printf tail; exit 3' >$w/spec
printf 'in\n' >$w/in && : >$w/out && chmod 600 $w/in $w/out
timeout 20 "$HELPER" run 3<$w/spec 5<$GO 4>$w/status <$w/in >$w/out 2>$w/err
RC=$? OUT=$(cat $w/out; echo /; cat $w/err)
check "relay: exit status, output relayed, stdin to its EOF" \
	$([ $RC = 3 ] && [ "$OUT" = $'fifo\nfifo\nIN\ntail/\nerr' ]; echo $?) "rc=$RC $OUT"
check "relay: the caller's files keep their modes" $([ "$(stat -c %a $w/in $w/out)" = $'600\n600' ]; echo $?) \
	"$(stat -c '%a %n' $w/in $w/out)"
check "relay: the log has the streams apart" \
	$([ "$(jsonlog $w/log | sort -s -t: -k1,1)" = "stderr:'err\\n'
stdout:'fifo\\n'
stdout:'fifo\\n'
stdout:'IN\\n'
stdout:'tail'" ]; echo $?) "$(jsonlog $w/log)"
newcase
boxspec --rootfs $R --work $w --extra '["relay"]' -- sh -c \
	'head -c 3000000 /dev/urandom >/tmp/d; cat /tmp/d; md5sum </tmp/d >&2' >$w/spec
timeout 20 "$HELPER" run 3<$w/spec 5<$GO 4>$w/status >$w/out 2>$w/err </dev/null
RC=$?
check "relay: binary output whole" $([ $RC = 0 ] && [ "$(md5sum <$w/out)" = "$(cat $w/err)" ]; echo $?) \
	"rc=$RC $(wc -c <$w/out) $(cat $w/err)"
newcase
boxspec --rootfs $R --work $w --extra '["relay"]' -- sh -c 'yes; exit $?' >$w/spec
timeout 20 "$HELPER" run 3<$w/spec 5<$GO 4>$w/status 2>/dev/null </dev/null | head -1 >$w/out
RC=${PIPESTATUS[0]}
check "relay: the caller's reader gone -> the container's pipe too (SIGPIPE, 141)" \
	$([ $RC = 141 ] && [ "$(cat $w/out)" = y ]; echo $?) "rc=$RC"

echo "# detached containers: the attach socket"
# attach.py SOCKET OUT [--wait-log FILE TEXT] [--resize RxC] [--send TEXT] [--close]: an attach
# client; connects (waiting for the socket to exist), sends frames, writes every frame it receives to
# OUT as TYPE:repr(payload) lines until the monitor closes the connection
cat >$T/attach.py <<'PY'
import os, socket, struct, sys, time
sock, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
def opt(name, n=1):
    if name not in args: return None
    i = args.index(name); return args[i + 1:i + 1 + n]
deadline = time.time() + 10
wl = opt("--wait-log", 2)
while wl and time.time() < deadline and not (os.path.exists(wl[0]) and wl[1] in open(wl[0]).read()): time.sleep(0.02)
s = socket.socket(socket.AF_UNIX)
while True:
    try: s.connect(sock); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.02)
frame = lambda t, b: struct.pack(">B3xI", t, len(b)) + b
if opt("--resize"):
    r, c = (int(x) for x in opt("--resize")[0].split("x")); s.sendall(frame(3, struct.pack(">HH", r, c)))
if opt("--send"): s.sendall(frame(0, opt("--send")[0].encode()))
if "--close" in args: s.sendall(frame(4, b""))
buf = b""
s.settimeout(15)
while True:
    d = s.recv(65536)
    if not d: break
    buf += d
with open(out, "w") as f:
    while len(buf) >= 8:
        t, n = struct.unpack(">B3xI", buf[:8]); f.write("%d:%r\n" % (t, buf[8:8 + n].decode())); buf = buf[8 + n:]
    if buf: f.write("TRAILING %r\n" % buf)
PY
w=$T/c$((N + 1))
dstart --tty --log $w/log:0:1 --extra '["attach","'$w'/attach","0"]' --extra '["stdin"]' -- sh -c 'tty; echo READY; read x; echo got=$x; stty size; exit 3'
check "tty+detach: started, the socket listens (mode 0700)" \
	$([ $RC = 0 ] && [ -S $W/attach ] && [ "$(stat -c %a $W/attach)" = 700 ]; echo $?) \
	"rc=$RC $ST $(ls -l $W)"
timeout 20 python3 $T/attach.py $W/attach $W/client --wait-log $W/log READY --resize 40x120 --send $'hello\r'
CL=$(cat $W/client 2>&1)
check "tty+detach: a client types into the pty and sets its size; output is one stream" \
	$(grep -q "got=hello" <<<"$CL" && grep -q "40 120" <<<"$CL" && ! grep -qv '^1:' <<<"$CL"; echo $?) \
	"$CL"
waitfor "grep -Eq '^exited 3 ' $W/state"
check "tty+detach: exit status recorded, socket removed" $([ $? = 0 ] && [ ! -e $W/attach ]; echo $?) "$(cat $W/state)"
LOG=$(jsonlog $W/log)
check "tty+detach: the log has the terminal's output as stdout (the echo of the input included)" \
	$([ $? = 0 ] &&
		grep -q "^stdout:'/dev/pts/0\\\\r\\\\n'" <<<"$LOG" &&
		grep -q "^stdout:'hello\\\\r\\\\n'" <<<"$LOG" &&
		grep -q "^stdout:'got=hello\\\\r\\\\n'" <<<"$LOG" &&
		! grep -q ^stderr <<<"$LOG"; echo $?) \
	"$LOG"

w=$T/c$((N + 1))
timeout 20 python3 $T/attach.py $w/attach $w.client --send $'hello\n' --close &
ap=$!
dstart --init --log $w/log:0:1 --extra '["attach","'$w'/attach","10000"]' --extra '["stdin"]' -- sh -c 'echo start; tr a-z A-Z; echo err >&2; exit 4'
wait $ap
CL=$(cat $w.client 2>&1)
# how output is cut into frames depends on when the monitor reads: compare each stream's bytes
CL=$(python3 -c 'import ast, sys
runs = []
for l in sys.stdin.read().splitlines():
    t, v = l.split(":", 1)
    if runs and runs[-1][0] == t: runs[-1][1] += ast.literal_eval(v)
    else: runs.append([t, ast.literal_eval(v)])
print("\n".join("%s:%r" % (t, v) for t, v in runs))' <<<"$CL")
check "stdin: the first client is waited for, gets all output, its input and end of input reach the container" $([ $RC = 0 ] && [ "$CL" = "1:'start\nHELLO\n'
2:'err\n'" ]; echo $?) "rc=$RC $CL"
waitfor "grep -Eq '^exited 4 ' $W/state"
check "stdin: exit 4" $? "$(cat $W/state)"
check "stdin: the log has both streams" \
	$([ "$(jsonlog $W/log | tr '\n' ' ')" = "stdout:'start\n' stdout:'HELLO\n' stderr:'err\n' " ]; echo $?) \
	"$(jsonlog $W/log)"

echo "# exec -d: a detached process in a running container"
dstart -- sh -c 'exec sleep 1000'
DMON=$MON DC=$CPID
N=$((N + 1))
TPL='{"Action":"exec_die","exitCode":"{{exitCode}}","timeNano":{{timeNano}}}'
boxspec --join $DC --extra '["detach"]' --extra '["exit-event","'$T/x$N.events'","'"${TPL//\"/\\\"}"'"]' -- sh -c 'sleep 0.3; exit 6' >$T/x$N.spec
start=$(date +%s%N)
"$HELPER" exec 3<$T/x$N.spec 4>&1 2>&1 </dev/null | timeout 10 cat >$T/x$N.st
RC=${PIPESTATUS[0]} ST=$(cat $T/x$N.st)
took=$((($(date +%s%N) - start) / 1000000))
XM=$(sed -n 's/^monitor //p' <<<"$ST")
check "exec -d: returns at once with pid/started/monitor, exit 0" \
	$([ $RC = 0 ] &&
		[ $took -lt 300 ] &&
		[[ $ST =~ ^pid\ [0-9]+$'\n'started$'\n'monitor\ [0-9]+$ ]] &&
		alive $XM; echo $?) \
	"rc=$RC ${took}ms $ST"
waitfor "grep -q exec_die $T/x$N.events"
check "exec -d: exit-event appended with the exit code" \
	$([ $? = 0 ] &&
		python3 -c 'import json,sys
e = json.loads(open(sys.argv[1]).read())
assert e["exitCode"] == "6" and e["timeNano"] > 1.6e18, e' $T/x$N.events; echo $?) \
	"$(cat $T/x$N.events 2>&1)"
waitfor "! alive $XM"
check "exec -d: the helper is gone once its process exited" $? "$XM"
waitfor "! nsprocs $DC | grep -q ."
check "exec -d: no zombie under a PID 1 that never reaps" $? "$(nsprocs $DC)"
kill -KILL $DMON
waitfor "! alive $DC"
leakcheck

echo "# exec into a running container"
boxspec --json '[["hostname","x"],["join","1"],["args","true"]]' >$T/xbad.spec
"$HELPER" exec 3<$T/xbad.spec 4>$T/xbad.st; RC=$?
check "exec: run-only ops refused" $([ $RC = 125 ] && [ "$(cat $T/xbad.st)" = "error spec 22 op hostname is not valid for exec" ]; echo $?) "$(cat $T/xbad.st)"
CGX=
if [ -d /sys/fs/cgroup/pids ]; then CGX=/sys/fs/cgroup/pids/box-helper-exec-$$; mkdir $CGX; fi
dstart --hostname execbox ${CGX:+--cgroup $CGX/cgroup.procs} -- sleep 1000
XMON=$MON EP=$CPID
xrun() { # [spec exec options] -- CMD: `box-helper exec` into the container EP; sets RC OUT ST
	N=$((N + 1))
	boxspec --join $EP "$@" >$T/x$N.spec || { echo "spec encoding failed"; exit 1; }
	timeout 20 "$HELPER" exec 3<$T/x$N.spec 4>$T/x$N.st >$T/x$N.out 2>&1 </dev/null
	RC=$? OUT=$(cat $T/x$N.out) ST=$(cat $T/x$N.st)
	[ -n "$VERBOSE" ] && printf '  [rc=%s]\n%s\n  --\n%s\n' "$RC" "$OUT" "$ST"
	leakcheck
}
xrun ${CGX:+--cgroup-join $CGX/tasks} -- sh -c 'hostname; tr "\0" " " </proc/1/cmdline; echo; echo pid=$$
	grep " / " /proc/self/mounts; cat /etc/lower; cat /proc/self/cgroup'
XP=$(sed -n 's/^pid //p' <<<"$ST")
check "exec: started, exit 0" $([ $RC = 0 ] && [[ $ST =~ ^pid\ [0-9]+$'\n'started$'\n'exit\ 0$ ]]; echo $?) "$RC $ST"
check "exec: the container's uts namespace (hostname)" $(grep -qx execbox <<<"$OUT"; echo $?) "$OUT"
check "exec: the container's pid namespace (/proc/1 is its command, own pid not the host's)" \
	$(grep -qx "sleep 1000 " <<<"$OUT" &&
		grep -Eqx "pid=[0-9]+" <<<"$OUT" &&
		! grep -qx "pid=$XP" <<<"$OUT"; echo $?) \
	"host pid $XP: $OUT"
check "exec: the container's mount namespace and root" $(grep -q "^overlay / overlay" <<<"$OUT" && grep -qx lower <<<"$OUT"; echo $?) "$OUT"
[ -n "$CGX" ] && check "exec: cgroup-join moves it into the container's cgroup" $(grep -q ":pids:/box-helper-exec-$$\$" <<<"$OUT"; echo $?) "$OUT"
{ xrun -- sh -c 'ls -l /proc/$PPID/fd'; } 7<$T
check "exec: the reaper holds only its pipe to the helper, nothing of the host" \
	$([ $RC = 0 ] && grep -q "pipe:" <<<"$OUT" && ! grep -q "$T" <<<"$OUT"; echo $?) \
	"$OUT"
: >$T/xrelay.out && chmod 600 $T/xrelay.out
boxspec --join $EP --extra '["relay"]' -- sh -c 'chmod 777 /proc/self/fd/1; stat -L -c %F /proc/self/fd/1' >$T/xrelay.spec
timeout 20 "$HELPER" exec 3<$T/xrelay.spec 4>$T/xrelay.st >$T/xrelay.out 2>&1 </dev/null
RC=$?
check "exec relay: a pipe, the caller's file keeps its mode" \
	$([ $RC = 0 ] && [ "$(cat $T/xrelay.out)" = fifo ] && [ "$(stat -c %a $T/xrelay.out)" = 600 ]; echo $?) \
	"rc=$RC $(cat $T/xrelay.out) $(stat -c %a $T/xrelay.out)"
# an orphan of the command keeps its pipes, not the caller's: the caller sees EOF at the command's end
boxspec --join $EP --extra '["relay"]' -- sh -c 'sleep 3 & echo orphan' >$T/xorphan.spec
S0=$(date +%s%N)
OUT=$("$HELPER" exec 3<$T/xorphan.spec 4>/dev/null 2>&1 </dev/null &)
MS=$((($(date +%s%N) - S0) / 1000000))
check "exec relay: an orphan holds no caller's fd (EOF after ${MS} ms)" $([ "$OUT" = orphan ] && [ $MS -lt 2000 ]; echo $?) \
	"$OUT"
xrun -- sh -c 'exit 7'
check "exec: exit code passed through" $([ $RC = 7 ] && [[ $ST == *$'\n'"exit 7" ]]; echo $?) "$RC $ST"
xrun -- nosuchcommand
check "exec: missing command -> 127, error exec 2" $([ $RC = 127 ] && [[ $ST == *$'\n'"error exec 2 "* ]]; echo $?) "$RC $ST"
xrun --caps default -- grep CapEff /proc/self/status
check "exec: capabilities as requested" $(grep -q "CapEff:.00000000a80425fb" <<<"$OUT"; echo $?) "$OUT"
xrun --caps default --user 1000:1000 --nnp --seccomp $BPF -- sh -c 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; id -u; mkdir /tmp/d 2>&1'
check "exec: user, no caps, no_new_privs, seccomp filter" \
	$(grep -q "CapEff:.0000000000000000" <<<"$OUT" &&
		grep -q "NoNewPrivs:.1" <<<"$OUT" &&
		grep -q "Seccomp:.2" <<<"$OUT" &&
		grep -qx 1000 <<<"$OUT" &&
		grep -q "Operation not permitted" <<<"$OUT"; echo $?) \
	"$OUT"
xrun -- true
xrun -- ps -o pid,stat,comm
check "exec: exec'd processes are reaped (no zombie under the container's PID 1)" \
	$([ $RC = 0 ] && ! grep -Eq '^ *[0-9]+ +Z' <<<"$OUT" && grep -q ps <<<"$OUT"; echo $?) \
	"$OUT"
N=$((N + 1))
boxspec --join $EP -- sh -c 'trap "exit 9" TERM; echo READY; while :; do sleep 0.05; done' >$T/x$N.spec
"$HELPER" exec 3<$T/x$N.spec 4>$T/x$N.st >$T/x$N.out 2>&1 </dev/null &
hp=$!; PIDS+=($hp)
waitfor "grep -q READY $T/x$N.out"
kill -TERM $hp; wait $hp; RC=$?
check "exec: SIGTERM forwarded to the exec'd process" $([ $RC = 9 ]; echo $?) "rc=$RC $(cat $T/x$N.st)"
TTYJOIN=$EP ttycase "exec: tty from the container's devpts, stdin relayed, window size, exit 5" 5 -- \
	sh -c 'tty; stty size; echo READY; read x; echo got=$x; stty size; exit 5'
check "exec: tty /dev/pts/0, size 33 101, input, SIGWINCH -> 40 120" \
	$(grep -q "^/dev/pts/0" <<<"$OUT" &&
		grep -q "^33 101" <<<"$OUT" &&
		grep -q "got=hello" <<<"$OUT" &&
		grep -q "^40 120" <<<"$OUT"; echo $?) \
	"$OUT"
kill -KILL $XMON
waitfor "! alive $EP"
check "exec: the container still dies with its monitor" $? "$EP"
[ -n "$CGX" ] && waitfor "rmdir $CGX 2>/dev/null" && CGX=
leakcheck

echo "# health checks scheduled by the monitor"
raw '[["health","1","1","0","1","1","/h"],["health-exec",""],["args","true"]]'
check "health without detach refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 op health needs detach" ]]; echo $?) "$ST"
raw '[["detach"],["health","1","1","0","1","1","/h"],["args","true"]]'
check "health without health-exec refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 op health needs health-exec" ]]; echo $?) "$ST"
boxspec --hex --json '[["join","1"],["args","true"]]' >$T/probe-bad.hex
raw '[["detach"],["health","1","1","0","1","1","/h"],["health-exec",{"hex":"'$(cat $T/probe-bad.hex)'"}],["args","true"]]'
check "health-exec: join refused in the probe spec" \
	$([ $RC = 125 ] &&
		[[ $ST == "error spec 22 health-exec: op join is not valid for a health check" ]]; echo $?) \
	"$ST"
raw '[["detach"],["health","1","1","0","0","1","/h"],["health-exec",{"hex":"'$(boxspec --hex --json '[["args","true"]]')'"}],["args","true"]]'
check "health: zero timeout refused" $([ $RC = 125 ] && [[ $ST == "error spec 22 op health: "* ]]; echo $?) "$ST"
# hstatus FILE: the `status` line of a health file
hstatus() { sed -n 's/^status //p' "$1" 2>/dev/null; }
w=$T/c$((N + 1))
dstart --caps default --user 1000:1000 --nnp --cwd /home/app --health 100000000:100000000:0:2000000000:2:$w/health --health-event $w/events \
	--health-cmd 'id -u; grep -E "^(CapEff|NoNewPrivs):" /proc/self/status; test -f ok' \
	-- sh -c 'touch ok; while [ ! -f /tmp/stop ]; do sleep 0.05; done; rm ok; exec sleep 1000'
HW=$W HMON=$MON HC=$CPID
check "health: monitor started, health file says starting or healthy" \
	$([ $RC = 0 ] && [[ "$(hstatus $HW/health)" =~ ^(starting|healthy)$ ]]; echo $?) \
	"$ST $(cat $HW/health 2>&1)"
waitfor '[ "$(hstatus $HW/health)" = healthy ]'
check "health: healthy after the first success" $? "$(cat $HW/health 2>&1)"
check "health: the probe runs as the container's user with its caps and no_new_privs" \
	$(grep -qx 1000 $HW/health &&
		grep -q "CapEff:.0000000000000000" $HW/health &&
		grep -q "NoNewPrivs:.1" $HW/health; echo $?) \
	"$(cat $HW/health)"
waitfor "[ \$(grep -c '^result ' $HW/health) = 5 ]"
check "health: the last 5 results are kept" $? "$(grep '^result' $HW/health)"
check "health: no probe zombie under a PID 1 that never reaps" $(! nsprocs $HC | grep -q ' Z$'; echo $?) "$(nsprocs $HC)"
"$HELPER" exec 3< <(boxspec --join $HC -- touch /tmp/stop) 4>/dev/null >/dev/null 2>&1
waitfor '[ "$(hstatus $HW/health)" = unhealthy ]'
check "health: unhealthy after RETRIES consecutive failures" \
	$([ $? = 0 ] &&
		grep -qx "failing [0-9]*" $HW/health &&
		grep -Eq "^result [0-9]{19} [0-9]{19} 1 " $HW/health; echo $?) \
	"$(cat $HW/health)"
check "health: health_status events appended on each change" $(python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert [e["Action"] for e in ev] == ["health_status: healthy", "health_status: unhealthy"], ev
assert all(e["timeNano"] // 10**9 == e["time"] > 1.6e9 for e in ev), ev' $HW/events 2>&1 >/dev/null; echo $?) "$(cat $HW/events)"
check "health: the container keeps running without an on-failure action" $(alive $HC; echo $?)
kill -KILL $HMON
waitfor "! alive $HC"
w=$T/c$((N + 1))
dstart --health 50000000:50000000:0:300000000:2:$w/health --health-cmd 'sleep 1000 & sleep 1000' -- sh -c 'exec sleep 1000'
HW=$W HC=$CPID HMON=$MON
waitfor '[ "$(hstatus $HW/health)" = unhealthy ]'
check "health: timeout -> exit -1, 'Health check exceeded timeout (300ms)', unhealthy" \
	$([ $? = 0 ] &&
		grep -Eq "^result [0-9]{19} [0-9]{19} -1 " $HW/health &&
		grep -q "^Health check exceeded timeout (300ms)$" $HW/health; echo $?) \
	"$(cat $HW/health)"
waitfor "! nsprocs $HC | grep -q ."
check "health: the timed-out probe's process group is gone (nothing but PID 1 left)" $? "$(nsprocs $HC)"
kill -KILL $HMON
waitfor "! alive $HC"
w=$T/c$((N + 1))
dstart --health 50000000:50000000:0:2000000000:2:$w/health --health-on-failure kill:9:0 --health-cmd false -- sh -c 'exec sleep 1000'
HW=$W HC=$CPID
waitfor "grep -Eq '^exited 137 ' $HW/state"
check "health-on-failure kill: SIGKILL once unhealthy, the action recorded" \
	$([ $? = 0 ] &&
		grep -Eq "^action kill [0-9]{19}$" $HW/health &&
		[ "$(hstatus $HW/health)" = unhealthy ]; echo $?) \
	"$(cat $HW/state $HW/health 2>&1)"
w=$T/c$((N + 1))
dstart --health 50000000:50000000:0:2000000000:1:$w/health --health-on-failure stop:15:200000000 --health-cmd false -- sh -c 'exec sleep 1000'
HW=$W
waitfor "grep -Eq '^exited 137 ' $HW/state"
check "health-on-failure stop: SIGTERM (ignored by PID 1), SIGKILL after the grace" \
	$([ $? = 0 ] && grep -q "^action stop " $HW/health; echo $?) \
	"$(cat $HW/state $HW/health 2>&1)"
w=$T/c$((N + 1))
dstart --health 50000000:50000000:10000000000:2000000000:1:$w/health --health-cmd false -- sh -c 'exec sleep 1000'
HW=$W HC=$CPID HMON=$MON
waitfor "[ \$(grep -c '^result ' $HW/health) -ge 3 ]"
check "health: failures in the start period do not count" \
	$([ $? = 0 ] && [ "$(hstatus $HW/health)" = starting ] && grep -qx "failing 0" $HW/health; echo $?) \
	"$(cat $HW/health)"
kill -KILL $HMON
waitfor "! alive $HC"
leakcheck

echo
echo "passed $PASS, failed $FAIL"
[ $FAIL = 0 ]
