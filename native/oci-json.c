/* box-runc's native half: JSON string literals, read and written byte for byte as JSON.stringify
 * writes them, so the native output equals the Node.js side's. */
#define _GNU_SOURCE
#include "oci-json.h"

#include <stdlib.h>
#include <string.h>

const char *json_skip_string(const char *s)
{
	if (*s != '"')
		return NULL;
	for (s++; *s && *s != '"'; s++)
		if (*s == '\\' && !*++s)
			return NULL;
	return *s == '"' ? s + 1 : NULL;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80)
		return o[0] = (char)cp, 1;
	if (cp < 0x800)
		return o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), 2;
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		return o[2] = (char)(0x80 | (cp & 0x3f)), 3;
	}
	o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

char *json_decode_string(const char *s, const char *end)
{
	if (end - s < 2 || *s != '"' || end[-1] != '"')
		return NULL;
	char *out = malloc((size_t)(end - s)), *o = out; /* escapes never decode longer */
	if (!out)
		return NULL;
	for (s++, end--; s < end; s++) {
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		if (++s == end)
			goto bad;
		char simple = *s == '"' || *s == '\\' || *s == '/' ? *s
			      : *s == 'b'                          ? '\b'
			      : *s == 'f'                          ? '\f'
			      : *s == 'n'                          ? '\n'
			      : *s == 'r'                          ? '\r'
			      : *s == 't'                          ? '\t'
								   : 0;
		if (simple) {
			*o++ = simple;
			continue;
		}
		if (*s != 'u')
			goto bad;
		unsigned cp, lo;
		if (end - s < 5 || hex4(s + 1, &cp))
			goto bad;
		s += 4;
		if (cp >= 0xd800 && cp < 0xdc00 && end - s >= 7 && s[1] == '\\' && s[2] == 'u' && !hex4(s + 3, &lo) &&
			lo >= 0xdc00 && lo < 0xe000) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			s += 6;
		}
		if (cp == 0)
			goto bad;
		o += put_utf8(o, cp);
	}
	*o = 0;
	if (strlen(out) != (size_t)(o - out))
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

void json_put_string(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *esc = c == '"'    ? "\\\""
				  : c == '\\' ? "\\\\"
				  : c == '\b' ? "\\b"
				  : c == '\f' ? "\\f"
				  : c == '\n' ? "\\n"
				  : c == '\r' ? "\\r"
				  : c == '\t' ? "\\t"
					      : NULL;
		if (esc)
			fputs(esc, f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

size_t js_length(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xc0) != 0x80)
			n++; /* a character's first byte */
		if (*p >= 0xf0)
			n++; /* outside the BMP: two UTF-16 units */
	}
	return n;
}
