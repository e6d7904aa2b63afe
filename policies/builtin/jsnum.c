/* JavaScript's number semantics for the built-in policies, which were written in TypeScript and
 * whose messages users (and their scripts) read: BigInt arithmetic on sizes, Number() of an
 * argument, and Number.prototype.toString() of a double ("0.5", "1e+21", "56.99999999999999").
 *
 * Everything is exact: a double is m * 2^e, whose decimal expansion is finite, so parsing and
 * printing compare decimal digit strings against the exact expansions of the midpoints between
 * neighbouring doubles. That is slow next to a real dtoa/strtod, but a policy formats a handful
 * of numbers, and it is short enough to check by reading.
 */
#include "policy.h"

/* ---- big: non-negative integers of any size ---- */

static uint32_t *limbs(uint32_t n)
{
	return box_alloc(sizeof(uint32_t) * (n ? n : 1), _Alignof(uint32_t));
}

static big norm(uint32_t *d, uint32_t n)
{
	while (n && !d[n - 1])
		n--;
	return (big){ d, n };
}

static const big ZERO = { 0, 0 };

big big_u64(uint64_t v)
{
	uint32_t *d = limbs(2);
	d[0] = (uint32_t)v;
	d[1] = (uint32_t)(v >> 32);
	return norm(d, 2);
}

bool big_is_zero(big a)
{
	return a.n == 0;
}

static uint32_t bitlen(big a)
{
	return a.n ? 32 * (a.n - 1) + (32 - (uint32_t)__builtin_clz(a.d[a.n - 1])) : 0;
}

big big_add(big a, big b)
{
	if (a.n < b.n) {
		big t = a;
		a = b;
		b = t;
	}
	uint32_t *d = limbs(a.n + 1);
	uint64_t carry = 0;
	for (uint32_t i = 0; i < a.n; i++) {
		carry += (uint64_t)a.d[i] + (i < b.n ? b.d[i] : 0);
		d[i] = (uint32_t)carry;
		carry >>= 32;
	}
	d[a.n] = (uint32_t)carry;
	return norm(d, a.n + 1);
}

big big_mul(big a, big b)
{
	if (!a.n || !b.n)
		return ZERO;
	uint32_t *d = limbs(a.n + b.n);
	for (uint32_t i = 0; i < a.n; i++) {
		uint64_t carry = 0;
		for (uint32_t j = 0; j < b.n; j++) {
			uint64_t t = (uint64_t)a.d[i] * b.d[j] + d[i + j] + carry;
			d[i + j] = (uint32_t)t;
			carry = t >> 32;
		}
		d[i + b.n] = (uint32_t)carry;
	}
	return norm(d, a.n + b.n);
}

static big big_shl(big a, uint32_t bits)
{
	if (!a.n)
		return a;
	uint32_t w = bits / 32, s = bits % 32;
	uint32_t *d = limbs(a.n + w + 1);
	for (uint32_t i = 0; i < a.n; i++) {
		d[i + w] |= a.d[i] << s;
		if (s)
			d[i + w + 1] = a.d[i] >> (32 - s);
	}
	return norm(d, a.n + w + 1);
}

big big_shr(big a, uint32_t bits)
{
	uint32_t w = bits / 32, s = bits % 32;
	if (w >= a.n)
		return ZERO;
	uint32_t n = a.n - w;
	uint32_t *d = limbs(n);
	for (uint32_t i = 0; i < n; i++) {
		d[i] = a.d[i + w] >> s;
		if (s && i + w + 1 < a.n)
			d[i] |= a.d[i + w + 1] << (32 - s);
	}
	return norm(d, n);
}

int big_cmp(big a, big b)
{
	if (a.n != b.n)
		return a.n < b.n ? -1 : 1;
	for (uint32_t i = a.n; i-- > 0;)
		if (a.d[i] != b.d[i])
			return a.d[i] < b.d[i] ? -1 : 1;
	return 0;
}

bool big_pow2_divides(big a, uint32_t bits)
{
	for (uint32_t i = 0; i < a.n && i < bits / 32; i++)
		if (a.d[i])
			return false;
	if (a.n <= bits / 32 || bits % 32 == 0)
		return true;
	return (a.d[bits / 32] & ((1u << (bits % 32)) - 1)) == 0;
}

/* always_inline: a few instructions, which as a function of its own cost a start one more
 * compile (-Oz -flto stops inlining it at its third caller) */
__attribute__((always_inline)) uint64_t big_low64(big a)
{
	return (a.n > 0 ? a.d[0] : 0) | (a.n > 1 ? (uint64_t)a.d[1] << 32 : 0);
}

big big_div(big a, big b)
{
	if (!b.n)
		box_trap(); /* BigInt division by zero throws */
	if (big_cmp(a, b) < 0)
		return ZERO;
	/* binary long division: the remainder stays below 2b, so b.n + 1 limbs */
	uint32_t rn = b.n + 1;
	uint32_t *r = limbs(rn), *q = limbs(a.n);
	for (uint32_t i = bitlen(a); i-- > 0;) {
		uint32_t carry = (a.d[i / 32] >> (i % 32)) & 1;
		for (uint32_t k = 0; k < rn; k++) {
			uint32_t out = r[k] >> 31;
			r[k] = r[k] << 1 | carry;
			carry = out;
		}
		int c = r[rn - 1] ? 1 : big_cmp(norm(r, b.n), b);
		if (c >= 0) {
			uint64_t borrow = 0;
			for (uint32_t k = 0; k < rn; k++) {
				uint64_t t = (uint64_t)r[k] - (k < b.n ? b.d[k] : 0) - borrow;
				r[k] = (uint32_t)t;
				borrow = (t >> 63) & 1;
			}
			q[i / 32] |= 1u << (i % 32);
		}
	}
	return norm(q, a.n);
}

static uint64_t bits_of(double x)
{
	union {
		double d;
		uint64_t u;
	} v = { .d = x };
	return v.u;
}

static double of_bits(uint64_t u)
{
	union {
		uint64_t u;
		double d;
	} v = { .u = u };
	return v.d;
}

static const double INF = __builtin_inf();

/* x * 2^k for k >= 0, overflowing to Infinity like the exact product would */
static double times_pow2(double x, uint32_t k)
{
	while (k > 1000) {
		x *= of_bits((uint64_t)(1000 + 1023) << 52);
		k -= 1000;
	}
	return x * of_bits((uint64_t)(k + 1023) << 52);
}

/* big_to_double of a value beyond 64 bits (len of them; BOX_COLD: the sizes and cpu limits of
 * a start fit 64 bits) */
static BOX_COLD double big_to_double_wide(big a, uint32_t len)
{
	if (len > 1100)
		return INF;
	uint64_t top = big_low64(big_shr(a, len - 64));
	bool sticky = !big_pow2_divides(a, len - 64);
	uint64_t keep = top >> 11, rest = top & 0x7ff;
	if (rest > 0x400 || (rest == 0x400 && (sticky || (keep & 1))))
		keep++;
	return times_pow2((double)keep, len - 53);
}

double big_to_double(big a)
{
	uint32_t len = bitlen(a);
	if (len <= 64)
		return (double)big_low64(a); /* the conversion rounds to nearest, ties to even */
	return big_to_double_wide(a, len);
}

big big_of_double(double x)
{
	if (x == 0)
		return ZERO;
	if (!(x > 0) || !js_isfinite(x) || js_floor(x) != x)
		box_trap(); /* BigInt() of a non-integer throws */
	uint64_t b = bits_of(x);
	int exp = (int)(b >> 52);
	uint64_t m = (b & ((1ull << 52) - 1)) | 1ull << 52;
	int e = exp - 1075;
	return e >= 0 ? big_shl(big_u64(m), (uint32_t)e) : big_u64(m >> -e);
}

big big_parse_dec(str digits)
{
	uint32_t cap = digits.len / 9 + 2, used = 0;
	uint32_t *d = limbs(cap);
	uint32_t i = 0;
	while (i < digits.len) {
		uint32_t take = i == 0 && digits.len % 9 ? digits.len % 9 : 9;
		uint32_t chunk = 0, mul = 1;
		for (uint32_t k = 0; k < take; k++, i++) {
			chunk = chunk * 10 + (uint32_t)(digits.ptr[i] - '0');
			mul *= 10;
		}
		uint64_t carry = chunk;
		for (uint32_t k = 0; k < used; k++) {
			uint64_t t = (uint64_t)d[k] * mul + carry;
			d[k] = (uint32_t)t;
			carry = t >> 32;
		}
		if (carry)
			d[used++] = (uint32_t)carry;
	}
	return norm(d, used);
}

/* The decimal digits of a (at least "0"), in the arena. */
static char *big_digits(big a, uint32_t *len)
{
	uint32_t n = a.n;
	uint32_t *d = limbs(n);
	if (n)
		memcpy(d, a.d, sizeof(uint32_t) * n);
	uint32_t nchunks = 0, cap = n * 32 / 29 + 2;
	uint32_t *chunks = limbs(cap); /* base 10^9, least significant first */
	while (n) {
		uint64_t rem = 0;
		for (uint32_t i = n; i-- > 0;) {
			uint64_t cur = rem << 32 | d[i];
			d[i] = (uint32_t)(cur / 1000000000);
			rem = cur % 1000000000;
		}
		chunks[nchunks++] = (uint32_t)rem;
		while (n && !d[n - 1])
			n--;
	}
	char *out = box_alloc(9 * (nchunks ? nchunks : 1), 1);
	uint32_t k = 0;
	if (!nchunks) {
		out[k++] = '0';
	} else {
		char tmp[10];
		int t = 0;
		uint32_t v = chunks[nchunks - 1];
		do {
			tmp[t++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		while (t)
			out[k++] = tmp[--t];
		for (uint32_t c = nchunks - 1; c-- > 0;) {
			v = chunks[c];
			for (int p = 8; p >= 0; p--) {
				out[k + (uint32_t)p] = (char)('0' + v % 10);
				v /= 10;
			}
			k += 9;
		}
	}
	*len = k;
	return out;
}

void sb_add_big(strbuf *b, big a)
{
	if (a.n <= 2) {
		/* within 64 bits, as every size and limit a start gives: no long division (baseline's
		 * warnings about the limits it sets then compile 0.5 KB less) */
		sb_add_u64(b, big_low64(a));
		return;
	}
	uint32_t len;
	char *d = big_digits(a, &len);
	sb_add(b, (str){ d, len });
}

/* ---- exact decimals ---- */

/* 0.d[0]d[1]...d[len-1] * 10^pos, without leading or trailing zeros; len 0 is zero */
typedef struct {
	const char *d;
	int32_t len;
	int64_t pos;
} dec;

static dec dec_strip(const char *d, int32_t len, int64_t pos)
{
	while (len && *d == '0') {
		d++;
		len--;
		pos--;
	}
	while (len && d[len - 1] == '0')
		len--;
	return (dec){ d, len, len ? pos : 0 };
}

static int dec_cmp(dec a, dec b)
{
	if (!a.len || !b.len)
		return a.len ? 1 : b.len ? -1 : 0;
	if (a.pos != b.pos)
		return a.pos < b.pos ? -1 : 1;
	for (int32_t i = 0; i < a.len || i < b.len; i++) {
		char x = i < a.len ? a.d[i] : '0', y = i < b.len ? b.d[i] : '0';
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

/* m * 2^e exactly */
static dec dec_binary(uint64_t m, int e)
{
	big b = big_u64(m);
	if (e >= 0) {
		b = big_shl(b, (uint32_t)e);
	} else {
		/* m * 2^e = m * 5^-e / 10^-e */
		int k = -e;
		for (; k >= 13; k -= 13)
			b = big_mul(b, big_u64(1220703125)); /* 5^13 */
		uint32_t p = 1;
		while (k--)
			p *= 5;
		b = big_mul(b, big_u64(p));
	}
	uint32_t len;
	char *d = big_digits(b, &len);
	return dec_strip(d, (int32_t)len, (int64_t)len + (e < 0 ? e : 0));
}

/* A positive finite double as m * 2^e, and the exact midpoints to its neighbours: every decimal
 * strictly between lo and hi reads back as it, and lo/hi themselves when m is even (ties to
 * even). Below a power of two the lower neighbour is closer. */
typedef struct {
	uint64_t m;
	int e;
	dec lo, hi;
} parts;

static parts split_double(uint64_t bits)
{
	int exp = (int)(bits >> 52);
	uint64_t frac = bits & ((1ull << 52) - 1);
	parts p;
	if (exp == 0) {
		p.m = frac;
		p.e = -1074;
	} else {
		p.m = frac | 1ull << 52;
		p.e = exp - 1075;
	}
	p.hi = dec_binary(2 * p.m + 1, p.e - 1);
	p.lo = frac == 0 && exp > 1 ? dec_binary(4 * p.m - 1, p.e - 2) : dec_binary(2 * p.m - 1, p.e - 1);
	return p;
}

/* ---- Number.prototype.toString ---- */

static void sb_add_zeros(strbuf *b, int64_t n)
{
	while (n-- > 0)
		sb_add_byte(b, '0');
}

/* The digits JavaScript prints for x > 0: the fewest that read back as x, the closest to x
 * among those (Number::toString, ECMA-262 6.1.6.1.20 step 5). */
static dec shortest(double x)
{
	parts p = split_double(bits_of(x));
	dec exact = dec_binary(p.m, p.e);
	bool inclusive = (p.m & 1) == 0;
	for (int32_t k = 1;; k++) {
		if (exact.len <= k)
			return exact;
		dec down = dec_strip(exact.d, k, exact.pos);
		char *u = box_alloc((size_t)k, 1);
		memcpy(u, exact.d, (size_t)k);
		int32_t i = k - 1;
		while (i >= 0 && u[i] == '9')
			u[i--] = '0';
		dec up;
		if (i < 0) {
			u[0] = '1';
			up = dec_strip(u, 1, exact.pos + 1);
		} else {
			u[i]++;
			up = dec_strip(u, k, exact.pos);
		}
		int cl = dec_cmp(down, p.lo), ch = dec_cmp(up, p.hi);
		bool down_ok = cl > 0 || (inclusive && cl == 0);
		bool up_ok = ch < 0 || (inclusive && ch == 0);
		if (down_ok && up_ok) {
			/* the nearer; the rest of the digits is exactly half only when it is "5" */
			char r = exact.d[k];
			bool take_up = r > '5' || (r == '5' && (exact.len > k + 1 || (exact.d[k - 1] - '0') % 2 == 1));
			return take_up ? up : down;
		}
		if (down_ok)
			return down;
		if (up_ok)
			return up;
	}
}

void sb_add_num(strbuf *b, double x)
{
	if (x != x) {
		sb_add_c(b, "NaN");
		return;
	}
	if (x == 0) {
		sb_add_byte(b, '0'); /* also -0 */
		return;
	}
	if (x < 0) {
		sb_add_byte(b, '-');
		x = -x;
	}
	if (x == INF) {
		sb_add_c(b, "Infinity");
		return;
	}
	dec s = shortest(x);
	int64_t k = s.len, n = s.pos;
	if (k <= n && n <= 21) {
		sb_add(b, (str){ s.d, (uint32_t)k });
		sb_add_zeros(b, n - k);
	} else if (0 < n && n <= 21) {
		sb_add(b, (str){ s.d, (uint32_t)n });
		sb_add_byte(b, '.');
		sb_add(b, (str){ s.d + n, (uint32_t)(k - n) });
	} else if (-6 < n && n <= 0) {
		sb_add_c(b, "0.");
		sb_add_zeros(b, -n);
		sb_add(b, (str){ s.d, (uint32_t)k });
	} else {
		sb_add_byte(b, s.d[0]);
		if (k > 1) {
			sb_add_byte(b, '.');
			sb_add(b, (str){ s.d + 1, (uint32_t)(k - 1) });
		}
		sb_add_byte(b, 'e');
		sb_add_byte(b, n - 1 >= 0 ? '+' : '-');
		sb_add_u64(b, (uint64_t)(n - 1 >= 0 ? n - 1 : 1 - n));
	}
}

/* ---- Number(string) ---- */

bool js_isfinite(double x)
{
	return x == x && x != INF && x != -INF;
}

double js_floor(double x)
{
	return __builtin_floor(x);
}

double js_round(double x)
{
	if (!js_isfinite(x) || x == 0)
		return x;
	if (x < 0 && x >= -0.5)
		return -0.0;
	double f = js_floor(x);
	return x - f >= 0.5 ? f + 1 : f; /* x - floor(x) is exact */
}

static const double POW10[23] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
				  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* The double nearest to v (ties to even), by stepping from an estimate: v is above the
 * midpoint to the next double up, or below the one to the next down, until it is neither. */
static double nearest(dec v)
{
	uint64_t acc = 0;
	int32_t used = 0;
	for (; used < v.len && used < 19; used++)
		acc = acc * 10 + (uint64_t)(v.d[used] - '0');
	double x = (double)acc;
	int64_t scale = v.pos - used;
	for (; scale > 22; scale -= 22)
		x *= 1e22;
	for (; scale < -22; scale += 22)
		x /= 1e22;
	x = scale >= 0 ? x * POW10[scale] : x / POW10[-scale];
	uint64_t b = x == INF ? 0x7fefffffffffffffull : x == 0 ? 1 : bits_of(x);
	for (int guard = 0; guard < 100000; guard++) {
		if (b == 0x7ff0000000000000ull)
			return INF;
		if (b == 0)
			return 0;
		parts p = split_double(b);
		int c = dec_cmp(v, p.hi);
		if (c > 0 || (c == 0 && (p.m & 1))) {
			b++;
			continue;
		}
		c = dec_cmp(v, p.lo);
		if (c < 0 || (c == 0 && (p.m & 1))) {
			b--;
			continue;
		}
		return of_bits(b);
	}
	box_trap();
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99;
}

/* 0x / 0o / 0b literals: an integer, correctly rounded */
static double radix_number(const char *p, uint32_t n, uint32_t bits)
{
	uint32_t nl = (uint32_t)(((uint64_t)n * bits + 31) / 32) + 1;
	uint32_t *d = limbs(nl);
	for (uint32_t i = 0; i < n; i++) {
		int v = digit_value(p[i]);
		if (v >= 1 << bits)
			return __builtin_nan("");
		uint64_t at = (uint64_t)(n - 1 - i) * bits;
		d[at / 32] |= (uint32_t)v << (at % 32);
		if (at % 32 + bits > 32)
			d[at / 32 + 1] |= (uint32_t)v >> (32 - at % 32);
	}
	return big_to_double(norm(d, nl));
}

/* BOX_APART: run only for a number argument given (-flto would inline it, 1.9 KB, into
 * number_arg, which every start runs) */
BOX_APART double js_number(str s)
{
	s = str_trim(s);
	if (!s.len)
		return 0;
	if (s.len > 2 && s.ptr[0] == '0') {
		char x = s.ptr[1] | 0x20;
		uint32_t bits = x == 'x' ? 4 : x == 'o' ? 3 : x == 'b' ? 1 : 0;
		if (bits)
			return radix_number(s.ptr + 2, s.len - 2, bits);
	}
	uint32_t i = 0;
	bool neg = false;
	if (s.ptr[0] == '+' || s.ptr[0] == '-') {
		neg = s.ptr[0] == '-';
		i++;
	}
	if (str_eq_c((str){ s.ptr + i, s.len - i }, "Infinity"))
		return neg ? -INF : INF;
	char *digits = box_alloc(s.len, 1);
	int32_t nd = 0;
	int64_t int_digits = 0, frac_digits = 0, exp = 0;
	for (; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++, int_digits++)
		digits[nd++] = s.ptr[i];
	if (i < s.len && s.ptr[i] == '.')
		for (i++; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++, frac_digits++)
			digits[nd++] = s.ptr[i];
	if (int_digits + frac_digits == 0)
		return __builtin_nan("");
	if (i < s.len && (s.ptr[i] | 0x20) == 'e') {
		bool eneg = false;
		i++;
		if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-'))
			eneg = s.ptr[i++] == '-';
		uint32_t from = i;
		for (; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++)
			if (exp < 1000000000)
				exp = exp * 10 + (s.ptr[i] - '0');
		if (i == from)
			return __builtin_nan("");
		if (eneg)
			exp = -exp;
	}
	if (i != s.len)
		return __builtin_nan("");
	dec v = dec_strip(digits, nd, int_digits + exp);
	double x = !v.len ? 0 : v.pos > 310 ? INF : v.pos < -324 ? 0 : nearest(v);
	return neg ? -x : x;
}
