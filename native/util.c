/* box-helper: small helpers for fds and files. */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int devnull_fd = -1;

int devnull_open(void)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0)
		return -1;
	devnull_fd = fcntl(nul, F_DUPFD_CLOEXEC, 5);
	int e = errno;
	close(nul);
	errno = e;
	return devnull_fd;
}

int devnull(void)
{
	return devnull_fd;
}

int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	int r = write_all(fd, s, strlen(s));
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

void close_fds_except(int *keep, int n)
{
	for (int i = 1; i < n; i++) /* insertion sort: a handful of elements */
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	unsigned lo = 3;
	for (int i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue; /* -1 (unused), 0-2, or a duplicate */
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
}
