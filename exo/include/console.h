/*
 * console.h: the kernel console (exo/kern/console.c).
 *
 * Under exovmm output is batched into EXO_HVC_CONSOLE hypercalls, one per
 * line or buffer-full, because every port access is a VM exit; elsewhere
 * it goes byte by byte to the 16550 UART.
 */
#ifndef EXO_CONSOLE_H
#define EXO_CONSOLE_H

/* Choose the backend from hv (call hv_detect() first). */
void cons_init(void);
/* Switch to the UART from here on (console=uart on the command line). */
void cons_use_uart(void);
void cons_putc(char c);
/* Push out buffered output; called before exit and by newlines. */
void cons_flush(void);

#endif /* EXO_CONSOLE_H */
