/* box-helper: the monitor of a detached container (monitor.c; PROTOCOL.md, "Detached containers"). */
#ifndef BOX_MONITOR_H
#define BOX_MONITOR_H

#include <sys/types.h>

struct spec;
/* reads `log`, `state`, `on-exit`, `stdin` (checks MAX_FILES), `console-socket` */
void monitor_ops(const struct spec *sp);
/* returns in the monitor; the original helper exits in it. lifeline (or -1): see PROTOCOL.md */
void detach_fork(int lifeline);
void monitor_stdio(void);        /* the monitor's (and so the container's) fds 0-2 */
void monitor_state(pid_t child); /* first state file, before the go-ahead */
void monitor_loop(pid_t child) __attribute__((noreturn));
void detach_release(void);   /* started: the original helper may exit, fd 4 is /dev/null now */
void console_handover(void); /* release with tty: the pty master to the console socket, at create */
int console_given(void);     /* the spec has `console-socket` */
void console_open(void);     /* exec: connects to it now, before the join (a host path); dies on failure */

#endif
