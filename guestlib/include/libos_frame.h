/*
 * libos_frame.h: byte offsets into struct exo_upcall_frame (exo/abi.h) and
 * the layout of the resume area, as plain numbers so that assembly
 * (upcall.S) can use them.  upcall.c checks every offset against the C
 * struct at compile time.
 */
#ifndef LIBOS_FRAME_H
#define LIBOS_FRAME_H

#define LIBOS_WORD 8

/* struct exo_upcall_frame: kind, trapno, error, addr, then regs. */
#define LIBOS_FRAME_KIND 0
#define LIBOS_FRAME_REGS 32

/* struct exo_regs, from the start of frame.regs. */
#define LIBOS_REGS_RAX 0
#define LIBOS_REGS_RBX 8
#define LIBOS_REGS_RCX 16
#define LIBOS_REGS_RDX 24
#define LIBOS_REGS_RSI 32
#define LIBOS_REGS_RDI 40
#define LIBOS_REGS_RBP 48
#define LIBOS_REGS_RSP 56
#define LIBOS_REGS_R8 64
#define LIBOS_REGS_R9 72
#define LIBOS_REGS_R10 80
#define LIBOS_REGS_R11 88
#define LIBOS_REGS_R12 96
#define LIBOS_REGS_R13 104
#define LIBOS_REGS_R14 112
#define LIBOS_REGS_R15 120
#define LIBOS_REGS_RIP 128
#define LIBOS_REGS_RFLAGS 136

/*
 * The resume area: what libos_resume() writes just below the interrupted
 * %rsp and then pops, lowest address first: fifteen general registers,
 * rflags (popfq), rip (ret).  Its top is the interrupted %rsp.
 */
#define LIBOS_RESUME_R15 0
#define LIBOS_RESUME_R14 8
#define LIBOS_RESUME_R13 16
#define LIBOS_RESUME_R12 24
#define LIBOS_RESUME_R11 32
#define LIBOS_RESUME_R10 40
#define LIBOS_RESUME_R9 48
#define LIBOS_RESUME_R8 56
#define LIBOS_RESUME_RBP 64
#define LIBOS_RESUME_RDI 72
#define LIBOS_RESUME_RSI 80
#define LIBOS_RESUME_RDX 88
#define LIBOS_RESUME_RCX 96
#define LIBOS_RESUME_RBX 104
#define LIBOS_RESUME_RAX 112
#define LIBOS_RESUME_RFLAGS 120
#define LIBOS_RESUME_RIP 128
#define LIBOS_RESUME_SIZE 136

/* The ABI's stack alignment at a call instruction. */
#define LIBOS_STACK_ALIGN 16

#endif /* LIBOS_FRAME_H */
