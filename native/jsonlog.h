/* box-helper: a container's output as a json-file log (jsonlog.c; PROTOCOL.md, "Detached
 * containers"). Streams: 0 stdout, 1 stderr. */
#ifndef BOX_JSONLOG_H
#define BOX_JSONLOG_H

#include <stddef.h>

#define JSONLOG_LINE_MAX 16384 /* longer lines are split, as Docker's json-file does */

struct spec;
void jsonlog_ops(const struct spec *sp); /* reads `log` (checks MAX_FILES) */
int jsonlog_wanted(void);                /* the spec has `log` */
void jsonlog_start(void);                /* opens FILE (dies on failure); nothing without `log` */
/* Output of a stream: complete lines become records, a line longer than JSONLOG_LINE_MAX is
 * split; nothing without `log` (or before jsonlog_start). */
void jsonlog_write(int stream, const void *p, size_t n);
void jsonlog_end(int stream); /* the stream ended: a last line without '\n' is written as it is */

#endif
