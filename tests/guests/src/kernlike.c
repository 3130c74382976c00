/*
 * kernlike - a benchmark guest shaped like a Linux boot (issue 13): what the
 * kernel's instruction mix is made of, self-checked.
 *
 *  1. Decompression, under linear_pages before LGUEST_INIT (decompress.c,
 *     called from head.S): a real DEFLATE inflate of KERNLIKE_EXPECT_BYTES of
 *     kernel-like data, CRC-32 compared with genkernlike's Go reference.
 *  2. Boot, at PAGE_OFFSET after the handoff: the IDT, relocation of the
 *     inflated image page by page (rep movsl) and poisoning of the old copy
 *     (rep stosl), a page-fault storm that demand-pages fresh memory with
 *     lazy-MMU batches of async SET_PTE, a burst of synchronous SET_PTE
 *     unmapping it again, and timer interrupts (halted and while running).
 *
 * With -DMULTIBOOT the same file is the workload of kernlike-multiboot.elf
 * for qemu-system-i386 (ring 0, no paging, no lguest): the inflate and the
 * copies only, since the storm, the hypercalls and the lguest timer have no
 * counterpart there.
 */
#include "kern.h"
#include "kernlike.h"
#include "inflate.h"
#include "kernlike_expect.h"

#define RELOC_PA 0x00C00000u	/* the relocated image */
#define STORM_VA 0xD0000000u	/* no PDE in initial_page_table */
#define STORM_PAGES 1024u	/* one page table: 4 MiB */
#define STORM_POOL_PA 0x01000000u /* fresh frames for the storm */
#define LAZY_BATCH LHCALL_RING_SIZE /* SET_PTEs queued before FLUSH_ASYNC */
#define TICKS_HALTED 4
#define TICK_NS 1000000u

_Static_assert(KERNLIKE_EXPECT_BYTES <= KERNLIKE_OUT_CAP, "the inflated image does not fit");
_Static_assert(KERNLIKE_OUT_PA + KERNLIKE_OUT_CAP <= RELOC_PA, "output overlaps the relocation");
_Static_assert(STORM_PAGES % LAZY_BATCH == 0, "storm is whole batches");

/* Linux's __memcpy and memset for i386: string instructions, dwords first. */
static inline void copy_block(void *d, const void *s, u32 n)
{
	u32 c = n / 4;
	asm volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
	c = n & 3;
	asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
}

static inline void fill_block(void *d, u32 v, u32 n)
{
	u32 c = n / 4;
	asm volatile("rep stosl" : "+D"(d), "+c"(c) : "a"(v) : "memory");
}

#ifdef MULTIBOOT
#define PHYS(pa) ((u8 *)(pa))
#else
#define PHYS(pa) ((u8 *)__va(pa))
#endif

static void check_decompression(void)
{
#ifdef MULTIBOOT
	decompress_kernel();
	const char *how = "in ring 0";
#else
	const char *how = "under linear_pages";
#endif
	/* Physical symbols (kernlike.ld): read through PAGE_OFFSET. */
	volatile struct decomp_result *r = (void *)PHYS((u32)&decomp_result);
	CHECK(r->done, "the decompressor did not run");
	CHECK(r->err == INFLATE_OK, "inflate error %d after %u bytes", r->err, r->out_len);
	CHECK(r->in_len == KERNLIKE_DEFLATE_BYTES, "payload is %u bytes, want %u", r->in_len, KERNLIKE_DEFLATE_BYTES);
	CHECK(r->out_len == KERNLIKE_EXPECT_BYTES, "inflated %u bytes, want %u", r->out_len, KERNLIKE_EXPECT_BYTES);
	CHECK(r->crc == KERNLIKE_CRC32, "crc32 %08x, want %08x", r->crc, KERNLIKE_CRC32);
	/* The compressed size is checked, not printed: it is whatever the
	 * build's compress/flate produced. */
	kprintf("%s: inflated %u bytes of DEFLATE %s, crc32 matches the reference\n", guest_name, r->out_len, how);
}

static void relocate(void)
{
	u8 *from = PHYS(KERNLIKE_OUT_PA), *to = PHYS(RELOC_PA);
	for (u32 off = 0; off < KERNLIKE_EXPECT_BYTES; off += PAGE_SIZE)
		copy_block(to + off, from + off, PAGE_SIZE);
	for (u32 off = 0; off < KERNLIKE_EXPECT_BYTES; off += PAGE_SIZE)
		fill_block(from + off, 0xCCCCCCCCu, PAGE_SIZE);
	u32 last = *(volatile u32 *)(to + KERNLIKE_EXPECT_BYTES - 4);
	CHECK(last == KERNLIKE_LAST_WORD, "relocated last word %08x, want %08x", last, KERNLIKE_LAST_WORD);
	CHECK(*(volatile u32 *)from == 0xCCCCCCCCu, "old copy not poisoned");
	kprintf("%s: relocated %u pages with rep movsl, poisoned the old copy with rep stosl\n", guest_name,
		KERNLIKE_EXPECT_BYTES / PAGE_SIZE);
}

#ifndef MULTIBOOT
static volatile u32 ticks, storm_faults, storm_next_frame;

int guest_trap(struct trapframe *f)
{
	if (f->vector == FIRST_EXTERNAL_VECTOR) {
		ticks++;
		return 1;
	}
	if (f->vector != 14)
		return 0;
	/* Demand paging: a write to a not-present page of the storm region
	 * (errcode 2) gets a fresh zeroed frame, announced through the async
	 * ring as set_pte_at does in lazy MMU mode (spec §3.4, §7.9). */
	u32 cr2 = lguest_data.cr2;
	if (f->errcode != 2 || cr2 < STORM_VA || cr2 >= STORM_VA + STORM_PAGES * PAGE_SIZE)
		return 0;
	u32 va = cr2 & ~(PAGE_SIZE - 1);
	u32 pa = storm_next_frame;
	storm_next_frame = pa + PAGE_SIZE;
	fill_block(PHYS(pa), 0, PAGE_SIZE); /* clear_page */
	pte_t *pte = lookup_pte(initial_page_table, va, 0);
	CHECK(pte && !(*pte & _PAGE_PRESENT), "storm fault at %08x: pte at %08x", cr2, (u32)pte);
	*pte = pa | _PAGE_PRESENT | _PAGE_RW;
	async_hcall(LHCALL_SET_PTE, __pa(initial_page_table), va, (u32)*pte, 0);
	storm_faults++;
	return 1;
}

static void fault_storm(void)
{
	/* The region's page table, announced with SET_PGD (spec §7.9). */
	u32 idx = STORM_VA >> PGDIR_SHIFT;
	pte_t *pt = alloc_page();
	initial_page_table[idx] = __pa(pt) | _PAGE_TABLE;
	hcall(LHCALL_SET_PGD, __pa(initial_page_table), idx, 0, 0);

	storm_next_frame = STORM_POOL_PA;
	for (u32 b = 0; b < STORM_PAGES; b += LAZY_BATCH) {
		/* arch_enter_lazy_mmu_mode: SET_PTEs queue in the ring... */
		for (u32 i = b; i < b + LAZY_BATCH; i++) {
			u32 *p = (u32 *)(STORM_VA + i * PAGE_SIZE);
			p[0] = i;	/* faults: the handler maps a zeroed frame */
			p[PAGE_SIZE / 4 - 1] = ~i;
		}
		/* ...and arch_leave_lazy_mmu_mode flushes them. */
		hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0, 0);
	}
	CHECK(storm_faults == STORM_PAGES, "%u storm faults, want %u", storm_faults, STORM_PAGES);
	u32 bad = 0;
	for (u32 i = 0; i < STORM_PAGES; i++) {
		u32 *p = (u32 *)(STORM_VA + i * PAGE_SIZE);
		bad += p[0] != i || p[1] != 0 || p[PAGE_SIZE / 4 - 1] != ~i;
	}
	CHECK(bad == 0, "%u storm pages read back wrong", bad);
	kprintf("%s: %u demand faults, each mapped a fresh page (async SET_PTE, %u per FLUSH_ASYNC)\n", guest_name,
		storm_faults, LAZY_BATCH);

	/* munmap: a burst of synchronous SET_PTEs clearing the region. */
	for (u32 i = 0; i < STORM_PAGES; i++) {
		u32 va = STORM_VA + i * PAGE_SIZE;
		*lookup_pte(initial_page_table, va, 0) = 0;
		hcall(LHCALL_SET_PTE, __pa(initial_page_table), va, 0, 0);
	}
	kprintf("%s: unmapped them with %u synchronous SET_PTE hypercalls\n", guest_name, STORM_PAGES);
}

static void timer(void)
{
	set_gate(FIRST_EXTERNAL_VECTOR, trap_stub_32, GATE_INTR_DPL0);
	lguest_data.blocked_interrupts[0] &= ~1u; /* lguest_time_init */
	for (u32 i = 0; i < TICKS_HALTED; i++) {
		irq_disable();
		hcall(LHCALL_SET_CLOCKEVENT, TICK_NS, 0, 0, 0);
		hcall(LHCALL_HALT, 0, 0, 0, 0);
		CHECK(ticks == i + 1, "after HALT %u: %u ticks", i + 1, ticks);
	}
	/* One tick while the CPU is busy: CRC the relocated image. */
	irq_enable();
	hcall(LHCALL_SET_CLOCKEVENT, TICK_NS, 0, 0, 0);
	u32 crc = kl_crc32(PHYS(RELOC_PA), KERNLIKE_EXPECT_BYTES);
	CHECK(crc == KERNLIKE_CRC32, "crc32 of the relocated image %08x, want %08x", crc, KERNLIKE_CRC32);
	for (u32 n = 0; ticks == TICKS_HALTED; n++)
		CHECK(n < 200000000u, "no timer interrupt while running with interrupts enabled");
	irq_disable();
	kprintf("%s: %u timer ticks (%u halted, one while the relocated image's crc32 was checked)\n", guest_name,
		ticks, TICKS_HALTED);
}
#endif

void guest_main(void)
{
	check_decompression();
#ifndef MULTIBOOT
	setup_default_idt();
#endif
	relocate();
#ifndef MULTIBOOT
	fault_storm();
	timer();
#else
	u32 crc = kl_crc32(PHYS(RELOC_PA), KERNLIKE_EXPECT_BYTES);
	CHECK(crc == KERNLIKE_CRC32, "crc32 of the relocated image %08x, want %08x", crc, KERNLIKE_CRC32);
	kprintf("%s: crc32 of the relocated image matches\n", guest_name);
#endif
}
