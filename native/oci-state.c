/* box-runc's native half: a container's state file and status. The format is defined by box's
 * src/oci/state-file.ts (see PROTOCOL.md, "box-runc"); KEYS[] below is compared with its
 * STATE_KEYS by test/unit/oci-state-file.test.ts. The status follows src/oci/store.ts's rules. */
#define _GNU_SOURCE
#include "oci-state.h"
#include "oci-json.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAGIC "box-runc-state "
#define STATE_VERSION 1
#define STATE_MAX (1 << 20)

/* The keys of format version 1, in the order box writes them. */
static const char *const KEYS[] = { "id", "ociVersion", "bundle", "rootfs", "created", "command", "pid", "pidStart",
	"monitorPid", "annotation", "hook", "cgroupRoot", "cgroupPath", "freezer" };

char *oci_read_at(int dirfd, const char *name, size_t max)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat sb;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *nb = cap + 8192 > max + 1 ? NULL : realloc(buf, cap += 8192);
			if (!nb) {
				free(buf), close(fd);
				errno = EFBIG;
				return NULL;
			}
			buf = nb;
		}
		ssize_t r = read(fd, buf + len, 4096);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf), close(fd);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/* `"A"` at v, alone on its line: decoded (malloc'd), or NULL. */
static char *one_string(const char *v)
{
	const char *end = json_skip_string(v);
	return end && !*end ? json_decode_string(v, end) : NULL;
}

/* `"A" "B"` at v: both decoded into *a and *b; -1 if malformed. */
static int two_strings(const char *v, char **a, char **b)
{
	const char *mid = json_skip_string(v);
	if (!mid || *mid != ' ' || !(*a = json_decode_string(v, mid)))
		return -1;
	if (!(*b = one_string(mid + 1))) {
		free(*a), *a = NULL;
		return -1;
	}
	return 0;
}

static int literal(const char *v, const char **out)
{
	const char *end = json_skip_string(v);
	*out = v;
	return end && !*end ? 0 : -1;
}

static int number(const char *v, pid_t *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n <= 0 || n > INT_MAX)
		return -1;
	*out = (pid_t)n;
	return 0;
}

static int push(void *arrp, size_t *n, const void *item)
{
	const void ***arr = arrp;
	const void **na = realloc(*arr, (*n + 1) * sizeof **arr);
	if (!na)
		return -1;
	*arr = na;
	na[(*n)++] = item;
	return 0;
}

/* One `KEY VALUE` line into st; -1 if malformed or unknown. */
static int take_line(struct oci_state *st, char *line)
{
	char *v = strchr(line, ' ');
	if (!v)
		return -1;
	*v++ = 0;
	size_t k = 0;
	while (k < sizeof KEYS / sizeof KEYS[0] && strcmp(KEYS[k], line))
		k++;
	switch (k) {
	case 0:
		return literal(v, &st->id);
	case 1:
		return literal(v, &st->oci_version);
	case 2:
		return literal(v, &st->bundle);
	case 3:
		return literal(v, &st->rootfs);
	case 4:
		return literal(v, &st->created);
	case 5:
		return (st->command = one_string(v)) ? 0 : -1;
	case 6:
		return number(v, &st->pid);
	case 7:
		st->pid_start = v;
		return strspn(v, "0123456789") == strlen(v) && *v ? 0 : -1;
	case 8:
		return number(v, &st->monitor_pid);
	case 9: {
		const char *mid = json_skip_string(v);
		const char *end = mid && *mid == ' ' ? json_skip_string(mid + 1) : NULL;
		return end && !*end ? push(&st->annotations, &st->nannotations, v) : -1;
	}
	case 10:
		if (!strcmp(v, "poststart"))
			return st->poststart = 1, 0;
		if (!strcmp(v, "poststop"))
			return st->poststop = 1, 0;
		return -1;
	case 11: {
		char *root = one_string(v);
		return root && root[0] == '/' ? push(&st->cgroup_roots, &st->nroots, root) : -1;
	}
	case 12:
		return (st->cgroup_path = one_string(v)) ? 0 : -1;
	case 13:
		return two_strings(v, &st->freezer_file, &st->freezer_line);
	}
	return -1;
}

enum oci_read oci_state_read(int dirfd, struct oci_state *st, char *msg, size_t msglen)
{
	memset(st, 0, sizeof *st);
	st->text = oci_read_at(dirfd, "state", STATE_MAX);
	if (!st->text) {
		int err = errno;
		if (err == ENOENT)
			return OCI_READ_NONE;
		snprintf(msg, msglen, "cannot be read: %s", strerror(err));
		errno = err;
		return OCI_READ_ERROR;
	}
	char *line = st->text, *next;
	if (strncmp(line, STATE_MAGIC, strlen(STATE_MAGIC)))
		goto bad;
	if (atoi(line + strlen(STATE_MAGIC)) != STATE_VERSION)
		return OCI_READ_NEWER;
	for (line = strchr(line, '\n'); line && line[1]; line = next) {
		line++;
		next = strchr(line, '\n');
		if (!next)
			goto bad; /* a line without its end: cut short */
		*next = 0;
		if (take_line(st, line))
			goto bad;
	}
	if (!st->id || !st->oci_version || !st->bundle || !st->rootfs || !st->created || !st->command || !st->pid ||
		!st->pid_start || !st->monitor_pid || !st->cgroup_path)
		goto bad;
	return OCI_READ_OK;
bad:
	snprintf(msg, msglen, "is not a state file box-runc can read");
	errno = EINVAL;
	return OCI_READ_ERROR;
}

void oci_state_free(struct oci_state *st)
{
	for (size_t i = 0; i < st->nroots; i++)
		free(st->cgroup_roots[i]);
	free(st->cgroup_roots);
	free(st->annotations);
	free(st->command);
	free(st->cgroup_path);
	free(st->freezer_file);
	free(st->freezer_line);
	free(st->text);
	memset(st, 0, sizeof *st);
}

/* Field 3 (state) and 22 (start time) of /proc/PID/stat, after the command's closing ')'. */
static int proc_stat(pid_t pid, char *state, char *start, size_t startlen)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || !p[1] || !p[2])
		return -1;
	*state = p[2];
	p += 2;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	size_t len = strcspn(p, " \n");
	if (len >= startlen)
		return -1;
	memcpy(start, p, len);
	start[len] = 0;
	return 0;
}

int oci_init_alive(const struct oci_state *st)
{
	char state, start[32];
	if (proc_stat(st->pid, &state, start, sizeof start) || state == 'Z' || state == 'X')
		return 0;
	return !strcmp(start, st->pid_start);
}

int oci_monitor_alive(pid_t pid)
{
	char path[64], exe[PATH_MAX], state, start[32];
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/exe", pid);
	ssize_t n = readlink(path, exe, sizeof exe - 1);
	if (n < 0)
		return 0;
	exe[n] = 0;
	if (!strstr(exe, "box-helper"))
		return 0;
	return !proc_stat(pid, &state, start, sizeof start) && state != 'Z' && state != 'X';
}

/* A line of text equal to want. */
static int has_line(const char *text, const char *want)
{
	size_t wl = strlen(want);
	for (const char *p = text; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, want, wl) && (p[wl] == '\n' || !p[wl]))
			return 1;
	}
	return 0;
}

/* A line starting with word and a space (or the line is the word). */
static int has_word(const char *text, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = text; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, word, wl) && (p[wl] == ' ' || p[wl] == '\n' || !p[wl]))
			return 1;
	}
	return 0;
}

static int frozen(const struct oci_state *st)
{
	if (!st->freezer_file)
		return 0;
	char *text = oci_read_at(AT_FDCWD, st->freezer_file, 1 << 16);
	int yes = text && has_line(text, st->freezer_line);
	free(text);
	return yes;
}

enum oci_status oci_status(int dirfd, const struct oci_state *st)
{
	char *mon = oci_read_at(dirfd, "monitor", 1 << 16);
	int exited = mon && has_word(mon, "exited"), started = mon && has_word(mon, "started");
	free(mon);
	if (exited || !oci_init_alive(st))
		return OCI_STOPPED;
	if (!started) {
		char *events = oci_read_at(dirfd, "events", STATE_MAX);
		started = events && has_line(events, "started");
		free(events);
	}
	if (!started)
		return oci_monitor_alive(st->monitor_pid) ? OCI_CREATED : OCI_STOPPED;
	return frozen(st) ? OCI_PAUSED : OCI_RUNNING;
}

const char *oci_status_name(enum oci_status s)
{
	static const char *const names[] = { "created", "running", "paused", "stopped" };
	return names[s];
}

char *oci_cgroup_dir(const struct oci_state *st, size_t i)
{
	size_t rl = strlen(st->cgroup_roots[i]);
	char *dir = malloc(rl + strlen(st->cgroup_path) + 2), *o = dir;
	if (!dir)
		return NULL;
	memcpy(o, st->cgroup_roots[i], rl);
	o += rl;
	*o++ = '/';
	/* as path.join: one slash between the parts, none doubled, none at the end */
	for (const char *p = st->cgroup_path; *p; p++)
		if (*p != '/' || o[-1] != '/')
			*o++ = *p;
	while (o > dir + 1 && o[-1] == '/')
		o--;
	*o = 0;
	return dir;
}

pid_t *oci_cgroup_pids(const struct oci_state *st, size_t *n)
{
	pid_t *pids = NULL;
	*n = 0;
	for (size_t i = 0; i < st->nroots; i++) {
		char *dir = oci_cgroup_dir(st, i), *file = NULL;
		if (!dir || asprintf(&file, "%s/cgroup.procs", dir) < 0)
			file = NULL;
		char *text = file ? oci_read_at(AT_FDCWD, file, 1 << 22) : NULL;
		free(dir), free(file);
		for (char *p = text, *end; p && *p; p = end) {
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			size_t k = 0;
			while (k < *n && pids[k] != (pid_t)v)
				k++;
			if (k == *n) {
				pid_t *np = realloc(pids, (*n + 1) * sizeof *pids);
				if (!np)
					break;
				pids = np;
				pids[(*n)++] = (pid_t)v;
			}
		}
		free(text);
	}
	return pids;
}
