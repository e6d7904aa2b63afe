/* box-helper: the signals the helper forwards to its child, and the mask it started with
 * (signals.c). */
#ifndef BOX_SIGNALS_H
#define BOX_SIGNALS_H

#include <signal.h>

/* Blocks the forwarded signals and SIGCHLD (the parent takes them from a signalfd); keeps the mask
 * the helper started with. no_winch: SIGWINCH is not forwarded (a detached container). */
void signals_block(int no_winch);
const sigset_t *signals_forwarded(void);
/* A signalfd (close-on-exec) of the forwarded signals and SIGCHLD, for the parent's poll loop. */
int signals_fd(void);
/* The mask the helper started with, for what it runs next (the container's command, a probe's
 * helper, the on-exit callback). */
void signals_restore(void);

#endif
