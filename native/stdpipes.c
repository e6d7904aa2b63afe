/* box-helper: a foreground container's stdio without a tty (`relay`; PROTOCOL.md "Foreground
 * stdio"). The container, or an exec's process, never holds the caller's descriptors: through
 * /proc/self/fd/N root in it could fchmod, fchown or truncate the host file or terminal they are.
 * It gets pipes instead, as Docker's and podman's monitors give it, and the helper, outside the
 * container, copies the caller's fd 0 into its stdin pipe (`stdin`), and its stdout and stderr pipes
 * to the caller's fds 1 and 2 and to the log (`log`). A slow reader never blocks the helper for
 * long (signals must still reach the container): the output waits in its pipe instead, as it did
 * when the container wrote to the caller's fd itself. */
#define _GNU_SOURCE
#include "stdpipes.h"
#include "ctx.h"
#include "jsonlog.h"
#include "report.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_MAX_MS 1000 /* how long output is still read once the child is gone */

/* How the caller's fd 1 or 2 is written. Its open file description is shared with the caller (a
 * shell, a terminal) and is never made non-blocking: a socket is written with MSG_DONTWAIT, a pipe
 * through a non-blocking description of the helper's own (opened again through /proc/self/fd), a
 * terminal only when poll says it takes more, at most PIPE_BUF bytes at a time, and a file or the
 * null device as it comes (they never wait for a reader). */
enum sink { SINK_FILE, SINK_SOCKET, SINK_NONBLOCK, SINK_POLLED };

struct out {
	int src; /* the read end of the child's stdout or stderr pipe; -1 after its EOF */
	int dst; /* the caller's fd 1 or 2, moved aside; -1 once its reader is gone */
	enum sink kind;
	size_t off, len; /* buf[off..len): read from the child, not yet written */
	unsigned char buf[65536];
};

static int relay_op, stdin_op;
static struct out outs[2] = { { .src = -1, .dst = -1 }, { .src = -1, .dst = -1 } };
static int in_src = -1; /* the caller's fd 0, moved aside; -1 after its EOF */
static int in_dst = -1; /* the write end of the child's stdin pipe (non-blocking) */
static size_t in_off, in_len;
static unsigned char in_buf[65536];

void stdio_ops(const struct spec *sp)
{
	relay_op = spec_find(sp, "relay") != NULL;
	stdin_op = spec_find(sp, "stdin") != NULL;
}

/* The caller's fd 1 or 2 (moved aside) as o's destination. */
static void sink_open(struct out *o, int fd)
{
	struct stat sb;
	o->dst = fd;
	if (fstat(fd, &sb) || S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode) || is_host_devnull(fd)) {
		o->kind = SINK_FILE;
	} else if (S_ISSOCK(sb.st_mode)) {
		o->kind = SINK_SOCKET;
	} else if (S_ISFIFO(sb.st_mode) && !C.exec_mode) {
		/* a pipe: no device behind it that an open could start anew (a terminal's ptmx could).
		 * Not for exec: its helper is in the container's mount namespace by now, and opens no
		 * path the container controls */
		char path[32];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		int nb = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		o->kind = nb < 0 ? SINK_POLLED : SINK_NONBLOCK; /* ENXIO: its reader is gone already */
		if (nb >= 0) {
			close(fd);
			o->dst = nb;
		}
	} else {
		o->kind = SINK_POLLED;
	}
}

/* fd's place taken by one end of a new pipe (the child inherits it); returns the other end. */
static int pipe_at(int fd, int child_reads)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		die("relay", errno, "pipe");
	if (dup2(p[child_reads ? 0 : 1], fd) < 0)
		die("relay", errno, "dup2");
	close(p[child_reads ? 0 : 1]);
	return p[child_reads ? 1 : 0];
}

void stdio_setup(void)
{
	if (!relay_op)
		return;
	for (int fd = stdin_op ? 0 : 1; fd < 3; fd++) {
		int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* the child closes it first thing anyway */
		if (moved < 0)
			die("relay", errno, "dup fd %d", fd);
		if (fd == 0) {
			in_src = moved;
			in_dst = pipe_at(0, 1);
			fcntl(in_dst, F_SETFL, O_NONBLOCK);
		} else {
			struct out *o = &outs[fd - 1];
			sink_open(o, moved);
			o->src = pipe_at(fd, 0);
		}
	}
}

/* Writes what the caller takes of p[0..n) now: the count, 0 when its reader must take some first,
 * -1 with errno. */
static ssize_t sink_write(const struct out *o, const unsigned char *p, size_t n)
{
	ssize_t w;
	if (o->kind == SINK_SOCKET) {
		w = send(o->dst, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	} else if (o->kind == SINK_POLLED) {
		struct pollfd q = { .fd = o->dst, .events = POLLOUT };
		if (poll(&q, 1, 0) != 1)
			return 0;
		w = write(o->dst, p, n < PIPE_BUF ? n : PIPE_BUF);
	} else {
		w = write(o->dst, p, n);
	}
	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return w;
}

static void out_close(int s)
{
	struct out *o = &outs[s];
	jsonlog_end(s);
	close(o->src);
	o->src = -1;
}

static void out_flush(int s)
{
	struct out *o = &outs[s];
	while (o->off < o->len) {
		ssize_t w = sink_write(o, o->buf + o->off, o->len - o->off);
		if (w == 0)
			return; /* the child's pipe waits until the reader took this (stdio_fds) */
		if (w > 0) {
			o->off += (size_t)w;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
			/* the caller's reader is gone: so is the child's, whose next write fails as if it
			 * wrote to the caller's pipe itself (SIGPIPE: `box run IMAGE yes | head -1` exits 141) */
			close(o->dst);
			o->dst = -1;
			out_close(s);
		}
		break; /* another error (a full disk) drops what the caller cannot take; the log has it */
	}
	o->off = o->len = 0;
}

static void out_read(int s)
{
	struct out *o = &outs[s];
	ssize_t n = read(o->src, o->buf, sizeof o->buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		out_close(s);
		return;
	}
	jsonlog_write(s, o->buf, (size_t)n);
	o->off = 0;
	o->len = (size_t)n;
	out_flush(s);
}

/* No more input for the child: its stdin pipe closes (it reads EOF), the caller's fd 0 is left. */
static void in_stop(void)
{
	if (in_dst >= 0)
		close(in_dst);
	if (in_src >= 0)
		close(in_src);
	in_dst = in_src = -1;
	in_off = in_len = 0;
}

static void in_flush(void)
{
	while (in_off < in_len) {
		ssize_t w = write(in_dst, in_buf + in_off, in_len - in_off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w < 0) {
			in_stop(); /* the child closed its stdin: the rest of the input has no reader */
			return;
		}
		in_off += (size_t)w;
	}
	in_off = in_len = 0;
	if (in_src < 0)
		in_stop(); /* the caller's input ended and all of it was written */
}

static void in_read(void)
{
	ssize_t n = read(in_src, in_buf, sizeof in_buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(in_src);
		in_src = -1;
	} else {
		in_off = 0;
		in_len = (size_t)n;
	}
	in_flush();
}

void stdio_fds(struct pollfd *p)
{
	for (int s = 0; s < 2; s++) {
		const struct out *o = &outs[s];
		p[s] = (struct pollfd){ .fd = o->len ? -1 : o->src, .events = POLLIN };
		p[2 + s] = (struct pollfd){ .fd = o->len && o->kind != SINK_FILE ? o->dst : -1, .events = POLLOUT };
	}
	p[4] = (struct pollfd){ .fd = in_len || in_dst < 0 ? -1 : in_src, .events = POLLIN };
	p[5] = (struct pollfd){ .fd = in_len ? in_dst : -1, .events = POLLOUT };
}

void stdio_io(const struct pollfd *p)
{
	for (int s = 0; s < 2; s++) {
		if (p[2 + s].revents && outs[s].len)
			out_flush(s);
		if (p[s].revents && p[s].fd == outs[s].src && !outs[s].len)
			out_read(s);
	}
	if (p[5].revents && in_len)
		in_flush();
	if (p[4].revents && p[4].fd == in_src && !in_len)
		in_read();
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void stdio_drain(int sfd, int wait_ms)
{
	in_stop();
	long long deadline = now_ms() + DRAIN_MAX_MS;
	for (;;) {
		struct pollfd p[1 + STDIO_NFDS];
		p[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		stdio_fds(p + 1);
		int pending = outs[0].len || outs[1].len;
		long long left = deadline - now_ms();
		if (!pending && (left <= 0 || (outs[0].src < 0 && outs[1].src < 0)))
			break;
		/* what was read is written, however slow the reader; a source is read while it has more
		 * within wait_ms, for DRAIN_MAX_MS at most (a process outside the container may hold it) */
		int r = poll(p, 1 + STDIO_NFDS, pending ? -1 : (int)(left < wait_ms ? left : wait_ms));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD &&
				si.ssi_signo != SIGWINCH)
				break; /* box was told to stop: what is left goes nowhere */
		}
		stdio_io(p + 1);
	}
	for (int s = 0; s < 2; s++)
		if (outs[s].src >= 0)
			jsonlog_end(s);
}

void stdio_release(void)
{
	in_stop();
	for (int s = 0; s < 2; s++) {
		if (outs[s].dst >= 0)
			close(outs[s].dst);
		outs[s].dst = -1;
		outs[s].off = outs[s].len = 0;
	}
}

void stdio_discard_fds(struct pollfd *p)
{
	for (int s = 0; s < 2; s++)
		p[s] = (struct pollfd){ .fd = outs[s].src, .events = POLLIN };
}

void stdio_discard(const struct pollfd *p)
{
	for (int s = 0; s < 2; s++) {
		if (!p[s].revents || p[s].fd != outs[s].src)
			continue;
		ssize_t n = read(outs[s].src, outs[s].buf, sizeof outs[s].buf);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
			close(outs[s].src);
			outs[s].src = -1;
		}
	}
}
