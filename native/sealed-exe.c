/* box-helper: run from a binary nothing can write to (CVE-2019-5736 class). A process that runs
 * the helper's code inside a container (the init before its execve, an exec's reaper, or a
 * container command that execs /proc/self/exe) shows the container its binary at /proc/PID/exe;
 * opened from there, the cache file box extracted the helper to could be rewritten by the
 * container, and the next start would run its code as root on the host.
 *
 * So the helper re-executes itself first, from its own file seen through a private overlayfs that
 * has no upper layer: a read-only superblock (EROFS for every writer, root included, whether or
 * not the file runs), mounted detached (fsopen/fsmount: in no mount table, gone with its last
 * user) and that no one can remount writable (unlike a read-only bind mount, whose flag a
 * mount_setattr can clear). Nothing is copied: the file's pages stay shared. Where that cannot be
 * made (no fsopen, a directory overlayfs refuses as a layer), it copies itself into a sealed memfd
 * as before, which costs a 1 MiB copy per start.
 *
 * Dropping the overlay's mount (closing the last fd of a detached mount) waits for an RCU grace
 * period, milliseconds on a busy host: the re-executed helper keeps that fd (told by the
 * environment) and closes it once the container's command started (sealed_release), off the path
 * of the start. */
#define _GNU_SOURCE
#include "sealed-exe.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SEALED_ENV "_BOX_HELPER_SEALED" /* "overlay:FD" (the mount's fd), else "1" (memfd) */
#define OVERLAY_PREFIX "overlay:"
#define MAX_PROTOCOL_FD 5 /* fds 0-5 are the caller's and the protocol's (PROTOCOL.md) */

/* the overlay's mount, kept until sealed_release (-1: none) */
static int mount_fd = -1;

extern char **environ;

/* An O_PATH fd of this binary seen through a new read-only overlayfs of its directory, or -1;
 * *mnt: the overlay's mount, an fd the re-executed helper inherits. The second, lower layer is
 * /dev, a directory every host has: overlayfs wants two layers when there is no upper one, the
 * binary's directory is on top (so nothing below can shadow its name) and only this one file is
 * ever handed out. */
static int overlay_self(int *mnt)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0 || n >= (ssize_t)sizeof self - 1)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	/* ':' and '\' would need escaping in lowerdir; a deleted binary cannot be opened by name */
	if (!slash || slash == self || strpbrk(self, ":\\") || strstr(self, " (deleted)"))
		return -1;
	*slash = '\0';
	char layers[PATH_MAX + 8];
	memcpy(layers, self, (size_t)(slash - self));
	strcpy(layers + (slash - self), ":/dev");

	int fd = -1, ctx = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (ctx < 0)
		return -1;
	if (syscall(SYS_fsconfig, ctx, FSCONFIG_SET_STRING, "lowerdir", layers, 0) == 0) {
		/* xino would only log that the layers are on different file systems */
		syscall(SYS_fsconfig, ctx, FSCONFIG_SET_STRING, "xino", "off", 0);
		if (syscall(SYS_fsconfig, ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
			unsigned attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
			*mnt = (int)syscall(SYS_fsmount, ctx, 0, attrs); /* no FSMOUNT_CLOEXEC: kept */
			/* above the protocol's fds: fd 5, free here, becomes the control FIFO after the re-exec */
			if (*mnt >= 0 && *mnt <= MAX_PROTOCOL_FD) {
				int high = fcntl(*mnt, F_DUPFD, MAX_PROTOCOL_FD + 1);
				close(*mnt);
				*mnt = high;
			}
			if (*mnt >= 0)
				fd = openat(*mnt, slash + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
	}
	close(ctx);
	return fd;
}

/* A sealed memfd holding a copy of this binary (dies on failure). */
static int memfd_self(void)
{
	int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0)
		die("reexec", errno, "open /proc/self/exe");
	int mfd = memfd_create("box-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		die("reexec", errno, "memfd_create");
	struct stat sb;
	if (fstat(src, &sb))
		die("reexec", errno, "stat /proc/self/exe");
	for (off_t left = sb.st_size; left > 0;) {
		ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("reexec", n < 0 ? errno : EIO, "copy /proc/self/exe");
		left -= n;
	}
	close(src);
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE))
		die("reexec", errno, "seal memfd");
	return mfd;
}

void reexec_sealed(char **argv)
{
	const char *s = getenv(SEALED_ENV);
	if (s) {
		if (!strncmp(s, OVERLAY_PREFIX, strlen(OVERLAY_PREFIX))) {
			mount_fd = atoi(s + strlen(OVERLAY_PREFIX));
			if (mount_fd <= MAX_PROTOCOL_FD || fcntl(mount_fd, F_SETFD, FD_CLOEXEC))
				mount_fd = -1;
		}
		unsetenv(SEALED_ENV);
		return;
	}
	int mnt = -1, fd = overlay_self(&mnt);
	if (fd >= 0) {
		char value[32];
		snprintf(value, sizeof value, OVERLAY_PREFIX "%d", mnt);
		if (setenv(SEALED_ENV, value, 1))
			die("reexec", errno, "setenv");
		syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
		close(fd); /* e.g. a security module refused it: the copy still works */
	}
	if (mnt >= 0)
		close(mnt);
	if (setenv(SEALED_ENV, "1", 1))
		die("reexec", errno, "setenv");
	syscall(SYS_execveat, memfd_self(), "", argv, environ, AT_EMPTY_PATH);
	die("reexec", errno, "execveat(memfd)");
}

int sealed_mount_fd(void)
{
	return mount_fd;
}

void sealed_release(void)
{
	if (mount_fd >= 0)
		close(mount_fd);
	mount_fd = -1;
}
