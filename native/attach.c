/* box-helper: the attach socket of a detached container (`attach`, `stdin`; PROTOCOL.md "Attaching
 * to a detached container"). The monitor listens on a unix stream socket in the container's runtime
 * directory. Each client gets the container's output from the moment it connected, in frames, and
 * may send input (to the pty, or to the container's stdin pipe), window sizes and the end of input.
 * Output a client has not taken yet holds the container's output back, as a terminal does; a client
 * that takes nothing for STALL_NS is disconnected, so a stopped `box attach` cannot hang a service. */
#define _GNU_SOURCE
#include "attach.h"
#include "report.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define HDR 8         /* frame header: type, 3 zero bytes, payload length (u32, big-endian) */
#define OUT_MAX 16384 /* payload of an output frame: one read of the container's output */
#define STALL_NS (10 * 1000000000LL)

enum { F_STDIN = 0, F_STDOUT = 1, F_STDERR = 2, F_RESIZE = 3, F_CLOSE = 4 };

struct client {
	int fd;
	size_t off;      /* bytes of the current output frame it has taken */
	int64_t stalled; /* monotonic ns since it last could not take output; 0: it could */
	unsigned char hdr[HDR];
	size_t hlen;   /* header bytes of the input frame read so far */
	uint32_t left; /* payload bytes of that frame still to come */
	unsigned char arg[4];
	size_t alen;
};

static int lfd = -1;
static struct client cl[ATTACH_MAX_CLIENTS] = { [0 ... ATTACH_MAX_CLIENTS - 1] = { .fd = -1 } };
static unsigned char ob[HDR + OUT_MAX]; /* the current output frame */
static size_t olen;
static unsigned char ib[4096]; /* input read from clients, not yet written */
static size_t ilen, ioff;
static int in_fd = -1, win_fd = -1;
static int stdin_pipe = -1;         /* `stdin` without a pty: the container's stdin (attach_stdin) */
static int in_close;                /* a client ended the input: close the stdin pipe once ib is written */
static const struct rec *attach_op; /* `attach PATH WAIT_MS`, NULL without it */

void attach_ops(const struct spec *sp)
{
	attach_op = spec_find(sp, "attach");
}

int attach_wanted(void)
{
	return attach_op != NULL;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void attach_listen(void)
{
	if (!attach_op)
		return;
	const char *path = attach_op->a[0].p;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int dfd = -1;
	if (strlen(path) < sizeof sa.sun_path) {
		memcpy(sa.sun_path, path, strlen(path) + 1);
	} else {
		/* a path longer than sun_path is bound through an fd of its directory */
		const char *slash = strrchr(path, '/');
		char dir[4096];
		size_t dl = slash == path ? 1 : (size_t)(slash - path);
		if (dl >= sizeof dir)
			die("attach", ENAMETOOLONG, "%s", path);
		memcpy(dir, path, dl);
		dir[dl] = 0;
		if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			die("attach", errno, "open %s", dir);
		if (snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, slash + 1) >=
			(int)sizeof sa.sun_path)
			die("attach", ENAMETOOLONG, "socket name too long: %s", slash + 1);
	}
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		die("attach", errno, "socket");
	unlink(path); /* a stale socket of an earlier monitor */
	mode_t old = umask(0077);
	int r = bind(lfd, (struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	umask(old);
	if (r)
		die("attach", e, "bind %s", path);
	if (dfd >= 0)
		close(dfd);
	if (listen(lfd, ATTACH_MAX_CLIENTS))
		die("attach", errno, "listen %s", path);
}

static int accept_one(void)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return 0;
	for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
		if (cl[i].fd < 0) {
			memset(&cl[i], 0, sizeof cl[i]);
			cl[i].fd = fd;
			cl[i].off = olen; /* from the next output on */
			return 1;
		}
	close(fd);
	return 0;
}

void attach_wait(void)
{
	if (lfd < 0 || !arg_u(attach_op, 1))
		return;
	int64_t end = mono_ns() + (int64_t)arg_u(attach_op, 1) * 1000000;
	for (;;) {
		int64_t left = (end - mono_ns()) / 1000000;
		if (left <= 0)
			return;
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r > 0 && accept_one()))
			return;
	}
}

void attach_target(int in, int win)
{
	in_fd = in;
	win_fd = win;
}

void attach_stdin(int pipe_wr)
{
	attach_target(pipe_wr, -1);
	stdin_pipe = pipe_wr;
}

static void drop(struct client *c)
{
	close(c->fd);
	c->fd = -1;
}

int attach_busy(void)
{
	for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
		if (cl[i].fd >= 0 && cl[i].off < olen)
			return 1;
	return 0;
}

static void client_send(struct client *c)
{
	while (c->off < olen) {
		ssize_t w = send(c->fd, ob + c->off, olen - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (!c->stalled)
				c->stalled = mono_ns();
			return;
		}
		if (w <= 0) {
			drop(c);
			return;
		}
		c->off += (size_t)w;
		c->stalled = 0;
	}
}

void attach_output(int stream, const unsigned char *p, size_t n)
{
	int any = 0;
	for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
		any |= cl[i].fd >= 0;
	if (!any || n > OUT_MAX)
		return;
	ob[0] = (unsigned char)stream;
	ob[1] = ob[2] = ob[3] = 0;
	ob[4] = (unsigned char)(n >> 24), ob[5] = (unsigned char)(n >> 16);
	ob[6] = (unsigned char)(n >> 8), ob[7] = (unsigned char)n;
	memcpy(ob + HDR, p, n);
	olen = HDR + n;
	for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
		if (cl[i].fd >= 0) {
			cl[i].off = 0;
			client_send(&cl[i]);
		}
}

int attach_poll_timeout(void)
{
	int64_t first = 0;
	for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
		if (cl[i].fd >= 0 && cl[i].stalled && (!first || cl[i].stalled < first))
			first = cl[i].stalled;
	if (!first)
		return -1;
	int64_t ms = (first + STALL_NS - mono_ns() + 999999) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* Writes what clients sent to the container (never blocking); what it refuses for good (its stdin
 * closed, the pty gone) is dropped. The stdin pipe is closed once a client's end of input is due. */
static void flush_input(void)
{
	while (ioff < ilen) {
		ssize_t w = write(in_fd, ib + ioff, ilen - ioff);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0)
			break;
		ioff += (size_t)w;
	}
	ilen = ioff = 0;
	if (in_close) {
		close(stdin_pipe);
		stdin_pipe = in_fd = -1;
		in_close = 0;
	}
}

static void frame_done(struct client *c)
{
	if (c->hdr[0] == F_RESIZE && c->alen == 4 && win_fd >= 0) {
		struct winsize ws = {
			.ws_row = (unsigned short)(c->arg[0] << 8 | c->arg[1]),
			.ws_col = (unsigned short)(c->arg[2] << 8 | c->arg[3]),
		};
		ioctl(win_fd, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH to the foreground group */
	} else if (c->hdr[0] == F_CLOSE && in_fd >= 0 && in_fd == stdin_pipe) {
		/* only the stdin pipe ends; a pty stays (a terminal's input has no end) */
		in_close = 1;
		if (ioff == ilen)
			flush_input();
	}
	c->hlen = 0;
}

/* Reads a client's frames; only called with no input pending, so its stdin bytes fit in ib. */
static void client_read(struct client *c)
{
	unsigned char buf[sizeof ib];
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		drop(c);
		return;
	}
	for (size_t i = 0; i < (size_t)n;) {
		if (c->hlen < HDR) {
			c->hdr[c->hlen++] = buf[i++];
			if (c->hlen == HDR) {
				c->left = (uint32_t)c->hdr[4] << 24 | (uint32_t)c->hdr[5] << 16 |
					  (uint32_t)c->hdr[6] << 8 | c->hdr[7];
				c->alen = 0;
				if (!c->left)
					frame_done(c);
			}
			continue;
		}
		size_t take = (size_t)n - i < c->left ? (size_t)n - i : c->left;
		if (c->hdr[0] == F_STDIN && in_fd >= 0 && !in_close) {
			memcpy(ib + ilen, buf + i, take);
			ilen += take;
		} else if (c->hdr[0] == F_RESIZE) {
			for (size_t k = 0; k < take && c->alen < sizeof c->arg; k++)
				c->arg[c->alen++] = buf[i + k];
		}
		i += take;
		c->left -= (uint32_t)take;
		if (!c->left)
			frame_done(c);
	}
	flush_input();
}

void attach_fds(struct pollfd *p)
{
	int room = 0;
	for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
		room |= cl[i].fd < 0;
	p[0] = (struct pollfd){ .fd = room ? lfd : -1, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = ioff < ilen ? in_fd : -1, .events = POLLOUT };
	for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
		short ev = (short)((ilen == 0 ? POLLIN : 0) | (cl[i].off < olen ? POLLOUT : 0));
		p[2 + i] = (struct pollfd){ .fd = cl[i].fd, .events = ev };
	}
}

void attach_io(struct pollfd *p)
{
	if (p[1].fd >= 0 && p[1].fd == in_fd && p[1].revents)
		flush_input();
	for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
		struct client *c = &cl[i];
		short r = p[2 + i].revents;
		if (p[2 + i].fd < 0 || p[2 + i].fd != c->fd || !r)
			continue;
		if (r & POLLOUT)
			client_send(c);
		if (c->fd >= 0 && (r & POLLIN) && ilen == 0)
			client_read(c);
		else if (c->fd >= 0 && (r & (POLLHUP | POLLERR)) && !(r & POLLIN))
			drop(c);
	}
	/* a stalled client goes, so the container's output moves on */
	int64_t now = mono_ns();
	for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
		if (cl[i].fd >= 0 && cl[i].stalled && now - cl[i].stalled >= STALL_NS)
			drop(&cl[i]);
	if (p[0].fd >= 0 && (p[0].revents & POLLIN))
		accept_one();
}

void attach_end(void)
{
	/* the last output, for at most a second */
	int64_t end = mono_ns() + 1000000000LL;
	while (attach_busy() && mono_ns() < end) {
		struct pollfd p[ATTACH_MAX_CLIENTS];
		for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
			p[i] = (struct pollfd){ .fd = cl[i].off < olen ? cl[i].fd : -1, .events = POLLOUT };
		if (poll(p, ATTACH_MAX_CLIENTS, 100) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
			if (p[i].fd >= 0 && p[i].fd == cl[i].fd && p[i].revents)
				client_send(&cl[i]);
	}
	for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
		if (cl[i].fd >= 0)
			drop(&cl[i]);
	if (lfd >= 0) {
		close(lfd);
		unlink(attach_op->a[0].p);
		lfd = -1;
	}
	if (stdin_pipe >= 0)
		close(stdin_pipe);
	stdin_pipe = in_fd = -1;
}
