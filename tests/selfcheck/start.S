/*
 * Entry of the self-checking program (tests/selfcheck): set up a stack in
 * .bss, run main, then leave through the lguest hypercall trap `int $0x1f`
 * (spec §3.1) with EAX = the done magic and EBX = main's return value. The
 * hlt after it is never reached on lgdbg's CPU (int 0x1f exits to the Host).
 */
	.code32
	.text
	.globl _start
_start:
	movl	$stack_top, %esp
	xorl	%ebp, %ebp
	call	main
	movl	%eax, %ebx
	movl	$0x5e1fc4ec, %eax
	int	$0x1f
1:	hlt
	jmp	1b

	.bss
	.balign	16
stack:
	.space	16384
stack_top:
