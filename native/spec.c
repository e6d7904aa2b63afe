/* box-helper: spec decoding and validation (PROTOCOL.md, "Spec encoding" and "Ops"). */
#define _GNU_SOURCE
#include "spec.h"
#include "report.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SPEC_MAX (64u << 20) /* refuse absurd specs */
#define ARGC_MAX 65536u

/* box's copy is src/runtime/ops.ts; test/unit/helper-ops.test.ts compares the two and PROTOCOL.md */
static const struct opdef OPS[] = {
	/* host side */
	{ "clone", "u", OP_HOST, 1, M_RUN },
	{ "cgroup", "s", OP_HOST, 0, M_RUN },
	{ "cgroup-join", "s", OP_HOST, 0, M_RUN | M_EXEC },
	{ "cgroupns", "", OP_HOST, 1, M_RUN },
	{ "tty", "", OP_HOST, 1, M_RUN | M_EXEC },
	{ "tty-size", "uu", OP_HOST, 1, M_RUN | M_EXEC },
	{ "preserve-fds", "u", OP_HOST, 1, M_RUN | M_EXEC },
	{ "init", "", OP_HOST, 1, M_RUN },
	{ "oom-score-adj", "i", OP_HOST, 1, M_RUN },
	{ "setns", "sp", OP_HOST, 0, M_RUN },
	{ "userns-map", "ss", OP_HOST, 1, M_RUN },
	/* the monitor of a detached container */
	{ "detach", "", OP_HOST, 1, M_RUN | M_EXEC },
	{ "log", "puu", OP_HOST, 1, M_RUN },
	{ "state", "p", OP_HOST, 1, M_RUN },
	{ "release", "", OP_HOST, 1, M_RUN | M_EXEC },
	{ "console-socket", "p", OP_HOST, 1, M_RUN | M_EXEC },
	{ "ready", "", OP_HOST, 1, M_RUN },
	{ "control-fifo", "p", OP_HOST, 1, M_RUN },
	{ "lifeline", "u", OP_HOST, 1, M_RUN },
	{ "on-exit", "ps*", OP_HOST, 1, M_RUN },
	{ "attach", "pu", OP_HOST, 1, M_RUN },
	{ "stdin", "", OP_HOST, 1, M_RUN | M_EXEC },
	{ "relay", "", OP_HOST, 1, M_RUN | M_EXEC },
	{ "exit-event", "ps", OP_HOST, 1, M_EXEC },
	/* health checks, scheduled by the monitor (health.c) */
	{ "health", "uuuuup", OP_HOST, 1, M_RUN },
	{ "health-exec", "b", OP_HOST, 1, M_RUN },
	{ "health-event", "ps", OP_HOST, 1, M_RUN },
	{ "health-on-failure", "suu", OP_HOST, 1, M_RUN },
	/* exec */
	{ "join", "u", OP_HOST, 1, M_EXEC },
	/* child-side steps, in order */
	{ "hostname", "s", OP_STEP, 0, M_RUN },
	{ "domainname", "s", OP_STEP, 1, M_RUN },
	{ "propagation", "u", OP_STEP, 0, M_RUN },
	{ "propagation-of", "pu", OP_STEP, 0, M_RUN },
	{ "rootfs", "ssuss", OP_STEP, 1, M_RUN },
	{ "mount", "sssus", OP_STEP, 0, M_RUN },
	{ "bind", "psu", OP_STEP, 0, M_RUN },
	{ "copy-up", "sp", OP_STEP, 0, M_RUN },
	{ "mknod", "suuu", OP_STEP, 0, M_RUN },
	{ "symlink", "ss", OP_STEP, 0, M_RUN },
	{ "pivot", "", OP_STEP, 1, M_RUN },
	{ "mask", "s", OP_STEP, 0, M_RUN },
	{ "readonly", "s", OP_STEP, 0, M_RUN },
	{ "remount", "su", OP_STEP, 0, M_RUN },
	{ "sysctl", "ss", OP_STEP, 0, M_RUN },
	{ "loopback-up", "", OP_STEP, 1, M_RUN },
	{ "await-cgroups", "", OP_STEP, 1, M_RUN },
	{ "hook", "sussupss*", OP_STEP, 0, M_RUN },
	/* process attributes */
	{ "rlimit", "uii", OP_ATTR, 0, M_RUN | M_EXEC },
	{ "no-new-privs", "", OP_ATTR, 1, M_RUN | M_EXEC },
	{ "user", "uu", OP_ATTR, 1, M_RUN | M_EXEC },
	{ "groups", "u*", OP_ATTR, 1, M_RUN | M_EXEC },
	{ "caps", "uuuuu", OP_ATTR, 1, M_RUN | M_EXEC },
	{ "cwd", "s", OP_ATTR, 1, M_RUN | M_EXEC },
	{ "env", "s*", OP_ATTR, 1, M_RUN | M_EXEC },
	{ "seccomp", "b", OP_ATTR, 1, M_RUN | M_EXEC },
	{ "args", "ss*", OP_ATTR, 1, M_RUN | M_EXEC },
	{ "start-hook", "sussupss*", OP_ATTR, 0, M_RUN },
	{ "umask", "u", OP_ATTR, 1, M_RUN | M_EXEC },
	{ "personality", "u", OP_ATTR, 1, M_RUN | M_EXEC },
};

/* the nested exec spec of `health-exec` (spec_probe) */
static struct spec probe_spec;

const struct spec *spec_probe(void)
{
	return &probe_spec;
}

/* "" for the spec itself, "health-exec: " while the probe's nested spec is parsed */
static const char *where = "";

static void bad(const char *fmt, const char *a, const char *b) __attribute__((noreturn));
static void bad(const char *fmt, const char *a, const char *b)
{
	char msg[256];
	snprintf(msg, sizeof msg, fmt, a, b);
	die("spec", EINVAL, "%s%s", where, msg);
}

static int parse_u(const char *s, uint64_t *v)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

static int parse_i(const char *s, int64_t *v)
{
	char *end;
	if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

uint64_t arg_u(const struct rec *r, unsigned i)
{
	uint64_t v = 0;
	parse_u(r->a[i].p, &v);
	return v;
}

int64_t arg_i(const struct rec *r, unsigned i)
{
	int64_t v = 0;
	parse_i(r->a[i].p, &v);
	return v;
}

const struct rec *spec_find(const struct spec *sp, const char *name)
{
	const struct rec *found = NULL;
	for (size_t i = 0; i < sp->nrecs; i++)
		if (!strcmp(sp->recs[i].op->name, name))
			found = &sp->recs[i];
	return found;
}

static char *read_all(int fd, size_t *n)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		die("spec", ENOMEM, "out of memory");
	for (;;) {
		if (len == cap) {
			if (cap >= SPEC_MAX)
				die("spec", EFBIG, "spec larger than %u bytes", SPEC_MAX);
			cap *= 2;
			if (!(buf = realloc(buf, cap)))
				die("spec", ENOMEM, "out of memory");
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("spec", errno, "read spec from fd %d", fd);
		if (r == 0)
			break;
		len += (size_t)r;
	}
	*n = len;
	return buf;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Checks one record's arguments against its op's type string. */
static void check_args(const struct rec *r)
{
	const char *t = r->op->types;
	size_t nt = strlen(t);
	int rep = nt && t[nt - 1] == '*';
	size_t fixed = rep ? nt - 2 : nt; /* args that must be present */
	if (r->argc < fixed || (!rep && r->argc > nt))
		bad("op %s: wrong number of arguments%s", r->op->name, "");
	for (uint32_t i = 0; i < r->argc; i++) {
		char ty = (rep && i >= nt - 2) ? t[nt - 2] : t[i];
		const struct str *s = &r->a[i];
		if (ty != 'b' && memchr(s->p, 0, s->len))
			bad("op %s: argument contains a NUL byte%s", r->op->name, "");
		uint64_t u;
		int64_t v;
		if (ty == 'u' && parse_u(s->p, &u))
			bad("op %s: bad number %s", r->op->name, s->p);
		if (ty == 'i' && parse_i(s->p, &v))
			bad("op %s: bad number %s", r->op->name, s->p);
		if (ty == 'p' && s->p[0] != '/')
			bad("op %s: not an absolute path: %s", r->op->name, s->p);
	}
}

static void spec_parse(const unsigned char *b, size_t n, struct spec *sp, int mode);
static void check_health(struct spec *sp);

void spec_read(int fd, struct spec *sp, int mode)
{
	size_t n;
	unsigned char *b = (unsigned char *)read_all(fd, &n);
	close(fd);
	spec_parse(b, n, sp, mode);
	free(b);
	if (mode == M_RUN)
		check_health(sp);
}

/* Decodes and validates a spec held in memory (the caller keeps b). M_PROBE: the nested exec spec
 * of `health-exec`, i.e. the ops of `exec` without `join` (the monitor joins its container) and
 * without `tty`. */
static void spec_parse(const unsigned char *b, size_t n, struct spec *sp, int mode)
{
	size_t off;
	if (n < 12 || memcmp(b, "BOXSPEC\0", 8))
		bad("bad magic%s%s", "", "");
	if (le32(b + 8) != SPEC_VERSION) {
		char v[16];
		snprintf(v, sizeof v, "%u", le32(b + 8));
		bad("unsupported version %s (this helper speaks version " SPEC_VERSION_TEXT ")%s", v, "");
	}
	off = 12; /* magic 8 + version 4 */
	size_t cap = 0;
	sp->recs = NULL;
	sp->nrecs = 0;
	while (off < n) {
		if (n - off < 4)
			bad("truncated record%s%s", "", "");
		uint32_t argc = le32(b + off);
		off += 4;
		if (argc < 1 || argc > ARGC_MAX)
			bad("bad argc%s%s", "", "");
		struct str *a = calloc(argc, sizeof *a);
		if (!a)
			die("spec", ENOMEM, "out of memory");
		for (uint32_t i = 0; i < argc; i++) {
			if (n - off < 4)
				bad("truncated string length%s%s", "", "");
			uint32_t len = le32(b + off);
			off += 4;
			if (len > n - off)
				bad("truncated string%s%s", "", "");
			if (!(a[i].p = malloc((size_t)len + 1)))
				die("spec", ENOMEM, "out of memory");
			memcpy(a[i].p, b + off, len);
			a[i].p[len] = 0;
			a[i].len = len;
			off += len;
		}
		const struct opdef *op = NULL;
		for (size_t k = 0; k < sizeof OPS / sizeof OPS[0]; k++)
			if (strlen(OPS[k].name) == a[0].len && !memcmp(OPS[k].name, a[0].p, a[0].len))
				op = &OPS[k];
		if (!op) {
			for (char *p = a[0].p; p < a[0].p + a[0].len; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = '?';
			die("spec", EINVAL, "%sunknown op %s", where, a[0].p);
		}
		int m = mode == M_PROBE ? M_EXEC : mode;
		if (!(op->modes & m) || (mode == M_PROBE && (!strcmp(op->name, "join") || !strcmp(op->name, "tty"))))
			bad("op %s is not valid for %s", op->name,
				mode == M_RUN    ? "run"
				: mode == M_EXEC ? "exec"
						 : "a health check");
		if (op->single && spec_find(sp, op->name))
			bad("duplicate op %s%s", op->name, "");
		if (sp->nrecs == cap) {
			cap = cap ? cap * 2 : 32;
			if (!(sp->recs = realloc(sp->recs, cap * sizeof *sp->recs)))
				die("spec", ENOMEM, "out of memory");
		}
		struct rec *r = &sp->recs[sp->nrecs++];
		r->op = op;
		r->argc = argc - 1;
		r->a = a + 1;
		check_args(r);
	}
	const struct rec *sc = spec_find(sp, "seccomp");
	if (sc && (sc->a[0].len == 0 || sc->a[0].len % 8 || sc->a[0].len / 8 > 4096))
		bad("seccomp program length must be a non-zero multiple of 8 (at most 4096 instructions)%s%s", "", "");
	if (!spec_find(sp, "args"))
		bad("missing op args%s%s", "", "");
	if (mode == M_EXEC && !spec_find(sp, "join"))
		bad("missing op join%s%s", "", "");
	if (mode == M_PROBE)
		return;
	if (!spec_find(sp, "detach")) {
		static const char *const need[] = { "state", "on-exit", "health", "attach", "exit-event", "release" };
		for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
			if (spec_find(sp, need[i]))
				bad("op %s needs detach%s", need[i], "");
	} else if (mode == M_EXEC && spec_find(sp, "tty") && !spec_find(sp, "console-socket")) {
		bad("tty with detach is not supported for exec%s%s", "", ""); /* but to a console socket */
	}
	if (spec_find(sp, "relay") && (spec_find(sp, "detach") || spec_find(sp, "tty")))
		bad("op relay cannot go with %s%s", spec_find(sp, "tty") ? "tty" : "detach", "");
	if (spec_find(sp, "stdin") && !spec_find(sp, "attach") && !spec_find(sp, "relay"))
		bad("op stdin needs attach or relay%s%s", "", "");
	/* the log of what the monitor reads, or of what the helper relays in the foreground */
	if (spec_find(sp, "log") && !spec_find(sp, "detach") && !spec_find(sp, "relay") && !spec_find(sp, "tty"))
		bad("op log needs detach, relay or tty%s%s", "", "");
	if (spec_find(sp, "release")) { /* the container's own stdio and parent are the caller's */
		static const char *const alone[] = { "init", "log", "on-exit", "health", "attach" };
		for (size_t i = 0; i < sizeof alone / sizeof alone[0]; i++)
			if (spec_find(sp, alone[i]))
				bad("op %s cannot go with release%s", alone[i], "");
		if (spec_find(sp, "tty") && !spec_find(sp, "console-socket"))
			bad("op tty with release needs console-socket%s%s", "", "");
	}
	if (spec_find(sp, "console-socket") && !(spec_find(sp, "release") && spec_find(sp, "tty")))
		bad("op console-socket needs release and tty%s%s", "", "");
	/* the helper waits for the child set up before start's go only where the child waits for it */
	if (spec_find(sp, "ready") && !spec_find(sp, "release"))
		bad("op ready needs release%s%s", "", "");
	if (spec_find(sp, "tty-size") && !spec_find(sp, "tty"))
		bad("op tty-size needs tty%s%s", "", "");
}

/* `health` and its companions: all or nothing, and the nested exec spec of the probe is valid. */
static void check_health(struct spec *sp)
{
	const struct rec *h = spec_find(sp, "health"), *x = spec_find(sp, "health-exec");
	static const char *const need[] = { "health-exec", "health-event", "health-on-failure" };
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (!h && spec_find(sp, need[i]))
			bad("op %s needs health%s", need[i], "");
	if (!h)
		return;
	if (!x)
		bad("op health needs health-exec%s%s", "", "");
	if (!arg_u(h, 0) || !arg_u(h, 1) || !arg_u(h, 3) || !arg_u(h, 4))
		bad("op health: INTERVAL, START_INTERVAL, TIMEOUT and RETRIES must be positive%s%s", "", "");
	const struct rec *f = spec_find(sp, "health-on-failure");
	if (f && strcmp(f->a[0].p, "kill") && strcmp(f->a[0].p, "stop") && strcmp(f->a[0].p, "restart"))
		bad("op health-on-failure: ACTION must be kill, stop or restart, not %s%s", f->a[0].p, "");
	if (f && (arg_u(f, 1) < 1 || arg_u(f, 1) >= NSIG))
		bad("op health-on-failure: bad signal %s%s", f->a[1].p, "");
	where = "health-exec: ";
	spec_parse((const unsigned char *)x->a[0].p, x->a[0].len, &probe_spec, M_PROBE);
	where = "";
}
