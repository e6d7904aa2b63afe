#!/usr/bin/env python3
"""Test-only encoder for box-helper specs (PROTOCOL.md). Writes the binary spec to stdout.

  boxspec.py --json '[["op","arg",...],...]'        encode records as given
  boxspec.py --rootfs DIR --work TMP [opts] -- CMD...  a typical container spec (overlay rootfs)
  boxspec.py --join PID [opts] -- CMD...               a `box-helper exec` spec for a running one

Health checks of a detached container: --health INTERVAL:START_INTERVAL:START_PERIOD:TIMEOUT:RETRIES:FILE
(nanoseconds) with --health-cmd "SHELL CMD" (the nested exec spec: the container's attributes, args
/bin/sh -c CMD), --health-event FILE and --health-on-failure ACTION:SIGNAL:GRACE_NS.

Strings in --json may be {"hex": "..."} for raw bytes (seccomp programs).
"""
import argparse, json, struct, sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE, MS_STRICTATIME = 32, 4096, 16384, 1 << 18, 1 << 24
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x4000000, 0x8000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000

DEFAULT_CAPS = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31]  # docker's default set


def encode(records):
    out = bytearray(b"BOXSPEC\0" + struct.pack("<I", 1))
    for rec in records:
        out += struct.pack("<I", len(rec))
        for s in rec:
            b = bytes.fromhex(s["hex"]) if isinstance(s, dict) else str(s).encode()
            out += struct.pack("<I", len(b)) + b
    return bytes(out)


def container(a):
    nosx = MS_NOSUID | MS_NODEV | MS_NOEXEC
    mnt = a.work + "/mnt"
    recs = [
        ["clone", CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET],
        ["propagation", MS_REC | MS_PRIVATE],
        ["hostname", a.hostname],
        ["rootfs", "overlay", "overlay", 0,
         "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (a.rootfs, a.work, a.work), mnt],
        ["mount", "proc", "/proc", "proc", nosx, ""],
        ["mount", "sysfs", "/sys", "sysfs", nosx | MS_RDONLY, ""],
        ["mount", "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"],
        ["mount", "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
         "newinstance,ptmxmode=0666,mode=0620,gid=5"],
        ["mount", "shm", "/dev/shm", "tmpfs", nosx, "mode=1777,size=65536k"],
        ["mount", "mqueue", "/dev/mqueue", "mqueue", nosx, ""],
    ]
    for name, minor in (("null", 3), ("zero", 5), ("full", 7), ("random", 8), ("urandom", 9)):
        recs.append(["mknod", "/dev/" + name, 0o20666, 1, minor])
    recs.append(["mknod", "/dev/tty", 0o20666, 5, 0])
    for t, p in (("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
                 ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr"),
                 ("pts/ptmx", "/dev/ptmx")):
        recs.append(["symlink", t, p])
    for b in a.bind:
        src, dst, ro = (b.split(":") + [""])[:3]
        recs.append(["mount", src, dst, "", MS_BIND | MS_REC | (MS_RDONLY if ro == "ro" else 0), ""])
    recs.append(["pivot"])
    for kv in a.sysctl:
        recs.append(["sysctl"] + kv.split("=", 1))
    for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/acpi", "/sys/firmware",
              "/proc/does-not-exist"):
        recs.append(["mask", p])
    for p in ("/proc/sys", "/proc/sysrq-trigger", "/proc/bus"):
        recs.append(["readonly", p])
    if a.readonly_root:
        recs.append(["remount", "/", MS_BIND | MS_RDONLY])
    if a.tty:
        recs.append(["tty"])
    if a.init:
        recs.append(["init"])
    for c in a.cgroup:
        recs.append(["cgroup", c])
    if a.cgroupns:
        recs.append(["cgroupns"])
    if a.detach:
        recs.append(["detach"])
    if a.log:
        recs.append(["log"] + a.log.rsplit(":", 2))
    if a.state:
        recs.append(["state", a.state])
    if a.on_exit:
        recs.append(["on-exit"] + a.on_exit)
    if a.health:
        recs.append(["health"] + a.health.split(":", 5))
        extra, a.extra = a.extra, []
        probe = attrs(a, [])
        a.extra = extra
        probe[[r[0] for r in probe].index("args")] = ["args", "/bin/sh", "-c", a.health_cmd]
        recs.append(["health-exec", {"hex": encode(probe).hex()}])
    if a.health_event:
        tpl = '{"Action":"health_status: {{status}}","time":{{time}},"timeNano":{{timeNano}}}'
        recs.append(["health-event", a.health_event, tpl])
    if a.health_on_failure:
        recs.append(["health-on-failure"] + a.health_on_failure.split(":"))
    return attrs(a, recs)


def attrs(a, recs):
    """The process attributes, shared by run and exec specs."""
    recs.append(["rlimit", 7, 1024, 1024])  # RLIMIT_NOFILE
    if a.caps is not None:
        m = sum(1 << c for c in DEFAULT_CAPS) if a.caps == "default" else int(a.caps, 0)
        recs.append(["caps", m, m, m, 0, 0])
    if a.user:
        recs.append(["user"] + a.user.split(":"))
        recs.append(["groups"])
    if a.nnp:
        recs.append(["no-new-privs"])
    if a.cwd:
        recs.append(["cwd", a.cwd])
    recs.append(["env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", "TERM=xterm"] + a.env)
    recs.append(["args"] + a.cmd)
    recs = [[x if isinstance(x, dict) else str(x) for x in r] for r in recs]
    if a.seccomp:
        recs.insert(-1, ["seccomp", {"hex": a.seccomp}])
    return recs + [json.loads(x) for x in a.extra]


def exec_spec(a):
    recs = [["join", a.join]] + [["cgroup-join", c] for c in a.cgroup_join]
    if a.tty:
        recs.append(["tty"])
    return attrs(a, recs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--json")
    p.add_argument("--rootfs")
    p.add_argument("--work")
    p.add_argument("--hostname", default="testbox")
    p.add_argument("--tty", action="store_true")
    p.add_argument("--init", action="store_true")
    p.add_argument("--nnp", action="store_true")
    p.add_argument("--readonly-root", action="store_true")
    p.add_argument("--caps")
    p.add_argument("--user")
    p.add_argument("--cwd")
    p.add_argument("--bind", action="append", default=[])
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--sysctl", action="append", default=[])
    p.add_argument("--cgroup", action="append", default=[])
    p.add_argument("--cgroupns", action="store_true")
    p.add_argument("--seccomp", help="hex of a sock_filter array")
    p.add_argument("--extra", action="append", default=[], help="one JSON record appended")
    p.add_argument("--detach", action="store_true")
    p.add_argument("--log", help="FILE:MAX_BYTES:MAX_FILES")
    p.add_argument("--state")
    p.add_argument("--on-exit", action="append", default=[], help="one argument of the callback")
    p.add_argument("--join", help="exec spec: PID of the container to enter")
    p.add_argument("--cgroup-join", action="append", default=[])
    p.add_argument("--health")
    p.add_argument("--health-cmd", default="true")
    p.add_argument("--health-event")
    p.add_argument("--health-on-failure")
    p.add_argument("cmd", nargs="*")
    a = p.parse_args()
    recs = json.loads(a.json) if a.json else exec_spec(a) if a.join else container(a)
    sys.stdout.buffer.write(encode(recs))


if __name__ == "__main__":
    main()
