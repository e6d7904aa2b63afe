/* box-helper: the runtime-spec hooks that run in the container's namespaces (createContainer at
 * its step, before pivot: paths resolve in the host's view; startContainer after start's go, right
 * before execve: in the container's). The init forks the hook with the state JSON on its stdin
 * (the init's own pid spliced in, as runc gives getpid()), its stdout and stderr on one pipe whose
 * tail becomes the reason of a failure, and kills it at its timeout. */
#define _GNU_SOURCE
#include "hook.h"
#include "ctx.h"
#include "relay.h"
#include "report.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUT_TAIL 512 /* the bytes of the hook's output a failure quotes */

/* The forked hook: stdin the state, stdout and stderr the output pipe, nothing else of ours. */
static void hook_exec(const struct rec *r, int in, int out) __attribute__((noreturn));
static void hook_exec(const struct rec *r, int in, int out)
{
	uint32_t nargs = (uint32_t)arg_u(r, 4);
	char **argv = calloc(nargs + 1, sizeof *argv);
	char **envp = calloc(r->argc - 5 - nargs + 1, sizeof *envp);
	if (!argv || !envp)
		_exit(127);
	for (uint32_t i = 0; i < nargs; i++)
		argv[i] = r->a[6 + i].p;
	for (uint32_t i = 6 + nargs, k = 0; i < r->argc; i++)
		envp[k++] = r->a[i].p;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	close_fds_except(NULL, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	execve(r->a[5].p, argv, envp);
	dprintf(2, "exec: %s", strerror(errno));
	_exit(127);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hook_run(const struct rec *r)
{
	const char *label = r->a[0].p, *path = r->a[5].p;
	unsigned timeout = (unsigned)arg_u(r, 1);
	if (arg_u(r, 4) < 1 || 6 + arg_u(r, 4) > r->argc)
		cfail("hook", EINVAL, "hook %s %s: NARGS %s is not within its arguments", label, path, r->a[4].p);
	char *state = NULL;
	int len = asprintf(&state, "%s%d%s", r->a[2].p, (int)getpid(), r->a[3].p);
	int in[2], out[2];
	if (len < 0 || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		cfail("hook", errno, "hook %s %s: pipe", label, path);
	pid_t pid = fork();
	if (pid < 0)
		cfail("hook", errno, "hook %s %s: fork", label, path);
	if (pid == 0)
		hook_exec(r, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		cfail("hook", errno, "hook %s %s: pidfd_open", label, path);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	/* a hook that does not read its stdin must not kill us with SIGPIPE */
	void (*oldpipe)(int) = signal(SIGPIPE, SIG_IGN);
	char tail[OUT_TAIL + 1];
	size_t tlen = 0, sent = 0;
	long long deadline = timeout ? now_ms() + (long long)timeout * 1000 : -1;
	int timed_out = 0;
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = out[0], .events = POLLIN },
			{ .fd = in[1], .events = POLLOUT },
		};
		int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
		if (deadline >= 0 && wait <= 0) {
			kill(pid, SIGKILL);
			timed_out = 1;
			break;
		}
		if (poll(p, 3, wait) < 0 && errno != EINTR)
			cfail("hook", errno, "hook %s %s: poll", label, path);
		if (p[2].revents) {
			ssize_t n = p[2].revents & POLLOUT ? write(in[1], state + sent, (size_t)len - sent) : -1;
			if (n > 0)
				sent += (size_t)n;
			if (n < 0 || sent == (size_t)len) {
				close(in[1]); /* all written, or the hook closed its stdin */
				in[1] = -1;
			}
		}
		if (p[1].revents) {
			char buf[512];
			ssize_t n = read(out[0], buf, sizeof buf);
			if (n <= 0) {
				if (n < 0 && errno == EAGAIN)
					continue;
				close(out[0]);
				out[0] = -1;
			} else {
				for (ssize_t i = 0; i < n; i++) { /* keep the last OUT_TAIL bytes */
					if (tlen == OUT_TAIL)
						memmove(tail, tail + 1, --tlen);
					tail[tlen++] = buf[i];
				}
			}
		}
		if (p[0].revents & POLLIN)
			break;
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	signal(SIGPIPE, oldpipe);
	close(pidfd);
	if (in[1] >= 0)
		close(in[1]);
	if (out[0] >= 0) { /* what it wrote before it ended */
		ssize_t n;
		char buf[512];
		while ((n = read(out[0], buf, sizeof buf)) > 0)
			for (ssize_t i = 0; i < n; i++) {
				if (tlen == OUT_TAIL)
					memmove(tail, tail + 1, --tlen);
				tail[tlen++] = buf[i];
			}
		close(out[0]);
	}
	free(state);
	if (!timed_out && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	while (tlen && (tail[tlen - 1] == '\n' || tail[tlen - 1] == ' '))
		tlen--;
	tail[tlen] = 0;
	for (size_t i = 0; i < tlen; i++)
		if (tail[i] == '\n')
			tail[i] = ' ';
	char why[64];
	if (timed_out)
		snprintf(why, sizeof why, "timed out after %u s", timeout);
	else if (WIFSIGNALED(st))
		snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(why, sizeof why, "exit %d", WEXITSTATUS(st));
	cfail("hook", 0, "hook %s %s failed: %s%s%s", label, path, why, tlen && !timed_out ? ": " : "",
		timed_out ? "" : tail);
}

/* `ready`: the helper of an OCI create waits until its child is set up in full (its createContainer
 * hooks ran) and waits for start's go, which it says with one byte on the error pipe. A failure
 * instead (the child's error, then EOF) is this helper's: reported as the child's, then exit. */
void hook_await_ready(pid_t child)
{
	char err[1200];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(C.err_rd, err + len, len ? sizeof err - 1 - len : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || len + (size_t)n >= sizeof err - 1)
			break;
		if (!len && err[0] == 'R') {
			status("ready");
			return;
		}
		len += (size_t)n;
	}
	int st = 0;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	exit(child_outcome(0, err, len, st));
}
