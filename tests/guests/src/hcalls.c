/*
 * hcalls - every hypercall of the ABI with valid arguments (issue 4, item 2):
 * GDT/TLS/IDT entry loads, SET_STACK, TS (#NM), six page directories cycled
 * through the Host's 4-slot pgdir cache, SET_PTE/SET_PGD(/SET_PMD with PAE)
 * and FLUSH_TLB after changing live mappings, the async ring (a batch, a
 * wrap-around and the ring-full fallback), SET_CLOCKEVENT + HALT,
 * SEND_INTERRUPTS, FLUSH_ASYNC, NOTIFY (the console) and SHUTDOWN.
 *
 * Each step checks what the guest can observe and prints one line; the
 * exact hypercall order is in expect/hcalls.txt.
 */
#include "kern.h"

#define USER_VA 0x40000000u /* a user-range VA each page directory maps differently */
#define NPGDIRS 6
#define NFRAMES 12
#define MAGIC(i) (0xC0DE0000u + (i))
#define TLS_MAGIC0 0x7150000Au
#define TLS_MAGIC1 0x7150000Bu
#define PERCPU_MAGIC 0x9E4C9000u

/* pgdirs[i] is a top-level table: 1024 PDEs, or (PAE) a PDPT in the first 32
 * bytes of its page. */
static pte_t pgdirs[NPGDIRS][PAGE_SIZE / sizeof(pte_t)] __attribute__((aligned(PAGE_SIZE)));
/* Data frames, each holding MAGIC(i) in its first word. */
static u8 frames[NFRAMES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 set_stack[2 * PAGE_SIZE] __attribute__((aligned(2 * PAGE_SIZE)));
static volatile u32 nm_count, ticks;
static u32 tls_block[2] = {TLS_MAGIC0, TLS_MAGIC1};
static u32 percpu_area[4] = {PERCPU_MAGIC};
static u32 tls_array[3][2];
static u8 dummy_tss[104];

#define STACK_TOP ((u32)set_stack + sizeof(set_stack))

static u32 frame_pa(int i) { return __pa(frames[i]); }
static u32 read_user(void) { return *(volatile u32 *)USER_VA; }

int guest_trap(struct trapframe *f)
{
	if (f->vector == 7) {
		/* #NM with TS set (spec §5.9): "restore the FPU state" and
		 * clts -> LHCALL_TS(0). */
		nm_count++;
		hcall(LHCALL_TS, 0, 0, 0, 0);
		return 1;
	}
	if (f->vector == FIRST_EXTERNAL_VECTOR) {
		ticks++;
		return 1;
	}
	return 0;
}

static void step_gdt(void)
{
	/* Linux's switch_to_new_gdt: all 32 entries of the per-cpu GDT
	 * (spec §10.1 step 7a). Kernel segments come with DPL 0, which the
	 * Host raises to 1 (spec §6); 10, 11, 16 and 31 are ignored. */
	u32 gdt[GDT_ENTRIES][2];
	memset(gdt, 0, sizeof(gdt));
	gdt_entry(0, 0xFFFFF, 0x9A, 0xC, &gdt[12][0], &gdt[12][1]);
	gdt_entry(0, 0xFFFFF, 0x92, 0xC, &gdt[13][0], &gdt[13][1]);
	gdt_entry(0, 0xFFFFF, 0xFA, 0xC, &gdt[14][0], &gdt[14][1]);
	gdt_entry(0, 0xFFFFF, 0xF2, 0xC, &gdt[15][0], &gdt[15][1]);
	gdt_entry((u32)dummy_tss, sizeof(dummy_tss) - 1, 0x89, 0x0, &gdt[16][0], &gdt[16][1]);
	gdt_entry((u32)percpu_area, 0xFFFFF, 0x92, 0xC, &gdt[27][0], &gdt[27][1]);
	for (u32 i = 0; i < GDT_ENTRIES; i++)
		hcall(LHCALL_LOAD_GDT_ENTRY, i, gdt[i][0], gdt[i][1], 0);

	/* Use them: the fixed-up DPL-1 segments must load at CPL 1. */
	u32 v;
	asm volatile("movl %1, %%ds\n\t"
		     "movl %1, %%es\n\t"
		     "movl %1, %%ss\n\t"
		     "ljmp $0x61, $1f\n"
		     "1:\n\t"
		     "movl %2, %%ds\n\t" /* RPL 0 selector: max(CPL, RPL) = 1 <= DPL */
		     "movl %1, %%ds\n\t"
		     "movl %3, %%fs\n\t"
		     "movl %%fs:0, %0\n\t"
		     "movl %4, %%fs"
		     : "=&r"(v)
		     : "r"(KERNEL_DS_RPL1), "r"(__KERNEL_DS), "r"(27 * 8 + 1), "r"(0)
		     : "memory");
	CHECK(v == PERCPU_MAGIC, "%%fs:0 through GDT entry 27 reads %08x, want %08x", v, PERCPU_MAGIC);
	kprintf("%s: LOAD_GDT_ENTRY x32; DPL-0 kernel segments usable at CPL 1; fs base ok\n", guest_name);
}

static void step_tls(int async)
{
	gdt_entry((u32)&tls_block[0], 0xFFFFF, 0xF2, 0xC, &tls_array[0][0], &tls_array[0][1]);
	gdt_entry((u32)&tls_block[1], 0xFFFFF, 0xF2, 0xC, &tls_array[1][0], &tls_array[1][1]);
	tls_array[2][0] = tls_array[2][1] = 0;
	/* lazy_load_gs(0) first: the Host cannot cope with a loaded selector
	 * whose entry is replaced (spec §6). */
	asm volatile("movl %0, %%gs" ::"r"(0));
	if (async)
		async_hcall(LHCALL_LOAD_TLS, __pa(tls_array), 0, 0, 0);
	else
		hcall(LHCALL_LOAD_TLS, __pa(tls_array), 0, 0, 0);
}

static void check_tls(void)
{
	u32 a, b;
	asm volatile("movl %2, %%gs\n\tmovl %%gs:0, %0\n\t"
		     "movl %3, %%gs\n\tmovl %%gs:0, %1\n\t"
		     "movl %4, %%gs"
		     : "=&r"(a), "=&r"(b)
		     : "r"(GDT_ENTRY_TLS_MIN * 8 + 3), "r"((GDT_ENTRY_TLS_MIN + 1) * 8 + 3), "r"(0)
		     : "memory");
	CHECK(a == TLS_MAGIC0 && b == TLS_MAGIC1, "TLS reads %08x %08x", a, b);
}

static void step_idt(void)
{
	setup_default_idt();
	set_gate(FIRST_EXTERNAL_VECTOR, trap_stub_32, GATE_INTR_DPL0);
	set_gate(SYSCALL_VECTOR, trap_stub_128, GATE_TRAP_DPL3);
	/* What Linux also sends and the Host silently ignores (spec §5.6):
	 * NMI, the double-fault task gate, 15 and the hypercall vector. */
	set_gate(2, trap_stub_0, GATE_INTR_DPL0);
	hcall(LHCALL_LOAD_IDT_ENTRY, 8, (31 * 8) << 16, 0x8500, 0);
	set_gate(15, trap_stub_0, GATE_INTR_DPL0);
	set_gate(LGUEST_TRAP_ENTRY, trap_stub_0, GATE_INTR_DPL0);
	/* A not-present entry is stored as empty. */
	hcall(LHCALL_LOAD_IDT_ENTRY, 0x30, 0, 0, 0);
	kprintf("%s: LOAD_IDT_ENTRY: exceptions, timer, syscall trap gate, ignored 2/8/15/0x1f\n", guest_name);
}

static void step_ts(void)
{
	hcall(LHCALL_SET_STACK, KERNEL_DS_RPL1, STACK_TOP, 2, 0);
	hcall(LHCALL_TS, 8, 0, 0, 0);
	asm volatile("fninit" ::: "memory");
	CHECK(nm_count == 1, "fninit with TS set: %u #NM traps, want 1", nm_count);
	asm volatile("fninit" ::: "memory");
	CHECK(nm_count == 1, "fninit after TS(0): %u #NM traps, want 1", nm_count);
	kprintf("%s: SET_STACK; TS(8) -> fninit raised #NM -> TS(0)\n", guest_name);
}

/* The Host writes A (and D on a write) back into the guest PTE when it
 * demand-faults a page (spec §7.3). */
static void step_accessed_dirty(void)
{
	pte_t *text = lookup_pte(initial_page_table, (u32)_text, 0);
	pte_t *stack = lookup_pte(initial_page_table, read_esp() & ~0xFFFu, 0);
	CHECK(text && (*text & _PAGE_ACCESSED) && !(*text & _PAGE_DIRTY), "PTE of _text is %08x: want A set, D clear",
	      (u32)*text);
	CHECK(stack && (*stack & (_PAGE_ACCESSED | _PAGE_DIRTY)) == (_PAGE_ACCESSED | _PAGE_DIRTY),
	      "PTE of the stack is %08x: want A and D set", (u32)*stack);
	kprintf("%s: the Host wrote Accessed/Dirty back into initial_page_table\n", guest_name);
}

static void make_pgdirs(void)
{
	for (int i = 0; i < NFRAMES; i++)
		*(u32 *)frames[i] = MAGIC(i);
	for (int i = 0; i < NPGDIRS; i++) {
		/* Linux's pgd_alloc: kernel entries shared with swapper
		 * (spec §4 kernel_address; PAE: shared kernel PMD). */
#ifdef CONFIG_PAE
		pgdirs[i][3] = initial_page_table[3];
#else
		for (int j = PAGE_OFFSET >> PGDIR_SHIFT; j < PTRS_PER_PGD; j++)
			pgdirs[i][j] = initial_page_table[j];
#endif
		map_page(pgdirs[i], USER_VA, frame_pa(i), _PAGE_PRESENT | _PAGE_RW, 0);
	}
}

static void switch_to(int i)
{
	hcall(LHCALL_NEW_PGTABLE, __pa(pgdirs[i]), 0, 0, 0);
}

static void step_pgdir_cache(void)
{
	/* Six tables through a 4-slot cache, twice: some slot is replaced
	 * (spec §7.7); each table must still see its own frame. */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < NPGDIRS; i++) {
			switch_to(i);
			CHECK(read_user() == MAGIC(i), "pgdir %d (round %d): %08x at USER_VA, want %08x", i, round,
			      read_user(), MAGIC(i));
		}
	kprintf("%s: NEW_PGTABLE x12 over 6 page directories; each sees its own frame\n", guest_name);
}

static void step_set_pte(void)
{
	/* Current: pgdirs[5]. Remap USER_VA in it and notify. */
	pte_t *pte = lookup_pte(pgdirs[5], USER_VA, 0);
	*pte = frame_pa(6) | _PAGE_PRESENT | _PAGE_RW;
	hcall(LHCALL_SET_PTE, __pa(pgdirs[5]), USER_VA, (u32)*pte, (u32)((u64)*pte >> 32));
	CHECK(read_user() == MAGIC(6), "after SET_PTE: %08x, want %08x", read_user(), MAGIC(6));
	/* The same for a table that is not current (cached or not). */
	pte = lookup_pte(pgdirs[4], USER_VA, 0);
	*pte = frame_pa(7) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
	hcall(LHCALL_SET_PTE, __pa(pgdirs[4]), USER_VA, (u32)*pte, (u32)((u64)*pte >> 32));
	switch_to(4);
	CHECK(read_user() == MAGIC(7), "pgdir 4 after SET_PTE: %08x, want %08x", read_user(), MAGIC(7));
	kprintf("%s: SET_PTE on the current and on another page directory\n", guest_name);
}

static void step_set_pgd(void)
{
	/* Current: pgdirs[4]. Replace the upper-level entry that covers
	 * USER_VA with a fresh one and tell the Host (spec §7.9). */
#ifndef CONFIG_PAE
	u32 idx = USER_VA >> PGDIR_SHIFT;
	pte_t *pt = alloc_page();
	pt[(USER_VA >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)] = frame_pa(8) | _PAGE_PRESENT | _PAGE_RW;
	pgdirs[4][idx] = __pa(pt) | _PAGE_TABLE;
	hcall(LHCALL_SET_PGD, __pa(pgdirs[4]), idx, 0, 0);
	CHECK(read_user() == MAGIC(8), "after SET_PGD: %08x, want %08x", read_user(), MAGIC(8));
	kprintf("%s: SET_PGD after replacing the PDE of USER_VA\n", guest_name);
#else
	/* PAE: first a PMD entry (SET_PMD: the Host drops everything,
	 * spec §3.3.11), then the PDPT entry (SET_PGD on the 32-byte PDPT). */
	u32 gi = USER_VA >> PGDIR_SHIFT, mi = (USER_VA >> PMD_SHIFT) & (PTRS_PER_PMD - 1);
	pte_t *pmd = __va((u32)pgdirs[4][gi] & ~0xFFFu);
	pte_t *pt = alloc_page();
	pt[(USER_VA >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)] = frame_pa(8) | _PAGE_PRESENT | _PAGE_RW;
	pmd[mi] = __pa(pt) | _PAGE_TABLE;
	hcall(LHCALL_SET_PMD, __pa(pmd), mi, 0, 0);
	CHECK(read_user() == MAGIC(8), "after SET_PMD: %08x, want %08x", read_user(), MAGIC(8));
	pte_t *pmd2 = alloc_page();
	pte_t *pt2 = alloc_page();
	pt2[(USER_VA >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)] = frame_pa(9) | _PAGE_PRESENT | _PAGE_RW;
	pmd2[mi] = __pa(pt2) | _PAGE_TABLE;
	pgdirs[4][gi] = __pa(pmd2) | PGD_IDENT_ATTR_PAE;
	hcall(LHCALL_SET_PGD, __pa(pgdirs[4]) & ~0x1Fu, gi, 0, 0);
	CHECK(read_user() == MAGIC(9), "after SET_PGD: %08x, want %08x", read_user(), MAGIC(9));
	kprintf("%s: SET_PMD after replacing a PMD entry, SET_PGD after replacing a PDPT entry\n", guest_name);
#endif
}

static void step_flush_tlb(void)
{
	/* User mapping changed without SET_PTE, then FLUSH_TLB(0). */
	read_user();
	pte_t *pte = lookup_pte(pgdirs[4], USER_VA, 0);
	*pte = frame_pa(10) | _PAGE_PRESENT | _PAGE_RW;
	hcall(LHCALL_FLUSH_TLB, 0, 0, 0, 0);
	CHECK(read_user() == MAGIC(10), "after FLUSH_TLB(0): %08x, want %08x", read_user(), MAGIC(10));

	/* A kernel mapping: SET_PTE above kernel_address reaches every cached
	 * table (spec §7.9), FLUSH_TLB(1) drops everything (spec §7.10). */
	volatile u32 *kva = (volatile u32 *)frames[0];
	pte_t *kpte = lookup_pte(initial_page_table, (u32)kva, 0);
	pte_t old = *kpte;
	CHECK(*kva == MAGIC(0), "kernel alias of frame 0 reads %08x", *kva);
	*kpte = frame_pa(11) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
	hcall(LHCALL_SET_PTE, __pa(pgdirs[4]), (u32)kva, (u32)*kpte, (u32)((u64)*kpte >> 32));
	CHECK(*kva == MAGIC(11), "kernel SET_PTE: %08x, want %08x", *kva, MAGIC(11));
	switch_to(2);
	CHECK(*kva == MAGIC(11), "kernel SET_PTE seen from pgdir 2: %08x, want %08x", *kva, MAGIC(11));
	*kpte = old;
	hcall(LHCALL_FLUSH_TLB, 1, 0, 0, 0);
	CHECK(*kva == MAGIC(0), "after FLUSH_TLB(1): %08x, want %08x", *kva, MAGIC(0));
	kprintf("%s: FLUSH_TLB(0) and FLUSH_TLB(1) after unannounced PTE changes; kernel SET_PTE\n", guest_name);
}

static void check_ring_drained(void)
{
	for (int i = 0; i < LHCALL_RING_SIZE; i++)
		CHECK(lguest_data.hcall_status[i] == 0xFF, "hcall_status[%d] = %x after the drain", i,
		      lguest_data.hcall_status[i]);
}

static void step_async(void)
{
	/* One batch of the calls Linux queues in lazy mode (spec §3.4), run
	 * by the Host in ring order before the FLUSH_ASYNC that drains it. */
	pte_t *pte = lookup_pte(pgdirs[3], USER_VA, 0);
	*pte = frame_pa(11) | _PAGE_PRESENT | _PAGE_RW;
	async_hcall(LHCALL_SET_PTE, __pa(pgdirs[3]), USER_VA, (u32)*pte, (u32)((u64)*pte >> 32));
	async_hcall(LHCALL_FLUSH_TLB, 0, 0, 0, 0);
	async_hcall(LHCALL_TS, 0, 0, 0, 0);
	async_hcall(LHCALL_SET_STACK, KERNEL_DS_RPL1, STACK_TOP, 2, 0);
	step_tls(1);
	async_hcall(LHCALL_NEW_PGTABLE, __pa(pgdirs[3]), 0, 0, 0);
	CHECK(lguest_data.hcall_status[0] == 0 && lguest_data.hcall_status[5] == 0, "ring entries not marked");
	hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0, 0);
	check_ring_drained();
	CHECK(read_user() == MAGIC(11), "after the async batch: %08x at USER_VA, want %08x", read_user(), MAGIC(11));
	check_tls();
	kprintf("%s: async batch of 6 (SET_PTE FLUSH_TLB TS SET_STACK LOAD_TLS NEW_PGTABLE) + FLUSH_ASYNC\n",
		guest_name);

	/* Fill the rest of the ring: the cursor wraps to 0. */
	for (int i = 0; i < LHCALL_RING_SIZE - 6; i++)
		async_hcall(LHCALL_TS, 0, 0, 0, 0);
	CHECK(async_next_call == 0, "ring cursor %u after 64 entries", async_next_call);
	hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0, 0);
	check_ring_drained();

	/* A full ring: the 65th call goes synchronously and the Host drains
	 * the 64 queued ones first. */
	for (int i = 0; i < LHCALL_RING_SIZE; i++)
		async_hcall(LHCALL_TS, 0, 0, 0, 0);
	async_hcall(LHCALL_TS, 0, 0, 0, 0);
	check_ring_drained();
	kprintf("%s: ring wrapped (58 more) and overflowed (64 + 1 synchronous)\n", guest_name);
}

static void step_clock(void)
{
	lguest_data.blocked_interrupts[0] &= ~1u;
	irq_disable();
	hcall(LHCALL_SET_CLOCKEVENT, 1000000, 0, 0, 0);
	hcall(LHCALL_HALT, 0, 0, 0, 0);
	CHECK(ticks == 1, "after SET_CLOCKEVENT + HALT: %u ticks", ticks);
	irq_disable();
	lguest_data.blocked_interrupts[0] |= 1;
	/* Arm and cancel (0 = stop, spec §3.3.9). */
	hcall(LHCALL_SET_CLOCKEVENT, 50000000, 0, 0, 0);
	hcall(LHCALL_SET_CLOCKEVENT, 0, 0, 0, 0);
	/* No-ops whose only purpose is an exit (spec §3.3.1). */
	hcall(LHCALL_SEND_INTERRUPTS, 0, 0, 0, 0);
	hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0, 0);
	kprintf("%s: SET_CLOCKEVENT + HALT woke on the tick; cancel; SEND_INTERRUPTS; FLUSH_ASYNC\n", guest_name);
}

void guest_main(void)
{
	step_accessed_dirty();
	step_gdt();
	step_tls(0);
	check_tls();
	kprintf("%s: LOAD_TLS; %%gs through TLS entries 6 and 7\n", guest_name);
	step_idt();
	step_ts();
	make_pgdirs();
	step_pgdir_cache();
	step_set_pte();
	step_set_pgd();
	step_flush_tlb();
	step_async();
	step_clock();
	hcall(LHCALL_NEW_PGTABLE, __pa(initial_page_table), 0, 0, 0);
}
