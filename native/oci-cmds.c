/* box-runc's native half: start, state, kill, delete, ps and list, answered from a container's
 * state directory as box's src/oci/lifecycle.ts answers them (same checks, same messages, same
 * output byte for byte; test/integration/oci-native.test.ts compares both). What needs more than
 * these files (hooks to run, a paused container to thaw) is left to box's Node.js side. Every file
 * under the OCI root is opened beneath the root's descriptor, never through a symlink. */
#define _GNU_SOURCE
#include "oci-cmds.h"
#include "oci-json.h"
#include "oci-runc.h"
#include "oci-state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* lifecycle.ts: how long start waits for the helper's answer, delete and kill for a monitor's end */
#define ANSWER_MS 30000
#define GONE_MS 10000
#define CGROUP_BUSY_MS 5000

static const char *root_path;
static int root_fd = -1;

void oci_use_root(const char *path, int fd)
{
	root_path = path, root_fd = fd;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* The container's directory: 0 and *dirfd, 1 if it does not exist, or 125 (reported). */
static int open_container(const char *id, int *dirfd)
{
	*dirfd = root_fd < 0 ? -1 : openat(root_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*dirfd >= 0)
		return 0;
	if (root_fd < 0 || errno == ENOENT)
		return 1;
	int err = errno;
	struct stat sb;
	/* O_DIRECTORY refuses a symlink as ENOTDIR before O_NOFOLLOW can as ELOOP: lstat tells them apart */
	int link = err == ELOOP ||
		   (err == ENOTDIR && !fstatat(root_fd, id, &sb, AT_SYMLINK_NOFOLLOW) && S_ISLNK(sb.st_mode));
	if (link)
		return oci_fail("%s/%s is a symbolic link where box keeps its own file: box never follows links in "
				"its store; remove it",
			root_path, id);
	if (err == ENOTDIR)
		return oci_fail(
			"%s/%s is not a directory where box keeps a container's files: remove it", root_path, id);
	errno = err;
	return oci_fail("container %s: %s/%s: %s", id, root_path, id, strerror(errno));
}

/* A container that has a state file: 0, or 125 (reported); the Node.js side takes what else is. */
static int read_state(const char *id, int dirfd, struct oci_state *st)
{
	char msg[128];
	switch (oci_state_read(dirfd, st, msg, sizeof msg)) {
	case OCI_READ_OK:
		return 0;
	case OCI_READ_NONE:
	case OCI_READ_NEWER:
		oci_delegate();
	case OCI_READ_ERROR:
		break;
	}
	if (errno == ELOOP)
		return oci_fail("%s/%s/state is a symbolic link where box keeps its own file: box never follows links "
				"in its store; remove it",
			root_path, id);
	return oci_fail("container %s: its state file %s/%s/state %s", id, root_path, id, msg);
}

/* store.need: the state of a container that must exist. */
static int need(const char *id, struct oci_state *st, int *dirfd)
{
	int r = open_container(id, dirfd);
	if (r == 1)
		return oci_fail("container does not exist: %s", id);
	if (r)
		return r;
	if ((r = read_state(id, *dirfd, st)))
		close(*dirfd);
	return r;
}

static void done(struct oci_state *st, int dirfd)
{
	oci_state_free(st);
	close(dirfd);
}

/* Tells a created container's monitor to kill the waiting init (lifecycle.ts abort). */
static void send_abort(int dirfd)
{
	int fd = openat(dirfd, "control", O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return; /* no FIFO, or nobody holds it: no monitor waits */
	struct stat sb;
	if (!fstat(fd, &sb) && S_ISFIFO(sb.st_mode) && write(fd, "abort\n", 6) < 0) {
		/* the monitor read its line already */
	}
	close(fd);
}

/* Polls until neither the init (if init) nor the monitor is alive, for at most GONE_MS. */
static int until_gone(const struct oci_state *st, int init)
{
	for (long long deadline = now_ms() + GONE_MS;; nap_ms(2)) {
		if (!(init && oci_init_alive(st)) && !oci_monitor_alive(st->monitor_pid))
			return 0;
		if (now_ms() > deadline)
			return oci_fail("box-helper did not answer within %d s", GONE_MS / 1000);
	}
}

/* Node's os.constants.errno name of n (its first for a value glibc names otherwise). */
static const char *errno_name(int n)
{
	if (n == EOPNOTSUPP)
		return "ENOTSUP";
	return n ? strerrorname_np(n) : NULL; /* glibc names 0 "0"; Node.js's table has no name for it */
}

/* runtime/create.ts describeStartError over an `error STAGE ERRNO TEXT` event. */
static int start_error(const char *line, const char *command)
{
	if (!line)
		return oci_fail("box-helper ended without saying how the start went");
	char stage[64] = "", *end;
	const char *p = strchr(line, ' ');
	p = p ? p + 1 : "";
	size_t sl = strcspn(p, " ");
	snprintf(stage, sizeof stage, "%.*s", (int)sl, p);
	p += sl + (p[sl] == ' ');
	long err = strtol(p, &end, 10);
	int numeric = end != p && (*end == ' ' || !*end);
	const char *text = strchr(p, ' ') ? strchr(p, ' ') + 1 : "";
	if (numeric && !strcmp(stage, "exec") && err == ENOENT)
		return oci_fail("%s: executable file not found in $PATH", command);
	if (numeric && !strcmp(stage, "exec") && err == EACCES)
		return oci_fail("%s: permission denied: the file is not executable", command);
	const char *name = numeric ? errno_name((int)err) : NULL;
	return oci_fail("cannot start the container (%s): %s%s%s%s", stage, text, name ? " (" : "", name ? name : "",
		name ? ")" : "");
}

/* The first event line whose first word is one of a or b, copied; NULL if none. */
static char *find_event(int dirfd, const char *a, const char *b)
{
	char *text = oci_read_at(dirfd, "events", 1 << 20), *found = NULL;
	for (char *line = text, *next; line && *line && !found; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		size_t wl = strcspn(line, " ");
		if ((strlen(a) == wl && !strncmp(line, a, wl)) || (b && strlen(b) == wl && !strncmp(line, b, wl)))
			found = strdup(line);
		if (!next)
			break;
	}
	free(text);
	return found;
}

int oci_start(const char *id)
{
	struct oci_state st;
	int dirfd, r = need(id, &st, &dirfd);
	if (r)
		return r;
	if (st.poststart)
		oci_delegate(); /* box runs the hooks */
	enum oci_status status = oci_status(dirfd, &st);
	if (status == OCI_STOPPED)
		return oci_fail("cannot start a container that has stopped");
	if (status != OCI_CREATED)
		return oci_fail("cannot start an already running container");
	int fd = openat(dirfd, "control", O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENXIO)
		return oci_fail("container %s: its monitor is gone; delete it", id);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) || !S_ISFIFO(sb.st_mode))
		return oci_fail("container %s: %s/%s/control is not its monitor's control FIFO", id, root_path, id);
	if (write(fd, "go\n", 3) != 3)
		return oci_fail("container %s: cannot write to its control FIFO: %s", id, strerror(errno));
	close(fd);
	char *line = NULL;
	for (long long deadline = now_ms() + ANSWER_MS; !(line = find_event(dirfd, "started", "error")); nap_ms(2)) {
		if (!oci_monitor_alive(st.monitor_pid)) {
			line = find_event(dirfd, "started", "error");
			if (!line) {
				char *err = find_event(dirfd, "error", NULL);
				r = start_error(err, "");
				free(err);
				return done(&st, dirfd), r;
			}
			break;
		}
		if (now_ms() > deadline)
			return oci_fail("box-helper did not answer within %d s", ANSWER_MS / 1000);
	}
	r = strcmp(line, "started") ? start_error(line, st.command) : 0;
	free(line);
	/* The monitor exits right after `started`, which re-parents the container to the caller's
	 * subreaper (runc's model): a shim or conmon that waits for the init as soon as start returned
	 * must find it its child (under load the monitor could still be there: its waitpid, ECHILD).
	 * The container started either way: past GONE_MS start still succeeds (lifecycle.ts alike). */
	for (long long deadline = now_ms() + GONE_MS; !r && oci_monitor_alive(st.monitor_pid) && now_ms() < deadline;)
		nap_ms(1);
	done(&st, dirfd);
	return r;
}

/* lifecycle.ts stateOf, as JSON.stringify writes it: indented by two spaces, or compact. */
static void put_state(FILE *f, const struct oci_state *st, enum oci_status status, int pretty)
{
	const char *nl = pretty ? "\n  " : "", *sep = pretty ? ": " : ":";
	fprintf(f, "{%s\"ociVersion\"%s%s,%s\"id\"%s%s,", nl, sep, st->oci_version, nl, sep, st->id);
	fprintf(f, "%s\"pid\"%s%d,%s\"status\"%s\"%s\",", nl, sep, status == OCI_STOPPED ? 0 : st->pid, nl, sep,
		oci_status_name(status));
	fprintf(f, "%s\"bundle\"%s%s,%s\"rootfs\"%s%s,", nl, sep, st->bundle, nl, sep, st->rootfs);
	fprintf(f, "%s\"created\"%s%s,%s\"annotations\"%s{", nl, sep, st->created, nl, sep);
	for (size_t i = 0; i < st->nannotations; i++) {
		const char *a = st->annotations[i], *mid = json_skip_string(a);
		fprintf(f, "%s%s%.*s%s%s", i ? "," : "", pretty ? "\n    " : "", (int)(mid - a), a, sep, mid + 1);
	}
	fprintf(f, "%s},%s\"owner\"%s\"\"%s}", st->nannotations && pretty ? "\n  " : "", nl, sep, pretty ? "\n" : "");
}

int oci_state(const char *id)
{
	struct oci_state st;
	int dirfd, r = need(id, &st, &dirfd);
	if (r)
		return r;
	put_state(stdout, &st, oci_status(dirfd, &st), 1);
	putchar('\n');
	done(&st, dirfd);
	return fflush(stdout) ? 125 : 0;
}

static void signal_pid(const struct oci_state *st, pid_t pid, int sig)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return; /* gone meanwhile */
	/* the pid was checked after the pidfd was taken: a recycled one is never signalled */
	if (pid != st->pid || oci_init_alive(st))
		syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
	close(fd);
}

int oci_kill(const char *id, int sig, int all)
{
	struct oci_state st;
	int dirfd, r = need(id, &st, &dirfd);
	if (r)
		return r;
	enum oci_status status = oci_status(dirfd, &st);
	if (status == OCI_STOPPED) {
		r = oci_fail("container not running");
	} else if (status == OCI_CREATED) {
		/* the init waits in the helper, which takes no signal but go or abort: any signal ends it */
		send_abort(dirfd);
		r = until_gone(&st, 0);
	} else if (all) {
		size_t n;
		pid_t *pids = oci_cgroup_pids(&st, &n);
		for (size_t i = 0; i < n; i++)
			signal_pid(&st, pids[i], sig);
		free(pids);
	} else {
		signal_pid(&st, st.pid, sig);
	}
	done(&st, dirfd);
	return r;
}

static void kill_all(const struct oci_state *st)
{
	size_t n;
	pid_t *pids = oci_cgroup_pids(st, &n);
	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	free(pids);
}

/* cgroup-base.ts remove: each hierarchy's directory (EBUSY retried while the last processes of a
 * dead PID namespace leave), then the shared parents no other container uses. */
static int remove_cgroup(const struct oci_state *st)
{
	long long deadline = now_ms() + CGROUP_BUSY_MS;
	for (size_t i = 0; i < st->nroots; i++) {
		char *dir = oci_cgroup_dir(st, i);
		while (dir && rmdir(dir) && errno != ENOENT) {
			if (errno != EBUSY || now_ms() > deadline) {
				int r = oci_fail("cannot remove the container's cgroup %s: %s", dir, strerror(errno));
				free(dir);
				return r;
			}
			kill_all(st);
			nap_ms(5);
		}
		for (char *slash;
			dir && (slash = strrchr(dir, '/')) && (size_t)(slash - dir) > strlen(st->cgroup_roots[i]);) {
			*slash = 0;
			if (rmdir(dir))
				break; /* another container's cgroup is still in it, or it is gone already */
		}
		free(dir);
	}
	return 0;
}

/* rm -r of NAME under PARENT, never following a link. */
static int remove_tree(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : unlinkat(parent, name, 0);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(fd, e->d_name, 0) && errno == EISDIR)
			remove_tree(fd, e->d_name);
	}
	closedir(d);
	return unlinkat(parent, name, AT_REMOVEDIR) && errno != ENOENT ? -1 : 0;
}

int oci_delete(const char *id, int force)
{
	struct oci_state st;
	int dirfd, r = open_container(id, &dirfd);
	if (r == 1) /* lifecycle.ts: nothing to delete is an error unless forced */
		return force ? 0 : oci_fail("container does not exist: %s", id);
	if (r || (r = read_state(id, dirfd, &st)))
		return r;
	if (st.poststop)
		oci_delegate(); /* box runs the hooks */
	enum oci_status status = oci_status(dirfd, &st);
	if ((status == OCI_RUNNING || status == OCI_PAUSED) && !force)
		return oci_fail("cannot delete container %s that is not stopped: %s", id, oci_status_name(status));
	if (status == OCI_PAUSED)
		oci_delegate(); /* box thaws it so that its processes die */
	/* a monitor still waiting for go must hear abort, or it waits for ever */
	send_abort(dirfd);
	if (status == OCI_RUNNING)
		kill_all(&st);
	if (!(r = until_gone(&st, 1)) && !(r = remove_cgroup(&st)) && remove_tree(root_fd, id))
		r = oci_fail("cannot remove %s/%s: %s", root_path, id, strerror(errno));
	done(&st, dirfd);
	return r;
}

/* /proc/PID/cmdline, its arguments joined by spaces (empty ones dropped), as src/cli/oci does. */
static void put_command(FILE *f, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[4096];
	int first = 1, in_word = 0;
	for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
		for (ssize_t i = 0; i < n; i++) {
			if (!buf[i]) {
				in_word = 0;
				continue;
			}
			if (!in_word && !first)
				putc(' ', f);
			in_word = 1, first = 0;
			putc(buf[i], f);
		}
	close(fd);
}

int oci_ps(const char *id, int json)
{
	struct oci_state st;
	int dirfd, r = need(id, &st, &dirfd);
	if (r)
		return r;
	size_t n;
	pid_t *pids = oci_cgroup_pids(&st, &n);
	int width = 3;
	for (size_t i = 0; i < n; i++)
		width = snprintf(NULL, 0, "%d", pids[i]) > width ? snprintf(NULL, 0, "%d", pids[i]) : width;
	if (json)
		putchar('[');
	else
		printf("%-*s   CMD\n", width, "PID");
	for (size_t i = 0; i < n; i++) {
		if (json) {
			printf("%s%d", i ? "," : "", pids[i]);
			continue;
		}
		printf("%-*d   ", width, pids[i]);
		put_command(stdout, pids[i]);
		putchar('\n');
	}
	if (json)
		puts("]");
	free(pids);
	done(&st, dirfd);
	return fflush(stdout) ? 125 : 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct listed {
	struct oci_state st;
	enum oci_status status;
	char *bundle, *created; /* decoded, for the table */
};

static void put_cell(const char *s, size_t width, int last)
{
	fputs(s, stdout);
	for (size_t w = js_length(s); !last && w < width; w++)
		putchar(' ');
	if (!last)
		fputs("   ", stdout);
}

/* The table of src/cli/oci's list: columns as wide as their widest cell, three spaces apart. */
static void put_table(struct listed *c, size_t n)
{
	const char *head[] = { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" };
	char(*pids)[16] = calloc(n + 1, sizeof *pids);
	char **ids = calloc(n + 1, sizeof *ids);
	size_t width[6];
	for (int k = 0; k < 6; k++)
		width[k] = strlen(head[k]);
	for (size_t i = 0; pids && ids && i < n; i++) {
		ids[i] = json_decode_string(c[i].st.id, c[i].st.id + strlen(c[i].st.id));
		snprintf(pids[i], sizeof pids[i], "%d", c[i].status == OCI_STOPPED ? 0 : c[i].st.pid);
		const char *cells[] = { ids[i] ? ids[i] : "", pids[i], oci_status_name(c[i].status),
			c[i].bundle ? c[i].bundle : "", c[i].created ? c[i].created : "", "root" };
		for (int k = 0; k < 6; k++)
			width[k] = js_length(cells[k]) > width[k] ? js_length(cells[k]) : width[k];
	}
	for (int k = 0; k < 6; k++)
		put_cell(head[k], width[k], k == 5);
	putchar('\n');
	for (size_t i = 0; pids && ids && i < n; i++) {
		const char *cells[] = { ids[i] ? ids[i] : "", pids[i], oci_status_name(c[i].status),
			c[i].bundle ? c[i].bundle : "", c[i].created ? c[i].created : "", "root" };
		for (int k = 0; k < 6; k++)
			put_cell(cells[k], width[k], k == 5);
		putchar('\n');
		free(ids[i]);
	}
	free(pids);
	free(ids);
}

int oci_list(int json, int quiet)
{
	char **names = NULL;
	size_t n = 0;
	int dup = root_fd < 0 ? -1 : fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	DIR *d = dup < 0 ? NULL : fdopendir(dup);
	for (struct dirent *e; d && (e = readdir(d));) {
		char **nn = strcmp(e->d_name, ".") && strcmp(e->d_name, "..") ? realloc(names, (n + 1) * sizeof *names)
									      : NULL;
		if (nn && (names = nn))
			names[n++] = strdup(e->d_name);
	}
	if (d)
		closedir(d);
	qsort(names, n, sizeof *names, by_name); /* Node's readdir is sorted so */
	struct listed *c = calloc(n + 1, sizeof *c);
	size_t m = 0;
	for (size_t i = 0; c && i < n; i++) {
		int dirfd;
		struct stat sb;
		char msg[128];
		if (!names[i] || !oci_valid_id(names[i]) ||
			(dirfd = openat(root_fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			continue; /* box's list leaves out what it cannot read, silently */
		enum oci_read got = oci_state_read(dirfd, &c[m].st, msg, sizeof msg);
		if (got == OCI_READ_NEWER ||
			(got == OCI_READ_NONE && !fstatat(dirfd, "record.json", &sb, AT_SYMLINK_NOFOLLOW)))
			oci_delegate(); /* a container the Node.js side knows better */
		if (got == OCI_READ_OK) {
			c[m].status = oci_status(dirfd, &c[m].st);
			c[m].bundle = json_decode_string(c[m].st.bundle, c[m].st.bundle + strlen(c[m].st.bundle));
			c[m].created = json_decode_string(c[m].st.created, c[m].st.created + strlen(c[m].st.created));
			m++;
		} else {
			oci_state_free(&c[m].st);
		}
		close(dirfd);
	}
	if (quiet) {
		for (size_t i = 0; i < m; i++) {
			char *id = json_decode_string(c[i].st.id, c[i].st.id + strlen(c[i].st.id));
			printf("%s\n", id ? id : "");
			free(id);
		}
	} else if (json) {
		putchar('[');
		for (size_t i = 0; i < m; i++) {
			if (i)
				putchar(',');
			put_state(stdout, &c[i].st, c[i].status, 0);
		}
		puts("]");
	} else {
		put_table(c, m);
	}
	for (size_t i = 0; i < m; i++) {
		free(c[i].bundle), free(c[i].created);
		oci_state_free(&c[i].st);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(c);
	return fflush(stdout) ? 125 : 0;
}
