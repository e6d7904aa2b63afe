/* box-helper: status events on fd 4, errors of the parent (die) and of a child (cfail, through
 * its error pipe), and the event lines appended to files (health_status, exec_die). */
#define _GNU_SOURCE
#include "report.h"
#include "ctx.h"
#include "relay.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child_pid = -1;

int event_open(const char *file)
{
	return open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

void event_write(int fd, const char *tmpl, const char *key, const char *value)
{
	size_t cap = strlen(tmpl) * 2 + strlen(value) * 4 + 128;
	char *buf = malloc(cap);
	if (!buf)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long now = (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
	size_t klen = strlen(key), o = 0;
	const char *t = tmpl;
	while (*t && o + 40 < cap) {
		char num[32];
		const char *sub = NULL;
		size_t skip = 0;
		if (klen && !strncmp(t, key, klen))
			sub = value, skip = klen;
		else if (!strncmp(t, "{{timeNano}}", 12))
			snprintf(num, sizeof num, "%lld", now), sub = num, skip = 12;
		else if (!strncmp(t, "{{time}}", 8))
			snprintf(num, sizeof num, "%lld", now / 1000000000), sub = num, skip = 8;
		if (sub) {
			size_t l = strlen(sub);
			if (o + l + 2 >= cap)
				break;
			memcpy(buf + o, sub, l);
			o += l;
			t += skip;
		} else {
			buf[o++] = *t++;
		}
	}
	buf[o++] = '\n';
	if (write(fd, buf, o) < 0) {
	}
	free(buf);
}

/* One line; control characters (a path may hold anything) become '?'. */
static int vline(char *buf, size_t cap, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, cap - 1, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > cap - 2)
		n = (int)cap - 2;
	for (int i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	buf[n++] = '\n';
	return n;
}

void status(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vline(buf, sizeof buf, fmt, ap);
	va_end(ap);
	write_all(STATUS_FD, buf, (size_t)n);
}

void report_child(pid_t pid)
{
	child_pid = pid;
}

void die(const char *stage, int err, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (child_pid > 0) {
		kill(child_pid, SIGKILL);
		waitpid(child_pid, NULL, 0);
	}
	tty_restore();
	status("error %s %d %s", stage, err, text);
	exit(125);
}

/* Child side: "CODE STAGE ERRNO TEXT\n" on the error pipe, then _exit(CODE). */
void cfail(const char *stage, int err, const char *fmt, ...)
{
	char text[1024], buf[1200];
	int code = 125;
	if (!strcmp(stage, "exec"))
		code = (err == ENOENT || err == ENOTDIR) ? 127 : 126;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	int n = snprintf(buf, sizeof buf, "%d %s %d %s\n", code, stage, err, text);
	if (n > (int)sizeof buf - 1)
		n = (int)sizeof buf - 1;
	write_all(C.err_wr, buf, (size_t)n);
	_exit(code);
}
