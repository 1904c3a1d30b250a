/*
 * console.c: the kernel console: the exovmm console hypercall or the
 * 16550 UART, chosen once at boot.
 */
#include <stdbool.h>
#include <stdint.h>

#include <exo/hvc.h>

#include "console.h"
#include "hv.h"
#include "layout.h"
#include "x86.h"

/* 16550 registers (offsets from EXO_UART_PORT) and bits. */
#define UART_THR 0 /* transmit holding (DLAB=0) */
#define UART_DLL 0 /* divisor low (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor high (DLAB=1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LCR_8N1 0x03
#define UART_LCR_DLAB 0x80
#define UART_FCR_ENABLE_CLEAR 0x07 /* FIFOs on, both cleared */
#define UART_MCR_DTR_RTS 0x03
#define UART_LSR_THRE 0x20 /* transmit holding register empty */
#define UART_DIVISOR_115200 1
/* Give up on a UART that never drains (none fitted) rather than hang. */
#define UART_POLL_LIMIT 100000

static bool use_hvc;
static char hvc_buf[EXO_HVC_CONSOLE_MAX];
static uint32_t hvc_len;

static void uart_init(void)
{
	outb(EXO_UART_PORT + UART_IER, 0);
	outb(EXO_UART_PORT + UART_LCR, UART_LCR_DLAB);
	outb(EXO_UART_PORT + UART_DLL, UART_DIVISOR_115200);
	outb(EXO_UART_PORT + UART_DLM, 0);
	outb(EXO_UART_PORT + UART_LCR, UART_LCR_8N1);
	outb(EXO_UART_PORT + UART_FCR, UART_FCR_ENABLE_CLEAR);
	outb(EXO_UART_PORT + UART_MCR, UART_MCR_DTR_RTS);
}

static void uart_putc(char c)
{
	for (int i = 0; i < UART_POLL_LIMIT; i++)
		if (inb(EXO_UART_PORT + UART_LSR) & UART_LSR_THRE)
			break;
	outb(EXO_UART_PORT + UART_THR, (uint8_t)c);
}

void cons_init(void)
{
	use_hvc = hv.kind == HV_EXOVMM && (hv.features & EXO_HVC_F_CONSOLE);
	if (!use_hvc)
		uart_init();
}

void cons_use_uart(void)
{
	if (!use_hvc)
		return;
	cons_flush();
	use_hvc = false;
	uart_init();
}

/*
 * One hypercall for the whole buffer.  A failed call cannot be reported
 * anywhere but the console itself, so the output is dropped.
 */
void cons_flush(void)
{
	if (!use_hvc || !hvc_len)
		return;
	hvc_console(KERN_V2P(hvc_buf), hvc_len);
	hvc_len = 0;
}

void cons_putc(char c)
{
	if (!use_hvc) {
		uart_putc(c);
		return;
	}
	hvc_buf[hvc_len++] = c;
	if (c == '\n' || hvc_len == sizeof(hvc_buf))
		cons_flush();
}
