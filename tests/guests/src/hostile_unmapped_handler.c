/*
 * hostile-unmapped-handler - the divide-error gate points at 0xd0000000,
 * which the guest never maps, and no page-fault gate exists.
 * Host: reflects #DE (spec §5.4); fetching the handler faults; demand_page
 * finds no guest PDE; #PF must be reflected but IDT vector 14 is not present:
 * kill "unhandled trap 14 at 0xd0000000 (0xd0000000)" (spec §5.2: trap number,
 * eip, and cr2 for a page fault).
 */
#include "kern.h"

#define HANDLER_VA 0xD0000000u

int guest_trap(struct trapframe *f)
{
	(void)f;
	return 0;
}

void guest_main(void)
{
	kprintf("%s: divide error with its gate pointing at unmapped 0xd0000000\n", guest_name);
	set_gate(0, (void *)HANDLER_VA, GATE_INTR_DPL0);
	u32 q = 1;
	asm volatile("divl %2" : "+a"(q) : "d"(0), "c"(0) : "memory");
	fail("divide by zero returned (%u)", q);
}
