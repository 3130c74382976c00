/*
 * boot - the seed's boot path and nothing else (issue 4, item 1).
 *
 * head.S has already run at the physical load address under linear_pages,
 * touched memory below and above the image, built initial_page_table,
 * issued LGUEST_INIT and the first NEW_PGTABLE and jumped here, to code
 * linked at PAGE_OFFSET; start_kernel() checked all of that. This guest is
 * also lgdbg's built-in demo, so it says what happened, then powers off.
 */
#include "kern.h"

int guest_trap(struct trapframe *f)
{
	(void)f;
	return 0;
}

void guest_main(void)
{
	kprintf("%s: head.S ran at gpa 0x100000 under linear_pages (1:1 fake mapping)\n", guest_name);
	kprintf("%s: probes below and above the image read back through PAGE_OFFSET\n", guest_name);
#ifdef CONFIG_PAE
	kprintf("%s: initial_page_table: PDPT[0] = PDPT[3] = initial_pg_pmd\n", guest_name);
#elif PAGE_OFFSET == 0x80000000
	kprintf("%s: initial_page_table: PDE[i] = PDE[512+i], flags 0x067\n", guest_name);
#else
	kprintf("%s: initial_page_table: PDE[i] = PDE[768+i], flags 0x067\n", guest_name);
#endif
	kprintf("%s: hello from C at PAGE_OFFSET; powering off\n", guest_name);
}
