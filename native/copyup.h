/* box-helper: copying the image's content into a new empty volume (copyup.c). */
#ifndef BOX_COPYUP_H
#define BOX_COPYUP_H

/* Copies the tree under directory fd `from` (a container path, resolved in the rootfs) into the
 * host directory `to` if `to` is empty: owners, modes, times, hard links, symlinks, device nodes, xattrs. */
void copy_up(int from, const char *to);

#endif
