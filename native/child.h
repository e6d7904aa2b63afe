/* box-helper: the cloned child of `run` and the forked child of `exec` (child.c). */
#ifndef BOX_CHILD_H
#define BOX_CHILD_H

#include <stdint.h>

void child_main(void) __attribute__((noreturn));
void exec_child_main(void) __attribute__((noreturn));
void apply_creds(uint64_t mask);

#endif
