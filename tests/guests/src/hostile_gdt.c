/*
 * hostile-gdt - a GDT entry past the 32-entry guest GDT.
 * Host: kill "too many gdt entries 32" (spec §6), storing nothing.
 */
#include "kern.h"

int guest_trap(struct trapframe *f)
{
	(void)f;
	return 0;
}

void guest_main(void)
{
	u32 lo, hi;
	gdt_entry(0, 0xFFFFF, 0x92, 0xC, &lo, &hi);
	kprintf("%s: loading GDT entry 32, past the 32-entry GDT; the Host must kill me\n", guest_name);
	hcall(LHCALL_LOAD_GDT_ENTRY, 32, lo, hi, 0);
	fail("the Host accepted GDT entry 32");
}
