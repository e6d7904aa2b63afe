/* box-helper: small helpers for fds and files. */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
static struct stat devnull_st; /* its inode: is_host_devnull compares to it */

int devnull_open(void)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0)
		return -1;
	devnull_fd = fcntl(nul, F_DUPFD_CLOEXEC, 5);
	int e = errno;
	close(nul);
	if (devnull_fd >= 0 && fstat(devnull_fd, &devnull_st))
		devnull_st.st_ino = 0;
	errno = e;
	return devnull_fd;
}

int is_host_devnull(int fd)
{
	struct stat st;
	return devnull_st.st_ino && !fstat(fd, &st) && st.st_dev == devnull_st.st_dev && st.st_ino == devnull_st.st_ino;
}

int devnull(void)
{
	return devnull_fd;
}

/* The control message of one fd. */
union fd_cmsg {
	struct cmsghdr h;
	char buf[CMSG_SPACE(sizeof(int))];
};

int send_fd(int sock, int fd, const void *msg, size_t len)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	union fd_cmsg u;
	memset(&u, 0, sizeof u);
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t n = sendmsg(sock, &mh, 0);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO; /* part of the message: never on a unix socket this small */
	return -1;
}

int recv_fd(int sock)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union fd_cmsg u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *c = n == 1 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
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

void close_fds_but_preserved(const int *keep, int n, int npreserved)
{
	int all[64 + 1024];
	int k = 0;
	for (int i = 0; i < n && k < 64; i++)
		all[k++] = keep[i];
	for (int i = 0; i < npreserved && i < 1024; i++)
		all[k++] = PRESERVED_FD + i;
	close_fds_except(all, k);
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
