/* box-runc's native half: runc's command line read by the helper itself when it runs under the
 * name box-runc, for the commands that need no policy (PROTOCOL.md, "box-runc"). */
#ifndef BOX_OCI_RUNC_H
#define BOX_OCI_RUNC_H

/* The helper runs as box-runc (argv[0]'s last component). */
int oci_is_runc(const char *argv0);
/* Answers the command, or execs box (found beside this executable) with the same argv. */
int oci_main(int argc, char **argv);

/* For the commands (oci-cmds.c): box's Node.js side takes the command over (never returns). */
__attribute__((noreturn)) void oci_delegate(void);
/* An id runc accepts (src/oci/store.ts checkId): letters, digits, + _ . -, not . or .. */
int oci_valid_id(const char *id);
/* An error as box-runc reports it: stderr, and the --log in runc's form; returns 125. */
int oci_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
