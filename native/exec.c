/* box-helper exec: opens the cgroup and event files (host paths), joins the namespaces of a running
 * container and forks the process to run there, which child.c sets up like the container's
 * command; the helper then stays its parent (relay.c). */
#define _GNU_SOURCE
#include "exec.h"
#include "monitor.h"
#include "box-helper.h"
#include "child.h"
#include "ctx.h"
#include "relay.h"
#include "report.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* `box-helper exec`: enter the namespaces of a running container (target), fork the process to
 * run. Also the health probe's helper, forked by a monitor (health.c), with sp its probe. */
void exec_main(const struct spec *sp, pid_t target)
{
	report_child(-1); /* a monitor's fork: die() must never kill the container */
	/* the console socket and the cgroup files are host paths: opened before the mount namespace */
	console_open();
	size_t ncg = 0;
	int *cg_fds = NULL; /* the child writes "0" to each: it joins the container's cgroups */
	for (size_t i = 0; i < sp->nrecs; i++)
		ncg += !strcmp(sp->recs[i].op->name, "cgroup-join");
	if (ncg && !(cg_fds = calloc(ncg, sizeof *cg_fds)))
		die("cgroup-join", ENOMEM, "out of memory");
	for (size_t i = 0, k = 0; i < sp->nrecs; i++) {
		const struct rec *r = &sp->recs[i];
		if (strcmp(r->op->name, "cgroup-join"))
			continue;
		if ((cg_fds[k++] = open(r->a[0].p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
			die("cgroup-join", errno, "open %s", r->a[0].p);
	}
	/* exec -d: the event file is a host path too */
	const struct rec *event = spec_find(sp, "exit-event");
	if (event) {
		int fd = event_open(event->a[0].p);
		if (fd < 0)
			die("exit-event", errno, "open %s", event->a[0].p);
		relay_exit_event(fd, event->a[1].p);
	}
	/* every namespace file first (they are /proc paths of the host), then setns, the user
	 * namespace first (the rights on the others are its), the mount namespace last; a namespace
	 * the container shares with us is left alone */
	static const struct {
		const char *name;
		int type;
	} ns[] = {
		{ "user", CLONE_NEWUSER },
		{ "ipc", CLONE_NEWIPC },
		{ "uts", CLONE_NEWUTS },
		{ "net", CLONE_NEWNET },
		{ "pid", CLONE_NEWPID },
		{ "cgroup", CLONE_NEWCGROUP },
		{ "mnt", CLONE_NEWNS },
	};
	int fds[sizeof ns / sizeof ns[0]];
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		char path[64];
		struct stat a, b;
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)target, ns[i].name);
		if ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			die("join", errno, "open %s", path);
		snprintf(path, sizeof path, "/proc/self/ns/%s", ns[i].name);
		if (fstat(fds[i], &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		if (fds[i] < 0)
			continue;
		if (setns(fds[i], ns[i].type))
			die("join", errno, "setns %s of %d", ns[i].name, (int)target);
		close(fds[i]);
		/* the container's own user namespace (an OCI one): our host uid is none of its; its root
		 * is, with its capabilities, until the process's own credentials are set */
		if (ns[i].type == CLONE_NEWUSER && (setresgid(0, 0, 0) || setgroups(0, NULL) || setresuid(0, 0, 0)))
			die("join", errno, "become root of the user namespace of %d", (int)target);
	}
	child_watch_parent(0); /* the child may be in another PID namespace: getppid() says nothing */
	C.exec_mode = 1;
	parent_setup();     /* ist: the reaper's report of the command's end (init.c) */
	pid_t pid = fork(); /* into the joined PID namespace */
	if (pid < 0)
		die("fork", errno, "fork");
	if (pid == 0)
		exec_child_main(sp, cg_fds, ncg);
	parent_after_fork(pid);
	status("pid %d", pid);
	/* C.sync_wr stays open: its hang-up tells the child the helper died */
	parent_loop(pid);
}
