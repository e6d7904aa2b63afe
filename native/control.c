/* box-helper: the control channel (PROTOCOL.md, "Control channel"). Between clone and the
 * container's first step of its own, box may act on the new init (its pid and namespaces exist:
 * move a network interface into them, or keep an OCI `create` waiting for `start`); the helper
 * waits for box's `go` or `abort` on fd 5. */
#define _GNU_SOURCE
#include "control.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int open_fd = -1;

void control_check(void)
{
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
	if (!more)
		control_close();
	if (!strcmp(line, "go"))
		return;
	if (!strcmp(line, "abort"))
		die("abort", ECANCELED, "box aborted the start");
	die("control", EINVAL, "unknown control message %s (expected go or abort)", line);
}
