/* box-helper: the cloned child of `run` and the forked child of `exec` (child.c). */
#ifndef BOX_CHILD_H
#define BOX_CHILD_H

#include <stdint.h>

struct spec;
struct rec;
/* The spec's process attributes (NULL when absent), read by child_ops. */
struct proc_ops {
	const struct rec *oom, *nnp, *user, *groups, *caps, *cwd, *env, *seccomp, *args;
};
void child_ops(const struct spec *sp);
const struct proc_ops *child_proc(void); /* for the init and a reaper, which keep some of them */

void child_main(void) __attribute__((noreturn));
void exec_child_main(void) __attribute__((noreturn));
void apply_creds(uint64_t mask);

#endif
