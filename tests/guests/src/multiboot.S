/*
 * multiboot.S - entry of the compute workload built for qemu-system-i386
 * -kernel (Multiboot 1): ring 0, flat segments, no paging, no lguest.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000000 /* an ELF kernel: the loader reads the headers */

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.globl mb_entry
mb_entry:
	cld
	movl $mb_stack_top, %esp
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl
	call mb_main
1:	cli
	hlt
	jmp 1b

	.section .bss
	.balign 16
	.skip 16384
mb_stack_top:
