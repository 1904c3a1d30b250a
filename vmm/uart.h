/*
 * uart.h: the subset of a 16550 UART at COM1 that a guest needs to write
 * its console: transmit, line status always "ready", the other registers
 * stored and read back, no receive, no interrupts.
 */
#ifndef VMM_UART_H
#define VMM_UART_H

#include <stdint.h>

#include "exo/hvc.h"

struct uart {
	uint8_t reg[EXO_UART_PORT_COUNT]; /* as last written */
	uint8_t divisor_latch[2];
};

struct instance;
enum vmm_action uart_out(struct instance *inst, uint16_t offset, uint8_t size, uint32_t value);
enum vmm_action uart_in(struct instance *inst, uint16_t offset, uint8_t size, uint32_t *value);

#endif /* VMM_UART_H */
