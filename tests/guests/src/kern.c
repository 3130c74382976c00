/*
 * kern.c - the C half of the common guest runtime: lguest_data, the early
 * console, hypercall helpers, the IDT, page-table helpers, start_kernel().
 */
#include "kern.h"

#ifndef GUEST_NAME
#error "GUEST_NAME must be defined by the Makefile"
#endif
const char guest_name[] = GUEST_NAME;

/* spec §4: the static initialiser of a 3.x guest. Its *physical* address
 * goes into LHCALL_LGUEST_INIT (head.S). */
struct lguest_data lguest_data = {
	.hcall_status = {[0 ... LHCALL_RING_SIZE - 1] = 0xFF},
#ifdef LGUEST_4X
	.noirq_iret = (u32)lguest_noirq_iret,
#else
	.noirq_start = (u32)lguest_noirq_start,
	.noirq_end = (u32)lguest_noirq_end,
#endif
	.kernel_address = PAGE_OFFSET,
	.blocked_interrupts = {1}, /* timer blocked until "time_init" */
	.syscall_vec = SYSCALL_VECTOR,
};

#define ASSERT_OFF(f, off) _Static_assert(offsetof(struct lguest_data, f) == (off), #f)
ASSERT_OFF(irq_enabled, LGD_IRQ_ENABLED);
ASSERT_OFF(blocked_interrupts, LGD_BLOCKED_INTERRUPTS);
ASSERT_OFF(cr2, LGD_CR2);
ASSERT_OFF(time, LGD_TIME);
ASSERT_OFF(irq_pending, LGD_IRQ_PENDING);
ASSERT_OFF(hcall_status, LGD_HCALL_STATUS);
ASSERT_OFF(hcalls, LGD_HCALLS);
ASSERT_OFF(reserve_mem, LGD_RESERVE_MEM);
ASSERT_OFF(tsc_khz, LGD_TSC_KHZ);
#ifdef LGUEST_4X
ASSERT_OFF(noirq_iret, LGD_NOIRQ_IRET);
#else
ASSERT_OFF(noirq_start, LGD_NOIRQ_START);
ASSERT_OFF(noirq_end, LGD_NOIRQ_END);
#endif
ASSERT_OFF(kernel_address, LGD_KERNEL_ADDRESS);
ASSERT_OFF(syscall_vec, LGD_SYSCALL_VEC);
_Static_assert(sizeof(struct lguest_data) == LGD_SIZE, "sizeof lguest_data");
_Static_assert(sizeof(struct trapframe) == 17 * 4, "trapframe");

/* ---- console and power-off (the lguest side of lib.c) ---- */

/* early_put_chars (spec §2.7): at most 16 characters into a 17-byte stack
 * buffer, NUL-terminated, LHCALL_NOTIFY(__pa(buf)). The Host prints an
 * unbound NOTIFY address inside guest memory as a C string. */
#ifdef LGUEST_4X
/*
 * 4.x early_put_chars (4.x spec §4, "Early console"): no NOTIFY. The
 * console is found by PCI config reads (probe_pci_console: the virtio
 * console's DEVICE_CFG capability in BAR0 and its PCI_CFG access window);
 * each character is a dword write of emerg_wr through the window (bar 0,
 * length 4, offset of emerg_wr, then the data).
 */
static inline void outl(u32 v, u16 port) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u32 inl(u16 port)
{
	u32 v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
u32 pci_read(u32 slot, u32 reg)
{
	outl(0x80000000u | slot << 11 | (reg & 0xFC), 0xCF8);
	return inl(0xCFC);
}
void pci_write(u32 slot, u32 reg, u32 v)
{
	outl(0x80000000u | slot << 11 | (reg & 0xFC), 0xCF8);
	outl(v, 0xCFC);
}
/* The capability of cfg_type typ: its config offset, or 0. */
u32 pci_find_cap(u32 slot, u32 typ)
{
	for (u32 p = pci_read(slot, 0x34) & 0xFF; p; p = pci_read(slot, p) >> 8 & 0xFF)
		if ((pci_read(slot, p) & 0xFF) == 0x09 && (pci_read(slot, p) >> 24) == typ)
			return p;
	return 0;
}
static u32 early_slot, early_window, early_emerg;
static int probe_pci_console(void)
{
	for (u32 slot = 0; slot < 32; slot++) {
		if (pci_read(slot, 0) != (0x1043u << 16 | 0x1AF4))
			continue;
		u32 dev = pci_find_cap(slot, 4), win = pci_find_cap(slot, 5);
		if (!dev || !win || (pci_read(slot, dev + 4) & 0xFF) != 0)
			return 0;
		early_slot = slot;
		early_window = win;
		early_emerg = pci_read(slot, dev + 8) + 8; /* offsetof(virtio_console_config, emerg_wr) */
		return 1;
	}
	return 0;
}
void console_write(const char *s, size_t n)
{
	if (!early_window && !probe_pci_console())
		return;
	pci_write(early_slot, early_window + 4, 0);           /* cap.bar */
	pci_write(early_slot, early_window + 12, 4);          /* cap.length */
	pci_write(early_slot, early_window + 8, early_emerg); /* cap.offset */
	for (; n; n--)
		pci_write(early_slot, early_window + 16, (u8)*s++);
}
#else
void console_write(const char *s, size_t n)
{
	while (n) {
		char buf[17];
		size_t len = n > 16 ? 16 : n;
		memcpy(buf, s, len);
		buf[len] = 0;
		hcall(LHCALL_NOTIFY, __pa(buf), 0, 0, 0);
		s += len;
		n -= len;
	}
}
#endif

/* The Host reads exactly 128 bytes of the SHUTDOWN message (spec §3.3.3), so
 * the buffer is 128 bytes and static (inside guest memory). */
static char shutdown_msg[128];

void poweroff(const char *msg)
{
	size_t n = strlen(msg);
	if (n > sizeof(shutdown_msg) - 1)
		n = sizeof(shutdown_msg) - 1;
	memcpy(shutdown_msg, msg, n);
	shutdown_msg[n] = 0;
	for (;;)
		hcall(LHCALL_SHUTDOWN, __pa(shutdown_msg), LGUEST_SHUTDOWN_POWEROFF, 0, 0);
}

/* ---- async hypercalls (spec §3.4; Linux's async_hcall) ---- */

unsigned int async_next_call;

void async_hcall(u32 call, u32 a1, u32 a2, u32 a3, u32 a4)
{
	volatile struct lguest_data *ld = &lguest_data;
	u32 flags = ld->irq_enabled;
	ld->irq_enabled = 0;
	if (ld->hcall_status[async_next_call] != 0xFF) {
		/* Ring full: a synchronous call makes the Host drain it. */
		hcall(call, a1, a2, a3, a4);
	} else {
		ld->hcalls[async_next_call].arg0 = call;
		ld->hcalls[async_next_call].arg1 = a1;
		ld->hcalls[async_next_call].arg2 = a2;
		ld->hcalls[async_next_call].arg3 = a3;
		ld->hcalls[async_next_call].arg4 = a4;
		asm volatile("" ::: "memory"); /* wmb(): x86 keeps store order */
		ld->hcall_status[async_next_call] = 0;
		if (++async_next_call == LHCALL_RING_SIZE)
			async_next_call = 0;
	}
	ld->irq_enabled = flags;
}

/* ---- IDT ---- */

u32 idt_table[256][2]; /* the guest's own copy, as write_idt_entry keeps */

void set_gate(unsigned vec, void *handler, u32 type)
{
	u32 off = (u32)handler;
	u32 lo = (__KERNEL_CS << 16) | (off & 0xFFFF);
	u32 hi = (off & 0xFFFF0000) | type;
	if (vec < 256) {
		idt_table[vec][0] = lo;
		idt_table[vec][1] = hi;
	}
	hcall(LHCALL_LOAD_IDT_ENTRY, vec, lo, hi, 0);
}

/* Like Linux's trap_init under lguest (spec §5.6): exceptions are interrupt
 * gates with DPL 0 except int3/into (DPL 3); 2, 8 and 15 are left alone. */
void setup_default_idt(void)
{
	static const struct {
		u8 vec;
		void *stub;
	} gates[] = {
		{0, trap_stub_0}, {1, trap_stub_1}, {5, trap_stub_5},
		{6, trap_stub_6}, {7, trap_stub_7}, {9, trap_stub_9},
		{10, trap_stub_10}, {11, trap_stub_11}, {12, trap_stub_12},
		{13, trap_stub_13}, {14, trap_stub_14}, {16, trap_stub_16},
		{17, trap_stub_17}, {18, trap_stub_18}, {19, trap_stub_19},
	};
	for (unsigned i = 0; i < sizeof(gates) / sizeof(gates[0]); i++)
		set_gate(gates[i].vec, gates[i].stub, GATE_INTR_DPL0);
	set_gate(3, trap_stub_3, GATE_INTR_DPL3);
	set_gate(4, trap_stub_4, GATE_INTR_DPL3);
}

void trap_dispatch(struct trapframe *f)
{
	if (guest_trap(f))
		return;
	fail("unexpected trap %u at eip %08x cs %x errcode %x cr2 %08x", f->vector, f->eip, f->cs,
	     f->errcode, lguest_data.cr2);
}

/* ---- GDT ---- */

void gdt_entry(u32 base, u32 limit, u32 access, u32 flags, u32 *lo, u32 *hi)
{
	*lo = (limit & 0xFFFF) | (base << 16);
	*hi = ((base >> 16) & 0xFF) | (access << 8) | (limit & 0xF0000) | ((flags & 0xF) << 20) |
	      (base & 0xFF000000);
}

/* ---- page tables ---- */

#define POOL_PAGES 64
static u8 page_pool[POOL_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static unsigned pool_used;

void *alloc_page(void)
{
	if (pool_used == POOL_PAGES)
		fail("page pool exhausted");
	void *p = page_pool[pool_used++];
	memset(p, 0, PAGE_SIZE);
	return p;
}

#ifndef CONFIG_PAE
pte_t *lookup_pte(pte_t *pgdir, u32 va, int *missing)
{
	pte_t pde = pgdir[va >> PGDIR_SHIFT];
	if (!(pde & _PAGE_PRESENT)) {
		if (missing)
			*missing = 1;
		return 0;
	}
	pte_t *pt = __va(pde & ~0xFFFu);
	return &pt[(va >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)];
}

/* Map va -> pa in pgdir. With notify, tell the Host the way Linux does:
 * a new PDE through SET_PGD (non-PAE set_pmd, spec §7.9) and the PTE through
 * SET_PTE(__pa(pgdir), va, pte). */
pte_t *map_page(pte_t *pgdir, u32 va, u32 pa, u32 flags, int notify)
{
	u32 idx = va >> PGDIR_SHIFT;
	if (!(pgdir[idx] & _PAGE_PRESENT)) {
		pte_t *pt = alloc_page();
		pgdir[idx] = __pa(pt) | _PAGE_TABLE;
		if (notify)
			hcall(LHCALL_SET_PGD, __pa(pgdir), idx, 0, 0);
	}
	pte_t *pte = lookup_pte(pgdir, va, 0);
	*pte = pa | flags;
	if (notify)
		hcall(LHCALL_SET_PTE, __pa(pgdir), va, (u32)*pte, 0);
	return pte;
}
#else
pte_t *lookup_pte(pte_t *pgdir, u32 va, int *missing)
{
	pte_t pgd = pgdir[va >> PGDIR_SHIFT];
	if (!(pgd & _PAGE_PRESENT))
		goto miss;
	pte_t *pmd = __va((u32)pgd & ~0xFFFu);
	pte_t pmde = pmd[(va >> PMD_SHIFT) & (PTRS_PER_PMD - 1)];
	if (!(pmde & _PAGE_PRESENT))
		goto miss;
	pte_t *pt = __va((u32)pmde & ~0xFFFu);
	return &pt[(va >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)];
miss:
	if (missing)
		*missing = 1;
	return 0;
}

/* PAE: a new PDPT entry is announced with SET_PGD(__pa(pdpt) & ~0x1F, idx)
 * (set_pud), a new PMD entry with SET_PMD(__pa(pmd page), idx) (set_pmd),
 * the PTE with SET_PTE(__pa(pgdir), va, low, high) (spec §3.2, §7.9). */
pte_t *map_page(pte_t *pgdir, u32 va, u32 pa, u32 flags, int notify)
{
	u32 gi = va >> PGDIR_SHIFT;
	if (!(pgdir[gi] & _PAGE_PRESENT)) {
		pte_t *pmd = alloc_page();
		pgdir[gi] = __pa(pmd) | PGD_IDENT_ATTR_PAE;
		if (notify)
			hcall(LHCALL_SET_PGD, __pa(pgdir) & ~0x1Fu, gi, 0, 0);
	}
	pte_t *pmd = __va((u32)pgdir[gi] & ~0xFFFu);
	u32 mi = (va >> PMD_SHIFT) & (PTRS_PER_PMD - 1);
	if (!(pmd[mi] & _PAGE_PRESENT)) {
		pte_t *pt = alloc_page();
		pmd[mi] = __pa(pt) | _PAGE_TABLE;
		if (notify)
			hcall(LHCALL_SET_PMD, __pa(pmd), mi, 0, 0);
	}
	pte_t *pte = lookup_pte(pgdir, va, 0);
	*pte = (pte_t)(pa | flags);
	if (notify)
		hcall(LHCALL_SET_PTE, __pa(pgdir), va, (u32)*pte, (u32)(*pte >> 32));
	return pte;
}
#endif

/* ---- start_kernel: what lguest_init() reaches at PAGE_OFFSET ---- */

#define PROBE_PATTERN 0x5AA5C33C

static void check_boot(void)
{
	u32 eip;
	asm volatile("call 1f\n1: popl %0" : "=r"(eip));
	CHECK(eip >= PAGE_OFFSET, "running at eip %08x, not at PAGE_OFFSET", eip);
	CHECK(boot_esi == 0, "entered with esi %08x, want 0 (boot_params at gpa 0, spec 2.5)", boot_esi);
	CHECK(boot_probe == 0, "head.S boot checks failed: flags %x", boot_probe);
	u32 mapped = initial_map_pages << PAGE_SHIFT;
	for (int i = 0; i < 3; i++) {
		u32 a = boot_probe_addr[i];
		if (a == 0 || a + 4 > mapped)
			continue;
		/* Written at va == a under linear_pages; read back through the
		 * PAGE_OFFSET alias of the same frame. */
		u32 v = *(volatile u32 *)__va(a);
		CHECK(v == PROBE_PATTERN, "probe at gpa %08x reads %08x via PAGE_OFFSET: linear_pages was not 1:1", a, v);
	}
	/* The identity half of initial_page_table still maps the low probe. */
	u32 low = *(volatile u32 *)boot_probe_addr[0];
	CHECK(low == PROBE_PATTERN, "identity mapping of gpa %08x reads %08x", boot_probe_addr[0], low);

	/* What the Host wrote or must have left alone at INIT (spec §3.3.2). */
	volatile struct lguest_data *ld = &lguest_data;
	CHECK(ld->reserve_mem != 0, "lguest_data.reserve_mem is 0 after INIT");
	CHECK(ld->reserve_mem <= 0x40000000 && ld->reserve_mem % PAGE_SIZE == 0,
	      "reserve_mem %x leaves no room above kernel_address", ld->reserve_mem);
	CHECK(ld->kernel_address == PAGE_OFFSET, "kernel_address changed to %08x", ld->kernel_address);
	CHECK(ld->syscall_vec == SYSCALL_VECTOR, "syscall_vec changed to %x", ld->syscall_vec);
	for (int i = 0; i < LHCALL_RING_SIZE; i++)
		CHECK(ld->hcall_status[i] == 0xFF, "hcall_status[%d] is %x after INIT", i, ld->hcall_status[i]);
}

void start_kernel(void)
{
#ifdef CONFIG_PAE
	kprintf("%s: at PAGE_OFFSET after LGUEST_INIT + NEW_PGTABLE (PAE)\n", guest_name);
#else
	kprintf("%s: at PAGE_OFFSET after LGUEST_INIT + NEW_PGTABLE (non-PAE)\n", guest_name);
#endif
	check_boot();
	guest_main();
	pass();
}
