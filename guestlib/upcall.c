/*
 * upcall.c: the C side of upcalls: the upcall stack, the table of
 * handlers by kind, and the dispatcher libos_upcall_entry (upcall.S)
 * calls.  Resumption is in upcall.S.
 */
#include "runtime.h"

/* upcall.S addresses the frame through libos_frame.h's numbers. */
#define FRAME_REG(field) (offsetof(struct exo_upcall_frame, regs.field))
_Static_assert(offsetof(struct exo_upcall_frame, kind) == LIBOS_FRAME_KIND,
	       "frame kind offset");
_Static_assert(offsetof(struct exo_upcall_frame, regs) == LIBOS_FRAME_REGS,
	       "frame regs offset");
_Static_assert(FRAME_REG(rax) == LIBOS_FRAME_REGS + LIBOS_REGS_RAX, "rax");
_Static_assert(FRAME_REG(rbx) == LIBOS_FRAME_REGS + LIBOS_REGS_RBX, "rbx");
_Static_assert(FRAME_REG(rcx) == LIBOS_FRAME_REGS + LIBOS_REGS_RCX, "rcx");
_Static_assert(FRAME_REG(rdx) == LIBOS_FRAME_REGS + LIBOS_REGS_RDX, "rdx");
_Static_assert(FRAME_REG(rsi) == LIBOS_FRAME_REGS + LIBOS_REGS_RSI, "rsi");
_Static_assert(FRAME_REG(rdi) == LIBOS_FRAME_REGS + LIBOS_REGS_RDI, "rdi");
_Static_assert(FRAME_REG(rbp) == LIBOS_FRAME_REGS + LIBOS_REGS_RBP, "rbp");
_Static_assert(FRAME_REG(rsp) == LIBOS_FRAME_REGS + LIBOS_REGS_RSP, "rsp");
_Static_assert(FRAME_REG(r8) == LIBOS_FRAME_REGS + LIBOS_REGS_R8, "r8");
_Static_assert(FRAME_REG(r9) == LIBOS_FRAME_REGS + LIBOS_REGS_R9, "r9");
_Static_assert(FRAME_REG(r10) == LIBOS_FRAME_REGS + LIBOS_REGS_R10, "r10");
_Static_assert(FRAME_REG(r11) == LIBOS_FRAME_REGS + LIBOS_REGS_R11, "r11");
_Static_assert(FRAME_REG(r12) == LIBOS_FRAME_REGS + LIBOS_REGS_R12, "r12");
_Static_assert(FRAME_REG(r13) == LIBOS_FRAME_REGS + LIBOS_REGS_R13, "r13");
_Static_assert(FRAME_REG(r14) == LIBOS_FRAME_REGS + LIBOS_REGS_R14, "r14");
_Static_assert(FRAME_REG(r15) == LIBOS_FRAME_REGS + LIBOS_REGS_R15, "r15");
_Static_assert(FRAME_REG(rip) == LIBOS_FRAME_REGS + LIBOS_REGS_RIP, "rip");
_Static_assert(FRAME_REG(rflags) == LIBOS_FRAME_REGS + LIBOS_REGS_RFLAGS,
	       "rflags");
_Static_assert(LIBOS_RESUME_SIZE == (LIBOS_RESUME_RIP + LIBOS_WORD),
	       "rip must be the resume area's top word");

/*
 * Volatile: an upcall can arrive between any two instructions, so a
 * handler must be stored before uenv.entry points at it and cleared only
 * after, in exactly that order.
 */
static libos_upcall_fn volatile handlers[EXO_UPCALL_NKINDS];
static bool upcall_stack_ready;

long libos_upcall_init(void)
{
	long slot;

	if (upcall_stack_ready)
		return E_OK;
	slot = libos_map_new(LIBOS_UPCALL_STACK_BASE, LIBOS_UPCALL_STACK_PAGES,
			     EXO_MAP_READ | EXO_MAP_WRITE, EXO_FRAME_VITAL);
	/* Repossessed, it would kill us at the next upcall: vital. */
	if (slot < 0)
		return slot;
	libos_uenv->upcall_stack_base = LIBOS_UPCALL_STACK_BASE;
	libos_uenv->upcall_stack_size =
		LIBOS_UPCALL_STACK_PAGES * EXO_PAGE_SIZE;
	upcall_stack_ready = true;
	return E_OK;
}

long libos_set_handler(unsigned kind, libos_upcall_fn fn)
{
	long err;

	/* PCT entries have their own convention: see libos_pct_serve(). */
	if (kind >= EXO_UPCALL_NKINDS || kind == EXO_UPCALL_PCT)
		return -E_INVAL;
	if (!fn) {
		/* The kernel must stop entering before the handler goes. */
		libos_uenv->entry[kind] = 0;
		handlers[kind] = NULL;
		return E_OK;
	}
	err = libos_upcall_init();
	if (err != E_OK)
		return err;
	handlers[kind] = fn;
	libos_uenv->entry[kind] = (uint64_t)(uintptr_t)libos_upcall_entry;
	return E_OK;
}

bool libos_has_handler(unsigned kind)
{
	return kind < EXO_UPCALL_NKINDS && handlers[kind] != NULL;
}

/* No handler for this upcall: say what arrived and end the env. */
static _Noreturn void unhandled(const struct exo_upcall_frame *frame)
{
	libos_printf("libos: unhandled upcall kind %lu trap %lu error 0x%lx "
		     "addr 0x%lx rip 0x%lx\n",
		     frame->kind, frame->trapno, frame->error, frame->addr,
		     frame->regs.rip);
	libos_exit(LIBOS_EXIT_UNHANDLED);
}

void libos_upcall_dispatch(struct exo_upcall_frame *frame)
{
	libos_upcall_fn fn = NULL;

	if (frame->kind < EXO_UPCALL_NKINDS)
		fn = handlers[frame->kind];
	if (!fn)
		unhandled(frame);
	fn(frame);
}
