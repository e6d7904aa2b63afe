/* box-helper's entry (box-helper.c): what the run path and exec share. See PROTOCOL.md for the
 * contract with the TypeScript side; each other .c file has its own header. */
#ifndef BOX_HELPER_H
#define BOX_HELPER_H

#include <sys/types.h>

struct spec;
/* C's mode from the spec, no pipes yet; each part reads its own ops (child_ops, monitor_ops...). */
void host_ops(const struct spec *sp);
/* Blocks the forwarded signals and makes the pipes shared by run and exec (C's). */
void parent_setup(void);
/* The parent right after clone/fork: closes the child's ends, gives the child its stdio alone. */
void parent_after_fork(pid_t pid);

#endif
