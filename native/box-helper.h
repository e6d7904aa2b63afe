/* box-helper: shared declarations. See PROTOCOL.md for the contract with the TypeScript side. */
#ifndef BOX_HELPER_H
#define BOX_HELPER_H

#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- spec (spec.c) ---- */

/* The protocol version in a spec's header; box's is SPEC_VERSION in src/runtime/spec.ts. */
#define SPEC_VERSION 2
#define SPEC_VERSION_TEXT "2"

struct str {
	char *p;       /* NUL-terminated copy */
	uint32_t len;  /* length without the terminator */
};

enum op_kind { OP_HOST, OP_STEP, OP_ATTR };

struct rec {
	const struct opdef *op;
	uint32_t argc;  /* number of arguments, op name excluded */
	struct str *a;  /* a[0..argc-1] */
};

struct opdef {
	const char *name;
	const char *types; /* per argument: s string, b bytes, u unsigned, i signed (-1 ok), p absolute
			    * path; '*' repeats the last */
	enum op_kind kind;
	int single;        /* may appear at most once */
	int modes;         /* M_RUN, M_EXEC: the subcommands that accept it */
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
/* The last record with this op name, or NULL. */
const struct rec *spec_find(const struct spec *sp, const char *name);

/* ---- global state shared by parent, child and init ---- */

struct ctx {
	struct spec spec;
	unsigned long clone_flags;
	int tty, init, cgroupns;
	const struct rec *oom, *nnp, *user, *groups, *caps, *cwd, *env, *seccomp, *args;
	int last_cap;
	pid_t parent_pid;     /* the helper, as seen by itself before clone */
	int sync_rd, sync_wr; /* parent -> child go-ahead; parent keeps sync_wr open for life */
	int err_rd, err_wr;   /* child -> parent "CODE STAGE ERRNO TEXT"; EOF on successful exec */
	int sock[2];          /* tty: [0] parent, [1] child; carries the pty master */
	int ist_rd, ist_wr;   /* init -> parent: the signal that killed the command */
	sigset_t fwd;         /* signals the helper forwards */
	sigset_t origmask;    /* signal mask at start, restored before exec */
	int devnull;          /* /dev/null of the host, opened at start (O_RDWR, close-on-exec) */
	/* detach (monitor.c) */
	int detach;
	const struct rec *log, *state, *on_exit;
	int detach_wr;        /* monitor -> original helper: 'S' once started; EOF otherwise */
	int log_rd[2];        /* monitor's read ends of the container's stdout and stderr pipes; with
			       * `tty`, [0] is the pty master and [1] unused */
	const struct rec *attach, *exit_event;
	int stdin_op;         /* `stdin`: attach clients write to the container's stdin */
	int stdin_wr;         /* `stdin` without `tty`: the monitor's end of the container's stdin pipe */
	int attach_fd;        /* `attach`: the listening socket */
	int exit_event_fd;    /* `exit-event`: its FILE, opened before the join (a host path) */
	/* exec */
	int exec_mode;        /* box-helper exec: the command runs under a reaper (init.c) */
	int *cg_fds;          /* exec: the opened cgroup-join files, written "0" by the child */
	size_t ncg;
	/* health checks (health.c) */
	struct spec probe_spec; /* the nested exec spec of `health-exec` */
	int probe;              /* this exec is a health probe: its process gets its own group */
};

extern struct ctx C;

/* ---- status / errors (box-helper.c) ---- */
void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* parent side: writes `error STAGE ERRNO TEXT` and exits 125 */
void die(const char *stage, int err, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
/* child side: reports through the error pipe and _exits 125/126/127 */
void cfail(const char *stage, int err, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));

/* ---- filesystem steps (mounts.c) ---- */
extern int rootfd; /* where container paths are resolved; "/" after pivot */
void fs_step(const struct rec *r);
void make_cwd(const char *path, long uid, long gid);

/* ---- network (net.c) ---- */
void loopback_up(void);

/* ---- child (child.c) ---- */
void child_main(void) __attribute__((noreturn));
void exec_child_main(void) __attribute__((noreturn));
void apply_creds(uint64_t mask);

/* ---- init (init.c) ---- */
void init_fork(void); /* returns in the command's process only */
void init_run(pid_t cmd) __attribute__((noreturn));

/* ---- parent loop (relay.c) ---- */
void parent_loop(pid_t child) __attribute__((noreturn));
void tty_restore(void);
int recv_master(void); /* the pty master the child sends over C.sock[0], or -1 */
/* After the child is gone: reports `error`/`exit`/`signal` on fd 4 and returns the helper's exit
 * status. err/errlen: what the error pipe carried ("E" alone when the exec succeeded). */
int err_pipe_read(int *fd, char *err, size_t *len, size_t cap);
int child_outcome(int started, char *err, size_t errlen, int st);

/* ---- detached monitor (monitor.c) ---- */
void detach_fork(void);          /* returns in the monitor; the original helper exits in it */
void monitor_stdio(void);        /* the monitor's (and so the container's) fds 0-2 */
void monitor_state(pid_t child); /* first state file, before the go-ahead */
void monitor_loop(pid_t child) __attribute__((noreturn));
void detach_release(void);       /* started: the original helper may exit, fd 4 is /dev/null now */

/* ---- attach socket of a detached container (attach.c), driven by monitor_loop ---- */
struct pollfd;
#define ATTACH_MAX_CLIENTS 8
#define ATTACH_NFDS (2 + ATTACH_MAX_CLIENTS)
void attach_listen(void);           /* `attach`: bind and listen, before clone (no-op without it) */
void attach_wait(void);             /* before the go-ahead: wait for the first client (WAIT_MS) */
void attach_target(int in, int win); /* where input goes (-1: dropped), the pty for window sizes */
int attach_busy(void);              /* a client has not taken all of the last output yet */
void attach_output(int stream, const unsigned char *p, size_t n); /* 1 stdout, 2 stderr */
int attach_poll_timeout(void);      /* ms until a stalled client is dropped, -1 for none */
void attach_fds(struct pollfd *p);  /* fills ATTACH_NFDS pollfds (fd -1 when unused) */
void attach_io(struct pollfd *p);   /* after poll: the same pollfds */
void attach_end(void);              /* the container is gone: last output, close everything */

/* ---- health checks (health.c), driven by monitor_loop ---- */
void health_init(void);             /* reads the health ops (no-op without `health`) */
void health_started(pid_t child);   /* the container started: schedule the first probe */
int health_poll_timeout(void);      /* ms until the next deadline, -1 for none */
int health_fds(struct pollfd *p);   /* fills 2 pollfds (fd -1 when unused) */
void health_io(struct pollfd *p);   /* after poll: the same 2 pollfds */
void health_sigchld(void);          /* reaps a finished probe */
void health_tick(void);             /* deadlines: start a probe, time one out, escalate a stop */
void health_stop(void);             /* the container is gone: kill and reap a running probe */

/* ---- box-helper.c ---- */
void host_ops(void);                    /* C's fields from C.spec */
void exec_main(pid_t target) __attribute__((noreturn)); /* join target, fork, run C.spec's args */

/* ---- small utils (box-helper.c) ---- */
int write_all(int fd, const void *buf, size_t n);
/* Closes (close_range, not close-on-exec) every fd >= 3 but those in keep[] (sorted in place;
 * -1 entries are ignored). */
void close_fds_except(int *keep, int n);
int write_file(const char *path, const char *s);
/* Events: FILE opened O_APPEND (created 0600); TEMPLATE written as one line with one write(2),
 * {{time}} and {{timeNano}} the UNIX time in seconds and nanoseconds, KEY (e.g. "{{status}}") VALUE. */
int event_open(const char *file);
void event_write(int fd, const char *tmpl, const char *key, const char *value);

#endif
