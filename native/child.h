/* box-helper: the cloned child of `run` and the forked child of `exec` (child.c). */
#ifndef BOX_CHILD_H
#define BOX_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct spec;
struct rec;
/* The spec's process attributes (NULL when absent), read by child_ops. */
struct proc_ops {
	const struct rec *oom, *nnp, *user, *groups, *caps, *cwd, *env, *seccomp, *args, *umask, *personality;
};
/* Reads them, `cgroupns` and the host's last capability (before clone: /proc is the host's). */
void child_ops(const struct spec *sp);
const struct proc_ops *child_proc(void); /* for the init and a reaper, which keep some of them */
/* The helper's pid as the child's getppid() will show it while the helper lives; 0 (the default):
 * not checkable (another PID namespace, or the init between them). */
void child_watch_parent(pid_t helper);

void child_main(const struct spec *sp) __attribute__((noreturn));
/* exec: cg_fds are the opened cgroup-join files (ncg of them, in the spec's order), written "0". */
void exec_child_main(const struct spec *sp, const int *cg_fds, size_t ncg) __attribute__((noreturn));
void apply_creds(uint64_t mask);

#endif
