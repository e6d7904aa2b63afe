/* box-helper: a container's output as a log in Docker's json-file format (PROTOCOL.md, "Detached
 * containers": records, line splitting, escaping, rotation). Written by a detached container's
 * monitor and by a foreground run's helper, which relays the same output to the caller. */
#define _GNU_SOURCE
#include "jsonlog.h"
#include "report.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const struct rec *log_op; /* `log FILE MAX_BYTES MAX_FILES`, or NULL */

struct lstream {
	const char *name;
	size_t len;
	unsigned char buf[JSONLOG_LINE_MAX];
};

static struct lstream streams[2] = { { "stdout", 0, { 0 } }, { "stderr", 0, { 0 } } };
static int logfd = -1;
static uint64_t logsize, log_max, log_files;
static const char *logpath;
static char rec[JSONLOG_LINE_MAX * 6 + 128]; /* worst case: every byte escaped as \uXXXX */

static int log_open(int trunc)
{
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | (trunc ? O_TRUNC : 0), 0600);
	if (logfd < 0)
		return -1;
	struct stat sb;
	logsize = fstat(logfd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	return 0;
}

/* FILE -> FILE.1 -> ... -> FILE.(MAX_FILES-1) (renamed over: the oldest is dropped); with
 * MAX_FILES 1 the file is truncated. */
static void log_rotate(void)
{
	close(logfd);
	logfd = -1;
	if (log_files < 2) {
		log_open(1);
		return;
	}
	size_t n = strlen(logpath) + 24;
	char *from = malloc(n), *to = malloc(n);
	if (from && to)
		for (uint64_t i = log_files - 1; i >= 1; i--) {
			snprintf(to, n, "%s.%llu", logpath, (unsigned long long)i);
			if (i == 1)
				snprintf(from, n, "%s", logpath);
			else
				snprintf(from, n, "%s.%llu", logpath, (unsigned long long)(i - 1));
			rename(from, to); /* ENOENT: not there yet */
		}
	free(from);
	free(to);
	log_open(0);
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, surrogates or > U+10FFFF),
 * or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* One record: {"log":"...","stream":"stdout","time":"2026-11-23T12:00:00.123456789Z"}\n */
static void log_emit(int s, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (!logpath)
		return; /* no `log`: the output goes to attached clients only */
	size_t o = 0;
	memcpy(rec, "{\"log\":\"", 8);
	o = 8;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			rec[o++] = '\\';
			rec[o++] = (char)c;
		} else if (c == '\n') {
			rec[o++] = '\\';
			rec[o++] = 'n';
		} else if (c == '\r') {
			rec[o++] = '\\';
			rec[o++] = 'r';
		} else if (c == '\t') {
			rec[o++] = '\\';
			rec[o++] = 't';
		} else if (c < 0x20) {
			memcpy(rec + o, "\\u00", 4);
			rec[o + 4] = hex[c >> 4];
			rec[o + 5] = hex[c & 15];
			o += 6;
		} else if (c < 0x80) {
			rec[o++] = (char)c;
		} else {
			size_t l = utf8_len(p + i, n - i);
			if (l) {
				memcpy(rec + o, p + i, l);
				o += l;
				i += l;
				continue;
			}
			memcpy(rec + o, "\\ufffd", 6); /* an invalid byte, as Go's encoder does */
			o += 6;
		}
		i++;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	o += (size_t)snprintf(rec + o, sizeof rec - o,
		"\",\"stream\":\"%s\",\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ\"}\n", streams[s].name,
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)ts.tv_nsec);
	if (log_max && logsize > 0 && logsize + o > log_max)
		log_rotate();
	if (logfd < 0 && log_open(0))
		return; /* the line is lost; the next one tries again */
	if (write_all(logfd, rec, o) == 0)
		logsize += o;
}

/* Appends output to the stream's line buffer: complete lines (with their '\n') become records, a
 * full buffer without one is split (not inside a UTF-8 sequence). */
static void log_feed(int s, const unsigned char *p, size_t n)
{
	struct lstream *ls = &streams[s];
	while (n) {
		size_t take = n < sizeof ls->buf - ls->len ? n : sizeof ls->buf - ls->len;
		memcpy(ls->buf + ls->len, p, take);
		ls->len += take;
		p += take;
		n -= take;
		size_t start = 0;
		unsigned char *nl;
		while ((nl = memchr(ls->buf + start, '\n', ls->len - start))) {
			size_t end = (size_t)(nl - ls->buf) + 1;
			log_emit(s, ls->buf + start, end - start);
			start = end;
		}
		if (start == 0 && ls->len == sizeof ls->buf) {
			size_t cut = ls->len;
			for (size_t k = 1; k <= 3; k++) {
				unsigned char c = ls->buf[ls->len - k];
				if ((c & 0xc0) == 0x80)
					continue;
				if (c >= 0xc0 && (size_t)(c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2) > k)
					cut = ls->len - k;
				break;
			}
			log_emit(s, ls->buf, cut);
			start = cut;
		}
		memmove(ls->buf, ls->buf + start, ls->len - start);
		ls->len -= start;
	}
}

void jsonlog_ops(const struct spec *sp)
{
	log_op = spec_find(sp, "log");
	if (log_op && (arg_u(log_op, 2) < 1 || arg_u(log_op, 2) > 1000))
		die("spec", EINVAL, "log: MAX_FILES must be 1 to 1000");
}

int jsonlog_wanted(void)
{
	return log_op != NULL;
}

void jsonlog_start(void)
{
	if (!log_op || logpath)
		return; /* no `log`, or opened already (the monitor's stdio) */
	logpath = log_op->a[0].p;
	log_max = arg_u(log_op, 1);
	log_files = arg_u(log_op, 2);
	if (log_open(0))
		die("log", errno, "open %s", logpath);
}

void jsonlog_write(int stream, const void *p, size_t n)
{
	if (logpath)
		log_feed(stream, p, n);
}

void jsonlog_end(int stream)
{
	if (streams[stream].len)
		log_emit(stream, streams[stream].buf, streams[stream].len);
	streams[stream].len = 0;
}
