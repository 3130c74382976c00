/*
 * traps - reflected traps, the #GP emulator, user mode, the syscall direct
 * trap and timer interrupts (issue 4, item 3).
 *
 * Every step names the spec section whose Host behaviour it checks. A trap
 * that arrives when none is expected fails the run (kern.c trap_dispatch).
 */
#include "kern.h"

#define FAULT_VA 0xD0000000u /* kernel VA with no PDE in initial_page_table */
#define USER_CODE_VA 0x08048000u
#define USER_STACK_VA 0x0BFFF000u
#define USER_FAULT_VA 0x40000000u
#define FAULT_MAGIC 0xFEEDC0DEu
#define USER_MAGIC 0x0DDBA11u
#define TICKS_HALTED 5
#define TICK_NS 1000000u /* 1 ms */

/* What the handler should see next; any other trap fails the run. */
static volatile struct {
	u32 vector, errcode, eip, resume, cr2, from_user;
	u32 seen;
} expect;

static volatile u32 ticks;
static u8 fault_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 user_data_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 user_stack_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
/* Kernel stack for traps from ring 3 (SET_STACK, spec §3.3.7): 2 pages. */
static u8 user_kstack[2 * PAGE_SIZE] __attribute__((aligned(2 * PAGE_SIZE)));

/* Instruction sites, as global labels so the expect file can name them. */
extern char traps_hlt_insn[], traps_hlt_resume[], traps_int40_insn[], traps_int40_resume[];
extern char traps_div_insn[], traps_div_resume[], traps_int3_after[];
extern char traps_pf_insn[];
extern char user_entry[], user_msg[], user_msg_end[], user_int1f_insn[], user_pf_insn[];
extern char __user_text_start[];

static u32 user_va(const char *sym)
{
	return USER_CODE_VA + (u32)(sym - __user_text_start); }

static void expect_trap(u32 vector, u32 errcode, const void *eip, const void *resume)
{
	expect.vector = vector;
	expect.errcode = errcode;
	expect.eip = (u32)eip;
	expect.resume = (u32)resume;
	expect.cr2 = 0;
	expect.from_user = 0;
	expect.seen = 0;
}

static void syscall(struct trapframe *f);
static u32 user_va(const char *sym);

int guest_trap(struct trapframe *f)
{
	if (f->vector == FIRST_EXTERNAL_VECTOR) {
		/* Interrupt gate: the Host cleared the virtual IF before entering
		 * the handler (spec §5.4 step 5). */
		CHECK(lguest_data.irq_enabled == 0, "timer handler entered with irq_enabled %x", lguest_data.irq_enabled);
		CHECK(f->cs == KERNEL_CS_RPL1, "timer interrupt frame cs %x", f->cs);
		CHECK(f->eflags & X86_EFLAGS_IF, "timer interrupt frame eflags %x lacks IF", f->eflags);
		ticks++;
		return 1;
	}
	if (f->vector == SYSCALL_VECTOR) {
		syscall(f);
		return 1;
	}
	if (expect.seen || f->vector != expect.vector)
		return 0;
	CHECK(f->errcode == expect.errcode, "trap %u: errcode %x, want %x", f->vector, f->errcode, expect.errcode);
	CHECK(f->eip == expect.eip, "trap %u: eip %08x, want %08x", f->vector, f->eip, expect.eip);
	if (expect.from_user) {
		CHECK(f->cs == __USER_CS && f->user_ss == __USER_DS, "trap %u from ring 3: cs %x ss %x", f->vector,
		      f->cs, f->user_ss);
		/* Reflected from ring 3 onto the SET_STACK stack (spec §5.4 step 1). */
		CHECK((u32)f >= (u32)user_kstack && (u32)f < (u32)user_kstack + sizeof(user_kstack),
		      "trap %u from ring 3: frame at %08x is not on the SET_STACK stack", f->vector, (u32)f);
	} else {
		CHECK(f->cs == KERNEL_CS_RPL1, "trap %u: cs %x, want 0x61", f->vector, f->cs);
	}
	if (f->vector == 14) {
		u32 cr2 = lguest_data.cr2;
		CHECK(cr2 == expect.cr2, "page fault: lguest_data.cr2 %08x, want %08x", cr2, expect.cr2);
		/* Map the page the guest's tables lacked; the faulting
		 * instruction then restarts (spec §5.2: the fault was not
		 * fixable by demand_page, so it was reflected). */
		if (expect.from_user)
			map_page(initial_page_table, cr2, __pa(user_data_page), _PAGE_PRESENT | _PAGE_RW | _PAGE_USER, 1);
		else
			map_page(initial_page_table, cr2, __pa(fault_page), _PAGE_PRESENT | _PAGE_RW, 1);
	}
	if (expect.resume)
		f->eip = expect.resume;
	expect.seen = 1;
	if (expect.from_user && f->vector == 13) {
		/* The user program's next trap: its page fault (not present,
		 * read, user: errcode 4). */
		expect_trap(14, 4, (void *)user_va(user_pf_insn), 0);
		expect.cr2 = USER_FAULT_VA;
		expect.from_user = 1;
	}
	return 1;
}

/* ---- kernel-mode traps ---- */

static void __attribute__((noinline)) kernel_page_fault(void)
{
	*(volatile u32 *)fault_page = FAULT_MAGIC;
	expect_trap(14, 0, traps_pf_insn, 0); /* not-present read from ring 1: errcode 0 */
	expect.cr2 = FAULT_VA;
	u32 v;
	asm volatile(".globl traps_pf_insn\ntraps_pf_insn: movl %1, %0" : "=r"(v) : "m"(*(volatile u32 *)FAULT_VA));
	CHECK(expect.seen, "no page fault at %08x", FAULT_VA);
	CHECK(v == FAULT_MAGIC, "after the handler mapped %08x it reads %08x", FAULT_VA, v);
	kprintf("%s: #PF at 0xd0000000 reflected; handler mapped the page, load restarted\n", guest_name);
}

static void __attribute__((noinline)) general_protection(void)
{
	/* hlt at CPL 1: #GP(0) the Host does not emulate (spec §5.3) -> reflected. */
	expect_trap(13, 0, traps_hlt_insn, traps_hlt_resume);
	asm volatile(".globl traps_hlt_insn, traps_hlt_resume\n"
		     "traps_hlt_insn: hlt\ntraps_hlt_resume:" ::: "memory");
	CHECK(expect.seen, "hlt at CPL 1 did not fault");
	/* int $0x40: the live gate is a Host stub with DPL 0, so from CPL 1 it
	 * is #GP(0x40*8+2) (spec §5.6). */
	expect_trap(13, 0x40 * 8 + 2, traps_int40_insn, traps_int40_resume);
	asm volatile(".globl traps_int40_insn, traps_int40_resume\n"
		     "traps_int40_insn: int $0x40\ntraps_int40_resume:" ::: "memory");
	CHECK(expect.seen, "int $0x40 did not fault");
	kprintf("%s: #GP from hlt (err 0) and int $0x40 (err 0x202) reflected\n", guest_name);
}

static void __attribute__((noinline)) emulated_io(void)
{
	/* #GP(0) on in/out/cli at CPL 1 is emulated by the Host and never
	 * reaches the guest (spec §5.3). */
	u32 a = 0x12345600;
	asm volatile("inb $0x60, %%al" : "+a"(a));
	CHECK(a == 0x123456FF, "inb: eax %08x, want 0x123456ff", a);
	a = 0x12340000;
	asm volatile("inw $0x60, %%ax" : "+a"(a));
	CHECK(a == 0x1234FFFF, "inw: eax %08x, want 0x1234ffff", a);
	a = 0;
	asm volatile("inl (%%dx), %%eax" : "+a"(a) : "d"(0xCFC));
	CHECK(a == 0xFFFFFFFF, "inl: eax %08x, want 0xffffffff", a);
	asm volatile("outb %%al, $0x80" ::"a"(0));
	asm volatile("outl %%eax, (%%dx)" ::"a"(0), "d"(0xCF8));
	u32 before = lguest_data.irq_enabled;
	asm volatile("cli" ::: "memory");
	CHECK(lguest_data.irq_enabled == before, "cli changed irq_enabled (spec §5.3: skipped only)");
	kprintf("%s: in/out/cli emulated by the Host (in reads all ones)\n", guest_name);
}

static void __attribute__((noinline)) divide_error(void)
{
	expect_trap(0, 0, traps_div_insn, traps_div_resume);
	u32 q = 1;
	asm volatile(".globl traps_div_insn, traps_div_resume\n"
		     "traps_div_insn: divl %2\ntraps_div_resume:"
		     : "+a"(q)
		     : "d"(0), "c"(0)
		     : "memory");
	CHECK(expect.seen, "divide by zero did not fault");
	kprintf("%s: divide error reflected\n", guest_name);
}

static void __attribute__((noinline)) breakpoint(void)
{
	/* int3 is a trap: the frame's eip is the next instruction. */
	expect_trap(3, 0, traps_int3_after, 0);
	asm volatile("int3\n.globl traps_int3_after\ntraps_int3_after:" ::: "memory");
	CHECK(expect.seen, "int3 did not trap");
	kprintf("%s: int3 reflected\n", guest_name);
}

/* ---- timer (spec §5.5, §8) ---- */

static void __attribute__((noinline)) timer(void)
{
	/* lguest_time_init: unblock IRQ 0. */
	lguest_data.blocked_interrupts[0] &= ~1u;
	for (u32 i = 0; i < TICKS_HALTED; i++) {
		/* safe_halt with the virtual IF off, so a tick that fires
		 * before HALT still wakes us (spec §3.3.10, §5.5). */
		irq_disable();
		hcall(LHCALL_SET_CLOCKEVENT, TICK_NS, 0, 0, 0);
		hcall(LHCALL_HALT, 0, 0, 0, 0);
		CHECK(ticks == i + 1, "after HALT %u: %u ticks", i + 1, ticks);
		/* Woken by delivery: the Host set irq_enabled = 0x200 before
		 * pushing the frame; lguest_iret restored it from the frame. */
		CHECK(lguest_data.irq_enabled == X86_EFLAGS_IF, "irq_enabled %x after wake", lguest_data.irq_enabled);
	}
	kprintf("%s: %u timer ticks, each after SET_CLOCKEVENT + HALT\n", guest_name, ticks);

	/* A tick while running with interrupts enabled: the Host must stop
	 * the CPU when the event fires (spec §12 item 2). */
	irq_enable();
	hcall(LHCALL_SET_CLOCKEVENT, TICK_NS, 0, 0, 0);
	for (u32 n = 0; ticks == TICKS_HALTED; n++)
		CHECK(n < 200000000u, "no timer interrupt while spinning with interrupts enabled");
	CHECK(ticks == TICKS_HALTED + 1, "%u ticks after spinning", ticks);
	irq_disable();
	lguest_data.blocked_interrupts[0] |= 1;
	kprintf("%s: one more tick delivered while spinning with irq_enabled set\n", guest_name);
}

/* ---- user mode (spec §5.4, §5.6, §6) ---- */

static void syscall(struct trapframe *f)
{
	/* int $0x80 through the guest's DPL-3 trap gate: a direct trap on
	 * TSS ss1:esp1 (spec §5.6), so the frame is on the SET_STACK stack. */
	CHECK(f->cs == __USER_CS && f->user_ss == __USER_DS, "syscall from cs %x ss %x", f->cs, f->user_ss);
	CHECK((u32)f >= (u32)user_kstack && (u32)f < (u32)user_kstack + sizeof(user_kstack),
	      "syscall frame at %08x is not on the SET_STACK stack", (u32)f);
	switch (f->eax) {
	case 1: { /* write(buf, len) */
		u32 p = f->ebx, n = f->ecx;
		CHECK(p >= USER_CODE_VA && n < 128 && p + n <= USER_CODE_VA + PAGE_SIZE, "write(%08x, %u)", p, n);
		console_write((const char *)p, n);
		return;
	}
	case 2: /* exit(code) */
		leave_user(f->ebx);
	case 3: /* check(value) */
		CHECK(f->ebx == USER_MAGIC, "user read %08x from its fault page, want %08x", f->ebx, USER_MAGIC);
		return;
	}
	fail("unknown syscall %u", f->eax);
}

/* Runs at USER_CODE_VA in ring 3, so it is position-independent. */
asm(".pushsection .user.text, \"ax\"\n"
    ".globl user_entry, user_msg, user_msg_end, user_int1f_insn, user_pf_insn\n"
    "user_entry:\n"
    "	call 1f\n"
    "1:	popl %esi\n"
    "	leal user_msg-1b(%esi), %ebx\n"
    "	movl $user_msg_end-user_msg, %ecx\n"
    "	movl $1, %eax\n"
    "	int $0x80\n"
    /* A hypercall from ring 3 is #GP(0x1f*8+2) (spec §5.6). */
    "user_int1f_insn:\n"
    "	int $0x1f\n"
    /* A user page fault the kernel fixes. */
    "user_pf_insn:\n"
    "	movl 0x40000000, %ebx\n"
    "	movl $3, %eax\n"
    "	int $0x80\n"
    "	movl $2, %eax\n"
    "	movl $42, %ebx\n"
    "	int $0x80\n"
    "2:	jmp 2b\n"
    "user_msg: .ascii \"traps: hello from ring 3 via int $0x80\\n\"\n"
    "user_msg_end:\n"
    ".popsection\n");

static void __attribute__((noinline)) user_mode(void)
{
	u32 lo, hi;
	/* __USER_CS / __USER_DS: flat, DPL 3 (spec §6). */
	gdt_entry(0, 0xFFFFF, 0xFA, 0xC, &lo, &hi);
	hcall(LHCALL_LOAD_GDT_ENTRY, GDT_ENTRY_USER_CS, lo, hi, 0);
	gdt_entry(0, 0xFFFFF, 0xF2, 0xC, &lo, &hi);
	hcall(LHCALL_LOAD_GDT_ENTRY, GDT_ENTRY_USER_DS, lo, hi, 0);
	hcall(LHCALL_SET_STACK, KERNEL_DS_RPL1, (u32)user_kstack + sizeof(user_kstack), 2, 0);

	map_page(initial_page_table, USER_CODE_VA, __pa(__user_text_start), _PAGE_PRESENT | _PAGE_USER, 1);
	map_page(initial_page_table, USER_STACK_VA, __pa(user_stack_page), _PAGE_PRESENT | _PAGE_RW | _PAGE_USER, 1);
	*(volatile u32 *)user_data_page = USER_MAGIC;

	/* Traps the user program takes besides its syscalls, in order. */
	expect_trap(13, 0x1F * 8 + 2, (void *)user_va(user_int1f_insn), (void *)(user_va(user_int1f_insn) + 2));
	expect.from_user = 1;
	u32 code = enter_user(user_va(user_entry), USER_STACK_VA + PAGE_SIZE);
	CHECK(code == 42, "user program exited with %u, want 42", code);
	CHECK(expect.vector == 14 && expect.seen, "user page fault not seen");
	kprintf("%s: ring 3 via iret, int $0x80 direct trap, #GP and #PF from ring 3, exit %u\n", guest_name, code);
}

void guest_main(void)
{
	setup_default_idt();
	set_gate(FIRST_EXTERNAL_VECTOR, trap_stub_32, GATE_INTR_DPL0);
	set_gate(SYSCALL_VECTOR, trap_stub_128, GATE_TRAP_DPL3);
	kernel_page_fault();
	general_protection();
	emulated_io();
	divide_error();
	breakpoint();
	timer();
	user_mode();
}
