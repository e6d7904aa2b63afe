/* box-helper: the native half of box (see PROTOCOL.md). This file: the host-side ops and clone(),
 * `box-helper delay`. The rest:
 *   sealed-exe.c re-exec from a binary no container can write to (read-only overlayfs or memfd)
 *   clone.c   the init's clone, into its cgroup v2 at birth where it can, and the `cgroup` writes
 *   report.c  status events, errors, event files
 *   util.c    fds and files
 *   spec.c    spec decoding and validation
 *   control.c the control channel: box's go or abort after clone
 *   exec.c    `box-helper exec`: join a running container, fork the process to run
 *   mounts.c  child-side filesystem steps
 *   net.c     network steps in the container's namespace (loopback-up)
 *   child.c   the cloned child: pty, rlimits, credentials, capabilities, seccomp, execve
 *   init.c    the built-in init (`init` op)
 *   relay.c   the parent after clone: signals, pty relay, exit status
 *   stdpipes.c a foreground child's stdio without a tty: pipes the parent relays (`relay`)
 *   jsonlog.c the container's output as a json-file log (`log`)
 *   signals.c the signals forwarded to the child, the mask restored before anything runs
 *   monitor.c the monitor of a detached container: log, state file, on-exit callback
 *   attach.c  the monitor's attach socket: output to clients, their input, window sizes
 *   health.c  health checks scheduled by the monitor
 */
#define _GNU_SOURCE
#include "box-helper.h"
#include "attach.h"
#include "child.h"
#include "clone.h"
#include "control.h"
#include "hook.h"
#include "ctx.h"
#include "exec.h"
#include "health.h"
#include "jsonlog.h"
#include "monitor.h"
#include "oci-runc.h"
#include "relay.h"
#include "report.h"
#include "sealed-exe.h"
#include "signals.h"
#include "spec.h"
#include "stdpipes.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SPEC_FD 3

struct ctx C;

static struct spec spec;          /* read from fd 3 (`run` or `exec`); its records live for good */
static unsigned long clone_flags; /* `clone`: the new namespaces of `run` */
static int detach;                /* `detach`: a monitor stays the container's parent (monitor.c) */

void host_ops(const struct spec *sp)
{
	const struct rec *r;
	C = (struct ctx){
		.tty = spec_find(sp, "tty") != NULL,
		.init = spec_find(sp, "init") != NULL,
		.release = spec_find(sp, "release") != NULL,
		.preserved = (r = spec_find(sp, "preserve-fds")) ? (int)arg_u(r, 0) : 0,
		.sync_rd = -1,
		.sync_wr = -1,
		.err_rd = -1,
		.err_wr = -1,
		.sock = { -1, -1 },
		.ist_rd = -1,
		.ist_wr = -1,
		.ready_rd = -1,
		.ready_wr = -1,
	};
	clone_flags = (r = spec_find(sp, "clone")) ? arg_u(r, 0) : 0;
	detach = spec_find(sp, "detach") != NULL;
	child_ops(sp);
	monitor_ops(sp);
	stdio_ops(sp);
	attach_ops(sp);
	health_ops(sp);
	/* clone() is fork-like here: thread/VM sharing flags would break the helper */
	unsigned long allowed = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
				CLONE_NEWCGROUP | CLONE_NEWUSER | CLONE_NEWTIME;
	if (clone_flags & ~allowed)
		die("spec", EINVAL, "clone: only namespace flags are allowed");
}

/* `setns TYPE PATH`: the container joins an existing namespace (an OCI bundle's namespace path,
 * e.g. the network namespace a CNI plugin prepared). The helper enters it right before clone,
 * so the child is born in it; a type may not also be a new one in `clone`. */
static void join_namespaces(const struct spec *sp)
{
	static const struct {
		const char *name;
		int type;
	} ns[] = { { "net", CLONE_NEWNET }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "pid", CLONE_NEWPID } };
	for (size_t i = 0; i < sp->nrecs; i++) {
		const struct rec *r = &sp->recs[i];
		if (strcmp(r->op->name, "setns"))
			continue;
		size_t k = 0;
		while (k < sizeof ns / sizeof ns[0] && strcmp(ns[k].name, r->a[0].p))
			k++;
		if (k == sizeof ns / sizeof ns[0])
			die("setns", EINVAL, "unknown namespace type %s (net, ipc, uts or pid)", r->a[0].p);
		if (clone_flags & (unsigned long)ns[k].type)
			die("setns", EINVAL, "%s is both joined and new (clone)", r->a[0].p);
		int fd = open(r->a[1].p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("setns", errno, "open %s", r->a[1].p);
		if (setns(fd, ns[k].type))
			die("setns", errno, "join the %s namespace %s", r->a[0].p, r->a[1].p);
		close(fd);
	}
}

/* Makes the pipes shared by run and exec and blocks the forwarded signals (taken from a signalfd
 * by the parent; the child restores the mask before exec). */
void parent_setup(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		die("pipe", errno, "pipe");
	C.ist_rd = p[0], C.ist_wr = p[1];
	if (pipe2(p, O_CLOEXEC))
		die("pipe", errno, "pipe");
	C.sync_rd = p[0], C.sync_wr = p[1];
	if (pipe2(p, O_CLOEXEC))
		die("pipe", errno, "pipe");
	C.err_rd = p[0], C.err_wr = p[1];
	if (C.tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, C.sock))
		die("tty", errno, "socketpair");
	stdio_setup();   /* `relay`: the child's fds 0-2 become pipes */
	jsonlog_start(); /* a foreground run's log (a monitor opened its own already) */
	signals_block(detach);
	signal(SIGTTOU, SIG_IGN); /* tcsetattr from a background job must not stop us */
}

/* The parent right after clone/fork: without a tty, the child alone holds its stdio (a reader of
 * its stdout sees EOF when the child closes it); with `relay`, the parent keeps the other ends of
 * its pipes and the caller's fds, moved aside. */
void parent_after_fork(pid_t pid)
{
	report_child(pid);
	close(C.sync_rd);
	close(C.err_wr);
	if (C.ist_wr >= 0)
		close(C.ist_wr);
	if (C.ready_wr >= 0)
		close(C.ready_wr);
	if (C.tty) {
		close(C.sock[1]);
	} else {
		for (int fd = 0; fd < 3; fd++)
			dup2(devnull(), fd);
	}
}

/* `box-helper delay MS PROGRAM ARG...`: the back-off of a restarting container. A monitor whose
 * container exited execs this (as told by box's on-exit callback), so the wait costs a tiny
 * process instead of a Node.js one; SIGTERM cancels it. Then it runs PROGRAM (box) to restart. */
static int delay_main(int argc, char **argv)
{
	char *end;
	errno = 0;
	unsigned long long ms = strtoull(argv[2], &end, 10);
	if (argc < 4 || errno || *end || end == argv[2] || argv[3][0] != '/') {
		fprintf(stderr, "usage: box-helper delay MS /ABSOLUTE/PROGRAM [ARG...]\n");
		return 125;
	}
	/* PROGRAM holds nothing of its caller's but fds 0-2: a DNS responder started through here
	 * lives on, and an fd its starter inherited (a pipe someone waits on) would live on with it. */
	syscall(SYS_close_range, 3, ~0U, 0);
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	execv(argv[3], argv + 3);
	fprintf(stderr, "box-helper delay: exec %s: %s\n", argv[3], strerror(errno));
	return 127;
}

/* `userns-map UIDMAP GIDMAP`: the child's new user namespace's maps, each written whole (one
 * write, as the kernel wants). The helper is root in the parent namespace: setgroups stays allowed. */
static void write_userns_maps(pid_t pid, const struct rec *r)
{
	static const char *const files[] = { "uid_map", "gid_map" };
	for (int i = 0; i < 2; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, files[i]);
		if (write_file(path, r->a[i].p))
			die("userns-map", errno, "write %s", path);
	}
}

int main(int argc, char **argv)
{
	int mode = 0;
	if (argc >= 1 && oci_is_runc(argv[0]))
		return oci_main(argc, argv); /* installed as box-runc (oci-runc.c) */
	if (argc >= 2 && !strcmp(argv[1], "delay"))
		return delay_main(argc, argv);
	if (argc == 2 && !strcmp(argv[1], "run"))
		mode = M_RUN;
	else if (argc == 2 && !strcmp(argv[1], "exec"))
		mode = M_EXEC;
	if (!mode) {
		fprintf(stderr, "usage: box-helper run|exec   (spec on fd 3, status on fd 4, run: control on fd 5;"
				" see PROTOCOL.md)\n"
				"       box-helper delay MS PROGRAM [ARG...]\n");
		return 125;
	}
	reexec_sealed(argv);
	prctl(PR_SET_NAME, "box-helper", 0, 0, 0); /* started as /proc/self/fd/N (sealed-exe.c), its name is N */
	/* Not dumpable: no process of the container may ptrace a process box starts there, nor
	 * follow its /proc/PID/fd links, before that process execs (runc's CVE-2016-9962). Every
	 * fork and clone inherits this; the kernel makes the container's command dumpable again at
	 * its execve, as any program; box's own processes there (init, reaper) never exec. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		die("reexec", errno, "prctl(PR_SET_DUMPABLE)");
	fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	spec_read(SPEC_FD, &spec, mode); /* closes fd 3 */
	if (mode == M_RUN)
		control_check(&spec);
	/* Nothing of the caller's but fds 0-2 may reach the container: closed here, not only marked
	 * close-on-exec, because the init and an exec's reaper never exec. */
	const struct rec *pf = spec_find(&spec, "preserve-fds");
	int npreserved = pf ? (int)arg_u(pf, 0) : 0;
	if (npreserved > 1024)
		die("preserve-fds", EINVAL, "%d fds: at most 1024", npreserved);
	/* the caller's fds: not the sealed binary's mount, which took a number the caller left free */
	for (int i = 0; i < npreserved; i++)
		if (fcntl(PRESERVED_FD + i, F_GETFD) < 0 || PRESERVED_FD + i == sealed_mount_fd())
			die("preserve-fds", EBADF, "fd %d (the caller's %d) is not open", PRESERVED_FD + i, 3 + i);
	/* `lifeline`: box's end of the create (monitor.c detach_fork; in the foreground control.c);
	 * above 5 and the preserved fds */
	const struct rec *ll = spec_find(&spec, "lifeline");
	int lifeline = ll ? (int)arg_u(ll, 0) : -1;
	if (ll && (arg_u(ll, 0) > 65535 || lifeline < PRESERVED_FD + npreserved || lifeline == sealed_mount_fd() ||
			  fcntl(lifeline, F_SETFD, FD_CLOEXEC)))
		die("lifeline", EBADF, "fd %d is no lifeline: give an open fd above 5 and the preserved ones",
			lifeline);
	int keep[] = { STATUS_FD, control_fd(), lifeline, sealed_mount_fd() };
	close_fds_but_preserved(keep, 4, npreserved);
	/* never one of fds 0-2, even if the caller left them closed */
	if (devnull_open() < 0)
		die("open", errno, "/dev/null");
	/* a closed fd 0-2 would be taken by the next pipe, which the init closes with its stdio */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && dup2(devnull(), fd) < 0)
			die("open", errno, "/dev/null as fd %d", fd);
	host_ops(&spec);
	if (!detach && lifeline >= 0)
		control_lifeline(lifeline); /* a foreground run's: watched until go (control.c) */
	if (detach) {
		detach_fork(lifeline); /* returns in the monitor (exec: the detached process's parent) */
		monitor_stdio();
		attach_listen();
	}
	if (mode == M_EXEC)
		exec_main(&spec, (pid_t)arg_u(spec_find(&spec, "join"), 0));
	join_namespaces(&spec);
	/* getppid() is 0 across a PID namespace, and the command's parent is the init */
	child_watch_parent((clone_flags & CLONE_NEWPID) || C.init ? 0 : getpid());
	parent_setup();
	if (C.release) {
		int p[2];
		if (pipe2(p, O_CLOEXEC))
			die("pipe", errno, "pipe");
		C.ready_rd = p[0], C.ready_wr = p[1];
	}

	pid_t pid = clone_init(&spec, clone_flags);
	if (pid == 0)
		child_main(&spec);
	parent_after_fork(pid);
	const struct rec *um = spec_find(&spec, "userns-map");
	if (um) /* before the go-ahead: the child does nothing id-related until then */
		write_userns_maps(pid, um);

	cgroup_writes(&spec, pid);
	int ready = spec_find(&spec, "ready") != NULL;
	if (C.release && !ready) {
		/* an OCI create: the child sets up in full now (runc's create does); only its execve waits
		 * for box's go (a second byte). As runc's create, `pid` waits until the init is set up in
		 * full (in its cgroups, which on v1 it joined itself: cgroup-join), and a failed setup
		 * fails the create with its reason */
		if (write_all(C.sync_wr, "G", 1) && errno != EPIPE)
			die("sync", errno, "release the child");
		if (!child_ready())
			child_lost(pid);
	}
	if (detach) /* first: whoever reads `pid` finds the monitor's state file (box-runc create) */
		monitor_state(pid);
	status("pid %d", pid);
	if (detach)
		attach_wait();
	if (C.release && ready) {
		/* with `ready`, box says go first once its createRuntime hooks ran (they need the pid);
		 * the child's createContainer hooks come after its set-up, then `ready` */
		control_await(1);
		if (write_all(C.sync_wr, "G", 1) && errno != EPIPE)
			die("sync", errno, "release the child");
		if (C.tty)
			console_handover();
		hook_await_ready(pid); /* its createContainer hooks ran: create may return */
	} else if (C.release && C.tty)
		console_handover();
	control_await(0); /* box may act on the init now; it says go, or abort (die kills the init) */
	/* EPIPE: the child already failed in a step before await-cgroups; parent_loop reports why */
	if (write_all(C.sync_wr, "G", 1) && errno != EPIPE)
		die("sync", errno, "release the child");
	/* C.sync_wr stays open: its hang-up tells the container the helper died */
	if (detach)
		monitor_loop(pid);
	parent_loop(pid);
}
