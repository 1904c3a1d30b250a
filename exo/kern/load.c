/*
 * load.c: the boot envs.  The kernel loads only the programs the command
 * line names, each into a fresh env with an equal share of the frames and
 * slots; every later program is loaded by user code.  Segments get the
 * permissions their ELF flags ask for (never writable and executable at
 * once, since the loader refuses such segments); the bytes past a
 * segment's file contents are zero, as every new frame is.  The image and
 * stack frames are one allocation the env holds in EXO_SLOT_IMAGE, so its
 * library OS can name every frame it has mapped (to fork, say).  Each
 * finds the command line's boot arguments (after "--") in its uenv.
 */
#include <string.h>

#include <exo/hvc.h>

#include "boot.h"
#include "cpio.h"
#include "elf.h"
#include "frames.h"
#include "initrd.h"
#include "kern.h"
#include "load.h"
#include "sched.h"
#include "uvm.h"

#define BOOT_INITRD_RIGHTS (EXO_R_READ | EXO_R_GRANT)

static _Noreturn void bad_program(const char *name, int len, const char *why)
{
	kprintf("exo: run: %.*s: %s\n", len, name, why);
	exo_exit(EXO_EXIT_BAD_BOOT);
}

static unsigned perm_of(uint32_t flags)
{
	return EXO_MAP_READ | (flags & ELF_PF_W ? EXO_MAP_WRITE : 0) |
	       (flags & ELF_PF_X ? EXO_MAP_EXEC : 0);
}

/*
 * The frames of a boot env's image and stack: one allocation, handed out
 * in order, that the env gets as a capability in EXO_SLOT_IMAGE.
 */
struct image_frames {
	uint64_t next, end; /* physical addresses */
};

/* The next image frame mapped at va in e, or the one already there. */
static int page_at(struct env *e, struct image_frames *fr, uint64_t va,
		   unsigned perm, uint64_t *pa)
{
	if (!uvm_lookup(e, va, pa)) {
		if (fr->next == fr->end)
			return -E_NOMEM;
		*pa = fr->next;
		fr->next += PAGE_SIZE;
	}
	return frames_map(e, va, *pa, perm, true);
}

static uint64_t page_down(uint64_t x)
{
	return x & ~(PAGE_SIZE - 1);
}

/* Pages the PT_LOAD segments cover (they ascend; neighbours may share). */
static uint64_t image_pages(const struct cpio_entry *img)
{
	uint64_t pages = 0, covered = 0;
	struct elf64_phdr ph;

	for (unsigned i = 0; i < elf64_phnum(img->data); i++) {
		uint64_t start, end;

		if (!elf64_phdr(img->data, img->size, i, &ph) ||
		    ph.type != ELF_PT_LOAD || ph.vaddr + ph.memsz < ph.vaddr)
			continue;
		start = page_down(ph.vaddr);
		end = page_down(ph.vaddr + ph.memsz + PAGE_SIZE - 1);
		if (start < covered)
			start = covered;
		if (end > start)
			pages += (end - start) / PAGE_SIZE;
		if (end > covered)
			covered = end;
	}
	return pages;
}

static const char *load_segment(struct env *e, struct image_frames *fr,
				const struct cpio_entry *img,
				const struct elf64_phdr *ph)
{
	uint64_t start = page_down(ph->vaddr);
	uint64_t end = ph->vaddr + ph->memsz;

	if ((ph->flags & ELF_PF_W) && (ph->flags & ELF_PF_X))
		return "a segment is writable and executable";
	if (end < ph->vaddr || !env_user_address(end))
		return "a segment lies outside the user address space";
	for (uint64_t va = start; va < end; va += PAGE_SIZE) {
		uint64_t pa, from = va < ph->vaddr ? ph->vaddr : va;
		uint64_t to = va + PAGE_SIZE;

		if (page_at(e, fr, va, perm_of(ph->flags), &pa))
			return "out of memory for its segments";
		if (to > ph->vaddr + ph->filesz)
			to = ph->vaddr + ph->filesz;
		if (from < to)
			memcpy((char *)exo_p2v(pa) + (from - va),
			       (const char *)img->data + ph->offset +
				   (from - ph->vaddr),
			       to - from);
	}
	return NULL;
}

/* Allocate the image frames and record them in EXO_SLOT_IMAGE. */
static const char *give_image_frames(struct env *e, uint64_t pages,
				     struct image_frames *fr)
{
	struct cap c = {.type = EXO_CAP_FRAME, .rights = EXO_R_ALL &
							 ~EXO_R_CALL};

	if (pages > EXO_FRAME_ALLOC_MAX)
		return "its image and stack exceed EXO_FRAME_ALLOC_MAX pages";
	/* Code the env cannot get back from anywhere: vital, and low. */
	if (frames_alloc(e, EXO_FRAME_ANY, pages, FT_VITAL, &c.base))
		return "out of memory for its image and stack";
	c.count = pages;
	c.epoch = frametab.frames[PA_FRAME(c.base)].epoch;
	captab_insert(&e->caps, EXO_SLOT_IMAGE, &c);
	*fr = (struct image_frames){c.base, c.base + pages * PAGE_SIZE};
	return NULL;
}

static const char *load_image(struct env *e, const struct cpio_entry *img,
			      struct image_frames *fr, uint64_t *entry)
{
	struct elf64_phdr ph;
	const char *why;

	if (!elf64_x86_64_exec(img->data, img->size, entry))
		return "not an ELF64 x86-64 executable";
	why = give_image_frames(e, image_pages(img) + EXO_USER_STACK_PAGES, fr);
	if (why)
		return why;
	for (unsigned i = 0; i < elf64_phnum(img->data); i++) {
		const char *why;

		if (!elf64_phdr(img->data, img->size, i, &ph))
			return "a program header lies outside the file";
		if (ph.type == ELF_PT_LOAD &&
		    (why = load_segment(e, fr, img, &ph)))
			return why;
	}
	return env_user_address(*entry) ? NULL
					: "its entry point is not a user address";
}

static const char *give_stack(struct env *e, struct image_frames *fr)
{
	for (unsigned i = 1; i <= EXO_USER_STACK_PAGES; i++) {
		uint64_t pa;

		if (page_at(e, fr, EXO_USER_STACK_TOP - i * PAGE_SIZE,
			    EXO_MAP_READ | EXO_MAP_WRITE, &pa))
			return "out of memory for its stack";
	}
	return NULL;
}

static void give_initrd(struct env *e)
{
	uint64_t pa = (uintptr_t)boot_info.initrd - EXO_DIRECT_MAP_BASE;
	uint64_t first = pa & ~(PAGE_SIZE - 1);
	struct cap c = {
	    .type = EXO_CAP_INITRD,
	    .rights = BOOT_INITRD_RIGHTS,
	    .base = first,
	    .count = (pa + boot_info.initrd_size - first + PAGE_SIZE - 1) /
		     PAGE_SIZE,
	};

	if (boot_info.initrd)
		captab_insert(&e->caps, EXO_SLOT_INITRD, &c);
}

static void give_slices(struct env *e, uint64_t mask)
{
	struct cap c = {.type = EXO_CAP_TIMESLOTS,
			.rights = EXO_R_FREE | EXO_R_GRANT,
			.base = mask,
			.object = e->id};

	captab_insert(&e->caps, EXO_SLOT_BOOT_SLICES, &c);
}

static void start_one(const struct cmdline *cl, int index, uint64_t frames,
		      unsigned slots)
{
	const struct cmdline_word *prog = &cl->run[index];
	struct exo_regs regs = {.rsp = EXO_USER_STACK_TOP};
	struct cpio_entry img;
	struct image_frames fr;
	struct env *e;
	uint64_t mask;
	char name[ENV_NAME_MAX];
	const char *why;

	if (!initrd_find(prog->s, prog->len, &img))
		bad_program(prog->s, prog->len, "no such program in the initrd");
	fmt_snprintf(name, sizeof(name), "%.*s", prog->len, prog->s);
	if (env_create(NULL, frames, slots, name, &e))
		bad_program(prog->s, prog->len, "no memory for an env");
	e->boot_index = index;
	if ((why = load_image(e, &img, &fr, &regs.rip)) ||
	    (why = give_stack(e, &fr)))
		bad_program(prog->s, prog->len, why);
	env_set_context(e, &regs);
	cmdline_args_write(cl, &env_uenv(e)->args);
	give_initrd(e);
	quota_charge(&e->slots, slots);
	if (slots_alloc(&slot_vector, e->id, slots, false, &mask))
		bad_program(prog->s, prog->len, "no free time slices");
	env_uenv(e)->slice.slots_mask = mask;
	give_slices(e, mask);
	e->state = EXO_ENV_STATE_RUNNABLE;
	kprintf("exo: env %u (%s): %lu frames, %u slots, entry %p\n", e->id,
		e->name, frames, slots, (void *)regs.rip);
}

void load_boot_envs(const struct cmdline *cl)
{
	uint64_t frames = root_frames.limit / cl->nrun;
	unsigned slots = EXO_NSLOTS / cl->nrun;

	slots_init(&slot_vector);
	for (unsigned i = 0; i < cl->nrun; i++)
		start_one(cl, (int)i, frames, slots);
}
