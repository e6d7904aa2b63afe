/* box-helper: the built-in init (`init` op). The cloned child, PID 1 of the container, has done
 * every setup step up to the bounding set; it forks the command and stays as a tiny init:
 * forwards signals to the command, reaps every zombie, exits with the command's status.
 *
 * What the init keeps: it runs with the container's bounding set, as the container's user and
 * groups, with at most CAP_KILL (only if the command would have it after execve: lets a root init
 * signal a command that dropped to another uid in place, like gosu), no_new_privs, not dumpable
 * (from the helper's start on, apply_creds keeps it so), and under the container's seccomp filter
 * (like docker's tini, so a traced init could never be used to escape the filter). Of the
 * descriptors only its report pipe to the helper. */
#define _GNU_SOURCE
#include "init.h"
#include "child.h"
#include "ctx.h"
#include "mounts.h"
#include "report.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static sigset_t init_set;

static void nop(int sig)
{
	(void)sig;
}

/* Signals an init must not forward: synchronous faults, and the unblockable ones. */
static int forwardable(int sig)
{
	switch (sig) {
	case SIGKILL:
	case SIGSTOP:
	case SIGCHLD:
	case SIGSEGV:
	case SIGBUS:
	case SIGFPE:
	case SIGILL:
	case SIGTRAP:
	case SIGSYS:
		return 0;
	}
	return 1;
}

static int init_gate = -1; /* the write end of the command's gate, held by the init */

void init_fork(void)
{
	/* PID 1 ignores any signal whose handler is SIG_DFL, even blocked ones: install a real
	 * handler, block, and take them with sigwaitinfo() */
	sigemptyset(&init_set);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = nop;
	for (int sig = 1; sig < SIGRTMIN; sig++)
		if (forwardable(sig) || sig == SIGCHLD)
			if (sigaction(sig, &sa, NULL) == 0)
				sigaddset(&init_set, sig);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		if (sigaction(sig, &sa, NULL) == 0)
			sigaddset(&init_set, sig);
	sigprocmask(SIG_BLOCK, &init_set, NULL);
	/* an exec's or a health probe's reaper is no PID 1: the process's orphans come to it as a
	 * subreaper instead of to the container's PID 1, which may never reap them */
	if (C.exec_mode && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		cfail("init", errno, "PR_SET_CHILD_SUBREAPER");

	/* The command waits at this gate until the init has dropped to its own credentials and
	 * filter: no code of the container runs while its PID 1 still holds every capability. */
	int gate[2];
	if (pipe2(gate, O_CLOEXEC))
		cfail("init", errno, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		cfail("init", errno, "fork");
	if (pid > 0) {
		close(gate[0]);
		init_gate = gate[1];
	}
	if (pid > 0 && C.probe)
		setpgid(pid, pid); /* before any signal from the monitor can ask to kill the group */
	if (pid == 0) {
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		/* own process group, and the terminal's foreground one: ^C reaches the command once */
		setpgid(0, 0);
		if (C.tty)
			tcsetpgrp(0, getpid()); /* SIGTTOU is still blocked here */
		close(gate[1]);
		char b;
		while (read(gate[0], &b, 1) < 0 && errno == EINTR) {
		}
		close(gate[0]);
		return;
	}
	init_run(pid);
}

static void finish(int st) __attribute__((noreturn));
static void finish(int st)
{
	if (WIFSIGNALED(st)) {
		/* PID 1 of a namespace cannot kill itself: tell the helper which signal it was */
		unsigned char s = (unsigned char)WTERMSIG(st);
		if (write(C.ist_wr, &s, 1) < 0) {
		}
		_exit(128 + WTERMSIG(st));
	}
	_exit(WEXITSTATUS(st));
}

/* An exec's reaper: tell the helper how the command ended (its raw wait status) at once, so
 * `box exec` returns while the reaper stays for the command's orphans. */
static void report_exec(int st)
{
	if (write_all(C.ist_wr, &st, sizeof st)) {
	}
	close(C.ist_wr);
	C.ist_wr = -1;
}

void init_run(pid_t cmd)
{
	const struct proc_ops *P = child_proc();
	/* CAP_KILL only, and only if the command itself keeps it across execve (a non-root command
	 * keeps just its ambient set) */
	uint64_t mask = 1ULL << CAP_KILL;
	if (P->user && arg_u(P->user, 0) != 0)
		mask &= P->caps ? arg_u(P->caps, 4) : 0;
	apply_creds(mask);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		kill(cmd, SIGKILL);
		cfail("init", errno, "no_new_privs");
	}
	if (P->seccomp) {
		struct sock_fprog prog = {
			.len = (unsigned short)(P->seccomp->a[0].len / 8),
			.filter = (struct sock_filter *)P->seccomp->a[0].p,
		};
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
			kill(cmd, SIGKILL);
			cfail("init", errno, "seccomp");
		}
	}
	/* The init and a reaper never exec: they keep only the pipe to the helper (C.ist_wr), so
	 * nothing they hold is a host file or directory, even to a process in the container with
	 * CAP_SYS_PTRACE. The command's execve alone now decides when the helper sees EOF; the stdio
	 * is the command's (a reader sees EOF when it is done). A probe's reaper keeps its fds 0-2 as
	 * they were: /dev/null and the probe's output pipe to the monitor. */
	close(init_gate); /* the command may go on */
	close(C.err_wr);
	close(C.sync_rd);
	close(rootfd);
	if (!C.probe)
		for (int fd = 0; fd < 3; fd++)
			close(fd);
	int cmd_st = 0, cmd_done = 0;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&init_set, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			if (cmd_done)
				continue; /* its pid may already be another process's */
			/* a probe's helper forwards the monitor's SIGTERM at the timeout: kill the probe's
			 * whole process group */
			kill(C.probe ? -cmd : cmd, C.probe ? SIGKILL : sig);
			continue;
		}
		int st;
		pid_t w;
		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			if (w != cmd)
				continue;
			if (!C.exec_mode)
				finish(st);
			cmd_st = st;
			cmd_done = 1;
			if (C.probe)
				kill(-cmd, SIGKILL); /* the probe is done: what it left in its group goes too */
			else
				report_exec(st);
		}
		/* an exec's or probe's reaper stays until it has reaped every child it has (the
		 * command's group, orphans) */
		if (cmd_done && w < 0 && errno == ECHILD)
			finish(cmd_st);
	}
}
