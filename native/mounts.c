/* box-helper: child-side steps (hostname, propagation[-of], rootfs, mount, bind, copy-up, mknod,
 * symlink, pivot, mask, readonly, remount, sysctl). Runs in the cloned child only: errors go
 * through cfail().
 *
 * Container paths are resolved with openat2(rootfd, ..., RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS),
 * so a symlink inside the rootfs can never lead a mount outside of it, and the resolved O_PATH fd
 * is used as the mount target through /proc/self/fd/N. `bind` goes further: the source is opened
 * without following any symlink, cloned as a detached tree (open_tree), given its flags there
 * (mount_setattr) and attached to the target's fd (move_mount): no path is looked up twice, so a
 * target swapped for a symlink meanwhile (runc CVE-2021-30465) can redirect nothing. */
#define _GNU_SOURCE
#include "mounts.h"
#include "copyup.h"
#include "net.h"
#include "report.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PROPAGATION (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)

int rootfd = -1;

struct fdp {
	char s[40];
};

static struct fdp fd_path(int fd)
{
	struct fdp p;
	snprintf(p.s, sizeof p.s, "/proc/self/fd/%d", fd);
	return p;
}

static const char *nz(const struct str *s)
{
	return s->len ? s->p : NULL;
}

/* A container path opened with flags (close-on-exec), or -1 with errno. */
static int open_in_root(const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(O_CLOEXEC | flags),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

/* O_PATH fd for a container path, or -1 with errno. */
static int resolve(const char *path, int flags)
{
	return open_in_root(path, O_PATH | flags);
}

/* Splits "a/b/c//" into parent "a/b" and base "c" (in place); parent "/" for a top-level name. */
static char *split(char *path, char **base)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = 0;
	char *slash = strrchr(path, '/');
	if (!slash) {
		*base = path;
		return ".";
	}
	*slash = 0;
	*base = slash + 1;
	return slash == path ? "/" : path;
}

/* Resolves a container path, creating missing components: directories, and the last one as a
 * directory (dir=1) or an empty file (dir=0). uid/gid >= 0: chown what was created. */
static int resolve_create(const char *path, int dir, long uid, long gid)
{
	int fd = resolve(path, dir ? O_DIRECTORY : 0);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	char *copy = strdup(path), *base;
	if (!copy)
		return -1;
	char *parent = split(copy, &base);
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		free(copy);
		errno = ENOENT;
		return -1;
	}
	int pfd = resolve_create(parent, 1, uid, gid);
	if (pfd < 0) {
		int e = errno;
		free(copy);
		errno = e;
		return -1;
	}
	int r;
	if (dir) {
		r = mkdirat(pfd, base, 0755);
	} else {
		r = openat(pfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (r >= 0)
			close(r);
	}
	if (r >= 0 && uid >= 0 && fchownat(pfd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW))
		r = -1;
	int err = errno;
	close(pfd);
	free(copy);
	if (r < 0 && err != EEXIST) {
		errno = err;
		return -1;
	}
	return resolve(path, dir ? O_DIRECTORY : 0);
}

/* Parent directory fd (created if missing) and base name, for mknod/symlink. */
static int parent_of(const struct rec *r, const char *path, char **copy, char **base)
{
	*copy = strdup(path);
	if (!*copy)
		cfail(r->op->name, ENOMEM, "out of memory");
	char *parent = split(*copy, base);
	int pfd = resolve_create(parent, 1, -1, -1);
	if (pfd < 0)
		cfail(r->op->name, errno, "resolve %s", parent);
	return pfd;
}

/* Per-mount flags of the mount holding fd, to keep nosuid/nodev/noexec/atime bits on remount. */
static unsigned long keep_flags(int fd)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (fstatvfs(fd, &sv))
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* rootfs: SRC FSTYPE FLAGS DATA DIR (DIR is a host path)
 * mount:  SRC TARGET FSTYPE FLAGS DATA (TARGET is a container path) */
static void do_mount(const struct rec *r, int is_rootfs)
{
	const char *st = r->op->name;
	const struct str *src = &r->a[0];
	const char *target = is_rootfs ? r->a[4].p : r->a[1].p;
	const char *fstype = nz(&r->a[is_rootfs ? 1 : 2]);
	unsigned long flags = arg_u(r, is_rootfs ? 2 : 3);
	const char *data = nz(&r->a[is_rootfs ? 3 : 4]);
	unsigned long prop = flags & PROPAGATION, base = flags & ~PROPAGATION;
	int dir = 1;
	struct stat sb;
	if ((base & MS_BIND) && src->len && stat(src->p, &sb) == 0 && !S_ISDIR(sb.st_mode))
		dir = 0;
#define TARGET() (is_rootfs ? open(target, O_PATH | O_DIRECTORY | O_CLOEXEC) : resolve_create(target, dir, -1, -1))
	int fd = TARGET();
	if (fd < 0)
		cfail(st, errno, "resolve %s", target);
	if (base & MS_BIND) {
		if (mount(nz(src), fd_path(fd).s, NULL, MS_BIND | (base & MS_REC), NULL))
			cfail(st, errno, "bind %s on %s", src->p, target);
		unsigned long extra = base & ~(MS_BIND | MS_REC | MS_REMOUNT);
		if (extra) {
			close(fd);
			if ((fd = TARGET()) < 0)
				cfail(st, errno, "resolve %s", target);
			if (mount(NULL, fd_path(fd).s, NULL, MS_BIND | MS_REMOUNT | extra, NULL))
				cfail(st, errno, "remount %s", target);
		}
	} else if (mount(nz(src), fd_path(fd).s, fstype, base, data)) {
		cfail(st, errno, "mount %s (%s) on %s", src->p, fstype ? fstype : "", target);
	}
	if (prop) {
		close(fd);
		if ((fd = TARGET()) < 0)
			cfail(st, errno, "resolve %s", target);
		if (mount(NULL, fd_path(fd).s, NULL, prop | (flags & MS_REC), NULL))
			cfail(st, errno, "propagation of %s", target);
	}
#undef TARGET
	close(fd);
	if (is_rootfs) {
		/* later paths resolve inside the freshly mounted root */
		close(rootfd);
		if ((rootfd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			cfail(st, errno, "open %s", target);
	}
}

/* bind: SRC TARGET FLAGS (SRC a host path, opened with no symlink on the way) */
static void do_bind(const struct rec *r)
{
	const char *src = r->a[0].p, *target = r->a[1].p;
	unsigned long flags = arg_u(r, 2);
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int sfd;
	do
		sfd = (int)syscall(SYS_openat2, AT_FDCWD, src, &how, sizeof how);
	while (sfd < 0 && errno == EAGAIN);
	if (sfd < 0)
		cfail("bind", errno, "open the source %s (no symbolic link may be on its way)", src);
	struct stat sb;
	if (fstat(sfd, &sb))
		cfail("bind", errno, "stat %s", src);
	unsigned rec = (flags & MS_REC) ? AT_RECURSIVE : 0;
	int tree = (int)syscall(SYS_open_tree, sfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
	if (tree < 0)
		cfail("bind", errno, "clone the mount of %s", src);
	struct mount_attr attr = { 0 };
	if (flags & MS_RDONLY)
		attr.attr_set |= MOUNT_ATTR_RDONLY;
	if (flags & MS_NOSUID)
		attr.attr_set |= MOUNT_ATTR_NOSUID;
	if (flags & MS_NODEV)
		attr.attr_set |= MOUNT_ATTR_NODEV;
	if (flags & MS_NOEXEC)
		attr.attr_set |= MOUNT_ATTR_NOEXEC;
	if (attr.attr_set && syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | rec, &attr, sizeof attr))
		cfail("bind", errno, "set the flags of %s", target);
	int fd = resolve_create(target, S_ISDIR(sb.st_mode), -1, -1);
	if (fd < 0)
		cfail("bind", errno, "resolve %s", target);
	if (syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH))
		cfail("bind", errno, "bind %s on %s", src, target);
	struct mount_attr prop = { .propagation = flags & PROPAGATION };
	if (prop.propagation && syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | rec, &prop, sizeof prop))
		cfail("bind", errno, "propagation of %s", target);
	close(fd);
	close(tree);
	close(sfd);
}

/* copy-up: TARGET SRC (TARGET in the container, the image's content; SRC the volume's directory) */
static void do_copy_up(const struct rec *r)
{
	int fd = resolve(r->a[0].p, O_DIRECTORY);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return; /* nothing in the image there */
	if (fd < 0)
		cfail("copy-up", errno, "resolve %s", r->a[0].p);
	copy_up(fd, r->a[1].p);
	close(fd);
}

static void do_pivot(void)
{
	/* the old root, by descriptor: after pivot_root(".", ".") the path "." may name the new root,
	 * and making that rslave would cut a shared bind (rshared) off from its host mount */
	int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0)
		cfail("pivot", errno, "open the old root");
	if (fchdir(rootfd))
		cfail("pivot", errno, "fchdir to the rootfs");
	if (syscall(SYS_pivot_root, ".", "."))
		cfail("pivot", errno, "pivot_root");
	if (fchdir(oldroot))
		cfail("pivot", errno, "fchdir to the old root");
	close(oldroot);
	/* never let the old root's unmount propagate anywhere (the host's shared mounts below it) */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL))
		cfail("pivot", errno, "make old root rslave");
	if (umount2(".", MNT_DETACH))
		cfail("pivot", errno, "detach old root");
	if (chdir("/"))
		cfail("pivot", errno, "chdir /");
	close(rootfd);
	if ((rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		cfail("pivot", errno, "open /");
}

int container_null(int rdwr)
{
	/* runc CVE-2025-31133: the container's /dev/null may have been replaced (a volume or bind over
	 * /dev) by a symlink to, say, /proc/sys/kernel/core_pattern. Opened without following a link
	 * and judged by what was opened, so a swap meanwhile changes nothing. */
	int fd = open_in_root("/dev/null", O_NOFOLLOW | (rdwr ? O_RDWR | O_NOCTTY : O_PATH));
	struct stat st;
	if (fd < 0 && errno == ELOOP)
		return -2; /* a link, refused by O_NOFOLLOW */
	if (fd < 0 || fstat(fd, &st))
		return -1;
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		close(fd);
		return -2;
	}
	return fd;
}

static void do_mask(const struct rec *r)
{
	const char *path = r->a[0].p;
	int fd = resolve(path, O_NOFOLLOW);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return;
	if (fd < 0)
		cfail("mask", errno, "resolve %s", path);
	struct stat sb;
	if (fstat(fd, &sb))
		cfail("mask", errno, "stat %s", path);
	/* a masked path the container could replace (a volume over /sys/...) may not lead elsewhere */
	if (S_ISLNK(sb.st_mode))
		cfail("mask", ELOOP, "%s is a symbolic link: a masked path must be the kernel's own", path);
	int rc;
	if (S_ISDIR(sb.st_mode)) {
		rc = mount("tmpfs", fd_path(fd).s, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	} else {
		/* binding a "null" that is a link to a host file would hand the container that file */
		int null = container_null(0);
		if (null == -1)
			cfail("mask", errno, "open the container's /dev/null to mask %s", path);
		if (null == -2)
			cfail("mask", EPERM,
				"the container's /dev/null is not the null device (a link or another file): refusing "
				"to bind it over %s",
				path);
		rc = mount(fd_path(null).s, fd_path(fd).s, NULL, MS_BIND, NULL);
		close(null);
	}
	if (rc)
		cfail("mask", errno, "mask %s", path);
	close(fd);
}

static void do_readonly(const struct rec *r)
{
	const char *path = r->a[0].p;
	int fd = resolve(path, 0);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return;
	if (fd < 0)
		cfail("readonly", errno, "resolve %s", path);
	if (mount(fd_path(fd).s, fd_path(fd).s, NULL, MS_BIND | MS_REC, NULL))
		cfail("readonly", errno, "bind %s", path);
	close(fd);
	if ((fd = resolve(path, 0)) < 0)
		cfail("readonly", errno, "resolve %s", path);
	if (mount(NULL, fd_path(fd).s, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep_flags(fd), NULL))
		cfail("readonly", errno, "remount %s read-only", path);
	close(fd);
}

static void do_remount(const struct rec *r)
{
	const char *path = r->a[0].p;
	unsigned long flags = arg_u(r, 1);
	int fd = resolve(path, 0);
	if (fd < 0)
		cfail("remount", errno, "resolve %s", path);
	if (flags & MS_BIND)
		flags |= keep_flags(fd);
	if (mount(NULL, fd_path(fd).s, NULL, MS_REMOUNT | flags, NULL))
		cfail("remount", errno, "remount %s", path);
	close(fd);
}

static void do_sysctl(const struct rec *r)
{
	/* dots become slashes, so the key can never contain ".." */
	char path[4096];
	if (snprintf(path, sizeof path, "/proc/sys/%s", r->a[0].p) >= (int)sizeof path)
		cfail("sysctl", ENAMETOOLONG, "%s", r->a[0].p);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	if (write_file(path, r->a[1].p))
		cfail("sysctl", errno, "write %s", path);
}

void fs_step(const struct rec *r)
{
	const char *n = r->op->name;
	char *copy, *base;
	int pfd;
	if (!strcmp(n, "hostname")) {
		if (sethostname(r->a[0].p, r->a[0].len))
			cfail(n, errno, "sethostname %s", r->a[0].p);
	} else if (!strcmp(n, "domainname")) {
		if (setdomainname(r->a[0].p, r->a[0].len))
			cfail(n, errno, "setdomainname %s", r->a[0].p);
	} else if (!strcmp(n, "propagation")) {
		if (mount(NULL, "/", NULL, arg_u(r, 0), NULL))
			cfail(n, errno, "mount propagation of /");
	} else if (!strcmp(n, "propagation-of")) {
		if (mount(NULL, r->a[0].p, NULL, arg_u(r, 1), NULL))
			cfail(n, errno, "mount propagation of %s", r->a[0].p);
	} else if (!strcmp(n, "rootfs") || !strcmp(n, "mount")) {
		do_mount(r, n[0] == 'r');
	} else if (!strcmp(n, "bind")) {
		do_bind(r);
	} else if (!strcmp(n, "copy-up")) {
		do_copy_up(r);
	} else if (!strcmp(n, "mknod")) {
		pfd = parent_of(r, r->a[0].p, &copy, &base);
		dev_t dev = makedev((unsigned)arg_u(r, 2), (unsigned)arg_u(r, 3));
		if (mknodat(pfd, base, (mode_t)arg_u(r, 1), dev) && errno != EEXIST)
			cfail(n, errno, "mknod %s", r->a[0].p);
		close(pfd);
		free(copy);
	} else if (!strcmp(n, "symlink")) {
		pfd = parent_of(r, r->a[1].p, &copy, &base);
		if (symlinkat(r->a[0].p, pfd, base) && errno != EEXIST)
			cfail(n, errno, "symlink %s", r->a[1].p);
		close(pfd);
		free(copy);
	} else if (!strcmp(n, "pivot")) {
		do_pivot();
	} else if (!strcmp(n, "mask")) {
		do_mask(r);
	} else if (!strcmp(n, "readonly")) {
		do_readonly(r);
	} else if (!strcmp(n, "remount")) {
		do_remount(r);
	} else if (!strcmp(n, "sysctl")) {
		do_sysctl(r);
	} else if (!strcmp(n, "loopback-up")) {
		loopback_up();
	}
}

/* cwd: created as root before the credential change, owned by the container user. */
void make_cwd(const char *path, long uid, long gid)
{
	int fd = resolve_create(path, 1, uid, gid);
	if (fd < 0)
		cfail("cwd", errno, "create %s", path);
	close(fd);
}
