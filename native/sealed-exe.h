/* box-helper: re-execute from a binary no container can write to (sealed-exe.c). */
#ifndef BOX_SEALED_EXE_H
#define BOX_SEALED_EXE_H

/* Returns in the re-executed helper (the environment says it is); else execs and never returns. */
void reexec_sealed(char **argv);

#endif
