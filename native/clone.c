/* box-helper: clone the container's init. On cgroup v2 it is born in its cgroup (clone3 with
 * CLONE_INTO_CGROUP, Linux 5.7): moving it there afterwards by writing its pid to cgroup.procs
 * takes the kernel's global threadgroup lock for writing, which waits for an RCU grace period
 * (milliseconds, and every concurrent start queues on it). The first `cgroup` op whose file is a
 * cgroup2 cgroup.procs is used so; the others (v1 hierarchies), or all of them where clone3 is
 * refused, are written after clone as before. */
#define _GNU_SOURCE
#include "clone.h"
#include "report.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* the `cgroup` record the child was born in, if any */
static const struct rec *born_in;

/* An O_PATH fd of the cgroup2 directory of a `cgroup` file DIR/cgroup.procs, or -1. */
static int cgroup2_dir(const struct rec *r)
{
	char dir[4096];
	const char *file = r->a[0].p;
	const char *slash = strrchr(file, '/');
	if (!slash || strcmp(slash, "/cgroup.procs") || (size_t)(slash - file) >= sizeof dir)
		return -1;
	memcpy(dir, file, (size_t)(slash - file));
	dir[slash - file] = '\0';
	int fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct statfs st;
	if (fd >= 0 && (fstatfs(fd, &st) || st.f_type != CGROUP2_SUPER_MAGIC)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

pid_t clone_init(const struct spec *sp, unsigned long flags)
{
	for (size_t i = 0; i < sp->nrecs; i++) {
		const struct rec *r = &sp->recs[i];
		if (strcmp(r->op->name, "cgroup"))
			continue;
		int dir = cgroup2_dir(r);
		if (dir < 0)
			continue;
		struct clone_args args = {
			.flags = flags | CLONE_INTO_CGROUP,
			.exit_signal = SIGCHLD,
			.cgroup = (uint64_t)dir,
		};
		pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
		close(dir);
		if (pid >= 0) {
			born_in = r;
			return pid;
		}
		break; /* an old kernel, or a cgroup it refuses: the write after a plain clone says why */
	}
	pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		die("clone", errno, "clone(0x%lx)", flags);
	return pid;
}

void cgroup_writes(const struct spec *sp, pid_t pid)
{
	char num[32];
	snprintf(num, sizeof num, "%d", pid);
	for (size_t i = 0; i < sp->nrecs; i++) {
		const struct rec *r = &sp->recs[i];
		if (r == born_in || strcmp(r->op->name, "cgroup"))
			continue;
		if (write_file(r->a[0].p, num))
			die("cgroup", errno, "write %s", r->a[0].p);
	}
}
