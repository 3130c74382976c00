/*
 * hostile-hcall - an unknown hypercall number after a normal boot.
 * Host: kill "Bad hypercall 99\n" (spec §3.2, §3.5; the newline is lguest's).
 */
#include "kern.h"

#define BAD_HCALL 99

int guest_trap(struct trapframe *f)
{
	(void)f;
	return 0;
}

void guest_main(void)
{
	kprintf("%s: issuing hypercall %u, which does not exist; the Host must kill me\n", guest_name, BAD_HCALL);
	hcall(BAD_HCALL, 0, 0, 0, 0);
	fail("the Host returned from unknown hypercall %u", BAD_HCALL);
}
