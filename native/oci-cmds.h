/* box-runc's native half: the commands it answers itself (start, state, kill, delete, ps, list). */
#ifndef BOX_OCI_CMDS_H
#define BOX_OCI_CMDS_H

/* The OCI root: its path (for messages) and descriptor (-1 when it does not exist). */
void oci_use_root(const char *path, int fd);
/* Each returns the exit status, or calls oci_delegate() for what box's Node.js side must do;
 * ID is a valid container id. */
int oci_start(const char *id);
int oci_state(const char *id);
int oci_kill(const char *id, int signal, int all);
int oci_delete(const char *id, int force);
int oci_ps(const char *id, int json);
int oci_list(int json, int quiet);

#endif
