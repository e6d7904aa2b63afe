/* box-helper: what the helper and the child it clones or forks share (ctx.h). The helper sets it
 * before the clone or fork (host_ops from the spec, parent_setup for the pipes; exec_main and the
 * health probe for their mode) and the child inherits it; each side uses its ends of the pipes.
 * Everything else is kept static in the file that owns it or passed as an argument. */
#ifndef BOX_CTX_H
#define BOX_CTX_H

struct ctx {
	/* the kind of start */
	int tty;       /* `tty`: the child makes a pty and sends its master over sock */
	int init;      /* `init`: the child forks the command and stays its init (init.c) */
	int release;   /* `release`: the helper leaves once the container started (OCI runtimes) */
	int exec_mode; /* box-helper exec (also a health probe): the command runs under a reaper */
	int probe;     /* this exec is a health probe: its process gets its own group */
	int preserved; /* `preserve-fds N`: the caller's fds at PRESERVED_FD.. go to the command as 3.. */
	/* the pipes between the helper and its child; -1 where not made or not this side's */
	int sync_rd, sync_wr; /* parent -> child go-ahead; parent keeps sync_wr open for life */
	int err_rd, err_wr;   /* child -> parent "CODE STAGE ERRNO TEXT"; EOF on successful exec */
	int sock[2];          /* tty: [0] parent, [1] child; carries the pty master */
	int ist_rd, ist_wr;   /* init -> parent: the signal that killed the command (exec: its status) */
};

extern struct ctx C;

#endif
