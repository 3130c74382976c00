/*
 * hostile-lgdata - LHCALL_LGUEST_INIT with lguest_data at gpa 0xf0000000,
 * outside guest memory (head.S built with -DHEAD_BAD_LGUEST_DATA).
 * Host: lguest_address_ok fails, kill "bad guest page %p" (spec §3.3.2
 * step 1). lguest formats %p of the still-unset pointer, so only the prefix
 * "bad guest page " is fixed. Nothing is printed: the console needs INIT.
 */
#include "kern.h"

int guest_trap(struct trapframe *f)
{
	(void)f;
	return 0;
}

void guest_main(void)
{
	fail("the Host accepted lguest_data at 0xf0000000");
}
