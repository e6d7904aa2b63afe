/* box-helper: runtime-spec hooks run by the container's init itself (hook.c). */
#ifndef BOX_HOOK_H
#define BOX_HOOK_H

#include <sys/types.h>

struct rec;
/* Runs one `hook` or `start-hook` op (PROTOCOL.md) and waits for it; a failure, a timeout
 * included, is the child's error (cfail "hook"), which ends it. */
void hook_run(const struct rec *r);
/* `ready`: waits for the child's word that it is set up and waits for go; on its failure reports
 * it as the helper's own outcome and exits. */
void hook_await_ready(pid_t child);

#endif
