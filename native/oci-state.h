/* box-runc's native half: a container's state directory under the OCI root, its `state` file
 * (written by box's src/oci/state-file.ts, the format's one definition) and its status. */
#ifndef BOX_OCI_STATE_H
#define BOX_OCI_STATE_H

#include <stddef.h>
#include <sys/types.h>

struct oci_state {
	char *text;                                               /* the file; the literals below point into it */
	const char *id, *oci_version, *bundle, *rootfs, *created; /* JSON literals, as written */
	char *command;                                            /* decoded: process.args[0] */
	pid_t pid, monitor_pid;
	const char *pid_start;
	const char **annotations; /* `"KEY" "VALUE"`, as written, in order */
	size_t nannotations;
	int poststart, poststop; /* the container has such hooks */
	char **cgroup_roots;     /* decoded */
	size_t nroots;
	char *cgroup_path;                 /* decoded, relative to each root */
	char *freezer_file, *freezer_line; /* decoded; NULL without a freezer */
};

enum oci_read {
	OCI_READ_OK,
	OCI_READ_NONE,  /* no state file: box's Node.js side decides (being created, or an older box's) */
	OCI_READ_NEWER, /* a format this helper does not know: box's Node.js side reads it */
	OCI_READ_ERROR, /* unreadable or malformed: errno set, the message in the buffer given */
};

enum oci_status { OCI_CREATED, OCI_RUNNING, OCI_PAUSED, OCI_STOPPED };

/* Reads DIRFD/state, never through a symlink. */
enum oci_read oci_state_read(int dirfd, struct oci_state *st, char *msg, size_t msglen);
void oci_state_free(struct oci_state *st);
/* Store.status's rules: the monitor's file, the events, the init's start time, the freezer. */
enum oci_status oci_status(int dirfd, const struct oci_state *st);
const char *oci_status_name(enum oci_status s);
/* The init is alive and is the container's (its start time matches: a recycled pid is not). */
int oci_init_alive(const struct oci_state *st);
/* PID is alive and is a box-helper. */
int oci_monitor_alive(pid_t pid);
/* A whole small file under DIRFD (never through a symlink), NUL-terminated; NULL with errno. */
char *oci_read_at(int dirfd, const char *name, size_t max);
/* The cgroup's processes, each once, in the order its hierarchies list them; *n set. */
pid_t *oci_cgroup_pids(const struct oci_state *st, size_t *n);
/* The cgroup's directory in hierarchy i (malloc'd). */
char *oci_cgroup_dir(const struct oci_state *st, size_t i);

#endif
