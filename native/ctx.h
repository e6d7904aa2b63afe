/* box-helper: the state shared by the parent, the child and the init (set by host_ops and the
 * parent's setup in box-helper.c, read everywhere). */
#ifndef BOX_CTX_H
#define BOX_CTX_H

#include <signal.h>
#include <sys/types.h>

#include "spec.h"

struct ctx {
	struct spec spec;
	unsigned long clone_flags;
	int tty, init, cgroupns;
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
	int release;                      /* `release`: the monitor exits once the container started (OCI runtimes) */
	const struct rec *console_socket; /* `console-socket`: where the pty master goes (release) */
	int console_fd;                   /* exec: connected to it before the join (a host path), else -1 */
	int detach_wr;                    /* monitor -> original helper: 'S' once started; EOF otherwise */
	int log_rd[2];                    /* monitor's read ends of the container's stdout and stderr pipes; with
			       * `tty`, [0] is the pty master and [1] unused */
	const struct rec *exit_event;
	int stdin_wr;      /* `stdin` without `tty`: the monitor's end of the container's stdin pipe */
	int attach_fd;     /* `attach`: the listening socket */
	int exit_event_fd; /* `exit-event`: its FILE, opened before the join (a host path) */
	/* exec */
	int exec_mode; /* box-helper exec: the command runs under a reaper (init.c) */
	int *cg_fds;   /* exec: the opened cgroup-join files, written "0" by the child */
	size_t ncg;
	/* health checks (health.c) */
	int probe; /* this exec is a health probe: its process gets its own group */
};

extern struct ctx C;

#endif
