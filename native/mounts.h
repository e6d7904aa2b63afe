/* box-helper: child-side filesystem steps (mounts.c). */
#ifndef BOX_MOUNTS_H
#define BOX_MOUNTS_H

#include "spec.h"

extern int rootfd; /* where container paths are resolved; "/" after pivot */
void fs_step(const struct rec *r);
void make_cwd(const char *path, long uid, long gid);
/* The container's /dev/null (resolved in rootfd, no link followed): an O_PATH fd, or with rdwr one
 * open for reading and writing; -1 with errno if it cannot be opened, -2 if it is not the null
 * device (a link, a file, another node). */
int container_null(int rdwr);

#endif
