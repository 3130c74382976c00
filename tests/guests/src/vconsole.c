/*
 * vconsole - a minimal virtio console driver on the lguest bus, shaped like
 * 3.x Linux's drivers/lguest/lguest_device.c + virtio_ring.c +
 * virtio_console.c (issue 5 evidence; spec §2.2, §2.7, §3.3.15, §5.5).
 *
 *  1. The device descriptor page sits at gpa = RAM size (e820_map[0].size,
 *     spec §2.4, §2.7): map it (ioremap: our own PTEs, announced with
 *     SET_PGD/SET_PTE, spec §7.9) and walk the entries to type 3.
 *  2. Negotiate as virtio_dev_probe does under lguest: status ACKNOWLEDGE,
 *     then DRIVER (status byte writes only), no features accepted, then
 *     finalize_features = NOTIFY(gpa of the descriptor entry), which makes
 *     the Launcher start the device. DRIVER_OK is again a plain byte write:
 *     a second status NOTIFY on a running device is fatal ("features
 *     finalized twice").
 *  3. find_vqs: map each ring at pfn<<12, legacy layout with 4096 alignment
 *     (vring_init), receiveq (queue 0, IRQ 1) with interrupts, transmitq
 *     (queue 1, IRQ 2) with VRING_AVAIL_F_NO_INTERRUPT, as virtio_console's
 *     callback-less output queue. Post the receive buffers, kick =
 *     NOTIFY(pfn<<12).
 *  4. Print a banner through transmitq. Like hvc's put_chars we busy-wait
 *     for the used entry: the Host services a kick before NOTIFY returns.
 *  5. Echo every input line as "echo: LINE" until the line "quit", then
 *     PASS. Input arrives with IRQ 1 through IDT vector 33 (unblocked in
 *     lguest_data.blocked_interrupts); the guest HALTs while it waits.
 *
 * No input at all: lgdbg's clock is virtual (instructions + time skipped in
 * HALT), so a HALT with a clock event armed takes no real time and cannot
 * give a Launcher's stdin reader a chance to deliver. The first wait is
 * therefore a spin with interrupts enabled until a GRACE_NS clock event:
 * GRACE_NS executed instructions of real time for input to show up. If none
 * did, the guest prints "no input" and powers off (what the generic e2e run
 * with empty stdin expects). Once input has been seen, waits are plain HALTs
 * with no clock event: lgdbg then blocks on stdin, and at end of input with
 * no "quit" it stops with "halted with nothing left to wake it".
 *
 * Hostile variants (-DVCONSOLE_HOSTILE=N, guests vconsole-hostile-NAME),
 * each killed with the Launcher's message (spec §2.7, §2.8; hv/virtio):
 *   1 kick   NOTIFY(receiveq pfn<<12) before the device is started:
 *            "Notification on console before setup!"
 *   2 addr   a transmit descriptor straddling guest_limit (8 bytes in,
 *            8 beyond): "Invalid address 0x..."
 *   3 loop   a transmit chain whose next pointers form a cycle:
 *            "Looped descriptor"
 */
#include <stdarg.h>
#include "kern.h"

#ifndef VCONSOLE_HOSTILE
#define VCONSOLE_HOSTILE 0
#endif
#define HOSTILE_KICK 1
#define HOSTILE_ADDR 2
#define HOSTILE_LOOP 3

/* include/uapi/linux/virtio_ids.h, virtio_config.h, virtio_ring.h. */
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_CONFIG_S_ACKNOWLEDGE 1
#define VIRTIO_CONFIG_S_DRIVER 2
#define VIRTIO_CONFIG_S_DRIVER_OK 4
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1
#define LGUEST_VRING_ALIGN 4096 /* spec §0.1 */

/* The console's queues in Launcher order (spec §2.7). */
#define RXQ 0
#define TXQ 1

/* Where device pages are mapped: a kernel VA with no PDE in
 * initial_page_table (it maps at most 128 MiB at PAGE_OFFSET). */
#define IOREMAP_VA 0xE0000000u

/* Receive buffers: small, so that a line spans buffers and the driver must
 * re-post buffers while the Host still holds input. */
#define RX_BUFS 8
#define RX_BUF_SIZE 16
#define LINE_MAX 128

/* Virtual ns (= instructions while spinning) to wait for the first input. */
#define GRACE_NS 50000000u
/* hvc's put_chars spins until the Host has used the buffer; ours is
 * serviced before NOTIFY returns, so a few iterations are plenty. */
#define TX_SPIN 1000000u

#define EXPECTED_QUEUE_NUM 256

#define IRQ_VECTOR(irq) (FIRST_EXTERNAL_VECTOR + (irq))

struct vring_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct vring_used_elem {
	u32 id;
	u32 len;
};

/* One virtqueue as the driver sees it (vring_virtqueue, trimmed). */
struct vq {
	const char *name;
	u32 num, irq, pfn;
	volatile struct vring_desc *desc;
	volatile u16 *avail; /* flags, idx, ring[num], used_event */
	volatile u16 *used;  /* flags, idx, then vring_used_elem[num] */
	u16 avail_idx;       /* our shadow of avail->idx */
	u16 last_used;       /* next used entry to take */
	u16 free_head;
	u32 num_free;
	u8 in_use[EXPECTED_QUEUE_NUM]; /* heads we made available, not yet used */
};

static struct vq vqs[2];
static volatile u8 *devpage;   /* the descriptor page, mapped */
static volatile u8 *console;   /* our entry in it */
static u32 console_gpa;        /* the status NOTIFY value */
static u32 ram_size, guest_limit;

static volatile u32 ticks, rx_irqs;

/* ---- interrupts ---- */

int guest_trap(struct trapframe *f)
{
	switch (f->vector) {
	case IRQ_VECTOR(0):
		ticks++;
		return 1;
	case IRQ_VECTOR(1):
		/* vring_interrupt for receiveq: the handler only counts; the
		 * main loop harvests the used ring (like virtio_console's
		 * in_intr waking the reader). Interrupt gate: the Host cleared
		 * the virtual IF (spec §5.4). */
		CHECK(lguest_data.irq_enabled == 0, "receive IRQ handler entered with irq_enabled %x",
		      lguest_data.irq_enabled);
		rx_irqs++;
		return 1;
	case IRQ_VECTOR(2):
		fail("transmitq interrupt although VRING_AVAIL_F_NO_INTERRUPT is set");
	}
	return 0;
}

/* ---- little helpers ---- */

static u16 rd16(volatile const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static u32 rd32(volatile const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }

static u32 vring_size(u32 num)
{
	u32 avail_end = 16 * num + 2 * (3 + num);
	return ((avail_end + LGUEST_VRING_ALIGN - 1) & ~(LGUEST_VRING_ALIGN - 1)) + 2 * 3 + 8 * num;
}

static u32 ioremap_next = IOREMAP_VA;

/* lguest_map(): ioremap of pages above RAM. Our PTEs, announced to the
 * Host with SET_PGD/SET_PTE like any kernel mapping (spec §7.9). */
static void *ioremap(u32 gpa, u32 pages)
{
	u32 va = ioremap_next;
	for (u32 i = 0; i < pages; i++)
		map_page(initial_page_table, va + i * PAGE_SIZE, gpa + i * PAGE_SIZE, _PAGE_PRESENT | _PAGE_RW, 1);
	ioremap_next += pages * PAGE_SIZE;
	return (void *)va;
}

/* ---- the lguest bus (lguest_device.c) ---- */

static u32 e820_ram_size(void)
{
	CHECK(boot_params[BP_E820_ENTRIES] >= 1, "boot_params has no e820 entries");
	const u8 *e = &boot_params[BP_E820_MAP];
	u32 addr = rd32(e), addr_hi = rd32(e + 4), size = rd32(e + 8), size_hi = rd32(e + 12), type = rd32(e + 16);
	CHECK(addr == 0 && addr_hi == 0 && size_hi == 0 && type == 1, "e820_map[0] is not {0, size, RAM}");
	CHECK(size != 0 && size % PAGE_SIZE == 0, "e820 RAM size %x is not page aligned", size);
	return size;
}

static void scan_devices(void)
{
	ram_size = e820_ram_size();
	devpage = ioremap(ram_size, 1);
	kprintf("%s: RAM 0x%x, lguest bus descriptor page at gpa 0x%x\n", guest_name, ram_size, ram_size);
	u32 off = 0, n = 0;
	while (off < PAGE_SIZE && devpage[off] != 0) {
		volatile u8 *d = devpage + off;
		u32 size = 5 + 8 * d[1] + 2 * d[2] + d[3];
		CHECK(off + size <= PAGE_SIZE, "device %u at offset %u (%u bytes) overruns the page", n, off, size);
		kprintf("%s: device %u: type %u, %u queues, %u feature bytes, %u config bytes, status 0x%x\n", guest_name,
			n, d[0], d[1], d[2], d[3], d[4]);
		if (d[0] == VIRTIO_ID_CONSOLE && !console) {
			console = d;
			console_gpa = ram_size + off;
		}
		off += size;
		n++;
	}
	CHECK(console, "no console (type %u) on the lguest bus", VIRTIO_ID_CONSOLE);
	/* The Launcher offers the console no features and no config; it must
	 * come with its two queues (spec §2.7). */
	CHECK(console[1] == 2, "console has %u queues, want 2", console[1]);
	CHECK(console[4] == 0, "console status is 0x%x before we touched it", console[4]);
	guest_limit = ram_size + PAGE_SIZE;
	for (u32 i = 0; i < 2; i++) {
		volatile u8 *c = console + 5 + 8 * i;
		struct vq *vq = &vqs[i];
		vq->name = i == RXQ ? "receiveq" : "transmitq";
		vq->num = rd16(c);
		vq->irq = rd16(c + 2);
		vq->pfn = rd32(c + 4);
		kprintf("%s: console queue %u (%s): %u entries, irq %u, pfn 0x%x\n", guest_name, i, vq->name, vq->num,
			vq->irq, vq->pfn);
		CHECK(vq->num == EXPECTED_QUEUE_NUM, "%s has %u entries, want %u", vq->name, vq->num,
		      EXPECTED_QUEUE_NUM);
		CHECK(vq->irq == i + 1, "%s has irq %u: the Launcher numbers queues from 1", vq->name, vq->irq);
		CHECK(vq->pfn > ram_size / PAGE_SIZE, "%s ring pfn 0x%x is not above RAM", vq->name, vq->pfn);
		u32 end = vq->pfn * PAGE_SIZE + vring_size(vq->num);
		if (end > guest_limit)
			guest_limit = (end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	}
}

/* The driver proper; the "kick" variant stops before any of it. */
#if VCONSOLE_HOSTILE != HOSTILE_KICK

static void barrier(void) { asm volatile("" ::: "memory"); } /* x86 keeps stores in order */

static u8 rx_buf[RX_BUFS][RX_BUF_SIZE];
static u8 rx_slot[EXPECTED_QUEUE_NUM]; /* receiveq head -> rx_buf index */

/* virtio_ring.c's vring_init + vring_new_virtqueue over the mapped ring. */
static void setup_vq(struct vq *vq, int want_interrupts)
{
	u32 pages = (vring_size(vq->num) + PAGE_SIZE - 1) / PAGE_SIZE;
	u8 *base = ioremap(vq->pfn * PAGE_SIZE, pages);
	vq->desc = (volatile struct vring_desc *)base;
	vq->avail = (volatile u16 *)(base + 16 * vq->num);
	u32 used = (16 * vq->num + 2 * (3 + vq->num) + LGUEST_VRING_ALIGN - 1) & ~(LGUEST_VRING_ALIGN - 1);
	vq->used = (volatile u16 *)(base + used);
	/* The Launcher hands out zeroed rings (spec §2.2) and reset zeroes
	 * them again; stale indexes would desynchronise our shadow copies. */
	CHECK(vq->avail[1] == 0 && vq->used[1] == 0, "%s: ring indexes not zero (avail %u, used %u)", vq->name,
	      vq->avail[1], vq->used[1]);
	for (u32 i = 0; i < vq->num; i++)
		vq->desc[i].next = (u16)(i + 1);
	vq->free_head = 0;
	vq->num_free = vq->num;
	vq->avail_idx = vq->last_used = 0;
	/* "No callback? Tell other side not to bother us." */
	vq->avail[0] = want_interrupts ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
}

/* virtqueue_add_buf: out readable segments then in writable ones, chained. */
static u16 vq_add(struct vq *vq, const void *const *bufs, const u32 *lens, u32 out, u32 in)
{
	u32 n = out + in;
	CHECK(n >= 1 && n <= vq->num_free, "%s: %u descriptors wanted, %u free", vq->name, n, vq->num_free);
	u16 head = vq->free_head, i = head, last = head;
	for (u32 k = 0; k < n; k++) {
		vq->desc[i].addr = __pa(bufs[k]);
		vq->desc[i].len = lens[k];
		vq->desc[i].flags = (k >= out ? VRING_DESC_F_WRITE : 0) | (k + 1 < n ? VRING_DESC_F_NEXT : 0);
		last = i;
		i = vq->desc[i].next;
	}
	vq->free_head = vq->desc[last].next;
	vq->num_free -= n;
	vq->in_use[head] = 1;
	vq->avail[2 + vq->avail_idx % vq->num] = head;
	barrier(); /* the ring entry before the index the Host reads */
	vq->avail[1] = ++vq->avail_idx;
	return head;
}

/* virtqueue_kick: NOTIFY(pfn << 12) unless the Host asked not to be told. */
static void vq_kick(struct vq *vq)
{
	barrier();
	if (!(vq->used[0] & VRING_USED_F_NO_NOTIFY))
		hcall(LHCALL_NOTIFY, vq->pfn << PAGE_SHIFT, 0, 0, 0);
}

/* virtqueue_get_buf: take the next used entry, validate it and put its
 * chain back on the free list. Returns the head, or -1 if none. */
static int vq_get(struct vq *vq, u32 *len)
{
	u16 idx = vq->used[1];
	if (idx == vq->last_used)
		return -1;
	CHECK((u16)(idx - vq->last_used) <= vq->num, "%s: Host moved used idx from %u to %u", vq->name, vq->last_used,
	      idx);
	barrier(); /* the entry after the index */
	volatile struct vring_used_elem *e =
		(volatile struct vring_used_elem *)(vq->used + 2) + vq->last_used % vq->num;
	u32 id = e->id;
	*len = e->len;
	vq->last_used++;
	CHECK(id < vq->num && vq->in_use[id], "%s: Host returned head %u that is not in use", vq->name, id);
	vq->in_use[id] = 0;
	u16 i = (u16)id;
	vq->num_free++;
	while (vq->desc[i].flags & VRING_DESC_F_NEXT) {
		i = vq->desc[i].next;
		vq->num_free++;
	}
	vq->desc[i].next = vq->free_head;
	vq->free_head = (u16)id;
	return (int)id;
}

/* ---- the console (virtio_console.c) ---- */

/* __send_to_port: one chain of up to two readable buffers, kick, then spin
 * until the Host used it (hvc's put_chars cannot sleep). */
static void vc_write2(const char *a, u32 alen, const char *b, u32 blen)
{
	struct vq *vq = &vqs[TXQ];
	const void *bufs[2] = {a, b};
	u32 lens[2] = {alen, blen};
	u16 head = vq_add(vq, bufs, lens, blen ? 2 : 1, 0);
	vq_kick(vq);
	u32 len = 0;
	int got = -1;
	for (u32 spin = 0; got < 0 && spin < TX_SPIN; spin++)
		got = vq_get(vq, &len);
	CHECK(got == head, "transmitq: buffer %u not used after the kick (got %d)", head, got);
	CHECK(len == 0, "transmitq: the Host wrote %u bytes into an output buffer", len);
}

/* A small printf for the virtio console: %s %u %x %c (lib.c's is static). */
static void vc_printf(const char *fmt, ...)
{
	char buf[200];
	u32 n = 0;
	va_list ap;
	va_start(ap, fmt);
	for (const char *p = fmt; *p && n < sizeof(buf) - 12; p++) {
		if (*p != '%') {
			buf[n++] = *p;
			continue;
		}
		char c = *++p;
		if (c == 's') {
			for (const char *s = va_arg(ap, const char *); *s && n < sizeof(buf) - 1; s++)
				buf[n++] = *s;
		} else if (c == 'c') {
			buf[n++] = (char)va_arg(ap, int);
		} else if (c == 'u' || c == 'x') {
			u32 v = va_arg(ap, u32), base = c == 'u' ? 10 : 16;
			char d[10];
			int k = 0;
			do {
				d[k++] = "0123456789abcdef"[v % base];
				v /= base;
			} while (v);
			while (k)
				buf[n++] = d[--k];
		} else {
			buf[n++] = '?';
		}
	}
	va_end(ap);
	vc_write2(buf, n, 0, 0);
}

static void post_rx(u32 i)
{
	const void *bufs[1] = {rx_buf[i]};
	u32 lens[1] = {RX_BUF_SIZE};
	u16 head = vq_add(&vqs[RXQ], bufs, lens, 0, 1);
	/* The receive buffer a used head refers to: heads are handed out in
	 * order from a fresh free list and come back one descriptor each. */
	rx_slot[head] = (u8)i;
}

static void start_console(void)
{
	/* virtio_dev_probe: ACKNOWLEDGE, DRIVER, then finalize_features. No
	 * feature is offered, so the accepted array (feature_len bytes)
	 * stays zero. */
	console[4] = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	console[4] |= VIRTIO_CONFIG_S_DRIVER;
	barrier();
	hcall(LHCALL_NOTIFY, console_gpa, 0, 0, 0);
	kprintf("%s: status ACKNOWLEDGE|DRIVER, no features, finalized with NOTIFY 0x%x\n", guest_name, console_gpa);

	/* find_vqs: rings, then the handlers (request_irq), then unmask the
	 * queue IRQs in blocked_interrupts (the irq_chip's unmask, spec §5.5).
	 * The transmitq IRQ is unmasked too, so that one raised despite
	 * VRING_AVAIL_F_NO_INTERRUPT is caught. */
	setup_vq(&vqs[RXQ], 1);
	setup_vq(&vqs[TXQ], 0);
	set_gate(IRQ_VECTOR(vqs[RXQ].irq), trap_stub_33, GATE_INTR_DPL0);
	set_gate(IRQ_VECTOR(vqs[TXQ].irq), trap_stub_34, GATE_INTR_DPL0);
	lguest_data.blocked_interrupts[0] &= ~(1u << vqs[RXQ].irq | 1u << vqs[TXQ].irq);

	/* fill_queue + virtqueue_kick, then DRIVER_OK (a byte write: a second
	 * status NOTIFY would be "features finalized twice"). */
	for (u32 i = 0; i < RX_BUFS; i++)
		post_rx(i);
	vq_kick(&vqs[RXQ]);
	console[4] |= VIRTIO_CONFIG_S_DRIVER_OK;
}
#endif /* VCONSOLE_HOSTILE != HOSTILE_KICK */

/* ---- echo ---- */

#if VCONSOLE_HOSTILE == 0

static char line[LINE_MAX];
static u32 line_len, line_dropped, lines_echoed, bytes_in;
static int last_cr, quit;

static void end_line(void)
{
	if (line_dropped == 0 && line_len == 4 && memcmp(line, "quit", 4) == 0) {
		quit = 1;
	} else if (line_dropped) {
		vc_write2("echo: ", 6, line, line_len);
		vc_printf(" [%u more bytes dropped]\n", line_dropped);
		lines_echoed++;
	} else {
		line[line_len] = '\n';
		vc_write2("echo: ", 6, line, line_len + 1);
		lines_echoed++;
	}
	line_len = line_dropped = 0;
}

/* A line ends at \n or \r; \r\n counts once (a terminal sends \r). */
static void input_byte(char c)
{
	if (quit)
		return; /* what follows "quit" is not ours to count */
	bytes_in++;
	if (c == '\n' && last_cr) {
		last_cr = 0;
		return;
	}
	last_cr = c == '\r';
	if (c == '\n' || c == '\r')
		end_line();
	else if (line_len < LINE_MAX - 1)
		line[line_len++] = c;
	else
		line_dropped++;
}

/* in_intr's work, done in the main loop: every used receive buffer is
 * consumed and posted again; one kick for the batch. Returns the number of
 * buffers taken. */
static u32 harvest_rx(void)
{
	struct vq *vq = &vqs[RXQ];
	u32 n = 0, len = 0;
	int head;
	while ((head = vq_get(vq, &len)) >= 0) {
		CHECK(len <= RX_BUF_SIZE, "receiveq: the Host wrote %u bytes into a %u-byte buffer", len, RX_BUF_SIZE);
		u32 slot = rx_slot[head];
		for (u32 i = 0; i < len; i++)
			input_byte((char)rx_buf[slot][i]);
		post_rx(slot);
		n++;
	}
	if (n)
		vq_kick(vq);
	return n;
}

/* Wait for the first input with a deadline, spinning (see the header: a
 * HALT would let virtual time jump past the deadline at once). Returns 0
 * if the deadline passed with no input. */
static int wait_first_input(void)
{
	lguest_data.blocked_interrupts[0] &= ~1u; /* the timer, IRQ 0 */
	irq_enable();
	hcall(LHCALL_SET_CLOCKEVENT, GRACE_NS, 0, 0, 0);
	while (rx_irqs == 0 && ticks == 0)
		;
	if (rx_irqs == 0)
		return 0;
	hcall(LHCALL_SET_CLOCKEVENT, 0, 0, 0, 0); /* cancel */
	lguest_data.blocked_interrupts[0] |= 1;
	return 1;
}

static void echo(void)
{
	if (!wait_first_input()) {
		vc_printf("%s: no input\n", guest_name);
		return;
	}
	for (;;) {
		harvest_rx();
		if (quit)
			break;
		/* safe_halt: IF off while looking, so a receive IRQ arriving
		 * between the check and HALT is still pending and wakes us
		 * (spec §3.3.10, §5.5). */
		irq_disable();
		if (vqs[RXQ].used[1] != vqs[RXQ].last_used) {
			irq_enable();
			continue;
		}
		u32 before = rx_irqs;
		hcall(LHCALL_HALT, 0, 0, 0, 0);
		CHECK(rx_irqs != before, "woke from HALT without a receive interrupt");
		CHECK(lguest_data.irq_enabled == X86_EFLAGS_IF, "irq_enabled %x after wake", lguest_data.irq_enabled);
	}
	CHECK(rx_irqs > 0, "input arrived without a receive interrupt");
	/* The interrupt count depends on when the input arrived: not printed. */
	vc_printf("%s: quit after %u lines echoed (%u bytes in)\n", guest_name, lines_echoed, bytes_in);
}

#endif /* VCONSOLE_HOSTILE == 0 */

/* ---- hostile variants ---- */

#if VCONSOLE_HOSTILE == HOSTILE_ADDR
static void hostile_addr(void)
{
	/* Eight bytes inside guest memory, eight beyond guest_limit: the
	 * Launcher's check_pointer wants addr + len <= guest_limit. */
	u32 addr = guest_limit - 8;
	vc_printf("%s: guest_limit is 0x%x; transmitting 16 bytes at gpa 0x%x, the Host must kill me\n", guest_name,
		  guest_limit, addr);
	struct vq *vq = &vqs[TXQ];
	u16 head = vq->free_head;
	vq->desc[head].addr = addr;
	vq->desc[head].len = 16;
	vq->desc[head].flags = 0;
	vq->avail[2 + vq->avail_idx % vq->num] = head;
	barrier();
	vq->avail[1] = ++vq->avail_idx;
	vq_kick(vq);
	fail("the Host accepted a descriptor at 0x%x+16 beyond guest_limit 0x%x", addr, guest_limit);
}
#endif

#if VCONSOLE_HOSTILE == HOSTILE_LOOP
static const char loop_msg[] = "this text must never be printed\n";

static void hostile_loop(void)
{
	vc_printf("%s: transmitting a chain whose descriptors point at each other, the Host must kill me\n",
		  guest_name);
	struct vq *vq = &vqs[TXQ];
	u16 a = vq->free_head, b = vq->desc[a].next;
	vq->desc[a].addr = __pa(loop_msg);
	vq->desc[a].len = 4;
	vq->desc[a].flags = VRING_DESC_F_NEXT;
	vq->desc[a].next = b;
	vq->desc[b].addr = __pa(loop_msg) + 4;
	vq->desc[b].len = 4;
	vq->desc[b].flags = VRING_DESC_F_NEXT;
	vq->desc[b].next = a;
	vq->avail[2 + vq->avail_idx % vq->num] = a;
	barrier();
	vq->avail[1] = ++vq->avail_idx;
	vq_kick(vq);
	fail("the Host accepted a looped descriptor chain");
}
#endif

void guest_main(void)
{
	setup_default_idt();
	set_gate(FIRST_EXTERNAL_VECTOR, trap_stub_32, GATE_INTR_DPL0);
	scan_devices();
#if VCONSOLE_HOSTILE == HOSTILE_KICK
	kprintf("%s: kicking receiveq (NOTIFY 0x%x) before the device is started, the Host must kill me\n",
		guest_name, vqs[RXQ].pfn << PAGE_SHIFT);
	hcall(LHCALL_NOTIFY, vqs[RXQ].pfn << PAGE_SHIFT, 0, 0, 0);
	fail("the Host accepted a kick before the device was started");
#else
	start_console();
	vc_printf("%s: hello through transmitq: status 0x%x, %u receive buffers of %u bytes posted\n", guest_name,
		  console[4], RX_BUFS, RX_BUF_SIZE);
#if VCONSOLE_HOSTILE == HOSTILE_ADDR
	hostile_addr();
#elif VCONSOLE_HOSTILE == HOSTILE_LOOP
	hostile_loop();
#else
	echo();
#endif
#endif
}
