/* What every built-in policy links: the canonical ABI exports (evaluate, describe, their
 * post-return functions, cabi_realloc), the arena allocator, strings and lists, and the helpers
 * the policies share (argument parsing, paths, sizes). No libc: the module must import nothing.
 */
#include <stdarg.h>

#include "policy.h"

/* ---- memory ---- */

/* The arena: everything from __heap_base up. cabi_realloc (the request, written by box) and
 * box_alloc (the policy's own data and the verdict) bump `top`; the post-return function of each
 * export sets it back, so every call starts with the same memory. */
extern unsigned char __heap_base;
static uintptr_t top;

_Noreturn void box_trap(void)
{
	__builtin_trap();
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

static void *bump(size_t size, size_t align)
{
	if (!top)
		top = (uintptr_t)&__heap_base;
	if (align == 0 || (align & (align - 1)))
		box_trap();
	uint64_t start = ((uint64_t)top + align - 1) & ~(uint64_t)(align - 1);
	uint64_t end = start + size;
	uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * 65536;
	if (end > have) {
		uint64_t pages = (end - have + 65535) / 65536;
		if (end > 0xffffffffull || __builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1)
			box_trap(); /* past box's memory limit: box reports it as such */
	}
	top = (uintptr_t)end;
	return (void *)(uintptr_t)start;
}

void *box_alloc(size_t size, size_t align)
{
	return memset(bump(size, align), 0, size);
}

static void reset(void)
{
	top = (uintptr_t)&__heap_base;
}

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size)
{
	if (old && new_size <= old_size)
		return old;
	void *p = bump(new_size, align);
	if (old)
		memcpy(p, old, old_size);
	return p;
}

/* ---- the exports ---- */

__attribute__((export_name(BOX_ADMISSION "#evaluate"))) box_verdict *export_evaluate(const box_request *req)
{
	box_verdict *v = box_alloc(sizeof *v, _Alignof(box_verdict));
	policy_evaluate(req, v);
	return v;
}

__attribute__((export_name("cabi_post_" BOX_ADMISSION "#evaluate"))) void post_evaluate(box_verdict *v)
{
	(void)v;
	reset();
}

__attribute__((export_name(BOX_ADMISSION "#describe"))) box_info *export_describe(void)
{
	box_info *info = box_alloc(sizeof *info, _Alignof(box_info));
	policy_describe(info);
	return info;
}

__attribute__((export_name("cabi_post_" BOX_ADMISSION "#describe"))) void post_describe(box_info *info)
{
	(void)info;
	reset();
}

/* ---- strings ---- */

str str_c(const char *s)
{
	uint32_t n = 0;
	while (s[n])
		n++;
	return (str){ s, n };
}

bool str_eq(str a, str b)
{
	return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

bool str_eq_c(str a, const char *b)
{
	return str_eq(a, str_c(b));
}

bool str_starts(str s, str prefix)
{
	return s.len >= prefix.len && memcmp(s.ptr, prefix.ptr, prefix.len) == 0;
}

/* JavaScript's WhiteSpace and LineTerminator code points (what trim() removes). */
static bool js_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
	       c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff;
}

/* The code point starting at s[i] and its length (the canonical ABI guarantees valid UTF-8; a
 * sequence cut short by the end counts as one byte, never read past it). */
static uint32_t utf8_at(const char *s, uint32_t i, uint32_t len, uint32_t *n)
{
	const unsigned char *u = (const unsigned char *)s + i;
	uint32_t need = u[0] < 0x80 ? 1 : u[0] < 0xe0 ? 2 : u[0] < 0xf0 ? 3 : 4;
	if (i + need > len) {
		*n = 1;
		return 0xfffd;
	}
	if (u[0] < 0x80) {
		*n = 1;
		return u[0];
	}
	if (u[0] < 0xe0) {
		*n = 2;
		return (uint32_t)(u[0] & 0x1f) << 6 | (u[1] & 0x3f);
	}
	if (u[0] < 0xf0) {
		*n = 3;
		return (uint32_t)(u[0] & 0x0f) << 12 | (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
	}
	*n = 4;
	return (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3f) << 12 | (uint32_t)(u[2] & 0x3f) << 6 | (u[3] & 0x3f);
}

str str_trim(str s)
{
	uint32_t start = 0, end = s.len, n;
	while (start < end && js_space(utf8_at(s.ptr, start, end, &n)))
		start += n;
	while (end > start) {
		uint32_t i = end - 1;
		while (i > start && ((unsigned char)s.ptr[i] & 0xc0) == 0x80)
			i--;
		if (!js_space(utf8_at(s.ptr, i, end, &n)))
			break;
		end = i;
	}
	return (str){ s.ptr + start, end - start };
}

box_list_string str_split(str s, char sep)
{
	uint32_t parts = 1;
	for (uint32_t i = 0; i < s.len; i++)
		parts += s.ptr[i] == sep;
	box_string *out = box_alloc(sizeof *out * parts, _Alignof(box_string));
	uint32_t k = 0, from = 0;
	for (uint32_t i = 0; i <= s.len; i++) {
		if (i == s.len || s.ptr[i] == sep) {
			out[k++] = (str){ s.ptr + from, i - from };
			from = i + 1;
		}
	}
	return (box_list_string){ out, parts };
}

static void sb_reserve(strbuf *b, uint32_t more)
{
	if ((uint64_t)b->len + more <= b->cap)
		return;
	uint64_t cap = b->cap ? b->cap : 32;
	while (cap < (uint64_t)b->len + more)
		cap *= 2;
	if (cap > 0xffffffffull)
		box_trap();
	char *p = bump((size_t)cap, 1);
	if (b->len)
		memcpy(p, b->p, b->len);
	b->p = p;
	b->cap = (uint32_t)cap;
}

void sb_add(strbuf *b, str s)
{
	sb_reserve(b, s.len);
	if (s.len)
		memcpy(b->p + b->len, s.ptr, s.len);
	b->len += s.len;
}

void sb_add_c(strbuf *b, const char *s)
{
	sb_add(b, str_c(s));
}

void sb_add_byte(strbuf *b, char c)
{
	sb_reserve(b, 1);
	b->p[b->len++] = c;
}

void sb_add_u64(strbuf *b, uint64_t n)
{
	char tmp[20];
	int i = 20;
	do {
		tmp[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	sb_add(b, (str){ tmp + i, (uint32_t)(20 - i) });
}

void sb_add_s64(strbuf *b, int64_t n)
{
	if (n < 0) {
		sb_add_byte(b, '-');
		sb_add_u64(b, 0 - (uint64_t)n);
	} else {
		sb_add_u64(b, (uint64_t)n);
	}
}

str sb_str(const strbuf *b)
{
	return (str){ b->p, b->len };
}

/* ---- lists ---- */

void list_add(strlist *l, str s)
{
	if (l->len == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 8;
		box_string *p = box_alloc(sizeof *p * cap, _Alignof(box_string));
		if (l->len)
			memcpy(p, l->ptr, sizeof *p * l->len);
		l->ptr = p;
		l->cap = cap;
	}
	l->ptr[l->len++] = s;
}

bool list_has(const strlist *l, str s)
{
	for (uint32_t i = 0; i < l->len; i++)
		if (str_eq(l->ptr[i], s))
			return true;
	return false;
}

box_list_string list_done(const strlist *l)
{
	return (box_list_string){ l->ptr, l->len };
}

/* ---- formatting ---- */

static str vfmt(const char *f, va_list ap)
{
	strbuf b = { 0 };
	for (const char *p = f; *p; p++) {
		if (*p != '%') {
			sb_add_byte(&b, *p);
			continue;
		}
		switch (*++p) {
		case 's':
			sb_add(&b, va_arg(ap, box_string));
			break;
		case 'c':
			sb_add_c(&b, va_arg(ap, const char *));
			break;
		case 'u':
			sb_add_u64(&b, va_arg(ap, uint64_t));
			break;
		case 'd':
			sb_add_s64(&b, va_arg(ap, int64_t));
			break;
		case 'g':
			sb_add_num(&b, va_arg(ap, double));
			break;
		case 'B':
			sb_add_big(&b, va_arg(ap, big));
			break;
		case 'M':
			sb_add_mib(&b, va_arg(ap, big));
			break;
		case '%':
			sb_add_byte(&b, '%');
			break;
		default:
			box_trap(); /* a bad format is a bug in the policy */
		}
	}
	return sb_str(&b);
}

str fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	str s = vfmt(f, ap);
	va_end(ap);
	return s;
}

void say(strlist *l, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	list_add(l, vfmt(f, ap));
	va_end(ap);
}

str list_join(const strlist *l, const char *sep)
{
	strbuf b = { 0 };
	for (uint32_t i = 0; i < l->len; i++) {
		if (i)
			sb_add_c(&b, sep);
		sb_add(&b, l->ptr[i]);
	}
	return sb_str(&b);
}

strlist list_items(str value)
{
	box_list_string parts = str_split(value, ',');
	strlist out = { 0 };
	for (uint32_t i = 0; i < parts.len; i++) {
		str item = str_trim(parts.ptr[i]);
		if (item.len)
			list_add(&out, item);
	}
	return out;
}

/* ---- what the policies share ---- */

opt_str arg(const box_request *req, const char *key)
{
	opt_str found = { false, { "", 0 } };
	for (uint32_t i = 0; i < req->args.len; i++) { /* the last one wins */
		if (str_eq_c(req->args.ptr[i].key, key)) {
			found.set = true;
			found.val = req->args.ptr[i].value;
		}
	}
	return found;
}

static bool ascii_is(char c, char lower)
{
	return c == lower || c == lower - 'a' + 'A';
}

/* BOX_APART: run only for a size argument given (-flto would inline it into bytes_arg, which every
 * start runs) */
BOX_APART bool parse_bytes(str s, big *out)
{
	s = str_trim(s);
	uint32_t i = 0;
	while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
		i++;
	if (i == 0)
		return false;
	str digits = { s.ptr, i };
	unsigned shift = 0;
	if (i < s.len) {
		static const char UNITS[] = "bkmgt";
		for (unsigned u = 0; u < 5; u++) {
			if (ascii_is(s.ptr[i], UNITS[u])) {
				shift = 10 * u;
				i++;
				break;
			}
		}
	}
	if (i < s.len && ascii_is(s.ptr[i], 'i'))
		i++;
	if (i < s.len && ascii_is(s.ptr[i], 'b'))
		i++;
	if (i != s.len)
		return false;
	*out = big_mul(big_parse_dec(digits), big_u64((uint64_t)1 << shift));
	return true;
}

/* "policy argument KEY=VALUE is not WHAT" (BOX_COLD: a malformed argument denies) */
static BOX_COLD void say_bad_arg(strlist *problems, const char *key, str value, const char *what)
{
	say(problems, "policy argument %c=%s is not %c", key, value, what);
}

big bytes_arg(const box_request *req, const char *key, big fallback, strlist *problems)
{
	opt_str v = arg(req, key);
	if (!v.set)
		return fallback;
	big n;
	if (!parse_bytes(v.val, &n)) {
		say_bad_arg(problems, key, v.val, "a size (e.g. 512m, 2g)");
		return fallback;
	}
	return n;
}

double number_arg(const box_request *req, const char *key, double fallback, strlist *problems)
{
	opt_str v = arg(req, key);
	if (!v.set)
		return fallback;
	double n = js_number(v.val);
	if (!js_isfinite(n) || n < 0) {
		say_bad_arg(problems, key, v.val, "a non-negative number");
		return fallback;
	}
	return n;
}

void sb_add_mib(strbuf *b, big n)
{
	if (big_pow2_divides(n, 30)) {
		sb_add_big(b, big_shr(n, 30));
		sb_add_c(b, " GiB");
	} else {
		/* Number(n * 10n / 1024n ** 2n) / 10: tenths of a MiB, rounded down */
		sb_add_num(b, big_to_double(big_shr(big_mul(n, big_u64(10)), 20)) / 10);
		sb_add_c(b, " MiB");
	}
}

str normalise(str p)
{
	box_list_string parts = str_split(p, '/');
	strlist kept = { 0 };
	for (uint32_t i = 0; i < parts.len; i++) {
		str part = parts.ptr[i];
		if (part.len == 0 || str_eq_c(part, "."))
			continue;
		if (str_eq_c(part, "..")) {
			if (kept.len)
				kept.len--;
		} else {
			list_add(&kept, part);
		}
	}
	return fmt("/%s", list_join(&kept, "/"));
}

bool within(str p, str dir)
{
	return str_eq_c(dir, "/") || str_eq(p, dir) || (p.len > dir.len && str_starts(p, dir) && p.ptr[dir.len] == '/');
}

/* (quota * 1000 + period - 1) / period beyond 64 bits (BOX_COLD: no --cpus comes near) */
static BOX_COLD big millicpus_wide(uint64_t quota, uint64_t period)
{
	return big_div(big_add(big_mul(big_u64(quota), big_u64(1000)), big_u64(period - 1)), big_u64(period));
}

bool millicpus(const box_request *req, big *out)
{
	const box_resources *r = &req->container.resources;
	if (!r->cpu_quota.is_some || r->cpu_quota.val <= 0)
		return false;
	uint64_t period = r->cpu_period.is_some ? r->cpu_period.val : 100000;
	if (period == 0)
		box_trap(); /* BigInt division by zero: the TypeScript original threw */
	/* (quota * 1000 + period - 1) / period: in 64 bits when it fits (every limit --cpus makes),
	 * which spares a start compiling and running the big number division (V8 compiles each
	 * function at its first call); otherwise it may exceed 64 bits */
	uint64_t quota = (uint64_t)r->cpu_quota.val;
	if (quota <= (UINT64_MAX - (period - 1)) / 1000) {
		*out = big_u64((quota * 1000 + period - 1) / period);
		return true;
	}
	*out = millicpus_wide(quota, period);
	return true;
}

str registry_of(str reference)
{
	if (reference.len == 0 || str_starts(reference, str_c("sha256:")))
		return (str){ 0 };
	for (uint32_t i = 0; i < reference.len; i++) {
		if (reference.ptr[i] != '/')
			continue;
		str first = { reference.ptr, i };
		for (uint32_t j = 0; j < i; j++)
			if (first.ptr[j] == '.' || first.ptr[j] == ':')
				return first;
		return str_eq_c(first, "localhost") ? first : str_c("docker.io");
	}
	return str_c("docker.io");
}
