/* box-helper: health checks of a detached container, scheduled by its monitor (PROTOCOL.md "Health
 * checks"). Each probe is a fork of the monitor that becomes a `box-helper exec` of the nested
 * spec of `health-exec` into the container (exec_main): it joins the container's namespaces and
 * cgroup and forks the probe with the container's user, capabilities, seccomp and environment.
 * The monitor reads the probe's output (first 4 KiB) and its status lines, kills it after the
 * timeout, reaps it, keeps the last results in the health file and appends `health_status`
 * events; on the way to unhealthy it applies `health-on-failure`. */
#define _GNU_SOURCE
#include "health.h"
#include "box-helper.h"
#include "ctx.h"
#include "exec.h"
#include "report.h"
#include "signals.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUT_MAX 4096 /* of a probe's output, as Docker keeps */
#define LOG_KEEP 5   /* results kept, as Docker keeps */

enum { STARTING, HEALTHY, UNHEALTHY };
static const char *const status_name[] = { "starting", "healthy", "unhealthy" };

struct result {
	int64_t start, end; /* UNIX nanoseconds */
	int code;
	size_t len;
	char out[OUT_MAX];
};

static struct {
	int on;
	uint64_t interval, start_interval, start_period, timeout, retries;
	const char *file;
	const struct rec *event, *fail;
	pid_t cpid;
	int64_t started; /* monotonic ns of the container's start */
	int status;
	uint64_t streak;
	int64_t next; /* monotonic ns of the next probe; -1: none */
	/* the running probe: the monitor's fork (the exec helper) */
	pid_t helper;
	int out_fd, st_fd;
	int64_t p_start_real, p_start, p_deadline;
	int timed_out;
	char st[1024];
	size_t stlen;
	int nlog;
	/* the on-failure action, once taken */
	int64_t acted_real, kill_at;
} H = { .next = -1, .helper = -1, .out_fd = -1, .st_fd = -1, .kill_at = -1 };
/* zero-initialised (bss): no memory until a container with a health check uses them */
static struct result hcur, hlog[LOG_KEEP]; /* the running probe's; results, oldest first */

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void health_ops(const struct spec *sp)
{
	const struct rec *h = spec_find(sp, "health");
	if (!h)
		return;
	H.on = 1;
	H.interval = arg_u(h, 0);
	H.start_interval = arg_u(h, 1);
	H.start_period = arg_u(h, 2);
	H.timeout = arg_u(h, 3);
	H.retries = arg_u(h, 4);
	H.file = h->a[5].p;
	H.event = spec_find(sp, "health-event");
	H.fail = spec_find(sp, "health-on-failure");
}

/* The health file: FILE.tmp, then rename over FILE (PROTOCOL.md). Errors are ignored: the next
 * result writes it again. */
static void write_state(void)
{
	size_t cap = 256 + (size_t)H.nlog * (OUT_MAX + 96);
	char *buf = malloc(cap), tmp[4200];
	if (!buf)
		return;
	int n = snprintf(buf, cap, "status %s\nfailing %llu\n", status_name[H.status], (unsigned long long)H.streak);
	if (H.acted_real)
		n += snprintf(buf + n, cap - (size_t)n, "action %s %lld\n", H.fail->a[0].p, (long long)H.acted_real);
	for (int i = 0; i < H.nlog; i++) {
		const struct result *r = &hlog[i];
		n += snprintf(buf + n, cap - (size_t)n, "result %lld %lld %d %zu\n", (long long)r->start,
			(long long)r->end, r->code, r->len);
		memcpy(buf + n, r->out, r->len);
		n += (int)r->len;
		buf[n++] = '\n';
	}
	if (snprintf(tmp, sizeof tmp, "%s.tmp", H.file) < (int)sizeof tmp) {
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0) {
			int r = write_all(fd, buf, (size_t)n);
			if (close(fd) || r || rename(tmp, H.file))
				unlink(tmp);
		}
	}
	free(buf);
}

/* One line of the `health-event` template, {{status}}, {{time}} and {{timeNano}} filled in. */
static void emit_event(void)
{
	int fd = H.event ? event_open(H.event->a[0].p) : -1;
	if (fd >= 0) {
		event_write(fd, H.event->a[1].p, "{{status}}", status_name[H.status]);
		close(fd);
	}
}

void health_started(pid_t child)
{
	if (!H.on)
		return;
	H.cpid = child;
	H.started = mono_ns();
	H.status = STARTING;
	H.next = H.started + (int64_t)(H.start_period ? H.start_interval : H.interval);
	write_state();
}

/* The monitor's fork: becomes `box-helper exec` of the probe spec into the container, with its
 * stdout and stderr on `out` and its status lines (fd 4) on `st`. */
static void probe_helper(int out, int st) __attribute__((noreturn));
static void probe_helper(int out, int st)
{
	pid_t monitor = getppid();
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != monitor)
		_exit(125);
	signals_restore();
	if (dup2(devnull(), 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 || dup3(st, 4, O_CLOEXEC) < 0)
		_exit(125);
	/* nothing of the monitor's (signalfd, log pipes, the container's sync pipe) stays open */
	close(3);
	syscall(SYS_close_range, 5, ~0U, 0);
	if (devnull_open() < 0)
		_exit(125);
	host_ops(spec_probe()); /* the probe's mode and ops, no pipes of the container's */
	C.probe = 1;
	exec_main(spec_probe(), H.cpid);
}

static void start_probe(void)
{
	int op[2], sp[2];
	if (pipe2(op, O_CLOEXEC))
		return;
	if (pipe2(sp, O_CLOEXEC)) {
		close(op[0]);
		close(op[1]);
		return;
	}
	memset(&hcur, 0, offsetof(struct result, out));
	H.p_start_real = real_ns();
	H.p_start = mono_ns();
	H.p_deadline = H.p_start + (int64_t)H.timeout;
	pid_t pid = fork();
	if (pid == 0)
		probe_helper(op[1], sp[1]);
	close(op[1]);
	close(sp[1]);
	if (pid < 0) {
		close(op[0]);
		close(sp[0]);
		H.next = mono_ns() + (int64_t)H.interval;
		return;
	}
	fcntl(op[0], F_SETFL, O_NONBLOCK);
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	H.helper = pid;
	H.out_fd = op[0];
	H.st_fd = sp[0];
	H.stlen = 0;
	H.timed_out = 0;
	H.next = -1;
}

int health_poll_timeout(void)
{
	int64_t d = -1;
	if (H.helper > 0 && H.p_deadline != INT64_MAX)
		d = H.p_deadline;
	else if (H.helper < 0 && H.next >= 0)
		d = H.next;
	if (H.kill_at >= 0 && (d < 0 || H.kill_at < d))
		d = H.kill_at;
	if (d < 0)
		return -1;
	int64_t ms = (d - mono_ns() + 999999) / 1000000;
	return ms < 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms;
}

int health_fds(struct pollfd *p)
{
	p[0] = (struct pollfd){ .fd = H.out_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = H.st_fd, .events = POLLIN };
	return 2;
}

/* Reads what the probe's pipes have; returns -1 at EOF or error (closed). */
static int drain_out(void)
{
	for (;;) {
		char sink[4096];
		char *dst = hcur.len < OUT_MAX ? hcur.out + hcur.len : sink;
		size_t cap = hcur.len < OUT_MAX ? OUT_MAX - hcur.len : sizeof sink;
		ssize_t n = read(H.out_fd, dst, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			close(H.out_fd);
			H.out_fd = -1;
			return -1;
		}
		if (dst != sink)
			hcur.len += (size_t)n;
	}
}

static int drain_status(void)
{
	for (;;) {
		char sink[256];
		int full = H.stlen >= sizeof H.st - 1;
		ssize_t n = read(H.st_fd, full ? sink : H.st + H.stlen, full ? sizeof sink : sizeof H.st - 1 - H.stlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			close(H.st_fd);
			H.st_fd = -1;
			break;
		}
		if (!full)
			H.stlen += (size_t)n;
	}
	H.st[H.stlen] = 0;
	return H.st_fd < 0 ? -1 : 0;
}

void health_io(struct pollfd *p)
{
	/* the probe may have been reaped (and its pipes closed) since the poll */
	if (p[0].fd >= 0 && p[0].fd == H.out_fd && p[0].revents)
		drain_out();
	if (p[1].fd >= 0 && p[1].fd == H.st_fd && p[1].revents)
		drain_status();
}

static void set_status(int s)
{
	if (H.status == s)
		return;
	H.status = s;
	emit_event();
}

/* Docker's format of a duration (whole units only: 30s, 100ms, 1500us). */
static void fmt_duration(char *b, size_t n, uint64_t ns)
{
	if (ns % 1000000000 == 0)
		snprintf(b, n, "%llus", (unsigned long long)(ns / 1000000000));
	else if (ns % 1000000 == 0)
		snprintf(b, n, "%llums", (unsigned long long)(ns / 1000000));
	else if (ns % 1000 == 0)
		snprintf(b, n, "%lluµs", (unsigned long long)(ns / 1000));
	else
		snprintf(b, n, "%lluns", (unsigned long long)ns);
}

static void close_probe_pipes(void)
{
	if (H.out_fd >= 0)
		close(H.out_fd);
	if (H.st_fd >= 0)
		close(H.st_fd);
	H.out_fd = H.st_fd = -1;
}

/* The probe's helper was reaped with wait status ws: record the result, update the status. */
static void finish_probe(int ws)
{
	H.helper = -1;
	if (H.out_fd >= 0)
		drain_out();
	if (H.st_fd >= 0)
		drain_status();
	close_probe_pipes(); /* a process the probe left behind may still hold its output: stop reading now */
	struct result *r = &hcur;
	r->start = H.p_start_real;
	r->end = real_ns();
	char *err = strstr(H.st, "error ");
	if (H.timed_out) {
		char d[32];
		fmt_duration(d, sizeof d, H.timeout);
		r->code = -1;
		r->len = (size_t)snprintf(r->out, OUT_MAX, "Health check exceeded timeout (%s)", d);
	} else if (err && (err == H.st || err[-1] == '\n')) {
		/* the probe could not start: "error STAGE ERRNO TEXT" */
		char *nl = strchr(err, '\n');
		if (nl)
			*nl = 0;
		r->code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 125;
		r->len = (size_t)snprintf(r->out, OUT_MAX, "box-helper exec failed: %s", err + 6);
		if (r->len >= OUT_MAX)
			r->len = OUT_MAX - 1;
	} else {
		r->code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	}
	if (H.nlog == LOG_KEEP) {
		memmove(&hlog[0], &hlog[1], sizeof hlog[0] * (LOG_KEEP - 1));
		H.nlog--;
	}
	hlog[H.nlog++] = *r;

	int64_t now = mono_ns();
	int in_start = H.p_start - H.started < (int64_t)H.start_period;
	if (r->code == 0) {
		H.streak = 0;
		set_status(HEALTHY);
	} else if (!(H.status == STARTING && in_start)) {
		/* failures in the start period do not count until the container was healthy once */
		H.streak++;
		if (H.streak >= H.retries && H.status != UNHEALTHY) {
			set_status(UNHEALTHY);
			if (H.fail && !H.acted_real) {
				H.acted_real = real_ns();
				kill(H.cpid, (int)arg_u(H.fail, 1));
				if (arg_u(H.fail, 2) && arg_u(H.fail, 1) != SIGKILL)
					H.kill_at = now + (int64_t)arg_u(H.fail, 2);
			}
		}
	}
	write_state();
	int starting = H.status == STARTING && now - H.started < (int64_t)H.start_period;
	H.next = now + (int64_t)(starting ? H.start_interval : H.interval);
}

void health_sigchld(void)
{
	int ws;
	if (H.helper > 0 && waitpid(H.helper, &ws, WNOHANG) == H.helper)
		finish_probe(ws);
}

#define KILL_GRACE_NS 1000000000LL

void health_tick(void)
{
	if (!H.on)
		return;
	int64_t now = mono_ns();
	if (H.kill_at >= 0 && now >= H.kill_at) {
		H.kill_at = -1;
		kill(H.cpid, SIGKILL);
	}
	if (H.helper > 0 && now >= H.p_deadline) {
		if (!H.timed_out) {
			/* the helper forwards it to the probe's reaper, which kills the probe's process
			 * group and reaps it; should that not happen within a second, SIGKILL */
			H.timed_out = 1;
			kill(H.helper, SIGTERM);
			H.p_deadline = now + KILL_GRACE_NS;
		} else {
			kill(H.helper, SIGKILL);
			H.p_deadline = INT64_MAX;
		}
	}
	if (H.helper < 0 && H.next >= 0 && now >= H.next)
		start_probe();
}

void health_stop(void)
{
	H.next = H.kill_at = -1;
	if (H.helper > 0) {
		kill(H.helper, SIGKILL); /* the probe dies with it (parent-death signal) */
		while (waitpid(H.helper, NULL, 0) < 0 && errno == EINTR)
			;
		H.helper = -1;
	}
	close_probe_pipes();
}
