/*
 * hostile-idtvec - an IDT entry for vector 256, past the 256-entry IDT.
 * Host: kill "Setting idt entry 256" (spec §5.6 step 3).
 */
#include "kern.h"

int guest_trap(struct trapframe *f)
{
	(void)f;
	return 0;
}

void guest_main(void)
{
	kprintf("%s: loading IDT entry 256, past the end of the IDT; the Host must kill me\n", guest_name);
	set_gate(256, trap_stub_0, GATE_INTR_DPL0);
	fail("the Host accepted IDT entry 256");
}
