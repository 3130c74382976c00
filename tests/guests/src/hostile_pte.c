/*
 * hostile-pte - a PTE naming a frame beyond guest memory, announced the way
 * Linux would (SET_PGD for the new PDE, SET_PTE), then touched.
 * Host: the SET_PTE finds no shadow page table yet and changes nothing; the
 * touch demand-faults, check_gpte sees pfn >= pfn_limit and kills
 * "bad page table entry" (spec §7.2, §7.3).
 */
#include "kern.h"

#define BAD_VA 0xD0000000u
#define BAD_FRAME 0xFFFFF000u /* pfn 0xfffff: the last frame of the 4 GiB space */

int guest_trap(struct trapframe *f)
{
	(void)f;
	return 0;
}

void guest_main(void)
{
	kprintf("%s: mapping 0xd0000000 to pfn 0xfffff, beyond guest memory, and reading it\n", guest_name);
	map_page(initial_page_table, BAD_VA, BAD_FRAME, _PAGE_PRESENT | _PAGE_RW, 1);
	u32 v = *(volatile u32 *)BAD_VA;
	fail("read %08x through a PTE beyond guest memory", v);
}
