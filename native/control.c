/* box-helper: the control channel (PROTOCOL.md, "Control channel"). Between clone and the
 * container's first step of its own, box may act on the new init (its pid and namespaces exist:
 * move a network interface into them, or keep an OCI `create` waiting for `start`); the helper
 * waits for box's `go` or `abort` on fd 5. */
#define _GNU_SOURCE
#include "control.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_fd = -1;
static int lifeline_fd = -1;

void control_lifeline(int fd)
{
	lifeline_fd = fd;
}

/* A foreground `lifeline`: until the answer, its end (box killed or gone) is an abort; its byte
 * ends the watch. Returns once the channel has something to read. */
static void await_readable(void)
{
	struct pollfd fds[2] = { { .fd = open_fd, .events = POLLIN }, { .fd = lifeline_fd, .events = POLLIN } };
	while (lifeline_fd >= 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("control", errno, "poll");
		}
		if (fds[0].revents)
			return;
		char b;
		ssize_t n = read(lifeline_fd, &b, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n != 1)
			die("abort", ECANCELED, "box ended before the container was started");
		close(lifeline_fd);
		lifeline_fd = fds[1].fd = -1;
	}
}

void control_check(const struct spec *sp)
{
	const struct rec *fifo = spec_find(sp, "control-fifo");
	if (fifo) {
		/* made anew (mknod never follows a link at its name), opened read-write: the helper is then
		 * never at end of input while it waits, whoever writes later (box-runc start, kill) */
		if (mknod(fifo->a[0].p, S_IFIFO | 0600, 0))
			die("control", errno, "make the FIFO %s", fifo->a[0].p);
		int fd = open(fifo->a[0].p, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			die("control", errno, "open the FIFO %s", fifo->a[0].p);
		if (fd != CONTROL_FD && (dup3(fd, CONTROL_FD, O_CLOEXEC) < 0 || close(fd)))
			die("control", errno, "the FIFO %s as fd %d", fifo->a[0].p, CONTROL_FD);
	}
	if (fcntl(CONTROL_FD, F_SETFD, FD_CLOEXEC))
		die("control", errno, "fd %d (box's control channel) is not open", CONTROL_FD);
	open_fd = CONTROL_FD;
}

int control_fd(void)
{
	return open_fd;
}

void control_close(void)
{
	if (open_fd >= 0)
		close(open_fd);
	open_fd = -1;
}

void control_await(int more)
{
	char line[32];
	size_t n = 0;
	await_readable();
	for (;;) { /* one line; a byte at a time, so nothing after it is consumed */
		ssize_t r = read(open_fd, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("control", errno, "read fd %d", CONTROL_FD);
		if (r == 0)
			die("abort", ECANCELED, "box closed the control channel before go");
		if (line[n] == '\n')
			break;
		if (++n == sizeof line - 1)
			break;
	}
	line[n] = 0;
	if (!more) {
		control_close();
		if (lifeline_fd >= 0) /* the answer came: box's end no longer matters */
			close(lifeline_fd);
		lifeline_fd = -1;
	}
	if (!strcmp(line, "go"))
		return;
	if (!strcmp(line, "abort"))
		die("abort", ECANCELED, "box aborted the start");
	die("control", EINVAL, "unknown control message %s (expected go or abort)", line);
}
