/*
 * exitport.c: the exit port.  The guest writes its exit code, as to QEMU's
 * isa-debug-exit, and the instance's run ends with that code.
 */
#include "exo/hvc.h"
#include "io.h"

enum vmm_action exit_port_out(struct instance *inst, uint16_t offset, uint8_t size, uint32_t value)
{
	(void)offset;
	(void)size;
	if (value > EXO_EXIT_CODE_MAX)
		return instance_stop(inst, "exit code %u written to the exit port is out of range 0..%u",
				     value, EXO_EXIT_CODE_MAX);
	return instance_exit(inst, (int)value);
}
