/*
 * load.h: starting the programs named on the command line
 * (exo/kern/load.c).
 */
#ifndef EXO_LOAD_H
#define EXO_LOAD_H

#include "cmdline.h"

/*
 * Make one boot env per program in cl->run, each with an equal share of
 * frames and slots, its ELF image loaded, a stack, and the initrd
 * capability in EXO_SLOT_INITRD.  Exits EXO_EXIT_BAD_BOOT naming the
 * program on any failure.
 */
void load_boot_envs(const struct cmdline *cl);

#endif /* EXO_LOAD_H */
