/*
 * hostile-idt - a present IDT gate of a type the Host refuses: a task gate
 * (type 5) for vector 0x30.
 * Host: kill "bad IDT type 5" (spec §5.6 step 4).
 */
#include "kern.h"

int guest_trap(struct trapframe *f)
{
	(void)f;
	return 0;
}

void guest_main(void)
{
	kprintf("%s: loading a task gate (type 5) into IDT vector 0x30; the Host must kill me\n", guest_name);
	hcall(LHCALL_LOAD_IDT_ENTRY, 0x30, (31 * 8) << 16, 0x8500, 0);
	fail("the Host accepted a task gate for vector 0x30");
}
