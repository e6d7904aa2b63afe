/* box-helper: the built-in init (`init` op) and an exec's reaper (init.c). */
#ifndef BOX_INIT_H
#define BOX_INIT_H

#include <sys/types.h>

void init_fork(void); /* returns in the command's process only */
void init_run(pid_t cmd) __attribute__((noreturn));

#endif
