/* box-helper exec: enter a running container and run a process in it (PROTOCOL.md, "Entering a
 * running container"). */
#ifndef BOX_EXEC_H
#define BOX_EXEC_H

#include <sys/types.h>

struct spec;
/* Joins target's namespaces, forks the process sp describes and stays its parent. Also the health
 * probe's helper (health.c). */
void exec_main(const struct spec *sp, pid_t target) __attribute__((noreturn));

#endif
