/* box-helper: health checks (health.c), driven by monitor_loop. */
#ifndef BOX_HEALTH_H
#define BOX_HEALTH_H

#include <sys/types.h>

struct pollfd;
struct spec;
void health_ops(const struct spec *sp); /* reads the health ops (no-op without `health`) */
void health_started(pid_t child);       /* the container started: schedule the first probe */
int health_poll_timeout(void);          /* ms until the next deadline, -1 for none */
int health_fds(struct pollfd *p);       /* fills 2 pollfds (fd -1 when unused) */
void health_io(struct pollfd *p);       /* after poll: the same 2 pollfds */
void health_sigchld(void);              /* reaps a finished probe */
void health_tick(void);                 /* deadlines: start a probe, time one out, escalate a stop */
void health_stop(void);                 /* the container is gone: kill and reap a running probe */

#endif
