/* box-helper: the monitor of a detached container (`detach`, `log`, `state`, `on-exit`; see
 * PROTOCOL.md "Detached containers"). The helper forks before clone; the original process waits
 * until the monitor says the container started (or the monitor exited) and exits, so the caller
 * can return at once. The monitor, in a new session, clones the container and stays its parent:
 * it forwards signals, writes the container's stdout/stderr to a JSON log, keeps a state file, and
 * runs the on-exit callback when the container is gone. */
#define _GNU_SOURCE
#include "monitor.h"
#include "attach.h"
#include "control.h"
#include "ctx.h"
#include "health.h"
#include "jsonlog.h"
#include "relay.h"
#include "report.h"
#include "sealed-exe.h"
#include "signals.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CB_OUT_MAX 65536 /* what the monitor reads of the on-exit callback's output */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* the monitor's ops (NULL or 0 when absent) */
static const struct rec *state_op, *on_exit_op;
static int stdin_op;                 /* `stdin`: attach clients write to the container's stdin */
static const struct rec *console_op; /* `console-socket`: where the pty master goes (release) */

static int detach_wr = -1; /* monitor -> original helper: 'S' once started; EOF otherwise */
/* the read ends of the container's stdout and stderr pipes; with `tty`, [0] is the pty master */
static int log_rd[2] = { -1, -1 };
static int stdin_wr = -1;   /* `stdin` without `tty`: the write end of the container's stdin */
static int console_fd = -1; /* exec: connected to `console-socket` before the join, else -1 */

void monitor_ops(const struct spec *sp)
{
	console_op = spec_find(sp, "console-socket");
	state_op = spec_find(sp, "state");
	on_exit_op = spec_find(sp, "on-exit");
	stdin_op = spec_find(sp, "stdin") != NULL;
	jsonlog_ops(sp);
}

/* ---- the original helper ---- */

/* `lifeline`: waits until the monitor says something (or ends) on `from_monitor`, or box on its
 * lifeline. 1: the monitor spoke first, or box wrote its byte (the create is done: the lifeline is
 * closed, its end no longer matters); 0: the lifeline ended without it. */
static int watch_lifeline(int from_monitor, int lifeline)
{
	struct pollfd fds[2] = { { .fd = from_monitor, .events = POLLIN }, { .fd = lifeline, .events = POLLIN } };
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("detach", errno, "poll");
		}
		if (fds[0].revents)
			return 1; /* the monitor's answer comes first: its error is the create's */
		char b;
		ssize_t n = read(lifeline, &b, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		close(lifeline);
		return n == 1;
	}
}

void detach_fork(int lifeline)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		die("detach", errno, "pipe");
	pid_t m = fork();
	if (m < 0)
		die("detach", errno, "fork");
	if (m == 0) {
		close(p[0]);
		detach_wr = p[1];
		setsid(); /* cannot fail: the fork is never a process group leader */
		/* the monitor never execs (until a restart): drop whatever else the caller passed */
		int keep[] = { STATUS_FD, devnull(), detach_wr, control_fd(), sealed_mount_fd() };
		close_fds_but_preserved(keep, 5, C.preserved); /* the container is cloned from here */
		return;
	}
	/* cheap here: the monitor holds the sealed binary's mount too, and drops it once started */
	sealed_release();
	control_close(); /* the monitor reads box's answer */
	if (C.release)   /* the caller may wait for its output's EOF (containerd's shim with a console) */
		for (int fd = 0; fd < 3; fd++)
			dup2(devnull(), fd);
	/* fd 4 is the monitor's until it writes 'S' (started) or exits (setup failed) */
	close(p[1]);
	if (lifeline >= 0 && !watch_lifeline(p[0], lifeline)) {
		/* box ended or gave up before the create was done: nobody would say go or abort */
		/* the monitor's process group: it and the init (which dies with it anyway); the monitor
		 * alone if it is not its group's leader yet (then it has not cloned) */
		kill(-m, SIGKILL);
		kill(m, SIGKILL);
		while (waitpid(m, NULL, 0) < 0 && errno == EINTR)
			;
		status("error abort %d box ended before the container was created", ECANCELED);
		status("monitor %d", m);
		exit(125);
	}
	char b = 0;
	ssize_t n;
	do
		n = read(p[0], &b, 1);
	while (n < 0 && errno == EINTR);
	int code = 0;
	if (n != 1 || b != 'S') {
		int st = 0;
		pid_t w;
		do
			w = waitpid(m, &st, 0);
		while (w < 0 && errno == EINTR);
		if (w == m && WIFEXITED(st) && WEXITSTATUS(st) >= 125 && WEXITSTATUS(st) <= 127) {
			code = WEXITSTATUS(st);
		} else {
			code = 125;
			if (w == m && WIFSIGNALED(st))
				status("error monitor %d the monitor was killed by signal %d", EINTR, WTERMSIG(st));
			else
				status("error monitor %d the monitor exited with %d", EIO, WEXITSTATUS(st));
		}
	}
	status("monitor %d", m);
	exit(code);
}

/* Reads what a source has (stream s: a log pipe, or the pty master as stdout): into the log and to
 * attached clients. Returns -1 at EOF (EIO from a pty master once the container's side is gone),
 * the rest of a partial line written. */
static int src_read(int s, int fd)
{
	static unsigned char in[JSONLOG_LINE_MAX];
	ssize_t n = read(fd, in, sizeof in);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		jsonlog_end(s);
		return -1;
	}
	jsonlog_write(s, in, (size_t)n);
	attach_output(s + 1, in, (size_t)n);
	return 0;
}

/* ---- state ---- */

static pid_t cpid;
static int64_t started_ns = -1, exited_ns = -1;
static int exit_code;

/* What FILE holds (state_write), to tell whether the next version only adds lines to it. */
static char state_text[256];
static size_t state_len;

/* Appends the lines after state_len to FILE with one write: each version is the one before plus a
 * line, and a reader sees a prefix of whole writes (the kernel sets the size after the copy), so no
 * new inode (ext4 pays for each one) and no deleted one. A short write is cut back off. */
static int state_append(const char *buf, size_t n)
{
	int fd = open(state_op->a[0].p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t w = pwrite(fd, buf + state_len, n - state_len, (off_t)state_len);
	int r = w == (ssize_t)(n - state_len) ? 0 : -1, e = w < 0 ? errno : EIO;
	if (r && ftruncate(fd, (off_t)state_len)) {
	}
	close(fd);
	errno = e;
	return r;
}

/* The first version: FILE.tmp, then rename over FILE (a reader sees the old or the new content,
 * never a mix); later ones appended (state_append). */
static int state_write(void)
{
	if (!state_op)
		return 0;
	char buf[sizeof state_text], tmp[4200];
	int n = snprintf(buf, sizeof buf, "monitor %d\n", (int)getpid());
	if (cpid > 0)
		n += snprintf(buf + n, sizeof buf - (size_t)n, "pid %d\n", (int)cpid);
	if (started_ns >= 0)
		n += snprintf(buf + n, sizeof buf - (size_t)n, "started %lld\n", (long long)started_ns);
	if (exited_ns >= 0)
		n += snprintf(buf + n, sizeof buf - (size_t)n, "exited %d %lld\n", exit_code, (long long)exited_ns);
	int grows = state_len && (size_t)n > state_len && !memcmp(buf, state_text, state_len);
	if (grows && !state_append(buf, (size_t)n)) {
		memcpy(state_text, buf, (size_t)n);
		state_len = (size_t)n;
		return 0;
	}
	if (snprintf(tmp, sizeof tmp, "%s.tmp", state_op->a[0].p) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	int r = write_all(fd, buf, (size_t)n);
	int e = errno;
	if (close(fd) && !r)
		r = -1, e = errno;
	if (!r && rename(tmp, state_op->a[0].p))
		r = -1, e = errno;
	if (r)
		unlink(tmp);
	else
		memcpy(state_text, buf, (size_t)n), state_len = (size_t)n;
	errno = e;
	return r;
}

/* ---- monitor ---- */

void monitor_stdio(void)
{
	if (C.release && !C.tty)
		return; /* the container gets the caller's fds 0-2; the monitor drops them after clone */
	/* the caller's stdio is not the monitor's: the caller's pipes reach EOF once it started */
	for (int fd = 0; fd < 3; fd++)
		if (dup2(devnull(), fd) < 0)
			die("detach", errno, "dup2 /dev/null");
	if (stdin_op && !C.tty) {
		/* the container's stdin: a pipe whose write end the monitor keeps for attach clients */
		int p[2];
		if (pipe2(p, O_CLOEXEC))
			die("stdin", errno, "pipe");
		if (dup2(p[0], 0) < 0)
			die("stdin", errno, "dup2");
		close(p[0]);
		fcntl(p[1], F_SETFL, O_NONBLOCK);
		stdin_wr = p[1];
	}
	jsonlog_start();
	/* with `tty` the output comes from the pty master (monitor_loop) */
	if (C.tty || (!jsonlog_wanted() && !attach_wanted()))
		return;
	for (int i = 0; i < 2; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC))
			die("log", errno, "pipe");
		if (dup2(p[1], 1 + i) < 0)
			die("log", errno, "dup2");
		close(p[1]);
		log_rd[i] = p[0];
	}
}

void monitor_state(pid_t child)
{
	cpid = child;
	if (state_write())
		die("state", errno, "write %s", state_op->a[0].p);
}

void detach_release(void)
{
	if (detach_wr < 0)
		return;
	/* the original helper writes `monitor PID` and exits; fd 4 and the pipe are its alone now */
	if (write_all(detach_wr, "S", 1)) {
	}
	close(detach_wr);
	detach_wr = -1;
	dup3(devnull(), 4, O_CLOEXEC); /* fd 4 stays taken: later status lines go nowhere */
	if (chdir("/")) {
	}
}

static void on_started(void)
{
	started_ns = now_ns();
	state_write();
	status("started");
	detach_release();
	sealed_release();
	health_started(cpid);
}

/* Splits the callback's `exec` line into words in place: blanks separate words, "..." groups (\"
 * and \\ escaped inside), '...' groups literally, \X outside quotes is X. */
static int split_words(char *s, char **argv, size_t max)
{
	size_t n = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n + 1 >= max)
			return -1;
		char *w = s, *o = s;
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '"') {
				for (s++; *s && *s != '"'; *o++ = *s++)
					if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
						s++;
				if (*s++ != '"')
					return -1;
			} else if (*s == '\'') {
				for (s++; *s && *s != '\'';)
					*o++ = *s++;
				if (*s++ != '\'')
					return -1;
			} else {
				if (*s == '\\' && s[1])
					s++;
				*o++ = *s++;
			}
		}
		char sep = *s;
		*o = 0;
		argv[n++] = w;
		if (!sep)
			break;
		s++;
	}
	argv[n] = NULL;
	return (int)n;
}

static void reset_signals(void)
{
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	signals_restore();
}

/* Runs the on-exit callback and does what its first output line says. Returns to exit. */
static void run_on_exit(void)
{
	/* ignored (and any pending one discarded) while the callback runs */
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(signals_forwarded(), sig))
			signal(sig, SIG_IGN);
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return;
	uint32_t argc = on_exit_op->argc;
	char **argv = calloc(argc + 1, sizeof *argv);
	const char *path = getenv("PATH");
	size_t plen = strlen(path ? path : DEFAULT_PATH) + 6;
	char *penv = malloc(plen);
	if (!argv || !penv)
		return;
	for (uint32_t i = 0; i < argc; i++)
		argv[i] = on_exit_op->a[i].p;
	snprintf(penv, plen, "PATH=%s", path ? path : DEFAULT_PATH);
	char *envp[] = { penv, NULL };
	pid_t pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		reset_signals();
		if (dup2(devnull(), 0) < 0 || dup2(p[1], 1) < 0 || dup2(devnull(), 2) < 0)
			_exit(127);
		syscall(SYS_close_range, 3, ~0U, 0);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(p[1]);
	static char out[CB_OUT_MAX + 1];
	size_t len = 0;
	for (;;) {
		char sink[4096];
		char *dst = len < CB_OUT_MAX ? out + len : sink;
		size_t cap = len < CB_OUT_MAX ? CB_OUT_MAX - len : sizeof sink;
		ssize_t n = read(p[0], dst, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			len += (size_t)n;
	}
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	out[len] = 0;
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = 0;
	if (strncmp(out, "exec", 4) || (out[4] != ' ' && out[4] != '\t'))
		return; /* `done`, or anything else: the monitor's work is over */
	size_t max = strlen(out) / 2 + 2;
	char **nargv = calloc(max, sizeof *nargv);
	if (!nargv || split_words(out + 5, nargv, max) < 1)
		return;
	/* a fresh process in our place (same pid, session, environment); fds 0-2 are /dev/null */
	reset_signals();
	execv(nargv[0], nargv);
	_exit(127);
}

/* `console-socket PATH`: the pty master to the caller's unix socket, by SCM_RIGHTS, as runc hands
 * it to containerd's shim or conmon (the message's bytes name it, as runc's do). */
static int console_connect(void)
{
	const char *path = console_op->a[0].p;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		die("console-socket", ENAMETOOLONG, "%s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa))
		die("console-socket", errno, "connect %s", path);
	return s;
}

static void console_send(int master)
{
	const char *path = console_op->a[0].p;
	int s = console_fd >= 0 ? console_fd : console_connect();
	static const char name[] = "/dev/ptmx";
	if (send_fd(s, master, name, sizeof name - 1))
		die("console-socket", errno, "send the pty master to %s", path);
	close(s);
	console_fd = -1;
}

int console_given(void)
{
	return console_op != NULL;
}

void console_open(void)
{
	if (console_op)
		console_fd = console_connect();
}

void console_handover(void)
{
	int m = recv_master(); /* -1: the child failed before its pty; the error pipe says why */
	if (m >= 0 && console_op) {
		console_send(m);
		close(m);
	}
	status("console %d", m >= 0); /* the caller may return only now: its caller awaits the master */
}

void monitor_loop(pid_t child)
{
	int sfd = signals_fd();
	if (C.tty) {
		/* the container's terminal: its output is the container's stdout, attach clients type
		 * into it (with `stdin`) and set its window size */
		int m = C.release ? -1 : recv_master(); /* release: handed over already (console_handover) */
		if (m >= 0) {
			fcntl(m, F_SETFL, O_NONBLOCK);
			log_rd[0] = m;
			attach_target(stdin_op ? m : -1, m);
		}
	} else if (stdin_wr >= 0) {
		attach_stdin(stdin_wr); /* attach.c's from now on: it closes it at the input's end */
		stdin_wr = -1;
	}
	char err[1024];
	size_t errlen = 0;
	int errfd = C.err_rd, started = 0, st = 0, done = 0;
	for (;;) {
		if (done && errfd < 0 && log_rd[0] < 0 && log_rd[1] < 0)
			break;
		/* output a client has not taken yet holds the container's output back */
		int busy = attach_busy();
		struct pollfd p[6 + ATTACH_NFDS] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = errfd, .events = POLLIN },
			{ .fd = busy ? -1 : log_rd[0], .events = POLLIN },
			{ .fd = busy ? -1 : log_rd[1], .events = POLLIN },
		};
		health_fds(p + 4);
		attach_fds(p + 6);
		/* once the container is gone, its output is normally at EOF already (the kernel killed
		 * the rest of its PID namespace); without a PID namespace a leftover process may hold
		 * the pipes: stop waiting for it after a second of silence */
		int timeout = health_poll_timeout(), at = attach_poll_timeout();
		if (at >= 0 && (timeout < 0 || at < timeout))
			timeout = at;
		int r = poll(p, sizeof p / sizeof p[0], done ? 1000 : timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll", errno, "poll");
		}
		if (r == 0 && done)
			break;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si && !done) {
				int sig = (int)si.ssi_signo;
				if (sig == SIGCHLD) {
					health_sigchld();
					if (child_ended(child, &st)) {
						done = 1;
						health_stop();
					}
				} else {
					kill(child, sig);
				}
			}
		}
		if (p[1].revents && err_pipe_read(&errfd, err, &errlen, sizeof err)) {
			started = 1;
			on_started();
			if (C.release) /* the container, without a parent-death signal, goes to the caller's subreaper */
				exit(0);
		}
		for (int i = 0; i < 2; i++)
			if (p[2 + i].fd >= 0 && p[2 + i].revents && src_read(i, log_rd[i]) < 0) {
				close(log_rd[i]);
				log_rd[i] = -1;
				if (C.tty)
					attach_target(-1, -1); /* the pty is gone: input is dropped from now on */
			}
		attach_io(p + 6);
		if (!done) {
			health_io(p + 4);
			health_tick();
		}
	}
	for (int i = 0; i < 2; i++)
		if (log_rd[i] >= 0)
			jsonlog_end(i);
	attach_end();
	close(sfd);
	exit_code = child_outcome(started, err, errlen, st);
	exited_ns = now_ns();
	state_write();
	if (started && on_exit_op)
		run_on_exit();
	exit(exit_code);
}
