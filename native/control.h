/* box-helper: the control channel from box (fd 5, `run` only; PROTOCOL.md, "Control channel"). */
#ifndef BOX_CONTROL_H
#define BOX_CONTROL_H

#include "spec.h"

#define CONTROL_FD 5

/* `run`: fd 5 must be open before anything is created (marked close-on-exec here), unless the
 * spec's `control-fifo` names a FIFO to make, which then becomes fd 5. */
void control_check(const struct spec *sp);
/* The channel's fd while it is open and unread, else -1 (for the lists of fds a fork keeps). */
int control_fd(void);
/* Closes the channel (the original helper of a detached container: the monitor reads it). */
void control_close(void);
/* After `pid N`: waits for box's answer. Returns on `go` (the channel is closed then, unless
 * `more`: with `ready` a second answer follows); on `abort`, end of input or anything else the
 * init is killed and the helper exits 125 (die). */
void control_await(int more);
/* A foreground `run`'s `lifeline` FD: control_await also watches it until the answer (its end
 * before that is an abort: box was killed); a detached helper watches its own (monitor.c). */
void control_lifeline(int fd);

#endif
