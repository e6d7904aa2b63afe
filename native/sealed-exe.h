/* box-helper: re-execute from a binary no container can write to (sealed-exe.c). */
#ifndef BOX_SEALED_EXE_H
#define BOX_SEALED_EXE_H

/* Returns in the re-executed helper (the environment says it is); else execs and never returns. */
void reexec_sealed(char **argv);
/* The overlay's mount fd the helper keeps until sealed_release (-1: none), for the fds it keeps. */
int sealed_mount_fd(void);
/* Drops that mount (an RCU grace period): once the container's command started, or in a process
 * that forked one that keeps it. */
void sealed_release(void);

#endif
