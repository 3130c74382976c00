/*
 * hostile-before-init - head.S (built with -DHEAD_HCALL_BEFORE_INIT) issues
 * LHCALL_NOTIFY before LHCALL_LGUEST_INIT.
 * Host: kill "hypercall 17 before INIT" (spec §3.3.2). Nothing is printed.
 */
#include "kern.h"

extern u32 hcall_before_init_survived;

int guest_trap(struct trapframe *f)
{
	(void)f;
	return 0;
}

void guest_main(void)
{
	CHECK(!hcall_before_init_survived, "the Host ran a hypercall before LGUEST_INIT");
	fail("head.S did not issue its early hypercall");
}
