/* box-helper's entry (box-helper.c): what the run path and exec share. See PROTOCOL.md for the
 * contract with the TypeScript side; each other .c file has its own header. */
#ifndef BOX_HELPER_H
#define BOX_HELPER_H

#include <sys/types.h>

void host_ops(void); /* C's fields from C.spec */
/* Blocks the forwarded signals and makes the pipes shared by run and exec. */
void parent_setup(void);
/* The parent right after clone/fork: closes the child's ends, gives the child its stdio alone. */
void parent_after_fork(pid_t pid);

#endif
