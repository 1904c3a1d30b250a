/* io.c: the port map of an instance and the dispatch of I/O exits. */
#include <stddef.h>
#include <string.h>

#include "exo/hvc.h"
#include "io.h"
#include "uart.h"

typedef enum vmm_action (*io_out_fn)(struct instance *, uint16_t offset, uint8_t size,
				     uint32_t value);
typedef enum vmm_action (*io_in_fn)(struct instance *, uint16_t offset, uint8_t size,
				    uint32_t *value);

struct io_device {
	const char *name;
	uint16_t first;
	uint16_t count;
	io_out_fn out; /* NULL: writes are not expected */
	io_in_fn in;   /* NULL: reads are not expected */
};

static const struct io_device io_devices[] = {
	{"uart", EXO_UART_PORT, EXO_UART_PORT_COUNT, uart_out, uart_in},
	{"hypercall", EXO_HVC_PORT_BASE, EXO_HVC_PORT_COUNT, hypercall_out, NULL},
	{"exit", EXO_EXIT_PORT, EXO_EXIT_PORT_SIZE, exit_port_out, NULL},
};

static const struct io_device *io_find(uint16_t port)
{
	size_t i;

	for (i = 0; i < sizeof(io_devices) / sizeof(io_devices[0]); i++)
		if (port >= io_devices[i].first && port - io_devices[i].first < io_devices[i].count)
			return &io_devices[i];
	return NULL;
}

static enum vmm_action io_one(struct instance *inst, const struct io_device *dev,
			      const struct vmm_exit *exit, uint8_t *data)
{
	uint16_t offset = exit->io.port - dev->first;
	uint32_t value = 0;
	enum vmm_action action;

	if (exit->io.write) {
		memcpy(&value, data, exit->io.size);
		return dev->out(inst, offset, exit->io.size, value);
	}
	action = dev->in(inst, offset, exit->io.size, &value);
	memcpy(data, &value, exit->io.size);
	return action;
}

enum vmm_action io_dispatch(struct instance *inst, const struct vmm_exit *exit)
{
	const struct io_device *dev = io_find(exit->io.port);
	uint32_t i;

	if (!dev || (exit->io.write ? !dev->out : !dev->in))
		return instance_stop(inst, "unexpected I/O: %s of %u bytes at port 0x%x",
				     exit->io.write ? "write" : "read", exit->io.size,
				     exit->io.port);
	for (i = 0; i < exit->io.count; i++)
		if (io_one(inst, dev, exit, exit->io.data + i * exit->io.size) != VMM_CONTINUE)
			return VMM_END;
	return VMM_CONTINUE;
}
