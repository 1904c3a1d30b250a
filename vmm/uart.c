/* uart.c: a 16550 UART at COM1, enough for console output. */
#include "instance.h"
#include "uart.h"

/* Register offsets from the base port. */
#define UART_THR 0 /* transmit holding (write), receive buffer (read) */
#define UART_IER 1
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_LCR 3
#define UART_LSR 5
#define UART_MSR 6
#define UART_LCR_DLAB 0x80 /* offsets 0 and 1 address the divisor latch */
#define UART_IIR_NO_INTERRUPT 0x01
#define UART_LSR_THRE 0x20 /* transmit holding register empty */
#define UART_LSR_TEMT 0x40 /* transmitter empty */
#define UART_MSR_CTS_DSR_DCD 0xb0

static int divisor_latched(const struct uart *u, uint16_t offset)
{
	return (u->reg[UART_LCR] & UART_LCR_DLAB) && offset <= UART_IER;
}

enum vmm_action uart_out(struct instance *inst, uint16_t offset, uint8_t size, uint32_t value)
{
	struct uart *u = &inst->uart;
	uint8_t byte = (uint8_t)value;

	(void)size;
	if (divisor_latched(u, offset))
		u->divisor_latch[offset] = byte;
	else if (offset == UART_THR)
		console_write(&inst->console, &byte, 1);
	else
		u->reg[offset] = byte;
	return VMM_CONTINUE;
}

enum vmm_action uart_in(struct instance *inst, uint16_t offset, uint8_t size, uint32_t *value)
{
	struct uart *u = &inst->uart;

	(void)size;
	if (divisor_latched(u, offset))
		*value = u->divisor_latch[offset];
	else if (offset == UART_THR)
		*value = 0; /* nothing is ever received */
	else if (offset == UART_IIR)
		*value = UART_IIR_NO_INTERRUPT;
	else if (offset == UART_LSR)
		*value = UART_LSR_THRE | UART_LSR_TEMT;
	else if (offset == UART_MSR)
		*value = UART_MSR_CTS_DSR_DCD;
	else
		*value = u->reg[offset];
	return VMM_CONTINUE;
}
