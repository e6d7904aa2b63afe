/* box-runc's native half: JSON strings as box's Node.js side writes them (JSON.stringify), read
 * from its state file and written into box-runc's output and log. */
#ifndef BOX_OCI_JSON_H
#define BOX_OCI_JSON_H

#include <stddef.h>
#include <stdio.h>

/* s starts a JSON string literal ('"'): the first byte after its closing quote, or NULL. */
const char *json_skip_string(const char *s);
/* The literal [s, end) decoded to a malloc'd UTF-8 string; NULL if malformed or it holds a NUL. */
char *json_decode_string(const char *s, const char *end);
/* Appends s as JSON.stringify writes a string (quotes, escapes, \u00xx for other controls). */
void json_put_string(FILE *f, const char *s);
/* The length JavaScript gives the UTF-8 string s (UTF-16 code units): table columns are padded by it. */
size_t js_length(const char *s);

#endif
