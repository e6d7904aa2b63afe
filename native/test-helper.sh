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

echo "# build"
size=$(cd "$HERE/.." && cc -static -O2 -Wall -Wextra -Werror -o "$HELPER" native/*.c && stat -c %s "$HELPER") || { echo "build failed"; exit 1; }
echo "     helper: $size bytes"

if ! command -v busybox >/dev/null; then apt-get install -y busybox-static >/dev/null || exit 1; fi
R=$T/rootfs
mkdir -p $R/bin $R/proc $R/sys $R/dev $R/etc $R/tmp $R/root
cp "$(command -v busybox)" $R/bin/busybox
chroot $R /bin/busybox --install -s /bin
ln -s / $R/evil # absolute symlink: must resolve inside the rootfs, never to the host's /
echo lower >$R/etc/lower
echo hostfile >$T/hostfile
mkdir -p $T/hostdir && echo indir >$T/hostdir/f

# run NAME [boxspec options] -- CMD...: one container on a fresh overlay; sets OUT, ST, RC
N=0
run() {
	N=$((N + 1))
	local w=$T/c$N
	mkdir -p $w/upper $w/work $w/mnt
	python3 "$HERE/boxspec.py" --rootfs $R --work $w "$@" >$w/spec || { echo "spec encoding failed"; exit 1; }
	timeout 20 "$HELPER" run 3<$w/spec 4>$w/status >$w/out 2>&1 </dev/null
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
	python3 "$HERE/boxspec.py" --json "$1" >$T/raw$N
	timeout 10 "$HELPER" run 3<$T/raw$N 4>$T/raw$N.st >/dev/null 2>&1 </dev/null
	RC=$? ST=$(cat $T/raw$N.st)
}

echo "# spec validation"
raw '[["bogus","x"],["args","true"]]'
check "unknown op -> error spec 22, rc 125" $([ $RC = 125 ] && [ "$ST" = "error spec 22 unknown op bogus" ]; echo $?) "$RC $ST"
printf 'NOTASPEC' >$T/badmagic
"$HELPER" run 3<$T/badmagic 4>$T/badmagic.st; RC=$?
check "bad magic -> rc 125" $([ $RC = 125 ] && grep -q '^error spec 22 bad magic' $T/badmagic.st; echo $?) "$RC $(cat $T/badmagic.st)"
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
check "device nodes null/zero/full/random/urandom/tty" $(! grep -q missing <<<"$OUT" && grep -q "00 00 00 00" <<<"$OUT" && grep -q full-ok <<<"$OUT"; echo $?) "$OUT"
for m in "overlay /" "proc /proc" "sysfs /sys" "tmpfs /dev" "devpts /dev/pts" "tmpfs /dev/shm" "mqueue /dev/mqueue"; do
	check "mount: $m" $(grep -qx "$m" <<<"$OUT"; echo $?) "$OUT"
done
check "only fds 0-2 reach the container" $(grep -qx "fds=0 1 2 3" <<<"$OUT"; echo $?) "$OUT"
check "old root detached after pivot" $(! grep -q "$T" <<<"$OUT"; echo $?) "$OUT"

run -- sh -c 'cat /proc/keys | wc -c; ls /sys/firmware | wc -l; touch /sys/firmware/x 2>/dev/null && echo fw-writable
	echo 1 >/proc/sys/kernel/panic 2>/dev/null && echo sys-writable; grep " /proc/sys " /proc/self/mounts'
check "mask: /proc/keys empty, /sys/firmware empty read-only" $([ "$(sed -n 1p <<<"$OUT")" = 0 ] && [ "$(sed -n 2p <<<"$OUT")" = 0 ] && ! grep -q fw-writable <<<"$OUT"; echo $?) "$OUT"
check "readonly: /proc/sys read-only" $(! grep -q sys-writable <<<"$OUT" && grep -q "/proc/sys proc ro," <<<"$OUT"; echo $?) "$OUT"

run --readonly-root -- sh -c 'touch /x 2>/dev/null && echo root-writable; touch /dev/shm/y && echo shm-ok'
check "remount / read-only" $(! grep -q root-writable <<<"$OUT" && grep -q shm-ok <<<"$OUT"; echo $?) "$OUT"

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
run --bind $T/hostfile:/etc/hostfile:ro --bind $T/hostdir:/evil/tmp/escape-$$ -- sh -c 'cat /etc/hostfile; echo y >/etc/hostfile 2>/dev/null && echo file-writable; cat /tmp/escape-'$$'/f'
check "file bind (target created), read-only" $(grep -qx hostfile <<<"$OUT" && ! grep -q file-writable <<<"$OUT"; echo $?) "$OUT"
check "symlink target resolved inside the rootfs, not on the host" $(grep -qx indir <<<"$OUT" && [ ! -e /tmp/escape-$$ ]; echo $?) "$OUT"
run --sysctl kernel.shmmax=123456 --cwd /work/dir --user 1000:1000 -- sh -c 'cat /proc/sys/kernel/shmmax; pwd; stat -c %u:%g .; ulimit -n; id -u'
check "sysctl in the container's ipc namespace" $(grep -qx 123456 <<<"$OUT" && [ "$(cat /proc/sys/kernel/shmmax)" != 123456 ]; echo $?) "$OUT"
check "cwd created, owned by the user; rlimit; user" $(grep -qx /work/dir <<<"$OUT" && grep -qx 1000:1000 <<<"$OUT" && grep -qx 1024 <<<"$OUT" && grep -qx 1000 <<<"$OUT"; echo $?) "$OUT"

echo "# capabilities, seccomp"
run --caps default -- grep -E 'Cap(Eff|Bnd|Prm)' /proc/self/status
check "caps: docker default set in eff/prm/bnd" $([ "$(grep -c 00000000a80425fb <<<"$OUT")" = 3 ]; echo $?) "$OUT"
run --caps default --user 1000:1000 --nnp -- grep -E 'Cap(Eff|Bnd)|NoNewPrivs' /proc/self/status
check "caps: non-root user has none, bounding kept, no_new_privs" $(grep -q "CapEff:.0000000000000000" <<<"$OUT" && grep -q "CapBnd:.00000000a80425fb" <<<"$OUT" && grep -q "NoNewPrivs:.1" <<<"$OUT"; echo $?) "$OUT"
# ambient: a non-root user keeps CAP_NET_BIND_SERVICE (10) through exec
run --user 1000:1000 --extra '["caps","1024","1024","1024","1024","1024"]' -- grep -E 'CapEff|CapAmb' /proc/self/status
check "ambient capability for a non-root user" $([ "$(grep -c 0000000000000400 <<<"$OUT")" = 2 ]; echo $?) "$OUT"
# seccomp: mkdir(83) and mkdirat(258) fail with EPERM, everything else allowed
BPF=$(python3 -c 'import struct; f=[(0x20,0,0,0),(0x15,2,0,83),(0x15,1,0,258),(0x06,0,0,0x7fff0000),(0x06,0,0,0x00050001)]; print(b"".join(struct.pack("<HBBI",*x) for x in f).hex())')
run --nnp --seccomp $BPF -- sh -c 'mkdir /d 2>&1; touch /f && echo touch-ok'
check "seccomp filter (with no_new_privs)" $(grep -q "Operation not permitted" <<<"$OUT" && grep -q touch-ok <<<"$OUT"; echo $?) "$OUT"
run --seccomp $BPF --caps default -- sh -c 'mkdir /d 2>&1; echo done'
check "seccomp filter (without no_new_privs, loaded before the cap drop)" $(grep -q "Operation not permitted" <<<"$OUT"; echo $?) "$RC $OUT $ST"

echo "# signals"
sigcase() { # NAME EXPECTED-RC [boxspec options] -- CMD: sends SIGTERM to the helper once READY
	local name=$1 want=$2
	shift 2
	N=$((N + 1))
	local w=$T/c$N
	mkdir -p $w/upper $w/work $w/mnt
	python3 "$HERE/boxspec.py" --rootfs $R --work $w "$@" >$w/spec
	"$HELPER" run 3<$w/spec 4>$w/status >$w/out 2>&1 </dev/null &
	local hp=$!
	PIDS+=($hp)
	for _ in $(seq 100); do grep -q READY $w/out && break; sleep 0.05; done
	EXE=$(readlink /proc/$hp/exe)
	kill -TERM $hp
	wait $hp
	RC=$? OUT=$(cat $w/out) ST=$(cat $w/status)
	check "$name" $([ $RC = "$want" ]; echo $?) "rc=$RC $OUT $ST"
	leakcheck
}
sigcase "SIGTERM forwarded to the container (trap -> exit 42)" 42 -- sh -c 'trap "echo got-term; exit 42" TERM; echo READY; while :; do sleep 0.05; done'
check "helper runs from a sealed memfd" $([[ $EXE == /memfd:box-helper* ]]; echo $?) "$EXE"
sigcase "init: SIGTERM forwarded to the command (no trap -> signal 15, rc 143)" 143 --init -- sh -c 'echo READY; sleep 10'
check "init: status says signal 15" $([[ $ST == *$'\n'"signal 15" ]]; echo $?) "$ST"

# the helper dies -> the container dies (PR_SET_PDEATHSIG)
N=$((N + 1)); w=$T/c$N; mkdir -p $w/upper $w/work $w/mnt
python3 "$HERE/boxspec.py" --rootfs $R --work $w -- sleep 30 >$w/spec
"$HELPER" run 3<$w/spec 4>$w/status </dev/null &
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
run --init -- nosuchcommand
check "with init: exec error still reported (127)" $([ $RC = 127 ] && [[ $ST == *"error exec 2 "* ]]; echo $?) "$RC $ST"
run --init --caps default --user 1000:1000 -- sh -c 'grep CapEff /proc/1/status; grep NoNewPrivs /proc/1/status; ps -o user,comm | sed -n 2p' 
check "init runs as the user with no capabilities, no_new_privs" $(grep -q "CapEff:.0000000000000000" <<<"$OUT" && grep -q "NoNewPrivs:.1" <<<"$OUT"; echo $?) "$OUT"
run --init --caps default -- sh -c 'grep CapEff /proc/1/status; grep CapEff /proc/self/status'
check "root init keeps only CAP_KILL" $(grep -q "CapEff:.0000000000000020" <<<"$OUT" && grep -q "CapEff:.00000000a80425fb" <<<"$OUT"; echo $?) "$OUT"

echo "# cgroups"
if [ -d /sys/fs/cgroup/pids ]; then
	CG=/sys/fs/cgroup/pids/box-helper-test-$$
	mkdir $CG
	run --cgroup $CG/cgroup.procs --cgroupns -- cat /proc/self/cgroup
	check "cgroup: child placed in the cgroup, cgroupns hides the path" $([ $RC = 0 ] && grep -q ':pids:/$' <<<"$OUT" && ! grep -q box-helper-test <<<"$OUT"; echo $?) "$OUT"
	run --cgroup $CG/cgroup.procs -- cat /proc/self/cgroup
	check "cgroup: without cgroupns the path is visible" $(grep -q ":pids:/box-helper-test-$$" <<<"$OUT"; echo $?) "$OUT"
	rmdir $CG && CG=
fi

echo "# tty"
ttycase() { # NAME EXPECT-RC [boxspec options] -- CMD: drives the helper from a python pty
	local name=$1 want=$2
	shift 2
	N=$((N + 1))
	local w=$T/c$N
	mkdir -p $w/upper $w/work $w/mnt
	python3 "$HERE/boxspec.py" --rootfs $R --work $w --tty "$@" >$w/spec
	timeout 20 python3 - "$HELPER" $w <<'EOF' >$w/out 2>&1
import fcntl, os, pty, select, struct, sys, termios, time
helper, w = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", 'stty -g >%s/before; %s run 3<%s/spec 4>%s/status; echo "rc=$?"; stty -g >%s/after' % (w, helper, w, w, w)])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
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
check "tty: /dev/pts/0, initial size 33 101, input, SIGWINCH -> 40 120" $(grep -q "^/dev/pts/0" <<<"$OUT" && grep -q "^33 101" <<<"$OUT" && grep -q "got=hello" <<<"$OUT" && grep -q "^40 120" <<<"$OUT"; echo $?) "$OUT"
ttycase "tty+init: ^C reaches the command's process group once" 9 --init -- sh -c 'trap "echo INT; exit 9" INT; echo READY; read x; echo INTME; while :; do sleep 0.05; done'

echo
echo "passed $PASS, failed $FAIL"
[ $FAIL = 0 ]
