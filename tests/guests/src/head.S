/*
 * head.S - the 32-bit entry of every lgdbg test guest (lguest path).
 *
 * It mirrors what Linux 3.x does between code32_start and lguest_init()
 * (spec §2.6, §10.1): runs at its *physical* load address under the Host's
 * linear_pages fake mapping, clears BSS, copies the zero page and the command
 * line, builds a head_32.S-style initial_page_table (RAM mapped 1:1 and again
 * at PAGE_OFFSET), then LHCALL_LGUEST_INIT(__pa(&lguest_data)),
 * LHCALL_NEW_PGTABLE(__pa(initial_page_table)) and a jump to C code linked at
 * PAGE_OFFSET.
 *
 * Entry state (spec §2.5): ring 1, cs 0x61, ds/es/ss 0x69, eflags 0x202,
 * esi = 0 (boot_params at gpa 0), esp = 0: no stack until we set one.
 *
 * Nothing can be printed before LGUEST_INIT (the console is a hypercall), so
 * the checks made here are recorded in boot_probe and reported from C.
 *
 * Build-time variants (one hostile guest each):
 *   HEAD_HCALL_BEFORE_INIT  issue LHCALL_NOTIFY before LGUEST_INIT
 *   HEAD_BAD_LGUEST_DATA    pass an lguest_data address beyond guest memory
 *   HEAD_DECOMPRESS         call decompress_kernel() before LGUEST_INIT (kernlike)
 */
#include "lguest.h"

#define PROBE_PATTERN 0x5AA5C33C
#define LOW_PROBE 0x9F000 /* below the image, above zero page + cmdline */

	.section .head.text, "ax"
	.code32
	.globl startup_32
startup_32:
	cld
	/* Clear BSS first: the boot stack lives there (head_32.S does the
	 * same, "clear BSS first so that there are no surprises"). This is
	 * also the first write above the image under linear_pages. */
	movl $pa(__bss_start), %edi
	movl $pa(__bss_end), %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl

	movl $pa(boot_stack_top), %esp
	movl %esi, pa(boot_esi)

	/* Copy the zero page (reads memory below the image: gpa 0..0xFFF). */
	movl $pa(boot_params), %edi
	movl $1024, %ecx
	rep movsl

	/* Copy the command line (cmd_line_ptr, spec §2.4), at most
	 * COMMAND_LINE_SIZE-1 bytes; boot_command_line is zeroed BSS. */
	movl pa(boot_params)+BP_CMD_LINE_PTR, %esi
	testl %esi, %esi
	jz 2f
	movl $pa(boot_command_line), %edi
	movl $(COMMAND_LINE_SIZE - 1), %ecx
1:	lodsb
	testb %al, %al
	jz 2f
	stosb
	decl %ecx
	jnz 1b
2:
	/* What head_32.S checks before dispatching to lguest_entry: protocol
	 * >= 2.07 and hardware_subarch == 1; KEEP_SEGMENTS must be set. */
	xorl %ebx, %ebx
	cmpw $0x0207, pa(boot_params)+BP_VERSION
	jae 1f
	orl $PROBE_BAD_VERSION, %ebx
1:	cmpl $X86_SUBARCH_LGUEST, pa(boot_params)+BP_HARDWARE_SUBARCH
	je 1f
	orl $PROBE_BAD_SUBARCH, %ebx
1:	testb $KEEP_SEGMENTS, pa(boot_params)+BP_LOADFLAGS
	jnz 1f
	orl $PROBE_NO_KEEP_SEGMENTS, %ebx
1:
	/* Touch memory below and above the image through the linear_pages
	 * fake mapping; C re-reads the same frames through PAGE_OFFSET after
	 * the switch, which proves the fake mapping was 1:1. */
	movl $LOW_PROBE, %edi
	call probe
	movl %edi, pa(boot_probe_addr)
	jz 1f
	orl $PROBE_LOW_MISMATCH, %ebx
1:	movl $pa(__bss_end + PAGE_SIZE), %edi
	call probe
	movl %edi, pa(boot_probe_addr) + 4
	jz 1f
	orl $PROBE_HIGH_MISMATCH, %ebx
1:
	/* RAM size from e820_map[0] (spec §2.4: one entry {0, mem, RAM}). */
	cmpb $0, pa(boot_params)+BP_E820_ENTRIES
	je no_e820
	movl pa(boot_params)+BP_E820_MAP+8, %ecx	/* size, low word */
	cmpl $0, pa(boot_params)+BP_E820_MAP+12		/* size, high word */
	jne clamp
	movl %ecx, pa(boot_ram_size)
	/* The last word of RAM: still below pfn_limit (spec §2.8). */
	leal -4(%ecx), %edi
	call probe
	movl %edi, pa(boot_probe_addr) + 8
	jz 1f
	orl $PROBE_TOP_MISMATCH, %ebx
1:	cmpl $MAX_INITIAL_MAP, %ecx
	jbe have_size
clamp:	movl $MAX_INITIAL_MAP, %ecx
	jmp have_size
no_e820:
	orl $PROBE_NO_E820, %ebx
	movl $(16 << 20), %ecx
have_size:
	movl %ebx, pa(boot_probe)
	shrl $PAGE_SHIFT, %ecx			/* pages to map */
	movl %ecx, pa(initial_map_pages)

#ifndef CONFIG_PAE
	/* Non-PAE, as head_32.S: one PDE per page table, each installed at
	 * index i (identity) and 768+i (PAGE_OFFSET); flags _PAGE_TABLE. */
	movl $pa(initial_pg_tables), %edi
	movl $pa(initial_page_table), %edx
	movl $PTE_IDENT_ATTR, %eax
10:	leal PDE_IDENT_ATTR(%edi), %ebx
	movl %ebx, (%edx)
	movl %ebx, (PAGE_OFFSET >> PGDIR_SHIFT) * 4(%edx)
	addl $4, %edx
	movl $PTRS_PER_PTE, %ebp
11:	stosl
	addl $PAGE_SIZE, %eax
	decl %ecx
	jz 12f
	decl %ebp
	jnz 11b
	jmp 10b
12:
#else
	/* PAE, as head_32.S: PDPT entries 0 (identity) and 3 (PAGE_OFFSET)
	 * both point at initial_pg_pmd with only _PAGE_PRESENT; each PMD entry
	 * points at a page table with _PAGE_TABLE; 8-byte PTEs. */
	movl $pa(initial_pg_pmd) + PGD_IDENT_ATTR_PAE, %eax
	movl %eax, pa(initial_page_table)
	movl %eax, pa(initial_page_table) + (PAGE_OFFSET >> PGDIR_SHIFT) * 8
	movl $pa(initial_pg_tables), %edi
	movl $pa(initial_pg_pmd), %edx
	movl $PTE_IDENT_ATTR, %eax
10:	leal PDE_IDENT_ATTR(%edi), %ebx
	movl %ebx, (%edx)
	addl $8, %edx
	movl $PTRS_PER_PTE, %ebp
11:	movl %eax, (%edi)			/* high word stays 0 (BSS) */
	addl $8, %edi
	addl $PAGE_SIZE, %eax
	decl %ecx
	jz 12f
	decl %ebp
	jnz 11b
	jmp 10b
12:
#endif

#ifdef HEAD_HCALL_BEFORE_INIT
	/* Hostile: spec §3.3.2, the first hypercall must be LGUEST_INIT, else
	 * kill "hypercall 17 before INIT". If the Host lets it through, we
	 * carry on and C reports the failure. */
	movl $LHCALL_NOTIFY, %eax
	movl $pa(before_init_msg), %ebx
	int $LGUEST_TRAP_ENTRY
	movl $1, pa(hcall_before_init_survived)
#endif

#ifdef HEAD_DECOMPRESS
	/* kernlike: inflate the payload here, at the physical address under
	 * linear_pages, as a bzImage's decompressor does before the kernel's
	 * own startup_32 reaches lguest_entry (decompress.c). */
	call decompress_kernel
#endif

	/* lguest_entry (spec §2.6 step 3): named as in Linux
	 * (arch/x86/lguest/i386_head.S), so a developer's `break lguest_entry`
	 * works on the test guests as on a kernel. */
	.globl lguest_entry
lguest_entry:
	movl $LHCALL_LGUEST_INIT, %eax
#ifdef HEAD_BAD_LGUEST_DATA
	/* Hostile: far beyond any guest memory -> kill "bad guest page %p"
	 * (spec §3.3.2 step 1). */
	movl $0xF0000000, %ebx
#else
	movl $pa(lguest_data), %ebx
#endif
	int $LGUEST_TRAP_ENTRY

	movl $LHCALL_NEW_PGTABLE, %eax
	movl $pa(initial_page_table), %ebx
	int $LGUEST_TRAP_ENTRY

	/* Still at the physical EIP (identity half of initial_page_table);
	 * now switch to the PAGE_OFFSET stack and code. */
	movl $kernel_stack_top, %esp
	xorl %ebp, %ebp
	movl $start_kernel, %eax
	jmp *%eax

/* probe: write a pattern at %edi, read it back; ZF set if it matched.
 * Clobbers %eax. */
probe:
	movl $PROBE_PATTERN, %eax
	movl %eax, (%edi)
	cmpl (%edi), %eax
	ret

#ifdef HEAD_HCALL_BEFORE_INIT
	.section .rodata
before_init_msg:
	.asciz "hostile-before-init: this NOTIFY precedes LGUEST_INIT\n"
	.section .bss
	.globl hcall_before_init_survived
hcall_before_init_survived:
	.long 0
#endif

	/* Page-aligned BSS: the tables and the stacks. */
	.section .bss..page_aligned, "aw", @nobits
	.balign PAGE_SIZE
	.globl initial_page_table
initial_page_table:
	.skip PAGE_SIZE
#ifdef CONFIG_PAE
	.globl initial_pg_pmd
initial_pg_pmd:
	.skip PAGE_SIZE
#endif
	.globl initial_pg_tables
initial_pg_tables:
	.skip INITIAL_PT_PAGES * PAGE_SIZE
boot_stack:
	.skip PAGE_SIZE
boot_stack_top:
	.globl kernel_stack
kernel_stack:
	.skip 4 * PAGE_SIZE
	.globl kernel_stack_top
kernel_stack_top:

	.section .bss
	.balign 4
	.globl boot_esi, boot_probe, boot_probe_addr, boot_ram_size, initial_map_pages
boot_esi:	.long 0
boot_probe:	.long 0
boot_probe_addr: .long 0, 0, 0
boot_ram_size:	.long 0
initial_map_pages: .long 0
	.globl boot_params, boot_command_line
	.balign 32
boot_params:	.skip 4096
boot_command_line: .skip COMMAND_LINE_SIZE
