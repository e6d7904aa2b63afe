/* box-helper: the parent after clone or fork: signals, pty relay, exit status (relay.c). */
#ifndef BOX_RELAY_H
#define BOX_RELAY_H

#include <stddef.h>
#include <sys/types.h>

void parent_loop(pid_t child) __attribute__((noreturn));
void tty_restore(void);
int recv_master(void); /* the pty master the child sends over C.sock[0], or -1 */
/* After the child is gone: reports `error`/`exit`/`signal` on fd 4 and returns the helper's exit
 * status. err/errlen: what the error pipe carried ("E" alone when the exec succeeded). */
int err_pipe_read(int *fd, char *err, size_t *len, size_t cap);
int child_outcome(int started, char *err, size_t errlen, int st);
/* waitpid(child, WNOHANG), except with `release`: the zombie is left for the caller's subreaper */
int child_ended(pid_t child, int *st);
/* `release`: 1 once the child said it is set up in full (C.ready_rd), 0 if it ended before */
int child_ready(void);
/* The child failed before it was set up: reports its error (as child_outcome) and exits. */
void child_lost(pid_t child) __attribute__((noreturn));
/* exec -d: how the process ended is appended to fd (opened before the join) by the template tmpl */
void relay_exit_event(int fd, const char *tmpl);

#endif
