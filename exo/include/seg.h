/*
 * seg.h: the GDT layout and segment selectors.
 *
 * The order is the one syscall/sysret require: STAR names the kernel code
 * selector (kernel data follows it) and a user base from which sysret takes
 * user data at +8 and 64-bit user code at +16.  The slot at the user base
 * would hold 32-bit user code, which exo does not support, so it is null.
 */
#ifndef EXO_SEG_H
#define EXO_SEG_H

#define SEG_RPL_USER 3

#define GDT_NULL 0
#define GDT_KCODE 1
#define GDT_KDATA 2
#define GDT_UCODE32 3 /* null: the sysret base */
#define GDT_UDATA 4
#define GDT_UCODE 5
#define GDT_TSS 6 /* a system descriptor: two slots */
#define GDT_ENTRIES 8

#define SEL(index) ((index)*8)
#define SEL_KCODE SEL(GDT_KCODE)
#define SEL_KDATA SEL(GDT_KDATA)
#define SEL_UDATA (SEL(GDT_UDATA) | SEG_RPL_USER)
#define SEL_UCODE (SEL(GDT_UCODE) | SEG_RPL_USER)
#define SEL_TSS SEL(GDT_TSS)

/* Descriptors for the flat segments (base 0, limit 4 GiB). */
#define DESC_KCODE64 0x00af9a000000ffff /* present, DPL 0, code, L */
#define DESC_KDATA 0x00cf92000000ffff	/* present, DPL 0, data, writable */
#define DESC_UCODE64 0x00affa000000ffff /* as KCODE64 with DPL 3 */
#define DESC_UDATA 0x00cff2000000ffff	/* as KDATA with DPL 3 */

/* IST slot (1-based, as in the IDT gate) of the double-fault stack. */
#define IST_DOUBLE_FAULT 1

#ifndef __ASSEMBLER__
void gdt_init(void);
#endif

#endif /* EXO_SEG_H */
