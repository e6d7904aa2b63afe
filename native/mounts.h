/* box-helper: child-side filesystem steps (mounts.c). */
#ifndef BOX_MOUNTS_H
#define BOX_MOUNTS_H

#include "spec.h"

extern int rootfd; /* where container paths are resolved; "/" after pivot */
void fs_step(const struct rec *r);
void make_cwd(const char *path, long uid, long gid);

#endif
