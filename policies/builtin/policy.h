/* box:policy@0.2.0 (policies/wit/policy.wit) for policies written in C, and the helpers the
 * built-in policies share (lib.c, jsnum.c).
 *
 * The types below are the WIT types as the component model's canonical ABI lays them out in
 * linear memory (wasm32, natural alignment: a C struct with the fields in WIT order has exactly
 * that layout):
 *   string, list<T>     { pointer, length }   (length in bytes for a string, UTF-8)
 *   option<T>           { u8 is_some; T val }
 *   bool, enum          u8 (enum: the case's index in the WIT)
 *   variant             { u8 tag; payload } (tag: the case's index)
 *   record, tuple       struct with the fields in order
 * box calls `evaluate` with a pointer to a box_request it wrote with cabi_realloc, and reads the
 * verdict from the pointer evaluate returns; the same for describe's box_info. Memory the
 * policy allocates lives until the call's post-return function (cabi_post_...), which resets the
 * allocator: nothing survives from one call to the next.
 */
#ifndef BOX_POLICY_H
#define BOX_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The interface instance the exports belong to (lib.c names them after it). */
#define BOX_ADMISSION "box:policy/admission@0.2.0"

/* ---- the WIT types (interface admission) ---- */

/* string */
typedef struct {
	const char *ptr;
	uint32_t len;
} box_string;

/* list<string> */
typedef struct {
	box_string *ptr;
	uint32_t len;
} box_list_string;

/* list<u32> */
typedef struct {
	uint32_t *ptr;
	uint32_t len;
} box_list_u32;

/* type pair = tuple<string, string> */
typedef struct {
	box_string key;
	box_string value;
} box_pair;

/* list<pair> */
typedef struct {
	box_pair *ptr;
	uint32_t len;
} box_list_pair;

/* option<string> */
typedef struct {
	uint8_t is_some;
	box_string val;
} box_option_string;

/* option<u64> */
typedef struct {
	uint8_t is_some;
	uint64_t val;
} box_option_u64;

/* option<s64> */
typedef struct {
	uint8_t is_some;
	int64_t val;
} box_option_s64;

/* record image */
typedef struct {
	box_string reference;
	box_string id;
	box_option_string digest;
	box_list_pair labels;
	box_list_string env;
	box_list_string entrypoint;
	box_list_string cmd;
	box_string user;
	box_string working_dir;
	box_list_string exposed_ports;
} box_image;

/* enum mount-kind */
enum { BOX_MOUNT_BIND, BOX_MOUNT_VOLUME, BOX_MOUNT_TMPFS, BOX_MOUNT_IMAGE };

/* enum propagation */
enum { BOX_PROP_PRIVATE, BOX_PROP_RPRIVATE, BOX_PROP_SHARED, BOX_PROP_RSHARED, BOX_PROP_SLAVE, BOX_PROP_RSLAVE };

/* option<propagation> */
typedef struct {
	uint8_t is_some;
	uint8_t val;
} box_option_propagation;

/* record mount */
typedef struct {
	uint8_t kind; /* mount-kind */
	box_string source;
	box_string destination;
	bool read_only;
	box_option_propagation propagation;
	box_list_string options;
} box_mount;

/* list<mount> */
typedef struct {
	box_mount *ptr;
	uint32_t len;
} box_list_mount;

/* record ulimit */
typedef struct {
	box_string name;
	int64_t soft; /* -1: unlimited */
	int64_t hard;
} box_ulimit;

/* list<ulimit> */
typedef struct {
	box_ulimit *ptr;
	uint32_t len;
} box_list_ulimit;

/* record resources */
typedef struct {
	box_option_u64 memory;
	box_option_s64 memory_swap;
	box_option_u64 memory_reservation;
	box_option_s64 cpu_quota;
	box_option_u64 cpu_period;
	box_option_u64 cpu_shares;
	box_option_string cpuset_cpus;
	box_option_string cpuset_mems;
	box_option_s64 pids_limit;
	box_list_ulimit ulimits;
} box_resources;

/* record security */
typedef struct {
	bool privileged;
	box_list_string capabilities;
	box_string seccomp_profile;
	bool no_new_privileges;
	bool read_only_rootfs;
} box_security;

/* variant namespace-mode { private, host, container(string) } */
enum { BOX_NS_PRIVATE, BOX_NS_HOST, BOX_NS_CONTAINER };
typedef struct {
	uint8_t tag;
	box_string val; /* container */
} box_namespace_mode;

/* record namespaces */
typedef struct {
	box_namespace_mode pid;
	box_namespace_mode ipc;
	box_namespace_mode uts;
	box_namespace_mode user;
	box_namespace_mode cgroup;
} box_namespaces;

/* variant network-mode { none, host, bridge(string), container(string), namespace(string) } */
enum { BOX_NET_NONE, BOX_NET_HOST, BOX_NET_BRIDGE, BOX_NET_CONTAINER, BOX_NET_NAMESPACE };
typedef struct {
	uint8_t tag;
	box_string val; /* bridge, container, namespace */
} box_network_mode;

/* enum protocol */
enum { BOX_PROTO_TCP, BOX_PROTO_UDP, BOX_PROTO_SCTP };

/* record port-mapping */
typedef struct {
	box_string host_ip;
	uint16_t host_port;
	uint16_t container_port;
	uint8_t protocol;
} box_port_mapping;

/* list<port-mapping> */
typedef struct {
	box_port_mapping *ptr;
	uint32_t len;
} box_list_port_mapping;

/* record endpoint */
typedef struct {
	box_string name;
	box_string driver;
	bool internal;
	box_option_string ipv4_address;
	box_option_string ipv6_address;
	box_option_string mac_address;
	box_list_string aliases;
} box_endpoint;

/* list<endpoint> */
typedef struct {
	box_endpoint *ptr;
	uint32_t len;
} box_list_endpoint;

/* record dns-config */
typedef struct {
	box_list_string servers;
	box_list_string search;
	box_list_string options;
} box_dns_config;

/* record network */
typedef struct {
	box_network_mode mode;
	box_list_endpoint networks;
	box_list_port_mapping published_ports;
	box_dns_config dns;
	box_list_string extra_hosts;
} box_network;

/* enum restart-condition */
enum { BOX_RESTART_NO, BOX_RESTART_ALWAYS, BOX_RESTART_ON_FAILURE, BOX_RESTART_UNLESS_STOPPED };

/* record restart-policy */
typedef struct {
	uint8_t condition;
	uint32_t maximum_retries;
} box_restart_policy;

/* record user */
typedef struct {
	box_string spec;
	uint32_t uid;
	uint32_t gid;
	box_list_u32 additional_gids;
} box_user;

/* record container */
typedef struct {
	box_string name;
	box_string hostname;
	box_image image;
	box_list_string args;
	box_list_string entrypoint;
	box_list_string cmd;
	box_user user;
	box_string working_dir;
	box_list_string env;
	box_list_pair labels;
	box_list_mount mounts;
	box_resources resources;
	box_security security;
	box_namespaces namespaces;
	box_network network;
	box_restart_policy restart;
	bool tty;
	bool init;
} box_container;

/* record committed */
typedef struct {
	uint32_t containers;
	uint64_t memory;
	uint32_t unlimited_memory;
	uint64_t millicpus;
	uint32_t unlimited_cpu;
	uint64_t pids;
} box_committed;

/* record host */
typedef struct {
	uint32_t cpus;
	uint64_t memory_total;
	uint8_t cgroup_version;
	box_committed committed;
	box_string storage_root;
	box_string runtime_root;
} box_host;

/* record caller */
typedef struct {
	uint32_t uid;
	uint32_t gid;
} box_caller;

/* record request */
typedef struct {
	box_container container;
	box_host host;
	box_caller caller;
	box_list_pair args;
	box_string box_version;
} box_request;

/* record limits-patch */
typedef struct {
	box_option_u64 memory;
	box_option_s64 memory_swap;
	box_option_u64 memory_reservation;
	box_option_s64 cpu_quota;
	box_option_u64 cpu_period;
	box_option_u64 cpu_shares;
	box_option_string cpuset_cpus;
	box_option_s64 pids_limit;
	box_list_ulimit ulimits;
} box_limits_patch;

/* option<limits-patch> */
typedef struct {
	uint8_t is_some;
	box_limits_patch val;
} box_option_limits_patch;

/* enum network-restriction */
enum { BOX_RESTRICT_DISCONNECT, BOX_RESTRICT_UNPUBLISH_PORTS };

/* option<network-restriction> */
typedef struct {
	uint8_t is_some;
	uint8_t val;
} box_option_network_restriction;

/* record patch */
typedef struct {
	box_option_limits_patch limits;
	box_list_string drop_capabilities;
	box_list_string read_only_mounts;
	bool read_only_rootfs;
	bool no_new_privileges;
	box_list_pair add_env;
	box_list_pair add_labels;
	box_option_network_restriction network;
} box_patch;

/* option<patch> */
typedef struct {
	uint8_t is_some;
	box_patch val;
} box_option_patch;

/* enum decision */
enum { BOX_ALLOW, BOX_DENY };

/* record verdict */
typedef struct {
	uint8_t decision;
	box_list_string reasons;
	box_list_string warnings;
	box_option_patch patch;
} box_verdict;

/* record argument */
typedef struct {
	box_string name;
	box_string description;
} box_argument;

/* list<argument> */
typedef struct {
	box_argument *ptr;
	uint32_t len;
} box_list_argument;

/* record info */
typedef struct {
	box_string name;
	box_string version;
	box_string description;
	box_list_argument arguments;
} box_info;

/* ---- what a policy defines ---- */

/* describe: func() -> info, and evaluate: func(request: request) -> verdict. lib.c exports them
 * under their canonical ABI names and fills in the returned record. */
void policy_describe(box_info *info);
void policy_evaluate(const box_request *req, box_verdict *verdict);

/* ---- lib.c: memory, strings, lists ---- */

/* The C library functions the compiler may call (there is no libc). */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* Allocates from the call's arena (zeroed); traps when memory cannot grow. */
void *box_alloc(size_t size, size_t align);
/* Stops the guest: a trap, which box reports as the policy failing (like an uncaught exception). */
_Noreturn void box_trap(void);

typedef box_string str;

/* Keeping code an allowed start does not run out of the functions it runs: V8 compiles a policy's
 * function whole on its first call (Liftoff, ~30 us of CPU per KB: 8.4 KB fewer
 * saved a strict start 0.24 ms, 2026-12-05 on the 2-core dev VM), and every
 * start is a new process, so a denial's message formatting inlined into a check (clang -Oz -flto
 * inlines what it calls once) costs every start.
 *   BOX_COLD   a denial or a malformed argument: a function of its own (noinline), compiled only
 *              when called; cold, so that clang also treats the call as rare
 *   BOX_APART  work only some requests ask for (a bind mount, an argument given): a function of
 *              its own, compiled only by the starts that ask */
#define BOX_COLD __attribute__((noinline, cold))
#define BOX_APART __attribute__((noinline))

/* A string literal as a str, with no strlen at run time: list_add(l, STR("...")) adds a fixed
 * message without running the formatter */
#define STR(lit) ((str){ (lit), sizeof(lit) - 1 })

str str_c(const char *s); /* a C string literal */
bool str_eq(str a, str b);
bool str_eq_c(str a, const char *b);
bool str_starts(str s, str prefix);
/* JavaScript's String.prototype.trim: removes Unicode white space and line terminators. */
str str_trim(str s);
/* Splits s at every sep (like JavaScript's split: n+1 parts for n separators). */
box_list_string str_split(str s, char sep);

/* A string being built, in the arena. */
typedef struct {
	char *p;
	uint32_t len, cap;
} strbuf;

void sb_add(strbuf *b, str s);
void sb_add_c(strbuf *b, const char *s);
void sb_add_byte(strbuf *b, char c);
void sb_add_u64(strbuf *b, uint64_t n);
void sb_add_s64(strbuf *b, int64_t n);
str sb_str(const strbuf *b);

/* A growing list of strings, in the arena. */
typedef struct {
	box_string *ptr;
	uint32_t len, cap;
} strlist;

void list_add(strlist *l, str s);
bool list_has(const strlist *l, str s);
box_list_string list_done(const strlist *l);
/* The items joined with sep (JavaScript's join). */
str list_join(const strlist *l, const char *sep);
/* The trimmed, non-empty items of a comma-separated argument ("a, ,b" → a, b). */
strlist list_items(str value);

/* ---- jsnum.c: JavaScript's number semantics, so that C policies read and print numbers exactly
 * as the TypeScript originals did ---- */

/* A non-negative integer of any size (JavaScript's BigInt for the values policies see). Limbs are
 * little-endian; n == 0 is zero; values are immutable (operations return new ones). */
typedef struct {
	const uint32_t *d;
	uint32_t n;
} big;

big big_u64(uint64_t v);
/* BigInt(x) for a finite, integral, non-negative double (traps otherwise, like BigInt's RangeError). */
big big_of_double(double x);
big big_add(big a, big b);
big big_mul(big a, big b);
/* a / b rounded down; traps when b is zero (like BigInt's RangeError). */
big big_div(big a, big b);
big big_shr(big a, uint32_t bits);
int big_cmp(big a, big b);
bool big_is_zero(big a);
/* true when a is a multiple of 2^bits */
bool big_pow2_divides(big a, uint32_t bits);
/* The low 64 bits: what a u64/s64 field receives when a JavaScript binding lowers a larger BigInt. */
uint64_t big_low64(big a);
/* Number(a): correctly rounded, Infinity when too large. */
double big_to_double(big a);
/* A string of decimal digits (ASCII, at least one) → its value. */
big big_parse_dec(str digits);
void sb_add_big(strbuf *b, big a);

/* Number(s) for a string: JavaScript's StringToNumber (white space, decimal with exponent,
 * Infinity, 0x/0o/0b), correctly rounded; NaN when s is not a number. */
double js_number(str s);
bool js_isfinite(double x);
/* Math.round and Math.floor */
double js_round(double x);
double js_floor(double x);
/* `${x}`: Number.prototype.toString(), the shortest digits that read back as x. */
void sb_add_num(strbuf *b, double x);

/* ---- lib.c: what the built-in policies share (the old lib.ts) ---- */

/* A --policy-arg value: the last one given for key. */
typedef struct {
	bool set;
	str val;
} opt_str;

opt_str arg(const box_request *req, const char *key);
/* "512m", "2g", "1048576" (suffix b k m g t, optional i and b, any case) → bytes; false when malformed. */
bool parse_bytes(str s, big *out);
/* The argument as a size, or the fallback; a malformed one adds a problem. */
big bytes_arg(const box_request *req, const char *key, big fallback, strlist *problems);
/* The argument as a non-negative number (JavaScript's Number()), or the fallback; a bad one adds a problem. */
double number_arg(const box_request *req, const char *key, double fallback, strlist *problems);
/* "1 GiB" when a whole number of GiB, else MiB with one decimal ("3686.3 MiB", "0.5 MiB"). */
void sb_add_mib(strbuf *b, big n);
/* Lexically normalised absolute path ("/a/./b/../c/" → "/a/c"). */
str normalise(str p);
/* Is p equal to or inside dir? */
bool within(str p, str dir);
/* Thousandths of a cpu the container may use (rounded up); false = unlimited. Traps on a period of 0. */
bool millicpus(const box_request *req, big *out);
/* Registry host of an image reference (Docker's rules: the first component if it has a dot or a
 * port, or is localhost; else docker.io). Empty when there is none to know: no reference, or an
 * image id ("sha256:...", what box gives for an image without a name from a single registry). */
str registry_of(str reference);

/* Formats into a new string, printf-like with box's own conversions:
 *   %s box_string   %c const char *   %u uint64_t   %d int64_t   %g double (as JavaScript prints it)
 *   %B big (decimal)   %M big (as sb_add_mib)   %% a percent sign */
str fmt(const char *f, ...);
/* list_add(l, fmt(f, ...)) */
void say(strlist *l, const char *f, ...);

/* ---- isolation.c: the denials of `baseline`, which `strict` makes too ---- */

void isolation_reasons(const box_request *req, strlist *reasons);

/* ---- netrules.c: the network rules (networks=, host-ports=) `baseline` and `strict` take ---- */

void network_reasons(const box_request *req, strlist *reasons);

#endif
