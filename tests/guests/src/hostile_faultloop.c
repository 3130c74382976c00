/*
 * hostile-faultloop - a page-fault handler that returns without fixing the
 * fault, so the same load faults forever.
 *
 * lguest itself never kills this guest: each fault is reflected (spec §5.2),
 * the handler irets (lguest_iret), the load faults again. lgdbg must end the
 * run with its instruction limit (--max-instructions), exit non-zero and
 * keep its logs; expect/hostile-faultloop.txt says "instruction-limit".
 * The handler prints the first three faults only, so the console output is
 * bounded and does not depend on the limit.
 */
#include "kern.h"

#define LOOP_VA 0xD0000000u
#define PRINTED 3

static volatile u32 faults;

int guest_trap(struct trapframe *f)
{
	if (f->vector != 14)
		return 0;
	faults++;
	if (faults <= PRINTED)
		kprintf("%s: page fault %u, cr2 %08x; returning without mapping it\n", guest_name, faults,
			lguest_data.cr2);
	if (faults == PRINTED)
		kprintf("%s: looping silently now; the Host must stop me with its instruction limit\n", guest_name);
	return 1;
}

void guest_main(void)
{
	setup_default_idt();
	kprintf("%s: reading 0xd0000000, which is never mapped\n", guest_name);
	u32 v = *(volatile u32 *)LOOP_VA;
	fail("read %08x from an address that is never mapped", v);
}
