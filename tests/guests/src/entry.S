/*
 * entry.S - trap entry stubs, lguest_iret and the user-mode trampoline.
 *
 * Every vector the guests register points at a stub here. The Host reflects
 * a trap by pushing a normal x86 frame (spec §5.4): [errcode,] eip, cs,
 * eflags and, from ring 3, esp and ss; the CPU does the same for a direct
 * trap (spec §5.6). The stubs make every frame look alike (a 0 error code
 * where the CPU pushes none), save the registers, call trap_dispatch(frame)
 * and return through lguest_iret.
 */
#include "lguest.h"

	.text

/* Vectors whose frame carries an error code (spec §5.2). */
#define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17)

.macro stub v
	.globl trap_stub_\v
trap_stub_\v:
	.if !HAS_ERR(\v)
	pushl $0
	.endif
	pushl $\v
	jmp trap_common
.endm

	.irp v, 0,1,3,4,5,6,7,9,10,11,12,13,14,16,17,18,19
	stub \v
	.endr
	.irp v, 32,33,34,35
	stub \v
	.endr
	stub 128

/* struct trapframe (kern.h): es ds edi esi ebp esp0 ebx edx ecx eax vector
 * errcode eip cs eflags [esp ss]. */
trap_common:
	pushal
	pushl %ds
	pushl %es
	/* From user mode ds/es hold __USER_DS; the kernel uses its own. */
	movl $KERNEL_DS_RPL1, %eax
	movl %eax, %ds
	movl %eax, %es
	pushl %esp
	call trap_dispatch
	addl $4, %esp
	popl %es
	popl %ds
	popal
	addl $8, %esp			/* vector, errcode */
	jmp lguest_iret

/*
 * lguest_iret, spec §5.5: restore the virtual IF (lguest_data.irq_enabled)
 * from the iret frame's eflags, then iret. The Host never injects an
 * interrupt while EIP is in [lguest_noirq_start, lguest_noirq_end), since
 * irq_enabled may already say "enabled" while the frame is still on the
 * stack. Unlike Linux we store only the IF bit (0 or 0x200): 3.x Linux
 * stores the whole eflags word, which makes irq_enabled non-zero even with
 * IF clear; the Host tests "!irq_enabled" in one place and "& 0x200" in
 * another (spec §5.4 step 2, §5.5 step 2), and 0/0x200 reads the same in both.
 */
#ifdef LGUEST_4X
/*
 * 4.x (4.x spec §3): lguest_noirq_iret labels the iret itself. An interrupt
 * arriving there is delivered on this very frame; anywhere before it, on a
 * new frame, which comes back here. (IF bit only, as above.)
 */
	.globl lguest_iret, lguest_noirq_iret
lguest_iret:
	pushl %eax
	movl 12(%esp), %eax		/* the frame's eflags */
	andl $X86_EFLAGS_IF, %eax
	movl %eax, %ss:lguest_data + LGD_IRQ_ENABLED
	popl %eax
lguest_noirq_iret:
	iret
#else
	.globl lguest_iret, lguest_noirq_start, lguest_noirq_end
lguest_iret:
	pushl %eax
	movl 12(%esp), %eax		/* the frame's eflags */
	andl $X86_EFLAGS_IF, %eax
lguest_noirq_start:
	movl %eax, %ss:lguest_data + LGD_IRQ_ENABLED
	popl %eax
	iret
lguest_noirq_end:
#endif

/*
 * enter_user(eip, esp): save the kernel context in user_return_ctx and drop
 * to ring 3 with __USER_CS/__USER_DS through an iret frame, exactly as Linux
 * returns to user space (through lguest_iret, so irq_enabled follows the
 * frame's IF). The user program comes back with the exit "syscall", whose
 * handler calls leave_user(code): that restores the saved context and makes
 * enter_user return code.
 */
	.globl enter_user
enter_user:
	movl 4(%esp), %ecx		/* user eip */
	movl 8(%esp), %edx		/* user esp */
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, user_return_ctx
	pushl $__USER_DS		/* ss */
	pushl %edx			/* esp */
	pushl $0x202			/* eflags: IF, bit 1 */
	pushl $__USER_CS		/* cs */
	pushl %ecx			/* eip */
	movl $__USER_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %edi, %edi
	xorl %ebp, %ebp
	jmp lguest_iret

	.globl leave_user
leave_user:
	movl 4(%esp), %eax		/* return value for enter_user */
	movl user_return_ctx, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	.section .bss
	.balign 4
user_return_ctx:
	.long 0
