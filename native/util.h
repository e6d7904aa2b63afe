/* box-helper: small helpers for fds and files, used by every part. */
#ifndef BOX_UTIL_H
#define BOX_UTIL_H

#include <stddef.h>

int write_all(int fd, const void *buf, size_t n);
/* Closes (close_range, not close-on-exec) every fd >= 3 but those in keep[] (sorted in place;
 * -1 entries are ignored). */
void close_fds_except(int *keep, int n);
/* The first of the caller's fds the helper gets for `preserve-fds N` (after spec, status, control). */
#define PRESERVED_FD 6
/* close_fds_except, keeping also the `npreserved` fds from PRESERVED_FD on (`preserve-fds`). */
void close_fds_but_preserved(const int *keep, int n, int npreserved);
int write_file(const char *path, const char *s);
/* The host's /dev/null, opened at the helper's start (O_RDWR, close-on-exec, never fds 0-4): stdio
 * for what must not keep the caller's. devnull_open returns it, or -1 with errno set. */
int devnull_open(void);
int devnull(void);
/* Whether fd is that same node (box's fd or another open of it, such as a caller's stdin): the
 * answer holds after the fd from devnull_open is closed. */
int is_host_devnull(int fd);
/* Passes fd over the unix socket sock (SCM_RIGHTS) with a message of len bytes (at least one):
 * 0, or -1 with errno set. */
int send_fd(int sock, int fd, const void *msg, size_t len);
/* The fd passed by send_fd (close-on-exec; the first byte of its message is read), or -1. */
int recv_fd(int sock);

#endif
