/* box-helper: a foreground container's stdio without a tty, relayed through pipes (`relay`,
 * stdpipes.c; PROTOCOL.md "Foreground stdio"). */
#ifndef BOX_STDPIPES_H
#define BOX_STDPIPES_H

#include <poll.h>

#define STDIO_NFDS 6 /* the pollfds stdio_fds fills */

struct spec;
void stdio_ops(const struct spec *sp); /* reads `relay` and `stdin` */
/* Before clone or fork: the caller's fds 0-2 move aside, the child's ends of the pipes take their
 * places (the parent's copies go in parent_after_fork). */
void stdio_setup(void);
void stdio_fds(struct pollfd *p); /* STDIO_NFDS entries; fd -1 where there is nothing to wait for */
void stdio_io(const struct pollfd *p);
/* The child is gone (or an exec's command ended): its input is closed, the output it left in the
 * pipes goes out. wait_ms: how long a pipe may stay silent before the helper stops waiting for its
 * EOF (0: only what is there now). A forwarded signal in sfd ends it at once. */
void stdio_drain(int sfd, int wait_ms);
/* The caller may go: its fds are closed; what the child's orphans still write is read and dropped
 * (stdio_discard_fds, stdio_discard). */
void stdio_release(void);
void stdio_discard_fds(struct pollfd *p); /* 2 entries */
void stdio_discard(const struct pollfd *p);

#endif
