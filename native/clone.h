/* box-helper: clone the container's init and put it in its cgroups (`cgroup` ops), clone.c. */
#ifndef BOX_CLONE_H
#define BOX_CLONE_H

#include "spec.h"

#include <sys/types.h>

/* clone() with FLAGS (namespaces) | SIGCHLD, fork-like: 0 in the child, its pid in the parent. */
pid_t clone_init(const struct spec *sp, unsigned long flags);
/* Parent: writes PID to each `cgroup` file the child was not born in (dies on failure). */
void cgroup_writes(const struct spec *sp, pid_t pid);

#endif
