/*
 * io.h: port I/O from a guest.  The table in io.c says which device owns
 * which ports; io_dispatch() hands an I/O exit to its owner, and any port
 * nobody owns stops the instance.
 */
#ifndef VMM_IO_H
#define VMM_IO_H

#include <stdint.h>

#include "backend.h"
#include "instance.h"

enum vmm_action io_dispatch(struct instance *inst, const struct vmm_exit *exit);

/* Devices other than the UART (uart.h), each in its own file. */
enum vmm_action hypercall_out(struct instance *inst, uint16_t offset, uint8_t size,
			      uint32_t value);
enum vmm_action exit_port_out(struct instance *inst, uint16_t offset, uint8_t size,
			      uint32_t value);

#endif /* VMM_IO_H */
