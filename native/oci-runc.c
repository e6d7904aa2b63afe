/* box-runc's native half (PROTOCOL.md, "box-runc"): `box system install-runtime` puts a copy of
 * the helper beside the box executable under the name box-runc. Run so, it reads runc's command
 * line as box's src/cli/oci/ does and answers start, state, kill, delete, ps and list itself from
 * the containers' state files (no Node.js start: these need no policy); everything else, and
 * anything it does not understand exactly (a flag, a signal name, an id runc refuses, a state
 * file of another format), goes to box itself: it execs the `box` beside it with the same argv,
 * so box's Node.js side answers as it always did. */
#define _GNU_SOURCE
#include "oci-runc.h"
#include "oci-cmds.h"
#include "oci-json.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ROOT "/run/box-runc"

static char **saved_argv;
static int saved_argc;
static const char *log_file, *log_format = "text";
static int debug;

int oci_is_runc(const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	return !strcmp(base ? base + 1 : argv0, "box-runc");
}

void oci_delegate(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 5);
	char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
	if (slash) {
		strcpy(slash + 1, "box");
		fflush(stdout);
		execv(exe, saved_argv);
	}
	oci_fail("box-runc: cannot run %s (%s): box-runc runs the box executable beside it for this command; "
		 "reinstall it with box system install-runtime",
		slash ? exe : "box", strerror(errno));
	exit(125);
}

/* new Date().toISOString() */
static void iso_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* One line in --log as src/cli/oci/index.ts's makeLog writes it, with one write(2). */
static void log_line(const char *level, const char *msg)
{
	char time[48], *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	if (!f)
		return;
	iso_now(time, sizeof time);
	if (!strcmp(log_format, "json")) {
		fprintf(f, "{\"level\":\"%s\",\"msg\":", level);
		json_put_string(f, msg);
		fprintf(f, ",\"time\":\"%s\"}\n", time);
	} else {
		fprintf(f, "time=\"%s\" level=%s msg=", time, level);
		json_put_string(f, msg);
		putc('\n', f);
	}
	fclose(f);
	/* never through a symlink, even one swapped in after check_log */
	int fd = open(log_file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, line, len) < 0) {
			/* a log we cannot write must not hide the error itself */
		}
		close(fd);
	}
	free(line);
}

static void log_debug(void);

int oci_fail(const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "%s\n", msg ? msg : fmt);
	log_debug();
	if (log_file && msg)
		log_line("error", msg);
	free(msg);
	return 125;
}

/* A flag of runc's grammar (Go's flag package): -name or --name, a value as `--name V` or
 * `--name=V`, a boolean as `--name` or `--name=true|false`. */
struct flag {
	const char *names[2];
	int value; /* takes a value; else a boolean */
	const char *got;
};

/* Reads the flags at argv[*i] on into table; returns 0, or -1 for anything box's Node.js side
 * must judge (an unknown flag, a missing value, a bad boolean). */
static int read_flags(char **argv, int argc, int *i, struct flag *table, size_t n)
{
	for (; *i < argc; (*i)++) {
		const char *a = argv[*i];
		if (!strcmp(a, "--")) {
			(*i)++;
			return 0;
		}
		if (a[0] != '-' || !a[1])
			return 0;
		const char *name = a + (a[1] == '-' ? 2 : 1), *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		struct flag *f = NULL;
		for (size_t k = 0; k < n && !f; k++)
			for (int j = 0; j < 2 && !f; j++)
				if (table[k].names[j] && strlen(table[k].names[j]) == len &&
					!strncmp(table[k].names[j], name, len))
					f = &table[k];
		if (!f)
			return -1;
		if (f->value) {
			f->got = eq ? eq + 1 : argv[++*i];
			if (!f->got)
				return -1;
		} else if (eq && strcmp(eq + 1, "true") && strcmp(eq + 1, "false")) {
			return -1;
		} else {
			f->got = eq ? eq + 1 : "true";
		}
	}
	return 0;
}

static int is_true(const struct flag *f)
{
	return f->got && !strcmp(f->got, "true");
}

/* src/oci/store.ts checkId: runc's rule, nothing a file name cannot be. */
int oci_valid_id(const char *id)
{
	size_t len = strlen(id);
	if (!len || len > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		return 0;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-") == len;
}

/* src/linux/signals.ts signalNumber for numbers and the classic names; 0 for what box must judge
 * (real-time names, spaces). */
static int signal_number(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = { { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL }, { "TRAP", SIGTRAP },
		{ "ABRT", SIGABRT }, { "IOT", SIGIOT }, { "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
		{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
		{ "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },
		{ "STOP", SIGSTOP }, { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG },
		{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
		{ "WINCH", SIGWINCH }, { "IO", SIGIO }, { "POLL", SIGPOLL }, { "PWR", SIGPWR }, { "SYS", SIGSYS } };
	if (*s >= '0' && *s <= '9') {
		if (strspn(s, "0123456789") != strlen(s) || strlen(s) > 3)
			return 0;
		int n = atoi(s);
		return n >= 1 && n <= 64 ? n : 0;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].sig;
	return 0;
}

/* --log must not be a symlink (src/cli/oci/index.ts checkLogFile, the same message): 0, or 125
 * (reported on stderr alone: the log is what is refused). */
static int check_log(void)
{
	struct stat sb;
	if (!log_file || lstat(log_file, &sb) || !S_ISLNK(sb.st_mode))
		return 0;
	const char *file = log_file;
	log_file = NULL;
	return oci_fail(
		"--log %s is a symbolic link: box-runc never writes its log through one; give the file itself", file);
}

/* Node's path.dirname (posix), which src/util/safe-open.ts walks: into buf. */
static void js_dirname(const char *p, char *buf, size_t len)
{
	size_t n = strlen(p), end = 0;
	int found = 0, matched_slash = 1;
	for (size_t i = n; i-- > 1;) {
		if (p[i] == '/') {
			if (!matched_slash) {
				end = i, found = 1;
				break;
			}
		} else {
			matched_slash = 0;
		}
	}
	if (!found)
		snprintf(buf, len, "%s", p[0] == '/' ? "/" : ".");
	else if (p[0] == '/' && end == 1)
		snprintf(buf, len, "//");
	else
		snprintf(buf, len, "%.*s", (int)end, p);
}

/* safe-open.ts trustAncestors: the directories above dir are root's and writable by nobody else,
 * or sticky; shown is the root as given. 0, or 125 (reported). */
static int trust_ancestors(const char *dir, const char *shown)
{
	char p[PATH_MAX], up[PATH_MAX];
	js_dirname(dir, p, sizeof p);
	for (;;) {
		struct stat sb;
		int got = !stat(p, &sb);
		const char *why = "the OCI root %s is inside %s, %s, who could swap the store: choose another --root";
		char what[64];
		if (got && sb.st_uid != 0) {
			snprintf(what, sizeof what, "owned by uid %u", (unsigned)sb.st_uid);
			return oci_fail(why, shown, p, what);
		}
		if (got && (sb.st_mode & 022) && !(sb.st_mode & S_ISVTX)) {
			snprintf(what, sizeof what, "mode %04o, writable by group or others", sb.st_mode & 07777);
			return oci_fail(why, shown, p, what);
		}
		js_dirname(p, up, sizeof up);
		if (!strcmp(up, p))
			return 0;
		strcpy(p, up);
	}
}

/* The OCI root, if it exists, trusted as box trusts its own roots (safe-open.ts trustRoot, same
 * rules and messages): root's, writable by nobody else, in directories only root can change;
 * tightened to 0700. A relative root is box's to judge (its path.dirname walk is Node's). */
static int open_root(const char *root, int *fd)
{
	if (root[0] != '/' || strlen(root) >= PATH_MAX)
		oci_delegate();
	*fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0 && errno == ENOENT)
		return trust_ancestors(root, root);
	if (*fd < 0 && errno == ENOTDIR)
		return oci_fail("the OCI root %s is not a directory: choose another --root", root);
	if (*fd < 0)
		return oci_fail("%s: %s", root, strerror(errno));
	struct stat sb;
	if (fstat(*fd, &sb))
		return oci_fail("%s: %s", root, strerror(errno));
	if (sb.st_uid != 0)
		return oci_fail("the OCI root %s is owned by uid %u, not root: box trusts only a root-owned store; "
				"chown it to root or choose another --root",
			root, (unsigned)sb.st_uid);
	if (sb.st_mode & 022)
		return oci_fail("the OCI root %s has mode %04o, writable by group or others: chmod 700 it or choose "
				"another --root",
			root, sb.st_mode & 07777);
	char real[PATH_MAX];
	if (trust_ancestors(root, root))
		return 125;
	if (!realpath(root, real))
		return oci_fail("%s: %s", root, strerror(errno));
	if (strcmp(real, root) && trust_ancestors(real, root))
		return 125;
	if ((sb.st_mode & 077) && fchmod(*fd, 0700))
		return oci_fail("%s: %s", root, strerror(errno));
	return 0;
}

/* --debug: the command line in the log, as box's side writes it; once, and only for a command
 * answered here (box writes its own when handed one), so before an error or after the answer */
static void log_debug(void)
{
	static int done;
	if (!debug || !log_file || done)
		return;
	done = 1;
	char *msg = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&msg, &len);
	if (!f)
		return;
	fputs("box-runc", f);
	for (int i = 1; i < saved_argc; i++)
		fprintf(f, " %s", saved_argv[i]);
	fclose(f);
	log_line("debug", msg);
	free(msg);
}

int oci_main(int argc, char **argv)
{
	saved_argv = argv, saved_argc = argc;
	struct flag global[] = {
		{ { "root" }, 1, NULL },
		{ { "box-root" }, 1, NULL },
		{ { "log" }, 1, NULL },
		{ { "log-format" }, 1, NULL },
		{ { "debug" }, 0, NULL },
		{ { "rootless" }, 1, NULL },
	};
	int i = 1;
	if (read_flags(argv, argc, &i, global, sizeof global / sizeof global[0]) || i == argc || geteuid() != 0)
		oci_delegate();
	const char *root = global[0].got ? global[0].got : DEFAULT_ROOT;
	log_file = global[2].got;
	if (global[3].got)
		log_format = global[3].got;
	debug = is_true(&global[4]);
	const char *rootless = global[5].got;
	if ((strcmp(log_format, "text") && strcmp(log_format, "json")) ||
		(rootless && strcmp(rootless, "false") && strcmp(rootless, "auto")))
		oci_delegate();

	const char *cmd = argv[i++];
	struct flag flags[] = {
		{ { "all", "a" }, 0, NULL },
		{ { "force", "f" }, 0, NULL },
		{ { "format", "f" }, 1, NULL },
		{ { "quiet", "q" }, 0, NULL },
	};
	/* each command's own flags: kill --all, delete --force, ps --format, list --format --quiet */
	struct flag *mine = !strcmp(cmd, "kill")     ? &flags[0]
			    : !strcmp(cmd, "delete") ? &flags[1]
			    : !strcmp(cmd, "ps")     ? &flags[2]
			    : !strcmp(cmd, "list")   ? &flags[2]
						     : NULL;
	size_t nmine = !strcmp(cmd, "list") ? 2 : mine ? 1 : 0;
	if (strcmp(cmd, "start") && strcmp(cmd, "state") && !mine)
		oci_delegate();
	if (read_flags(argv, argc, &i, mine, nmine))
		oci_delegate();
	char **args = argv + i;
	int nargs = argc - i;
	const char *format = flags[2].got ? flags[2].got : "table";
	if (strcmp(format, "table") && strcmp(format, "json"))
		oci_delegate();

	/* kill ID [SIGNAL]; the others take one ID but list; usage and id errors are box's */
	int kill = !strcmp(cmd, "kill"), sig = kill && nargs == 2 ? signal_number(args[1]) : SIGTERM;
	if (kill ? nargs < 1 || nargs > 2 || !sig : strcmp(cmd, "list") && nargs != 1)
		oci_delegate();
	if (nargs && !oci_valid_id(args[0]))
		oci_delegate();
	int rootfd = -1;
	if (check_log() || open_root(root, &rootfd))
		return 125;
	oci_use_root(root, rootfd);
	int r;
	if (!strcmp(cmd, "start"))
		r = oci_start(args[0]);
	else if (!strcmp(cmd, "state"))
		r = oci_state(args[0]);
	else if (!strcmp(cmd, "delete"))
		r = oci_delete(args[0], is_true(&flags[1]));
	else if (!strcmp(cmd, "ps"))
		r = oci_ps(args[0], !strcmp(format, "json"));
	else if (!strcmp(cmd, "list"))
		r = oci_list(!strcmp(format, "json"), is_true(&flags[3]));
	else
		r = oci_kill(args[0], sig, is_true(&flags[0]));
	log_debug();
	return r;
}
