/* box-helper: the cloned child. Order (PROTOCOL.md): go-ahead, cgroupns, child-side steps, pty,
 * rlimits, bounding set, [init: fork], keepcaps, groups/gid/uid, capabilities, no-new-privs, cwd,
 * seccomp, execve. Also the forked child of `box-helper exec` (exec_child_main), which shares
 * everything from the pty on. */
#define _GNU_SOURCE
#include "child.h"
#include "ctx.h"
#include "hook.h"
#include "init.h"
#include "mounts.h"
#include "report.h"
#include "signals.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <grp.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* the process attributes of the spec (child_ops) */
static struct proc_ops P;
static int cgroupns;                /* `cgroupns`: a new cgroup namespace once in the container's cgroups */
static int last_cap;                /* the host's highest capability number */
static pid_t parent_pid;            /* child_watch_parent */
static const struct rec *tty_size;  /* `tty-size ROWS COLS` */
static int userns;                  /* `userns-map`: become the new user namespace's root once it is mapped */
static int ready;                   /* `ready`: say so on the error pipe once set up, before waiting for go */
static const struct spec *run_spec; /* its `start-hook` ops run after go (exec_cmd) */

static int read_last_cap(void)
{
	char buf[16] = { 0 };
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0)
			return atoi(buf);
	}
	return 63; /* PR_CAPBSET_DROP of an unknown cap fails with EINVAL, which is ignored */
}

void child_ops(const struct spec *sp)
{
	cgroupns = spec_find(sp, "cgroupns") != NULL;
	ready = spec_find(sp, "ready") != NULL;
	userns = spec_find(sp, "userns-map") != NULL;
	tty_size = spec_find(sp, "tty-size");
	last_cap = read_last_cap();
	P.oom = spec_find(sp, "oom-score-adj");
	P.nnp = spec_find(sp, "no-new-privs");
	P.user = spec_find(sp, "user");
	P.groups = spec_find(sp, "groups");
	P.caps = spec_find(sp, "caps");
	P.cwd = spec_find(sp, "cwd");
	P.env = spec_find(sp, "env");
	P.seccomp = spec_find(sp, "seccomp");
	P.args = spec_find(sp, "args");
	P.umask = spec_find(sp, "umask");
	P.personality = spec_find(sp, "personality");
}

const struct proc_ops *child_proc(void)
{
	return &P;
}

void child_watch_parent(pid_t helper)
{
	parent_pid = helper;
}

/* The helper (our parent, or the init's parent) still alive? PR_SET_PDEATHSIG is armed, but a
 * death that happened before it was (re-)armed is only visible as the hang-up of the sync pipe,
 * whose write end only the helper holds. getppid() is 0 across a PID namespace, so it is only
 * checked when the helper said it can be (child_watch_parent; `exec`: never). */
static void check_parent(void)
{
	struct pollfd p = { .fd = C.sync_rd, .events = POLLIN };
	if (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP))
		_exit(125);
	if (parent_pid && getppid() != parent_pid)
		_exit(125);
}

/* The pty of the container (run) or of the exec'd process (exec: console=0, /dev/console is the
 * container's and stays as it is). */
static void setup_tty(int console)
{
	int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		cfail("tty", errno, "open ptmx (is devpts mounted at /dev/pts?)");
	int unlock = 0;
	if (ioctl(m, TIOCSPTLCK, &unlock))
		cfail("tty", errno, "unlockpt");
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (s < 0)
		cfail("tty", errno, "open pty slave");
	/* the caller's window size (fd 0 is still its terminal), before the command can ask: the
	 * helper's copy after it received the master may come later */
	struct winsize ws = { 0 };
	if (tty_size) { /* `tty-size`: the size the caller asked for instead */
		ws.ws_row = (unsigned short)arg_u(tty_size, 0);
		ws.ws_col = (unsigned short)arg_u(tty_size, 1);
		if (ioctl(m, TIOCSWINSZ, &ws))
			cfail("tty-size", errno, "TIOCSWINSZ");
	} else if (ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(m, TIOCSWINSZ, &ws);
	if (P.user && fchown(s, (uid_t)arg_u(P.user, 0), (gid_t)-1))
		cfail("tty", errno, "chown pty slave");
	/* /dev/console is the container's terminal too, as in Docker: bind the pty over it */
	unsigned ptn;
	char pts[32];
	if (ioctl(m, TIOCGPTN, &ptn))
		cfail("tty", errno, "TIOCGPTN");
	snprintf(pts, sizeof pts, "/dev/pts/%u", ptn);
	if (console) {
		int cfd = open("/dev/console", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (cfd < 0)
			cfail("tty", errno, "create /dev/console");
		close(cfd);
		if (mount(pts, "/dev/console", NULL, MS_BIND, NULL))
			cfail("tty", errno, "bind %s over /dev/console", pts);
	}
	if (setsid() < 0)
		cfail("tty", errno, "setsid");
	if (ioctl(s, TIOCSCTTY, 0))
		cfail("tty", errno, "TIOCSCTTY");
	for (int i = 0; i < 3; i++)
		if (dup2(s, i) < 0)
			cfail("tty", errno, "dup2");
	if (s > 2)
		close(s);
	/* hand the master to the helper */
	if (send_fd(C.sock[1], m, "T", 1))
		cfail("tty", errno, "send pty master");
	close(m);
	close(C.sock[1]);
}

static void set_rlimits(const struct spec *sp)
{
	for (size_t i = 0; i < sp->nrecs; i++) {
		const struct rec *r = &sp->recs[i];
		if (strcmp(r->op->name, "rlimit"))
			continue;
		int64_t soft = arg_i(r, 1), hard = arg_i(r, 2);
		struct rlimit rl = {
			.rlim_cur = soft < 0 ? RLIM_INFINITY : (rlim_t)soft,
			.rlim_max = hard < 0 ? RLIM_INFINITY : (rlim_t)hard,
		};
		if (setrlimit((int)arg_u(r, 0), &rl))
			cfail("rlimit", errno, "setrlimit %s", r->a[0].p);
	}
}

static void drop_bounding(void)
{
	if (!P.caps)
		return;
	uint64_t keep = arg_u(P.caps, 0);
	for (int cap = 0; cap <= last_cap; cap++)
		if (cap >= 64 || !(keep & (1ULL << cap)))
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
				cfail("caps", errno, "drop capability %d from the bounding set", cap);
}

static void load_seccomp(void)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(P.seccomp->a[0].len / 8),
		.filter = (struct sock_filter *)P.seccomp->a[0].p,
	};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		cfail("seccomp", errno, "load filter");
}

/* groups/gid/uid and capabilities. mask limits every capability set (the init keeps CAP_KILL). */
void apply_creds(uint64_t mask)
{
	if (P.user || P.caps || mask != ~0ULL)
		prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	if (P.groups) {
		gid_t *g = calloc(P.groups->argc + 1, sizeof *g);
		for (uint32_t i = 0; g && i < P.groups->argc; i++)
			g[i] = (gid_t)arg_u(P.groups, i);
		if (!g || setgroups(P.groups->argc, g))
			cfail("groups", errno, "setgroups");
		free(g);
	} else if (P.user && setgroups(0, NULL)) {
		cfail("groups", errno, "setgroups");
	}
	if (P.user) {
		uid_t u = (uid_t)arg_u(P.user, 0);
		gid_t g = (gid_t)arg_u(P.user, 1);
		if (setresgid(g, g, g))
			cfail("user", errno, "setresgid %u", g);
		if (setresuid(u, u, u))
			cfail("user", errno, "setresuid %u", u);
	}
	/* credential changes clear the parent-death signal: re-arm, then close the race */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	check_parent();
	if (P.caps || mask != ~0ULL) {
		uint64_t eff = ~0ULL, perm = ~0ULL, inh = 0, amb = 0;
		if (P.caps) {
			eff = arg_u(P.caps, 1);
			perm = arg_u(P.caps, 2);
			inh = arg_u(P.caps, 3);
			amb = arg_u(P.caps, 4);
		} else if (P.user && arg_u(P.user, 0) != 0) {
			eff = perm = 0;
		}
		eff &= mask, perm &= mask, inh &= mask, amb &= mask;
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
		struct __user_cap_data_struct d[2] = {
			{ (uint32_t)eff, (uint32_t)perm, (uint32_t)inh },
			{ (uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32) },
		};
		/* never ask for more than is still permitted (the bounding set may be smaller) */
		struct __user_cap_data_struct cur[2];
		if (syscall(SYS_capget, &h, cur) == 0)
			for (int i = 0; i < 2; i++) {
				d[i].permitted &= cur[i].permitted;
				d[i].effective &= d[i].permitted;
			}
		if (syscall(SYS_capset, &h, d))
			cfail("caps", errno, "capset");
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0))
			cfail("caps", errno, "clear ambient capabilities");
		for (int cap = 0; cap < 64 && cap <= last_cap; cap++)
			if ((amb & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0))
				cfail("caps", errno, "raise ambient capability %d", cap);
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* a uid change makes the process dumpable as fs.suid_dumpable says (1 on some hosts): it must
	 * stay non-dumpable until its execve, or forever for the init and a reaper */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		cfail("user", errno, "prctl(PR_SET_DUMPABLE)");
}

/* `preserve-fds N`: the caller's fds, held at PRESERVED_FD.., become the command's 3..N+2 (not
 * close-on-exec), as runc passes them; the error pipe, which must stay open until execve, moves
 * above them first. Every other fd of ours is close-on-exec. */
static void pass_preserved_fds(void)
{
	int n = C.preserved, top = PRESERVED_FD + n + 3;
	int err = fcntl(C.err_wr, F_DUPFD_CLOEXEC, top + n);
	if (err < 0)
		cfail("preserve-fds", errno, "move the error pipe");
	close(C.err_wr);
	C.err_wr = err;
	int *tmp = calloc((size_t)n, sizeof *tmp);
	if (!tmp)
		cfail("preserve-fds", ENOMEM, "out of memory");
	for (int i = 0; i < n; i++) /* out of the way first: the two ranges overlap */
		if ((tmp[i] = fcntl(PRESERVED_FD + i, F_DUPFD_CLOEXEC, top)) < 0)
			cfail("preserve-fds", errno, "dup fd %d", PRESERVED_FD + i);
	for (int i = 0; i < n; i++)
		close(PRESERVED_FD + i);
	for (int i = 0; i < n; i++) {
		if (dup2(tmp[i], 3 + i) < 0)
			cfail("preserve-fds", errno, "dup2 to fd %d", 3 + i);
		close(tmp[i]);
	}
	free(tmp);
}

static void exec_cmd(void) __attribute__((noreturn));
static void exec_cmd(void)
{
	char **argv = calloc(P.args->argc + 1, sizeof *argv);
	uint32_t nenv = P.env ? P.env->argc : 0;
	char **envp = calloc(nenv + 1, sizeof *envp);
	if (!argv || !envp)
		cfail("exec", ENOMEM, "out of memory");
	for (uint32_t i = 0; i < P.args->argc; i++)
		argv[i] = P.args->a[i].p;
	const char *path = DEFAULT_PATH;
	for (uint32_t i = 0; i < nenv; i++) {
		envp[i] = P.env->a[i].p;
		if (!strncmp(envp[i], "PATH=", 5))
			path = envp[i] + 5;
	}
	const char *file = argv[0];
	/* from here on only exec: restore what the helper changed, then the filter, then execve */
	close(rootfd); /* box's own fds: the error pipe alone stays, until execve closes it */
	if (C.release && !C.exec_mode) {
		/* `release` (an OCI create): set up in full, which the helper reports (`pid`), then wait
		 * for the go of `start` to exec */
		if (write(C.ready_wr, "R", 1) != 1)
			_exit(125); /* the helper is gone */
		close(C.ready_wr);
		char go;
		ssize_t n;
		if (ready && write(C.err_wr, "R", 1) != 1)
			_exit(125); /* the helper is gone */
		do
			n = read(C.sync_rd, &go, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(125); /* aborted: the helper kills us, or it died */
	}
	/* startContainer: after start's go (without `release` the steps came after it), in the
	 * container, with the command's credentials */
	for (size_t i = 0; !C.exec_mode && run_spec && i < run_spec->nrecs; i++)
		if (!strcmp(run_spec->recs[i].op->name, "start-hook"))
			hook_run(&run_spec->recs[i]);
	close(C.sync_rd);
	if (C.preserved)
		pass_preserved_fds();
	umask(P.umask ? (mode_t)arg_u(P.umask, 0) & 0777 : 022);
	if (P.personality && personality((unsigned long)arg_u(P.personality, 0)) < 0)
		cfail("personality", errno, "personality(0x%lx)", (unsigned long)arg_u(P.personality, 0));
	signals_restore();
	if (P.seccomp && P.nnp)
		load_seccomp();
	if (C.release) /* it outlives its monitor (`release`): the caller's subreaper waits for it */
		prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (write(C.err_wr, "E", 1) < 0) { /* "about to exec": EOF right after it means started */
	}
	int err = ENOENT;
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		err = errno;
	} else {
		int eacces = 0;
		size_t fl = strlen(file);
		for (const char *p = path;; p++) {
			const char *e = strchrnul(p, ':');
			size_t dl = (size_t)(e - p);
			char *buf = malloc(dl + fl + 3);
			if (!buf)
				cfail("exec", ENOMEM, "out of memory");
			if (dl) {
				memcpy(buf, p, dl);
				buf[dl++] = '/';
			}
			memcpy(buf + dl, file, fl + 1);
			execve(buf, argv, envp);
			err = errno;
			free(buf);
			if (err == EACCES)
				eacces = 1;
			else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENODEV && err != ETIMEDOUT)
				break;
			if (!*e) {
				err = eacces ? EACCES : ENOENT;
				break;
			}
			p = e;
		}
	}
	cfail("exec", err, "%s: %s", file, strerror(err));
}

/* Blocks until the helper has moved us into the container's cgroups (the go-ahead byte), then
 * enters a new cgroup namespace rooted there. Where the spec puts `await-cgroups`, the mount steps
 * before it overlap with the helper's cgroup writes, which are slow on cgroup v1 (each attach waits
 * for an RCU grace period). */
static void await_cgroups(const struct spec *sp)
{
	char go;
	if (read(C.sync_rd, &go, 1) != 1)
		_exit(125); /* the helper failed or died before the go-ahead */
	check_parent();
	/* the maps are written: our host uid is none of the new namespace's, its root is (runc does
	 * the same); the capabilities in it stay, as the change is to its root */
	if (userns && (setresgid(0, 0, 0) || setgroups(0, NULL) || setresuid(0, 0, 0)))
		cfail("userns-map", errno, "become root of the user namespace (is 0 mapped?)");
	/* cgroup v1: the child moves itself by writing "0" to each hierarchy's `tasks` file. The kernel
	 * migrates a single thread that is the caller without taking the global threadgroup lock, which
	 * a write of another process's pid to cgroup.procs takes (milliseconds per hierarchy). */
	for (size_t i = 0; i < sp->nrecs; i++) {
		const struct rec *r = &sp->recs[i];
		if (!strcmp(r->op->name, "cgroup-join") && write_file(r->a[0].p, "0"))
			cfail("cgroup-join", errno, "write %s", r->a[0].p);
	}
	if (cgroupns && unshare(CLONE_NEWCGROUP))
		cfail("cgroupns", errno, "unshare(CLONE_NEWCGROUP)");
}

/* The host's /dev/null never reaches the container: a detached container's stdin (box's own
 * /dev/null), a probe's, or a caller's. Through /proc/self/fd/0, root in the container could chmod
 * or chown that host device node, as it can any file it holds. Fds 0-2 that are the host's null
 * device become the container's own /dev/null (made by box in its /dev), as the command would get
 * from an open of /dev/null itself. */
static void own_null_stdio(void)
{
	int null = -1;
	for (int fd = 0; fd < 3; fd++) {
		if (!is_host_devnull(fd))
			continue;
		if (null < 0)
			null = container_null(1);
		if (null == -2)
			cfail("stdio", EPERM,
				"the container's /dev/null is not the null device (a link or another file): box "
				"gives the host's to no container; make /dev/null the null device (char 1:3)");
		if (null < 0)
			cfail("stdio", errno, "open the container's /dev/null for its standard input and output");
		if (dup2(null, fd) < 0)
			cfail("stdio", errno, "dup2 the container's /dev/null to fd %d", fd);
	}
	if (null >= 0)
		close(null);
}

/* Process attributes shared by `run` (before the init forks) and `exec`. */
static void attrs_begin(const struct spec *sp)
{
	set_rlimits(sp);
	drop_bounding();
}

/* The rest of the process attributes, then execve (PROTOCOL.md "Order inside the child"). */
static void attrs_exec(void) __attribute__((noreturn));
static void attrs_exec(void)
{
	long uid = P.user ? (long)arg_u(P.user, 0) : -1, gid = P.user ? (long)arg_u(P.user, 1) : -1;
	if (P.cwd)
		make_cwd(P.cwd->a[0].p, uid, gid);
	/* without no_new_privs the filter needs CAP_SYS_ADMIN: load it while we still have it (runc does
	 * the same); with no_new_privs it is loaded last, right before execve */
	if (P.seccomp && !P.nnp)
		load_seccomp();
	apply_creds(~0ULL);
	if (P.nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		cfail("no-new-privs", errno, "prctl");
	if (P.cwd && chdir(P.cwd->a[0].p))
		cfail("cwd", errno, "chdir %s", P.cwd->a[0].p);
	/* runc CVE-2024-21626: a directory reached through a host descriptor (a leaked fd's
	 * /proc/self/fd/N) lies outside the root, and the kernel's getcwd says "(unreachable)" (glibc:
	 * ENOENT). make_cwd already refuses magic links; this holds whatever the path was. */
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd) || cwd[0] != '/')
		cfail("cwd", errno ? errno : ENOENT, "the working directory is outside the container's root");
	exec_cmd();
}

/* The first thing a forked or cloned child does: it keeps only the descriptors it still needs (the
 * sync and error pipes, the init's report pipe, the tty socket, an exec's cgroup files) and closes
 * every other one (the status fd, the host's /dev/null, whatever the monitor holds: its log,
 * attach socket, health pipes...). Those it keeps are box's own pipes and sockets, close-on-exec,
 * or closed by the child before it runs anything of the container's. */
static void keep_child_fds(const int *cg_fds, size_t ncg)
{
	int *keep = calloc(5 + ncg, sizeof *keep);
	if (!keep)
		cfail("fds", ENOMEM, "out of memory");
	int n = 0;
	keep[n++] = C.sync_rd;
	keep[n++] = C.err_wr;
	keep[n++] = C.ist_wr;
	keep[n++] = C.tty ? C.sock[1] : -1;
	keep[n++] = C.ready_wr;
	for (size_t i = 0; i < ncg; i++)
		keep[n++] = cg_fds[i];
	close_fds_but_preserved(keep, n, C.preserved);
	free(keep);
	C.sync_wr = C.err_rd = C.ist_rd = C.sock[0] = C.ready_rd = -1; /* the parent's ends */
}

void child_main(const struct spec *sp)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	keep_child_fds(NULL, 0);
	run_spec = sp;
	int await_step = spec_find(sp, "await-cgroups") != NULL;
	if (!await_step)
		await_cgroups(sp);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	umask(0);
	if (P.oom && write_file("/proc/self/oom_score_adj", P.oom->a[0].p))
		cfail("oom-score-adj", errno, "write /proc/self/oom_score_adj");
	if ((rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		cfail("rootfs", errno, "open /");
	for (size_t i = 0; i < sp->nrecs; i++) {
		const struct rec *r = &sp->recs[i];
		if (r->op->kind != OP_STEP)
			continue;
		if (!strcmp(r->op->name, "await-cgroups"))
			await_cgroups(sp);
		else if (!strcmp(r->op->name, "hook"))
			hook_run(r); /* createContainer */
		else
			fs_step(r);
	}
	if (C.tty)
		setup_tty(1);
	own_null_stdio();
	attrs_begin(sp);
	if (C.init)
		if (!C.release)      /* with `release` the caller's subreaper is the command's parent, as with runc */
			init_fork(); /* returns in the command's process only */
	close(C.ist_wr);
	attrs_exec();
}

/* `box-helper exec`: the forked child, in the container's namespaces (the helper joined them
 * before it forked; its parent, the helper, stays outside the PID namespace). Same process
 * attributes as `run`. */
void exec_child_main(const struct spec *sp, const int *cg_fds, size_t ncg)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	keep_child_fds(cg_fds, ncg);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	check_parent();
	/* into the container's cgroups: the helper opened the files before it entered the mount
	 * namespace; the kernel checks the opener's credentials and cgroup namespace */
	size_t k = 0;
	for (size_t i = 0; i < sp->nrecs && k < ncg; i++) {
		const struct rec *r = &sp->recs[i];
		if (strcmp(r->op->name, "cgroup-join"))
			continue;
		if (write(cg_fds[k], "0", 1) != 1)
			cfail("cgroup-join", errno, "write %s", r->a[0].p);
		close(cg_fds[k++]);
	}
	umask(0);
	if ((rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		cfail("join", errno, "open /");
	if (C.tty)
		setup_tty(0);
	own_null_stdio();
	attrs_begin(sp);
	/* this process stays as the command's reaper (init.c), in the container's PID namespace, so
	 * nothing the command leaves behind becomes a zombie under a PID 1 that never reaps */
	if (!C.release)      /* with `release` the caller's subreaper is the command's parent, as with runc */
		init_fork(); /* returns in the command's process only */
	close(C.ist_wr);
	attrs_exec();
}
