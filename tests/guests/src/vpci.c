/*
 * vpci - a 4.x guest's virtio-PCI drivers (issue 11; 4.x spec §4), shaped
 * like Linux 4.x's virtio_pci_modern.c + virtio_ring.c + virtio_console.c
 * and virtio_blk.c, run with `--block DISK` (64 KiB of DiskPattern).
 *
 *  1. PCI discovery through the config ports: every function on bus 0,
 *     its IDs, IRQ line and BAR0 size (write all ones, read back, restore).
 *  2. For the block device (slot 1) and the console (slot 2): map BAR0
 *     (ioremap: a PTE to a frame above RAM, I/O memory to the Host), find
 *     the common/notify/ISR/device capabilities, and initialise as virtio
 *     1.0 wants: reset, ACKNOWLEDGE, DRIVER, features (VERSION_1, plus
 *     FLUSH for the block device), FEATURES_OK, re-read status, queues
 *     (16 entries, our own split rings in RAM), DRIVER_OK.
 *  3. Console: a line through transmitq, notify = queue index to the
 *     notify register; the used entry is there when the store returns,
 *     the ISR says 1 and the IRQ comes on the device's line.
 *  4. Block: read sectors 0-3, write 10-11, FLUSH, read them back.
 *
 * All BAR accesses are register-indirect movs (what iowrite/ioread compile
 * to), the forms the Launcher's emulate_mmio decodes.
 *
 * Hostile variants (-DVPCI_HOSTILE=N):
 *   1 isr     a write to the ISR: "console: bad driver: Unexpected write to isr"
 *   2 ring    a transmit buffer beyond RAM: "Invalid address 0x..."
 *   3 notify  LHCALL_NOTIFY, gone in 4.x: "Bad hypercall 17"
 *   4 window  a read through the PCI config access window with length 3:
 *             "console: bad driver: Invalid cfg_access to bar0, offset 68 len 3"
 */
#include "kern.h"

#ifndef VPCI_HOSTILE
#define VPCI_HOSTILE 0
#endif

u32 pci_read(u32 slot, u32 reg);
void pci_write(u32 slot, u32 reg, u32 v);
u32 pci_find_cap(u32 slot, u32 typ);

#define VIRTIO_F_VERSION_1 32
#define VIRTIO_BLK_F_FLUSH 9
#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define QSZ 16
#define IRQ_VECTOR(irq) (FIRST_EXTERNAL_VECTOR + (irq))

/* struct virtio_pci_common_cfg offsets. */
#define C_DFSEL 0
#define C_DF 4
#define C_GFSEL 8
#define C_GF 12
#define C_NUMQ 18
#define C_STATUS 20
#define C_QSEL 22
#define C_QSIZE 24
#define C_QENABLE 28
#define C_QNOTIFYOFF 30
#define C_QDESC 32
#define C_QAVAIL 40
#define C_QUSED 48

static void w32(u32 a, u32 v) { asm volatile("movl %0, (%1)" ::"r"(v), "r"(a) : "memory"); }
static void w16(u32 a, u16 v) { asm volatile("movw %w0, (%1)" ::"q"(v), "r"(a) : "memory"); }
static void w8(u32 a, u8 v) { asm volatile("movb %b0, (%1)" ::"q"(v), "r"(a) : "memory"); }
static u32 r32(u32 a)
{
	u32 v;
	asm volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static u16 r16(u32 a)
{
	u16 v;
	asm volatile("movw (%1), %w0" : "=q"(v) : "r"(a) : "memory");
	return v;
}
static u8 r8(u32 a)
{
	u8 v;
	asm volatile("movb (%1), %b0" : "=q"(v) : "r"(a) : "memory");
	return v;
}

struct desc {
	u64 addr;
	u32 len;
	u16 flags, next;
};
struct ring {
	struct desc d[QSZ];
	u16 avail[2 + QSZ + 1] __attribute__((aligned(16)));
	u16 used[2 + 4 * QSZ + 1] __attribute__((aligned(16))); /* flags, idx, {u32 id, len}[] */
} __attribute__((aligned(16)));

struct vdev {
	const char *name;
	u32 slot, irq, bar, common, notify, isr, device;
	struct ring *q[2];
	u16 avail_idx[2], last_used[2];
};

static struct ring rings[3];
static volatile u32 irqs[4];
static u32 ioremap_next = 0xE0000000u;

int guest_trap(struct trapframe *f)
{
	if (f->vector >= IRQ_VECTOR(1) && f->vector <= IRQ_VECTOR(3)) {
		irqs[f->vector - IRQ_VECTOR(0)]++;
		return 1;
	}
	return 0;
}

static u32 ioremap(u32 gpa)
{
	u32 va = ioremap_next;
	map_page(initial_page_table, va, gpa & ~(PAGE_SIZE - 1), _PAGE_PRESENT | _PAGE_RW | _PAGE_PCD, 1);
	ioremap_next += PAGE_SIZE;
	return va + (gpa & (PAGE_SIZE - 1));
}

static void scan(void)
{
	for (u32 slot = 0; slot < 32; slot++) {
		u32 id = pci_read(slot, 0);
		if (id == 0xFFFFFFFF)
			continue;
		u32 cls = pci_read(slot, 8), bar = pci_read(slot, 0x10);
		pci_write(slot, 0x10, 0xFFFFFFFF);
		u32 size = ~(pci_read(slot, 0x10) & ~0xFu) + 1;
		pci_write(slot, 0x10, bar);
		kprintf("%s: 00:%02x.0 %04x:%04x class %02x%02x rev %u irq %u BAR0 0x%x size %u\n", guest_name, slot,
			id & 0xFFFF, id >> 16, cls >> 24, cls >> 16 & 0xFF, cls & 0xFF, pci_read(slot, 0x3C) & 0xFF,
			slot ? bar : 0, slot ? size : 0);
	}
}

static u32 cap_addr(struct vdev *v, u32 typ)
{
	u32 c = pci_find_cap(v->slot, typ);
	CHECK(c, "%s: no capability of type %u", v->name, typ);
	CHECK((pci_read(v->slot, c + 4) & 0xFF) == 0, "%s: capability %u not in BAR0", v->name, typ);
	return v->bar + pci_read(v->slot, c + 8);
}

static void setup_queue(struct vdev *v, u32 qi, struct ring *r)
{
	u32 c = v->common;
	w16(c + C_QSEL, (u16)qi);
	u16 max = r16(c + C_QSIZE);
	CHECK(max == 256, "%s queue %u: size %u", v->name, qi, max);
	CHECK(r16(c + C_QNOTIFYOFF) == 0, "%s queue %u: notify_off not 0", v->name, qi);
	w16(c + C_QSIZE, QSZ);
	w32(c + C_QDESC, __pa(r->d));
	w32(c + C_QDESC + 4, 0);
	w32(c + C_QAVAIL, __pa(r->avail));
	w32(c + C_QAVAIL + 4, 0);
	w32(c + C_QUSED, __pa(r->used));
	w32(c + C_QUSED + 4, 0);
	w16(c + C_QENABLE, 1);
	v->q[qi] = r;
}

static void probe(struct vdev *v, u32 slot, u32 want_low, u32 nq)
{
	v->slot = slot;
	v->irq = pci_read(slot, 0x3C) & 0xFF;
	v->bar = ioremap(pci_read(slot, 0x10) & ~0xFu);
	v->common = cap_addr(v, 1);
	v->notify = cap_addr(v, 2);
	v->isr = cap_addr(v, 3);
	u32 c = v->common;
	w8(c + C_STATUS, 0);
	w8(c + C_STATUS, S_ACK);
	w8(c + C_STATUS, S_ACK | S_DRIVER);
	w32(c + C_DFSEL, 0);
	u32 lo = r32(c + C_DF);
	w32(c + C_DFSEL, 1);
	u32 hi = r32(c + C_DF);
	CHECK(hi & 1, "%s: VERSION_1 not offered", v->name);
	w32(c + C_GFSEL, 0);
	w32(c + C_GF, lo & want_low);
	w32(c + C_GFSEL, 1);
	w32(c + C_GF, 1);
	w8(c + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	CHECK(r8(c + C_STATUS) & S_FEATURES_OK, "%s: FEATURES_OK refused", v->name);
	CHECK(r16(c + C_NUMQ) == nq, "%s: %u queues", v->name, r16(c + C_NUMQ));
	set_gate(IRQ_VECTOR(v->irq), v->irq == 1 ? trap_stub_33 : v->irq == 2 ? trap_stub_34 : trap_stub_35,
		 GATE_INTR_DPL0);
	lguest_data.blocked_interrupts[0] &= ~(1u << v->irq);
	kprintf("%s: %s at slot %u: irq %u, features 0x%x:%x, accepted 0x1:%x\n", guest_name, v->name, slot, v->irq,
		hi, lo, lo & want_low);
}

/* Post one chain, notify, take it back: the used entry is there when the
 * notify store returns (the Launcher services the kick). */
static u32 roundtrip(struct vdev *v, u32 qi, const u32 *pa, const u32 *len, const u16 *flags, u32 n)
{
	struct ring *r = v->q[qi];
	for (u32 i = 0; i < n; i++) {
		r->d[i].addr = pa[i];
		r->d[i].len = len[i];
		r->d[i].flags = flags[i] | (i + 1 < n ? DESC_F_NEXT : 0);
		r->d[i].next = (u16)(i + 1);
	}
	r->avail[2 + v->avail_idx[qi] % QSZ] = 0;
	asm volatile("" ::: "memory");
	r->avail[1] = ++v->avail_idx[qi];
	u32 before = irqs[v->irq];
	w16(v->notify, (u16)qi);
	CHECK(r->used[1] == (u16)(v->last_used[qi] + 1), "%s queue %u: not used after notify", v->name, qi);
	u32 *e = (u32 *)&r->used[2] + 2 * (v->last_used[qi] % QSZ);
	v->last_used[qi]++;
	CHECK(e[0] == 0, "%s: used id %u", v->name, e[0]);
	CHECK(irqs[v->irq] == before + 1, "%s: %u interrupts for one request", v->name, irqs[v->irq] - before);
	return e[1];
}

static struct vdev blk = {.name = "block"}, con = {.name = "console"};
static u8 hdr[16] __attribute__((aligned(16)));
static u8 data[2048];
static volatile u8 status;
static const char hello[] __attribute__((unused)) = "vpci: hello through the virtio-PCI transmitq\n";

static __attribute__((unused)) u8 disk_byte(u32 off) { return (u8)(off / 512 * 31 + off % 512); }

static __attribute__((unused)) u32 blk_req(u32 type, u32 sector, u32 len)
{
	for (u32 i = 0; i < 16; i++)
		hdr[i] = 0;
	hdr[0] = (u8)type;
	hdr[8] = (u8)sector;
	status = 0xee;
	u32 pa[3] = {__pa(hdr), __pa(data), __pa(&status)}, ln[3] = {16, len, 1};
	u16 fl[3] = {0, type == 1 ? 0 : DESC_F_WRITE, DESC_F_WRITE};
	if (len == 0) {
		pa[1] = pa[2];
		ln[1] = 1;
		fl[1] = DESC_F_WRITE;
		return roundtrip(&blk, 0, pa, ln, fl, 2);
	}
	return roundtrip(&blk, 0, pa, ln, fl, 3);
}

void guest_main(void)
{
	setup_default_idt();
	scan();
	probe(&blk, 1, 1u << VIRTIO_BLK_F_FLUSH, 1);
	setup_queue(&blk, 0, &rings[0]);
	w8(blk.common + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	probe(&con, 2, 0, 2);
	setup_queue(&con, 0, &rings[1]);
	setup_queue(&con, 1, &rings[2]);
	w8(con.common + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	irq_enable();
#if VPCI_HOSTILE == 1
	kprintf("%s: writing the console's ISR, the Host must kill me\n", guest_name);
	w8(con.isr, 1);
	fail("the Host accepted a write to the ISR");
#elif VPCI_HOSTILE == 2
	kprintf("%s: transmitting 16 bytes at gpa 0x%x, beyond RAM, the Host must kill me\n", guest_name,
		boot_ram_size - 8);
	{
		u32 pa[1] = {boot_ram_size - 8}, ln[1] = {16};
		u16 fl[1] = {0};
		roundtrip(&con, 1, pa, ln, fl, 1);
	}
	fail("the Host accepted a buffer beyond RAM");
#elif VPCI_HOSTILE == 3
	kprintf("%s: LHCALL_NOTIFY, which 4.x does not have, the Host must kill me\n", guest_name);
	hcall(LHCALL_NOTIFY, 0x1000, 0, 0, 0);
	fail("the Host accepted LHCALL_NOTIFY");
#elif VPCI_HOSTILE == 4
	kprintf("%s: reading through the PCI config window with length 3, the Host must kill me\n", guest_name);
	{
		u32 win = pci_find_cap(con.slot, 5);
		pci_write(con.slot, win + 12, 3);
		pci_read(con.slot, win + 16);
	}
	fail("the Host accepted a 3-byte config window read");
#else
	{
		u32 pa[1] = {__pa(hello)}, ln[1] = {sizeof(hello) - 1};
		u16 fl[1] = {0};
		u32 n = roundtrip(&con, 1, pa, ln, fl, 1);
		CHECK(n == 0, "transmitq used len %u", n);
		/* The used-buffer interrupt set ISR bit 0; reading clears it. */
		u8 isr = r8(con.isr), again = r8(con.isr);
		CHECK(isr == 1 && again == 0, "console ISR %u then %u, want 1 then 0", isr, again);
		kprintf("%s: console: transmitq used, ISR 1 then 0 on read\n", guest_name);
	}
	u32 n = blk_req(0, 0, 2048);
	CHECK(status == 0 && n == 2049, "read 0-3: status %u used %u", status, n);
	for (u32 i = 0; i < 2048; i++)
		CHECK(data[i] == disk_byte(i), "sector %u byte %u: 0x%x", i / 512, i % 512, data[i]);
	for (u32 i = 0; i < 1024; i++)
		data[i] = (u8)(0xa5 ^ i);
	n = blk_req(1, 10, 1024);
	CHECK(status == 0 && n == 1, "write 10-11: status %u used %u", status, n);
	n = blk_req(4, 0, 0);
	CHECK(status == 0 && n == 1, "flush: status %u used %u", status, n);
	for (u32 i = 0; i < 1024; i++)
		data[i] = 0;
	n = blk_req(0, 10, 1024);
	CHECK(status == 0 && n == 1025, "read back: status %u used %u", status, n);
	for (u32 i = 0; i < 1024; i++)
		CHECK(data[i] == (u8)(0xa5 ^ i), "read back byte %u: 0x%x", i, data[i]);
	kprintf("%s: block: read sectors 0-3, wrote 10-11, flushed, read back: ok; interrupts %u/%u\n", guest_name,
		irqs[blk.irq], irqs[con.irq]);
#endif
}
