/* box-helper: copy-up, Docker's "a new empty volume gets the image's content at its target".
 * Runs in the cloned child before the volume is mounted, so `from` is the container's merged view
 * of the path (image layers and its writable layer). Everything is opened relative to a directory
 * fd without following a symlink: a link in the image is copied as a link, never followed, and the
 * volume's directory itself is opened with RESOLVE_NO_SYMLINKS. Hard links become separate files. */
#define _GNU_SOURCE
#include "copyup.h"
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#define XATTR_LIST_MAX_ 65536
#define XATTR_SIZE_MAX_ 65536

static const char *top; /* for messages */

static void copy_xattrs(int sfd, int dfd, const char *name)
{
	static char names[XATTR_LIST_MAX_], value[XATTR_SIZE_MAX_];
	ssize_t n = flistxattr(sfd, names, sizeof names);
	if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
		return;
	if (n < 0)
		cfail("copy-up", errno, "list the attributes of %s/%s", top, name);
	for (char *k = names; k < names + n; k += strlen(k) + 1) {
		ssize_t v = fgetxattr(sfd, k, value, sizeof value);
		if (v < 0)
			cfail("copy-up", errno, "read attribute %s of %s/%s", k, top, name);
		if (fsetxattr(dfd, k, value, (size_t)v, 0) && errno != ENOTSUP && errno != EOPNOTSUPP)
			cfail("copy-up", errno, "set attribute %s on the copy of %s/%s", k, top, name);
	}
}

/* Owner, then mode (a chown clears set-id bits), then times: last, after the content. */
static void copy_meta_fd(int dfd, const struct stat *st, const char *name)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (fchown(dfd, st->st_uid, st->st_gid) || fchmod(dfd, st->st_mode & 07777) || futimens(dfd, times))
		cfail("copy-up", errno, "set the owner, mode and times of the copy of %s/%s", top, name);
}

static void copy_data(int sfd, int dfd, const char *name)
{
	for (;;) {
		ssize_t n = copy_file_range(sfd, NULL, dfd, NULL, 1 << 30, 0);
		if (n == 0)
			return;
		if (n > 0)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			cfail("copy-up", errno, "copy %s/%s", top, name);
		break; /* across file systems on older kernels: plain read/write */
	}
	static char buf[1 << 16];
	for (;;) {
		ssize_t n = read(sfd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			cfail("copy-up", errno, "read %s/%s", top, name);
		if (n == 0)
			return;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(dfd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				cfail("copy-up", errno, "write the copy of %s/%s", top, name);
			off += w;
		}
	}
}

static void copy_tree(int sdir, int ddir);

static void copy_entry(int sdir, int ddir, const char *name)
{
	struct stat st;
	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW))
		cfail("copy-up", errno, "stat %s/%s", top, name);
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(ddir, name, 0700))
			cfail("copy-up", errno, "make the copy of %s/%s", top, name);
		int s = openat(sdir, name, flags | O_DIRECTORY), d = openat(ddir, name, flags | O_DIRECTORY);
		if (s < 0 || d < 0)
			cfail("copy-up", errno, "open %s/%s", top, name);
		copy_tree(s, d);
		copy_xattrs(s, d, name);
		copy_meta_fd(d, &st, name);
		close(s);
		close(d);
	} else if (S_ISREG(st.st_mode)) {
		int s = openat(sdir, name, flags),
		    d = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (s < 0 || d < 0)
			cfail("copy-up", errno, "open %s/%s", top, name);
		copy_data(s, d, name);
		copy_xattrs(s, d, name);
		copy_meta_fd(d, &st, name);
		close(s);
		close(d);
	} else {
		if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlinkat(sdir, name, target, sizeof target - 1);
			if (n < 0)
				cfail("copy-up", errno, "read the link %s/%s", top, name);
			target[n] = 0;
			if (symlinkat(target, ddir, name))
				cfail("copy-up", errno, "copy the link %s/%s", top, name);
		} else if (S_ISSOCK(st.st_mode)) {
			return; /* a socket is a live process's, not content */
		} else if (mknodat(ddir, name, st.st_mode, st.st_rdev)) {
			cfail("copy-up", errno, "copy the node %s/%s", top, name);
		}
		struct timespec times[2] = { st.st_atim, st.st_mtim };
		if (fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) ||
			(!S_ISLNK(st.st_mode) && fchmodat(ddir, name, st.st_mode & 07777, 0)) ||
			utimensat(ddir, name, times, AT_SYMLINK_NOFOLLOW))
			cfail("copy-up", errno, "set the owner, mode and times of the copy of %s/%s", top, name);
	}
}

static void copy_tree(int sdir, int ddir)
{
	int fd = dup(sdir);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d)
		cfail("copy-up", errno, "list %s", top);
	struct dirent *e;
	while ((errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		copy_entry(sdir, ddir, e->d_name);
	}
	if (errno)
		cfail("copy-up", errno, "list %s", top);
	closedir(d);
}

static int is_empty(int dir)
{
	int fd = dup(dir);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d)
		cfail("copy-up", errno, "list the volume's directory");
	struct dirent *e;
	int empty = 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

void copy_up(int from, const char *to)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int dst;
	do
		dst = (int)syscall(SYS_openat2, AT_FDCWD, to, &how, sizeof how);
	while (dst < 0 && errno == EAGAIN);
	if (dst < 0)
		cfail("copy-up", errno, "open the volume's directory %s", to);
	int src = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		cfail("copy-up", errno, "open the image's directory");
	top = to;
	/* two containers starting with the same new volume: one copies, the other then finds it full */
	if (flock(dst, LOCK_EX))
		cfail("copy-up", errno, "lock the volume's directory %s", to);
	if (is_empty(dst)) {
		struct stat st;
		if (fstat(src, &st))
			cfail("copy-up", errno, "stat the image's directory");
		copy_tree(src, dst);
		copy_xattrs(src, dst, ".");
		copy_meta_fd(dst, &st, ".");
	}
	close(src);
	close(dst); /* releases the lock */
}
