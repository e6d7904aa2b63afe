/* box-helper: the spec, decoded and validated (spec.c; PROTOCOL.md, "Spec encoding" and "Ops"). */
#ifndef BOX_SPEC_H
#define BOX_SPEC_H

#include <stddef.h>
#include <stdint.h>

/* The protocol version in a spec's header; box's is SPEC_VERSION in src/runtime/spec.ts. */
#define SPEC_VERSION 2
#define SPEC_VERSION_TEXT "2"

struct str {
	char *p;      /* NUL-terminated copy */
	uint32_t len; /* length without the terminator */
};

enum op_kind { OP_HOST, OP_STEP, OP_ATTR };

struct rec {
	const struct opdef *op;
	uint32_t argc; /* number of arguments, op name excluded */
	struct str *a; /* a[0..argc-1] */
};

struct opdef {
	const char *name;
	const char *types; /* per argument: s string, b bytes, u unsigned, i signed (-1 ok), p absolute
			    * path; '*' repeats the last */
	enum op_kind kind;
	int single; /* may appear at most once */
	int modes;  /* M_RUN, M_EXEC: the subcommands that accept it */
};

enum { M_RUN = 1, M_EXEC = 2, M_PROBE = 4 /* health-exec: exec ops without join and tty */ };

struct spec {
	struct rec *recs;
	size_t nrecs;
};

/* Reads and validates the whole spec from fd; on error prints an `error spec` line and exits 125. */
void spec_read(int fd, struct spec *sp, int mode);
/* Validated numbers (spec_read already checked the syntax). */
uint64_t arg_u(const struct rec *r, unsigned i);
int64_t arg_i(const struct rec *r, unsigned i);
/* The probe's spec of `health-exec`, validated with the spec (empty without it). */
const struct spec *spec_probe(void);
/* The last record with this op name, or NULL. */
const struct rec *spec_find(const struct spec *sp, const char *name);

#endif
