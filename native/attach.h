/* box-helper: the attach socket of a detached container (attach.c), driven by monitor_loop. */
#ifndef BOX_ATTACH_H
#define BOX_ATTACH_H

#include <stddef.h>

struct pollfd;
#define ATTACH_MAX_CLIENTS 8
#define ATTACH_NFDS (2 + ATTACH_MAX_CLIENTS)
struct spec;
void attach_ops(const struct spec *sp); /* reads `attach` */
int attach_wanted(void);                /* the spec has `attach` */
void attach_listen(void);               /* `attach`: bind and listen, before clone (no-op without it) */
void attach_wait(void);                 /* before the go-ahead: wait for the first client (WAIT_MS) */
void attach_target(int in, int win);    /* where input goes (-1: dropped), the pty for window sizes */
void attach_stdin(int pipe_wr);         /* input goes to the stdin pipe, which attach.c closes at its end */
int attach_busy(void);                  /* a client has not taken all of the last output yet */
void attach_output(int stream, const unsigned char *p, size_t n); /* 1 stdout, 2 stderr */
int attach_poll_timeout(void);     /* ms until a stalled client is dropped, -1 for none */
void attach_fds(struct pollfd *p); /* fills ATTACH_NFDS pollfds (fd -1 when unused) */
void attach_io(struct pollfd *p);  /* after poll: the same pollfds */
void attach_end(void);             /* the container is gone: last output, close everything */

#endif
