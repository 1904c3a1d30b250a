/*
 * env.c: the env table: making envs, ending them, switching address
 * spaces and the context an env resumes with.  An envid is the table
 * index plus a generation, so a stale id (or a capability holding one)
 * never names the env that reused the slot.
 */
#include <stdarg.h>
#include <string.h>

#include <exo/hvc.h>

#include "cpu.h"
#include "env.h"
#include "frames.h"
#include "kern.h"
#include "pct.h"
#include "sched.h"
#include "seg.h"
#include "uvm.h"
#include "x86.h"

#define ENVID_GEN_SHIFT 8
#define ENVID_GEN_MAX (UINT32_MAX >> ENVID_GEN_SHIFT)

struct env envs[NENV];
struct env *curenv;
static uint64_t loaded_cr3;

static bool live(const struct env *e)
{
	return e->state != EXO_ENV_STATE_FREE &&
	       e->state != EXO_ENV_STATE_DEAD;
}

struct env *env_lookup(exo_envid_t id)
{
	struct env *e;

	/* Ids come from envs too (SYS_YIELD): the index byte may pass NENV. */
	if (EXO_ENV_INDEX(id) >= NENV)
		return NULL;
	e = &envs[EXO_ENV_INDEX(id)];
	return id != EXO_ENV_NONE && e->id == id && live(e) ? e : NULL;
}

struct env *env_child(const struct env *parent, unsigned i)
{
	struct env *c = &envs[i];

	return live(c) && c->parent == parent->id ? c : NULL;
}

struct exo_uenv *env_uenv(struct env *e)
{
	return exo_p2v(e->uenv_pa);
}

bool env_user_address(uint64_t va)
{
	return va < EXO_USER_MAP_LIMIT;
}

static void copy_name(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* A free table slot, else the one dead longest (its status is lost). */
static struct env *free_slot(void)
{
	for (unsigned i = 0; i < NENV; i++)
		if (envs[i].state == EXO_ENV_STATE_FREE)
			return &envs[i];
	/* A dead boot env keeps its entry: its status is the kernel's exit code. */
	for (unsigned i = 0; i < NENV; i++)
		if (envs[i].state == EXO_ENV_STATE_DEAD && envs[i].boot_index < 0)
			return &envs[i];
	return NULL;
}

static exo_envid_t next_id(const struct env *e)
{
	uint32_t gen = (e->id >> ENVID_GEN_SHIFT) + 1;

	if (gen > ENVID_GEN_MAX)
		gen = 1;
	return (gen << ENVID_GEN_SHIFT) | (uint32_t)(e - envs);
}

static void init_context(struct env *e)
{
	e->tf = (struct trapframe){
	    .cs = SEL_UCODE,
	    .ss = SEL_UDATA,
	    .rflags = RFLAGS_IF | RFLAGS_FIXED,
	    .vector = VEC_KERNEL_BUILT,
	};
}

static int give_uenv(struct env *e)
{
	struct exo_uenv *u;
	int err = frames_alloc(e, EXO_FRAME_ANY, 1, FT_UENV, &e->uenv_pa);

	if (err)
		return err;
	err = frames_map(e, EXO_UENV, e->uenv_pa,
			 EXO_MAP_READ | EXO_MAP_WRITE, false);
	if (err)
		return err;
	u = env_uenv(e);
	u->id = e->id;
	u->parent = e->parent;
	return 0;
}

/* Undo env_create after a failure part way. */
static void unmake(struct env *e, struct quota *pf, struct quota *ps)
{
	if (e->pml4_pa)
		frames_release_env(e);
	quota_release_child(pf, &e->frames);
	quota_release_child(ps, &e->slots);
	e->state = EXO_ENV_STATE_FREE;
}

int env_create(struct env *parent, uint64_t frame_quota, uint64_t slot_quota,
	       const char *name, struct env **out)
{
	struct quota *pf = parent ? &parent->frames : &root_frames;
	struct quota *ps = parent ? &parent->slots : &root_slots;
	struct env *e = free_slot();
	struct cap self;
	exo_envid_t id;
	int err;

	if (!e)
		return -E_NOMEM;
	/* The new generation comes from the old id, which the memset clears. */
	id = next_id(e);
	memset((char *)e + sizeof(e->tf), 0, sizeof(*e) - sizeof(e->tf));
	e->id = id;
	e->parent = parent ? parent->id : EXO_ENV_NONE;
	e->boot_index = -1;
	e->state = EXO_ENV_STATE_CREATED;
	copy_name(e->name, name, sizeof(e->name));
	e->pcid = cpu_features.pcid ? (uint16_t)(EXO_ENV_INDEX(e->id) + 1) : 0;
	e->tlb_stale = true;
	init_context(e);
	captab_init(&e->caps);
	self = (struct cap){.type = EXO_CAP_ENV, .rights = EXO_R_ALL,
			    .object = e->id};
	captab_insert(&e->caps, EXO_SLOT_SELF, &self);
	if ((err = quota_set_child(pf, &e->frames, frame_quota)) ||
	    (err = quota_set_child(ps, &e->slots, slot_quota)) ||
	    (err = uvm_create(e)) || (err = give_uenv(e))) {
		unmake(e, pf, ps);
		return err;
	}
	*out = e;
	return 0;
}

static void destroy_children(struct env *e)
{
	for (unsigned i = 0; i < NENV; i++) {
		struct env *c = env_child(e, i);

		if (c)
			env_kill(c, "its parent env %u ended", e->id);
	}
}

void env_destroy(struct env *e, uint32_t exit_code)
{
	struct env *parent = env_lookup(e->parent);

	if (!live(e))
		return;
	destroy_children(e);
	pct_env_gone(e);
	sched_env_gone(e);
	frames_release_env(e);
	quota_release_child(parent ? &parent->frames : &root_frames,
			    &e->frames);
	quota_release_child(parent ? &parent->slots : &root_slots, &e->slots);
	captab_init(&e->caps);
	e->state = EXO_ENV_STATE_DEAD;
	e->exit_code = exit_code;
	if (curenv == e)
		curenv = NULL;
	kprintf("exo: env %u (%s) exited %u\n", e->id, e->name, exit_code);
}

void env_kill(struct env *e, const char *fmt, ...)
{
	va_list ap;

	kprintf("exo: env %u (%s) killed: ", e->id, e->name);
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	env_destroy(e, EXO_ENV_KILLED);
}

void env_switch_to(struct env *e)
{
	uint64_t cr3 = e->pml4_pa | e->pcid;

	if (cr3 != loaded_cr3 || e->tlb_stale) {
		if (cpu_features.pcid && !e->tlb_stale)
			cr3 |= CR3_NOFLUSH;
		write_cr3(cr3);
		loaded_cr3 = e->pml4_pa | e->pcid;
		e->tlb_stale = false;
	}
	curenv = e;
	cpu_set_env_frame((uintptr_t)(&e->tf + 1));
}

void env_forget_cr3(void)
{
	loaded_cr3 = 0;
}

bool env_set_context(struct env *e, const struct exo_regs *r)
{
	struct trapframe *tf = &e->tf;

	if (!env_user_address(r->rip))
		return false;
	tf->rax = r->rax, tf->rbx = r->rbx, tf->rcx = r->rcx;
	tf->rdx = r->rdx, tf->rsi = r->rsi, tf->rdi = r->rdi;
	tf->rbp = r->rbp, tf->rsp = r->rsp;
	tf->r8 = r->r8, tf->r9 = r->r9, tf->r10 = r->r10, tf->r11 = r->r11;
	tf->r12 = r->r12, tf->r13 = r->r13, tf->r14 = r->r14;
	tf->r15 = r->r15;
	tf->rip = r->rip;
	tf->rflags = (r->rflags & RFLAGS_USER_MASK) | RFLAGS_IF | RFLAGS_FIXED;
	tf->cs = SEL_UCODE;
	tf->ss = SEL_UDATA;
	tf->vector = VEC_KERNEL_BUILT;
	return true;
}

void env_regs_from_tf(const struct trapframe *tf, struct exo_regs *r)
{
	*r = (struct exo_regs){
	    .rax = tf->rax, .rbx = tf->rbx, .rcx = tf->rcx, .rdx = tf->rdx,
	    .rsi = tf->rsi, .rdi = tf->rdi, .rbp = tf->rbp, .rsp = tf->rsp,
	    .r8 = tf->r8,   .r9 = tf->r9,   .r10 = tf->r10, .r11 = tf->r11,
	    .r12 = tf->r12, .r13 = tf->r13, .r14 = tf->r14, .r15 = tf->r15,
	    .rip = tf->rip, .rflags = tf->rflags,
	};
}

bool env_all_dead(void)
{
	for (unsigned i = 0; i < NENV; i++)
		if (live(&envs[i]))
			return false;
	return true;
}

unsigned env_boot_exit_code(void)
{
	for (int b = 0; b < ENV_BOOT_MAX; b++)
		for (unsigned i = 0; i < NENV; i++)
			if (envs[i].boot_index == b &&
			    envs[i].state == EXO_ENV_STATE_DEAD &&
			    envs[i].exit_code != EXO_EXIT_OK)
				return envs[i].exit_code == EXO_ENV_KILLED
					   ? EXO_EXIT_ENV_KILLED
					   : envs[i].exit_code;
	return EXO_EXIT_OK;
}
