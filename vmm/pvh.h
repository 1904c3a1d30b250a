/*
 * pvh.h: the PVH loader.  Puts an ELF64 exokernel image, its initrd and
 * the boot information (struct pvh_start_info, module list, memory map,
 * command line) into guest memory, and says where the vCPU must start.
 *
 * Guest-physical layout exovmm uses:
 *   [PVH_BOOT_INFO_GPA, PVH_BOOT_AREA_END)  start info, module list, memory
 *                                           map, command line
 *   ELF PT_LOAD segments, at their p_paddr  must lie in
 *                                           [PVH_BOOT_AREA_END, RAM end)
 *   initrd                                  page-aligned, at the top of RAM,
 *                                           above every segment
 */
#ifndef VMM_PVH_H
#define VMM_PVH_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "guestmem.h"

#define PVH_BOOT_INFO_GPA 0x1000ull
#define PVH_CMDLINE_GPA 0x2000ull
#define PVH_CMDLINE_MAX 0xfffull   /* bytes, without the NUL */
#define PVH_BOOT_AREA_END 0x3000ull
#define PVH_PAGE_SIZE 0x1000ull

/* Where and how the vCPU starts: 32-bit protected mode, paging off. */
struct pvh_boot {
	uint32_t entry;       /* %eip: the PHYS32_ENTRY note's value */
	uint32_t start_info;  /* %ebx: guest-physical struct pvh_start_info */
	uint64_t image_end;   /* first byte above the highest segment */
	uint64_t initrd_gpa;  /* 0 when there is no initrd */
	uint64_t initrd_size;
};

/*
 * Load the ELF image (image_len bytes, named image_name in messages), the
 * optional initrd (initrd == NULL for none; initrd_name is then unused) and
 * the command line (NULL for none) into mem.  Everything is checked before
 * anything is written; on error *boot is untouched.  Errors say which file
 * is wrong and how: "IMAGE: not an ELF file", "IMAGE: no PVH entry note
 * (Xen, type 18); is this a PVH kernel?", "IMAGE: segment 2 [0x..,0x..)
 * lies outside guest memory [0x3000,0x..)", "INITRD: N bytes do not fit in
 * guest memory above the image (needs M MiB more)", ...
 */
int pvh_load(struct guest_mem *mem, const void *image, size_t image_len,
	     const char *image_name, const void *initrd, size_t initrd_len,
	     const char *initrd_name, const char *cmdline,
	     struct pvh_boot *boot, struct vmm_error *err);

/*
 * The checks of pvh_load() alone, with the same messages, so a bad image
 * can be refused before guest memory exists: only mem->size and
 * mem->initrd_top are read, and nothing is written.
 */
int pvh_check(const struct guest_mem *mem, const void *image, size_t image_len,
	      const char *image_name, const void *initrd, size_t initrd_len,
	      const char *initrd_name, const char *cmdline,
	      struct vmm_error *err);

#endif /* VMM_PVH_H */
