/* box-helper: the parent after clone. Waits for the exec (error pipe), forwards signals, relays
 * the user's terminal to the container's pty (and its output to the log) or the caller's stdio
 * through the container's pipes (stdpipes.c), reaps the container and reports how it ended. */
#define _GNU_SOURCE
#include "relay.h"
#include "ctx.h"
#include "jsonlog.h"
#include "monitor.h"
#include "report.h"
#include "sealed-exe.h"
#include "signals.h"
#include "stdpipes.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define DRAIN_SILENCE_MS 1000 /* a pipe still held once the container is gone: given up after this */

static struct termios saved;
static volatile sig_atomic_t raw_on;
static int exit_event_fd = -1;      /* `exit-event`: its FILE (relay_exit_event) */
static const char *exit_event_tmpl; /* and its TEMPLATE */

void relay_exit_event(int fd, const char *tmpl)
{
	exit_event_fd = fd;
	exit_event_tmpl = tmpl;
}

void tty_restore(void)
{
	if (raw_on) {
		tcsetattr(0, TCSANOW, &saved);
		raw_on = 0;
	}
}

/* Fatal signals the helper does not forward: give the terminal back, then die of them. */
static void fatal_sig(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void restore_on_fatal(void)
{
	int sigs[] = { SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS,
		SIGTRAP, SIGIO, SIGSTKFLT, SIGPWR };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], fatal_sig);
}

static void copy_winsize(int master)
{
	struct winsize ws;
	if (master >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

int recv_master(void)
{
	int fd = recv_fd(C.sock[0]); /* -1: the child failed before it got there: the error pipe says why */
	close(C.sock[0]);
	return fd;
}

/* Copies what is readable on `from` to `to` (and to the log as stdout when log is set: the pty's
 * output); returns -1 on EOF/EIO. */
static int pump(int from, int to, int log)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	if (log)
		jsonlog_write(0, buf, (size_t)n);
	write_all(to, buf, (size_t)n);
	return 0;
}

/* An exec's command ended but its orphans live on under the reaper: the caller is let go, and the
 * helper stays to reap the reaper, dropping what the orphans still write to their stdio pipes. */
static void await_reaper(pid_t child, int sfd)
{
	stdio_release();
	for (int fd = 0; fd <= 4; fd++)
		if (fd != 3)
			dup2(devnull(), fd);
	for (;;) {
		pid_t w = waitpid(child, NULL, WNOHANG); /* SIGCHLD comes through sfd */
		if (w == child || (w < 0 && errno != EINTR))
			return;
		struct pollfd p[3] = { { .fd = sfd, .events = POLLIN } };
		stdio_discard_fds(p + 1);
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		struct signalfd_siginfo si; /* forwarded signals have nobody to go to: the command ended */
		if ((p[0].revents & POLLIN) && read(sfd, &si, sizeof si) < 0) {
		}
		stdio_discard(p + 1);
	}
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Has the container's init (or an exec's process) ended? Reaps it, except with `release`: then its zombie stays for the
 * caller's subreaper, which gets it once the monitor exits (the kernel re-parents it and signals
 * the new parent), as it would under runc. ST gets the wait status either way. */
int child_ended(pid_t child, int *st)
{
	if (!C.release)
		return waitpid(child, st, WNOHANG) == child;
	siginfo_t si;
	si.si_pid = 0;
	if (waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) || si.si_pid != child)
		return 0;
	*st = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status;
	return 1;
}

/* The raw wait status the exec's reaper writes when its command ended; 1 once it has it. */
static int reaper_report(int fd, int *st)
{
	int v;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (read(fd, &v, sizeof v) != sizeof v)
		return 0;
	*st = v;
	return 1;
}

void parent_loop(pid_t child)
{
	int sfd = signals_fd();
	int master = -1, in = -1;
	if (C.tty && console_given()) {
		console_handover(); /* exec with `release`: the caller relays the terminal */
	} else if (C.tty) {
		master = recv_master();
		if (master >= 0) {
			in = 0;
			copy_winsize(master);
			if (tcgetattr(0, &saved) == 0) {
				struct termios raw = saved;
				cfmakeraw(&raw);
				restore_on_fatal();
				raw_on = 1;
				tcsetattr(0, TCSANOW, &raw);
			}
		}
	}
	char err[1024];
	size_t errlen = 0;
	int errfd = C.err_rd, started = 0, st = 0, done = 0, reported = 0;
	/* an exec's reaper reports the command's end before it has reaped the command's orphans */
	int reportfd = C.exec_mode && !C.probe ? C.ist_rd : -1;
	while (!done && !reported) {
		struct pollfd p[5 + STDIO_NFDS] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = errfd, .events = POLLIN },
			{ .fd = master, .events = POLLIN },
			{ .fd = in, .events = POLLIN },
			{ .fd = reportfd, .events = POLLIN },
		};
		stdio_fds(p + 5);
		if (poll(p, sizeof p / sizeof p[0], -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll", errno, "poll");
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si) {
				int sig = (int)si.ssi_signo;
				if (sig == SIGCHLD) {
					if (child_ended(child, &st))
						done = 1;
				} else if (sig == SIGWINCH && C.tty) {
					copy_winsize(master);
				} else {
					kill(child, sig);
				}
			}
		}
		if (p[1].revents && err_pipe_read(&errfd, err, &errlen, sizeof err)) {
			started = 1;
			status("started");
			detach_release(); /* a detached exec: its original helper may exit now */
			sealed_release();
			if (C.release) /* the process, without a parent-death signal, goes to the caller's subreaper */
				exit(0);
		}
		if (p[2].revents && pump(master, 1, 1) < 0) {
			close(master);
			master = -1;
			in = -1;
		}
		if (p[3].revents && pump(in, master, 0) < 0)
			in = -1; /* stdin closed: stop reading it, keep the output going */
		stdio_io(p + 5);
		if (p[4].revents && !(reported = reaper_report(reportfd, &st)))
			reportfd = -1; /* the reaper died without a report: its own status says it */
	}
	/* the reaper may have reported and exited at once: its report wins over its own status */
	if (done && reportfd >= 0)
		reaper_report(reportfd, &st);
	/* the container is gone: collect the rest of its output and of the error pipe */
	while (master >= 0) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		if (poll(&p, 1, 200) <= 0 || pump(master, 1, 1) < 0)
			break;
	}
	jsonlog_end(0);
	/* and of its pipes: all of it once the container is gone (its PID namespace went with its
	 * init); an exec's orphans may hold them: only what the command left */
	stdio_drain(sfd, done ? DRAIN_SILENCE_MS : 0);
	while (errfd >= 0 && errlen < sizeof err - 1) {
		struct pollfd p = { .fd = errfd, .events = POLLIN };
		ssize_t n = poll(&p, 1, 1000) > 0 ? read(errfd, err + errlen, sizeof err - 1 - errlen) : -1;
		if (n == 0 && errlen == 1 && err[0] == 'E') {
			/* a command that exits at once: its exec's EOF and its exit came together */
			started = 1;
			status("started");
			detach_release();
			sealed_release();
			if (C.release) /* the process, without a parent-death signal, goes to the caller's subreaper */
				exit(0);
		}
		if (n <= 0)
			break;
		errlen += (size_t)n;
	}
	tty_restore();
	int code = child_outcome(started, err, errlen, st);
	if (started && exit_event_fd >= 0) {
		/* a detached exec: nobody waits for this helper, the event records how it ended */
		char num[16];
		snprintf(num, sizeof num, "%d", code);
		event_write(exit_event_fd, exit_event_tmpl, "{{exitCode}}", num);
	}
	if (!done) {
		/* the exec's command is done, its orphans still run under the reaper: release the
		 * caller (status fd and stdio) and stay until the reaper is gone, to reap it */
		if (master >= 0)
			close(master);
		await_reaper(child, sfd);
	}
	exit(code);
}

int child_ready(void)
{
	char b;
	ssize_t n;
	do
		n = read(C.ready_rd, &b, 1);
	while (n < 0 && errno == EINTR);
	close(C.ready_rd);
	C.ready_rd = -1;
	return n == 1;
}

void child_lost(pid_t child)
{
	char err[1024];
	size_t errlen = 0;
	int errfd = C.err_rd, st = 0;
	while (errfd >= 0 && errlen < sizeof err - 1)
		err_pipe_read(&errfd, err, &errlen, sizeof err);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	exit(child_outcome(0, err, errlen, st));
}

/* Reads the child's error pipe (see PROTOCOL.md: a lone 'E' before exec, then EOF on a successful
 * execve; otherwise an error record). Returns 1 once it knows the command was started. */
int err_pipe_read(int *fd, char *err, size_t *len, size_t cap)
{
	ssize_t n = read(*fd, err + *len, cap - 1 - *len);
	if (n > 0) {
		*len += (size_t)n;
		return 0;
	}
	if (n < 0 && errno == EINTR)
		return 0;
	close(*fd);
	*fd = -1;
	return *len == 1 && err[0] == 'E';
}

int child_outcome(int started, char *err, size_t errlen, int st)
{
	err[errlen] = 0;
	char *msg = err[0] == 'E' ? err + 1 : err;
	if (!started && *msg) {
		/* "CODE STAGE ERRNO TEXT\n" */
		char *sp = strchr(msg, ' '), *nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		int code = atoi(msg);
		status("error %s", sp ? sp + 1 : "setup 0 malformed child error");
		return code >= 125 && code <= 127 ? code : 125;
	}
	if (!started) {
		if (WIFSIGNALED(st))
			status("error setup %d killed by signal %d during setup", EINTR, WTERMSIG(st));
		else
			status("error setup %d exited with %d during setup", EIO, WEXITSTATUS(st));
		return 125;
	}
	if (WIFEXITED(st) && C.init && WEXITSTATUS(st) > 128) {
		unsigned char s;
		fcntl(C.ist_rd, F_SETFL, O_NONBLOCK);
		if (read(C.ist_rd, &s, 1) == 1 && s == WEXITSTATUS(st) - 128) {
			status("signal %d", s);
			return 128 + s;
		}
	}
	if (WIFSIGNALED(st)) {
		status("signal %d", WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	status("exit %d", WEXITSTATUS(st));
	return WEXITSTATUS(st);
}
