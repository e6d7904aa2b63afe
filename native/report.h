/* box-helper: status events on fd 4 and errors (PROTOCOL.md, "Status events"), event files. */
#ifndef BOX_REPORT_H
#define BOX_REPORT_H

#include <sys/types.h>

#define STATUS_FD 4

void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* parent side: writes `error STAGE ERRNO TEXT` and exits 125 (killing and reaping the child set by
 * report_child first) */
void die(const char *stage, int err, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
/* The child die() kills: the container's init or an exec's process once cloned, -1 for none. */
void report_child(pid_t pid);
/* child side: reports through the error pipe and _exits 125/126/127 */
void cfail(const char *stage, int err, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
/* Events: FILE opened O_APPEND (created 0600); TEMPLATE written as one line with one write(2),
 * {{time}} and {{timeNano}} the UNIX time in seconds and nanoseconds, KEY (e.g. "{{status}}") VALUE. */
int event_open(const char *file);
void event_write(int fd, const char *tmpl, const char *key, const char *value);

#endif
