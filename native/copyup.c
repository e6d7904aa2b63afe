/* box-helper: copy-up, Docker's "a new empty volume gets the image's content at its target".
 * Runs in the cloned child before the volume is mounted, so `from` is the container's merged view
 * of the path (image layers and its writable layer). Everything is opened relative to a directory
 * fd without following a symlink: a link in the image is copied as a link, never followed, and the
 * volume's directory itself is opened with RESOLVE_NO_SYMLINKS. Files hard-linked to each other in
 * the image stay so in the volume (as `cp -a` keeps them): a file seen again is linked to its first
 * copy, whose directory is opened again beneath the volume's with no symlink and no mount crossed. */
#define _GNU_SOURCE
#include "copyup.h"
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#define XATTR_LIST_MAX_ 65536
#define XATTR_SIZE_MAX_ 65536

static const char *top;     /* for messages */
static int volume_dir = -1; /* the copy's root, what first copies' paths are relative to */

/* The first copy of each file with more than one link: its (dev, ino) in the image and its path in
 * the volume. An open-addressing table, grown at half full; only multiply-linked files go in. */
struct linked {
	dev_t dev;
	ino_t ino;
	char *path; /* NULL: a free slot */
};
static struct linked *linked;
static size_t linked_cap, linked_len;

static struct linked *linked_slot(struct linked *table, size_t cap, dev_t dev, ino_t ino)
{
	size_t i = (size_t)(((uint64_t)ino * 0x9E3779B97F4A7C15ull) ^ (uint64_t)dev) & (cap - 1);
	while (table[i].path && !(table[i].dev == dev && table[i].ino == ino))
		i = (i + 1) & (cap - 1);
	return &table[i];
}

static void linked_grow(void)
{
	size_t cap = linked_cap ? linked_cap * 2 : 256;
	struct linked *table = calloc(cap, sizeof *table);
	if (!table)
		cfail("copy-up", ENOMEM, "remember the hard links of %s", top);
	for (size_t i = 0; i < linked_cap; i++)
		if (linked[i].path)
			*linked_slot(table, cap, linked[i].dev, linked[i].ino) = linked[i];
	free(linked);
	linked = table;
	linked_cap = cap;
}

/* Links `name` in ddir to the first copy of the file `st` describes, if one was made: 1 if linked. */
static int link_to_first_copy(const struct stat *st, int ddir, const char *name)
{
	if (!linked_cap)
		return 0;
	struct linked *l = linked_slot(linked, linked_cap, st->st_dev, st->st_ino);
	if (!l->path)
		return 0;
	char *slash = strrchr(l->path, '/');
	const char *base = slash ? slash + 1 : l->path;
	int dir = volume_dir;
	if (slash) {
		*slash = 0;
		struct open_how how = {
			.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
		};
		do
			dir = (int)syscall(SYS_openat2, volume_dir, l->path, &how, sizeof how);
		while (dir < 0 && errno == EAGAIN);
		*slash = '/';
	}
	/* (linkat without AT_SYMLINK_FOLLOW: a name swapped meanwhile for a symlink is linked as itself) */
	int ok = dir >= 0 && linkat(dir, base, ddir, name, 0) == 0;
	int err = errno;
	if (dir >= 0 && dir != volume_dir)
		close(dir);
	if (ok)
		return 1;
	/* the first copy changed meanwhile (a container already writing to the volume), or is full of links */
	if (err == ENOENT || err == ENOTDIR || err == ELOOP || err == EXDEV || err == EMLINK)
		return 0;
	cfail("copy-up", err, "link %s/%s to its copy %s", top, name, l->path);
}

/* Each volume's copy is its own: paths in the table are relative to its root. */
static void forget_links(void)
{
	for (size_t i = 0; i < linked_cap; i++)
		free(linked[i].path);
	free(linked);
	linked = NULL;
	linked_cap = linked_len = 0;
	volume_dir = -1;
}

static void remember_first_copy(const struct stat *st, const char *path)
{
	if (linked_len * 2 >= linked_cap)
		linked_grow();
	struct linked *l = linked_slot(linked, linked_cap, st->st_dev, st->st_ino);
	if (l->path)
		return; /* (a link that could not be made: the first copy stays the one) */
	l->path = strdup(path);
	if (!l->path)
		cfail("copy-up", ENOMEM, "remember the hard links of %s", top);
	l->dev = st->st_dev;
	l->ino = st->st_ino;
	linked_len++;
}

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

/* The path in the volume of what is being copied, relative to its root ("" there). Each rel_push
 * has its rel_pop; a name that would make the path too long is only counted (rel_push gives 0), and
 * the files below it are copied without being remembered for their hard links. */
static char rel[PATH_MAX];
static size_t rel_len, rel_too_deep;

static int rel_push(const char *name)
{
	size_t n = strlen(name), extra = rel_len ? 1 : 0;
	if (rel_too_deep || rel_len + extra + n >= sizeof rel) {
		rel_too_deep++;
		return 0;
	}
	if (extra)
		rel[rel_len++] = '/';
	memcpy(rel + rel_len, name, n + 1);
	rel_len += n;
	return 1;
}

static void rel_pop(void)
{
	if (rel_too_deep) {
		rel_too_deep--;
		return;
	}
	while (rel_len && rel[rel_len - 1] != '/')
		rel_len--;
	if (rel_len)
		rel_len--;
	rel[rel_len] = 0;
}

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
		rel_push(name);
		copy_tree(s, d);
		rel_pop();
		copy_xattrs(s, d, name);
		copy_meta_fd(d, &st, name);
		close(s);
		close(d);
	} else if (S_ISREG(st.st_mode)) {
		if (st.st_nlink > 1 && link_to_first_copy(&st, ddir, name))
			return;
		int s = openat(sdir, name, flags),
		    d = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (s < 0 || d < 0)
			cfail("copy-up", errno, "open %s/%s", top, name);
		copy_data(s, d, name);
		copy_xattrs(s, d, name);
		copy_meta_fd(d, &st, name);
		close(s);
		close(d);
		if (st.st_nlink > 1) {
			if (rel_push(name))
				remember_first_copy(&st, rel);
			rel_pop();
		}
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
		volume_dir = dst;
		copy_tree(src, dst);
		forget_links();
		copy_xattrs(src, dst, ".");
		copy_meta_fd(dst, &st, ".");
	}
	close(src);
	close(dst); /* releases the lock */
}
