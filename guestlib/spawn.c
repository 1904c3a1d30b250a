/*
 * spawn.c: the program loader (libos_spawn): a child env made out of this
 * env's quotas, an initrd program loaded into it, a stack, registers,
 * time slices, and the start.  The kernel loads only the boot envs; every
 * later program is loaded here, in user mode, with the same system calls
 * any library OS has.
 *
 * The initrd (EXO_SLOT_INITRD) is mapped read-only at LIBOS_INITRD_BASE
 * once and searched as a cpio "newc" archive.  The program's ELF64
 * PT_LOAD segments and the stack go into one run of fresh frames, filled
 * through the scratch window LIBOS_SPAWN_WINDOW and then mapped into the
 * child with the permissions the ELF flags ask for.
 */
#include "runtime.h"

/* cpio "newc": a 110-byte header of "070701" and 13 eight-digit hex fields. */
#define CPIO_MAGIC "070701"
#define CPIO_MAGIC_LEN 6
#define CPIO_FIELD_LEN 8
#define CPIO_HEADER_LEN 110
#define CPIO_FIELD_FILESIZE 6 /* field index after the magic */
#define CPIO_FIELD_NAMESIZE 11
#define CPIO_ALIGN 4 /* names and data start 4-byte aligned */
#define CPIO_TRAILER "TRAILER!!!"
#define HEX_DIGIT_BITS 4

/* ELF64: just what the loader reads. */
#define ELF_MAGIC "\x7f" "ELF"

/* What a child may do with its image frames (ours to free). */
#define IMAGE_RIGHTS (EXO_R_READ | EXO_R_WRITE | EXO_R_EXEC | EXO_R_GRANT)
#define ELF_MAGIC_LEN 4
#define ELF_CLASS 4
#define ELF_DATA 5
#define ELF_CLASS64 2
#define ELF_DATA_LSB 1
#define ELF_TYPE_EXEC 2
#define ELF_MACHINE_X86_64 62
#define ELF_PT_LOAD 1
#define ELF_PF_X 0x1
#define ELF_PF_W 0x2
#define ELF_IDENT_SIZE 16

struct elf_ehdr {
	unsigned char ident[ELF_IDENT_SIZE];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define SEGS_MAX 8 /* PT_LOAD segments a program may have */

/* One PT_LOAD segment, as the loader places it. */
struct seg {
	uint64_t vaddr, filesz, offset; /* from the program header */
	uint64_t va;			/* first page */
	unsigned first, pages;		/* its frames in the run */
	unsigned perm;			/* EXO_MAP_* */
};

struct image {
	const uint8_t *data;
	uint64_t size;
	uint64_t entry;
	struct seg segs[SEGS_MAX];
	unsigned nsegs;
	unsigned pages; /* segments and stack */
};

/* What libos_spawn_free() needs of each child; env_slot 0: unused. */
static struct child {
	long env_slot, frames_slot, slices_slot;
} children[LIBOS_SPAWN_MAX];

static const uint8_t *initrd;
static uint64_t initrd_size;

static uint64_t page_down(uint64_t x)
{
	return x & ~(EXO_PAGE_SIZE - 1);
}

static uint64_t align_up(uint64_t x, uint64_t align)
{
	return (x + align - 1) & ~(align - 1);
}

static size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* ---- The initrd --------------------------------------------------------- */

static long initrd_map(void)
{
	struct exo_cap_info cap;
	struct exo_sysinfo info;
	long err;

	if (initrd)
		return E_OK;
	if ((err = sys_cap_info(EXO_SLOT_INITRD, &cap)) < 0)
		return err;
	if (cap.type != EXO_CAP_INITRD)
		return -E_BADCAP;
	if ((err = sys_sysinfo(&info)) < 0)
		return err;
	if (cap.count > (EXO_USER_MAP_LIMIT - LIBOS_INITRD_BASE) / EXO_PAGE_SIZE)
		return -E_NOMEM;
	err = libos_map(EXO_SLOT_SELF, LIBOS_INITRD_BASE, EXO_SLOT_INITRD, 0,
			(unsigned)cap.count, EXO_MAP_READ);
	if (err != E_OK)
		return err;
	/* exovmm places the initrd at the start of its first page. */
	initrd_size = info.initrd_size < cap.count * EXO_PAGE_SIZE
			      ? info.initrd_size
			      : cap.count * EXO_PAGE_SIZE;
	initrd = (const uint8_t *)LIBOS_INITRD_BASE;
	return E_OK;
}

/* A header field: eight hex digits.  false if it is not. */
static bool cpio_field(const uint8_t *hdr, unsigned index, uint64_t *out)
{
	const uint8_t *p = hdr + CPIO_MAGIC_LEN + index * CPIO_FIELD_LEN;
	uint64_t v = 0;

	for (unsigned i = 0; i < CPIO_FIELD_LEN; i++) {
		unsigned c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = v << HEX_DIGIT_BITS | d;
	}
	*out = v;
	return true;
}

/* The initrd entry called name: 0 and its bytes, -E_NOENT or -E_INVAL. */
static long initrd_find(const char *name, const uint8_t **data, uint64_t *size)
{
	size_t want = str_len(name);
	uint64_t off = 0;

	while (initrd_size - off >= CPIO_HEADER_LEN) {
		const uint8_t *hdr = initrd + off;
		const char *entry = (const char *)hdr + CPIO_HEADER_LEN;
		uint64_t filesize, namesize, at;

		if (memcmp(hdr, CPIO_MAGIC, CPIO_MAGIC_LEN) ||
		    !cpio_field(hdr, CPIO_FIELD_FILESIZE, &filesize) ||
		    !cpio_field(hdr, CPIO_FIELD_NAMESIZE, &namesize) ||
		    namesize == 0 ||
		    namesize > initrd_size - off - CPIO_HEADER_LEN ||
		    entry[namesize - 1] != '\0')
			return -E_INVAL;
		at = align_up(off + CPIO_HEADER_LEN + namesize, CPIO_ALIGN);
		if (at > initrd_size || filesize > initrd_size - at)
			return -E_INVAL;
		if (namesize - 1 == sizeof(CPIO_TRAILER) - 1 &&
		    !memcmp(entry, CPIO_TRAILER, namesize - 1))
			break;
		if (namesize - 1 == want && !memcmp(entry, name, want)) {
			*data = initrd + at;
			*size = filesize;
			return E_OK;
		}
		off = align_up(at + filesize, CPIO_ALIGN);
	}
	return -E_NOENT;
}

/* ---- The program image ---------------------------------------------------- */

static unsigned perm_of(uint32_t flags)
{
	return EXO_MAP_READ | (flags & ELF_PF_W ? EXO_MAP_WRITE : 0) |
	       (flags & ELF_PF_X ? EXO_MAP_EXEC : 0);
}

/* Check one PT_LOAD header and place it after the segments before it. */
static long add_segment(struct image *img, const struct elf_phdr *ph)
{
	struct seg *s = &img->segs[img->nsegs];
	uint64_t end = ph->vaddr + ph->memsz;
	uint64_t last_end = img->nsegs ? img->segs[img->nsegs - 1].va +
					     img->segs[img->nsegs - 1].pages *
						 EXO_PAGE_SIZE
				       : 0;

	if (img->nsegs == SEGS_MAX || ph->memsz == 0 ||
	    ph->filesz > ph->memsz || end < ph->vaddr ||
	    end > EXO_USER_MAP_LIMIT || ph->offset > img->size ||
	    ph->filesz > img->size - ph->offset)
		return -E_INVAL;
	/* Never writable and executable at once, as the kernel's loader. */
	if ((ph->flags & ELF_PF_W) && (ph->flags & ELF_PF_X))
		return -E_INVAL;
	/* Each segment has pages of its own, in ascending order (user.ld). */
	if (page_down(ph->vaddr) < last_end)
		return -E_INVAL;
	*s = (struct seg){
	    .vaddr = ph->vaddr,
	    .filesz = ph->filesz,
	    .offset = ph->offset,
	    .va = page_down(ph->vaddr),
	    .perm = perm_of(ph->flags),
	};
	s->pages = (unsigned)((align_up(end, EXO_PAGE_SIZE) - s->va) /
			      EXO_PAGE_SIZE);
	if (s->pages > EXO_FRAME_ALLOC_MAX - img->pages)
		return -E_NOMEM;
	s->first = img->pages;
	img->pages += s->pages;
	img->nsegs++;
	return E_OK;
}

static long parse_elf(struct image *img)
{
	struct elf_ehdr eh;

	if (img->size < sizeof(eh))
		return -E_INVAL;
	memcpy(&eh, img->data, sizeof(eh));
	if (memcmp(eh.ident, ELF_MAGIC, ELF_MAGIC_LEN) ||
	    eh.ident[ELF_CLASS] != ELF_CLASS64 ||
	    eh.ident[ELF_DATA] != ELF_DATA_LSB || eh.type != ELF_TYPE_EXEC ||
	    eh.machine != ELF_MACHINE_X86_64 ||
	    eh.phentsize != sizeof(struct elf_phdr) || eh.phoff > img->size ||
	    (uint64_t)eh.phnum * sizeof(struct elf_phdr) >
		img->size - eh.phoff ||
	    eh.entry >= EXO_USER_MAP_LIMIT)
		return -E_INVAL;
	img->entry = eh.entry;
	for (unsigned i = 0; i < eh.phnum; i++) {
		struct elf_phdr ph;
		long err;

		memcpy(&ph, img->data + eh.phoff + i * sizeof(ph), sizeof(ph));
		if (ph.type == ELF_PT_LOAD && (err = add_segment(img, &ph)))
			return err;
	}
	if (img->nsegs == 0 ||
	    EXO_USER_STACK_PAGES > EXO_FRAME_ALLOC_MAX - img->pages)
		return img->nsegs ? -E_NOMEM : -E_INVAL;
	img->pages += EXO_USER_STACK_PAGES; /* the stack's frames come last */
	return E_OK;
}

/*
 * Fill a run of fresh frames with the image through the scratch window
 * and map them into the child.  Returns the frames' slot or -E_*.
 */
static long load_image(long child, const struct image *img)
{
	/* Code and data the child cannot get back from anywhere. */
	long frames = sys_frame_alloc(EXO_FRAME_ANY, img->pages, EXO_FRAME_VITAL),
	     err;
	unsigned stack_first = img->pages - EXO_USER_STACK_PAGES;

	if (frames < 0)
		return frames;
	err = libos_map(EXO_SLOT_SELF, LIBOS_SPAWN_WINDOW, frames, 0,
			stack_first, EXO_MAP_READ | EXO_MAP_WRITE);
	for (unsigned i = 0; i < img->nsegs && err == E_OK; i++) {
		const struct seg *s = &img->segs[i];
		uint8_t *dst = (uint8_t *)(LIBOS_SPAWN_WINDOW +
					   s->first * EXO_PAGE_SIZE +
					   (s->vaddr - s->va));

		/* The rest of each segment stays zero, as new frames are. */
		memcpy(dst, img->data + s->offset, s->filesz);
	}
	/* Unmapping also drops whatever part of the window was mapped. */
	if (err == E_OK)
		err = libos_map(EXO_SLOT_SELF, LIBOS_SPAWN_WINDOW, frames, 0,
				stack_first, 0);
	for (unsigned i = 0; i < img->nsegs && err == E_OK; i++) {
		const struct seg *s = &img->segs[i];

		err = libos_map(child, s->va, frames, s->first, s->pages,
				s->perm);
	}
	if (err == E_OK)
		err = libos_map(child,
				EXO_USER_STACK_TOP -
				    EXO_USER_STACK_PAGES * EXO_PAGE_SIZE,
				frames, stack_first, EXO_USER_STACK_PAGES,
				EXO_MAP_READ | EXO_MAP_WRITE);
	if (err != E_OK) {
		sys_frame_free(frames, 0, EXO_FRAME_REST); /* unmaps them from both spaces */
		return err;
	}
	return frames;
}

/* ---- Time slices ----------------------------------------------------------- */

/* The highest n bits of mask. */
static uint64_t highest(uint64_t mask, unsigned n)
{
	uint64_t out = 0;

	for (unsigned i = EXO_NSLOTS; i-- > 0 && n > 0;)
		if (mask & (1ull << i)) {
			out |= 1ull << i;
			n--;
		}
	return out;
}

static unsigned count_bits(uint64_t mask)
{
	unsigned n = 0;

	for (; mask; mask &= mask - 1)
		n++;
	return n;
}

/* Give back the slices in `want` through the TIMESLOTS capability in slot. */
static uint64_t give_back_through(long slot, uint64_t want)
{
	struct exo_cap_info info;
	uint64_t part;
	long sub;

	if (sys_cap_info(slot, &info) < 0 || info.type != EXO_CAP_TIMESLOTS ||
	    info.object != libos_uenv->id || !(info.rights & EXO_R_FREE) ||
	    !(part = info.base & want))
		return 0;
	sub = sys_cap_derive(slot, EXO_R_FREE, part, 0);
	if (sub < 0)
		return 0;
	if (sys_slot_free(sub) < 0) {
		sys_cap_drop(sub);
		return 0;
	}
	return part;
}

/* Free n of this env's own slices, its highest, keeping at least one. */
static long give_back_slices(unsigned n)
{
	uint64_t mine = libos_uenv->slice.slots_mask, want;

	if (count_bits(mine) <= n)
		return -E_NOMEM;
	want = highest(mine, n);
	want &= ~give_back_through(EXO_SLOT_BOOT_SLICES, want);
	for (long slot = 0; slot < EXO_CAP_SLOTS && want; slot++)
		want &= ~give_back_through(slot, want);
	return want ? -E_NOMEM : E_OK;
}

/*
 * Raise the child's slot quota to n and give it n slices; the child gets
 * a copy of the TIMESLOTS capability.  Returns the caller's copy or -E_*.
 */
long libos_give_slices(long child, uint64_t frame_quota, unsigned n)
{
	long err = sys_env_set_quota(child, frame_quota, n), slices;

	if (err == -E_NOMEM && (err = give_back_slices(n)) == E_OK)
		err = sys_env_set_quota(child, frame_quota, n);
	if (err < 0)
		return err;
	slices = sys_slot_alloc(child, n, 0);
	if (slices < 0)
		return slices;
	err = sys_cap_grant(slices, child, EXO_R_FREE | EXO_R_GRANT,
			    EXO_SLOT_BOOT_SLICES);
	if (err < 0) {
		sys_slot_free(slices);
		return err;
	}
	return slices;
}

/* ---- Spawning ---------------------------------------------------------------- */

static struct child *child_entry(long env_slot)
{
	for (unsigned i = 0; i < LIBOS_SPAWN_MAX; i++)
		if (children[i].env_slot == env_slot)
			return &children[i];
	return NULL;
}

/* Make the child, load the image, slices and registers; not started. */
static long make_child(const struct image *img, uint64_t frame_quota,
		       unsigned slots, struct child *c)
{
	struct exo_regs regs = {.rip = img->entry, .rsp = EXO_USER_STACK_TOP};
	struct exo_cap_info rd;
	long err;

	c->env_slot = sys_env_create(frame_quota, 0);
	if (c->env_slot < 0)
		return c->env_slot;
	c->frames_slot = -1;
	c->slices_slot = -1;
	if ((err = sys_cap_info(EXO_SLOT_INITRD, &rd)) < 0 ||
	    (err = sys_cap_grant(EXO_SLOT_INITRD, c->env_slot, rd.rights,
				 EXO_SLOT_INITRD)) < 0)
		return err;
	if (slots && (c->slices_slot = libos_give_slices(c->env_slot, frame_quota,
						   slots)) < 0)
		return c->slices_slot;
	if ((c->frames_slot = load_image(c->env_slot, img)) < 0)
		return c->frames_slot;
	/* Ours to free; the child may map and share them, as a boot env. */
	if ((err = sys_cap_grant(c->frames_slot, c->env_slot, IMAGE_RIGHTS,
				 EXO_SLOT_IMAGE)) < 0)
		return err;
	return sys_env_set_regs(c->env_slot, &regs);
}

long libos_spawn_stopped(const char *name, uint64_t frame_quota, unsigned slots)
{
	struct image img = {0};
	struct child *c = child_entry(0);
	long err;

	if (!name || slots > EXO_NSLOTS)
		return -E_INVAL;
	if (!c)
		return -E_NOMEM;
	if ((err = initrd_map()) < 0 ||
	    (err = initrd_find(name, &img.data, &img.size)) < 0 ||
	    (err = parse_elf(&img)) < 0)
		return err;
	err = make_child(&img, frame_quota, slots, c);
	if (err < 0) {
		long env_slot = c->env_slot;

		if (env_slot > 0) {
			libos_spawn_free(env_slot);
			sys_cap_drop(env_slot);
		}
		*c = (struct child){0};
		return err;
	}
	return c->env_slot;
}

long libos_spawn(const char *name, uint64_t frame_quota, unsigned slots)
{
	long child = libos_spawn_stopped(name, frame_quota, slots), err;

	if (child < 0)
		return child;
	if ((err = sys_env_start(child)) < 0) {
		libos_spawn_free(child);
		sys_cap_drop(child);
		return err;
	}
	return child;
}

long libos_spawn_free(long env_slot)
{
	struct exo_env_status st;
	struct child *c;

	if (env_slot <= 0 || !(c = child_entry(env_slot)))
		return -E_NOENT;
	if (sys_env_status(env_slot, &st) == E_OK &&
	    st.state != EXO_ENV_STATE_DEAD)
		sys_env_kill(env_slot);
	if (c->frames_slot >= 0)
		sys_frame_free(c->frames_slot, 0, EXO_FRAME_REST);
	if (c->slices_slot >= 0)
		sys_cap_drop(c->slices_slot);
	*c = (struct child){0};
	return E_OK;
}

void libos_spawn_fork_child(void)
{
	/* The initrd window and the loaded children were the parent's. */
	initrd = NULL;
	initrd_size = 0;
	memset(children, 0, sizeof(children));
}
