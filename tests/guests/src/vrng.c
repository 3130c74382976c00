/*
 * vrng - a virtio entropy driver on the lguest bus, shaped like 3.x Linux's
 * virtio-rng.c (spec §2.7, §3.3.15), run with `--rng=seed:1` so the bytes
 * are ChaCha8's and the console is reproducible (plain --rng gives
 * crypto/rand's bytes: tests/e2e checks those differ run to run).
 *
 * It finds the rng (type 4, first on the bus), starts it, posts one chain
 * of two writable buffers (16 + 16 bytes) and one single 64-byte buffer,
 * kicks once, and prints the bytes it got. Each buffer must come back full.
 *
 * Variant -DVRNG_HOSTILE=1 (vrng-hostile-out): a readable buffer in the
 * rng's queue: "Output buffers in rng?".
 */
#include "kern.h"
#include "vring.h"

#ifndef VRNG_HOSTILE
#define VRNG_HOSTILE 0
#endif

static struct vq vq;
static volatile u32 irqs;
static u8 a[16];
#if !VRNG_HOSTILE
static u8 b[16], c[64];
#endif

int guest_trap(struct trapframe *f)
{
	if (f->vector == IRQ_VECTOR(1)) {
		irqs++;
		return 1;
	}
	return 0;
}

static __attribute__((unused)) void hex(const char *what, const u8 *p, u32 n)
{
	char line[2 * 64 + 1];
	for (u32 i = 0; i < n; i++) {
		line[2 * i] = "0123456789abcdef"[p[i] >> 4];
		line[2 * i + 1] = "0123456789abcdef"[p[i] & 15];
	}
	line[2 * n] = 0;
	kprintf("%s: %s %s\n", guest_name, what, line);
}

void guest_main(void)
{
	setup_default_idt();
	struct lgdev d = find_device(VIRTIO_ID_RNG);
	CHECK(d.index == 0 && d.num_vq == 1 && d.feature_len == 0 && d.config_len == 0,
	      "rng at %u: %u queues, %u feature bytes, %u config bytes", d.index, d.num_vq, d.feature_len,
	      d.config_len);
	dev_start(&d, 0, 0);
	vq_setup(&d, 0, &vq, "rngq", 1);
	set_gate(IRQ_VECTOR(vq.irq), trap_stub_33, GATE_INTR_DPL0);
	lguest_data.blocked_interrupts[0] &= ~(1u << vq.irq);
	d.desc[4] |= VIRTIO_CONFIG_S_DRIVER_OK;
	irq_enable();
#if VRNG_HOSTILE
	kprintf("%s: posting a readable buffer in the rng queue, the Host must kill me\n", guest_name);
	u32 pa1[1] = {__pa(a)}, l1[1] = {16};
	vq_roundtrip(&vq, pa1, l1, 1, 0);
	fail("the Host accepted an output buffer in the rng queue");
#else
	u32 pas[2] = {__pa(a), __pa(b)}, lens[2] = {16, 16};
	u16 h1 = vq_add_pa(&vq, pas, lens, 0, 2);
	u32 pc[1] = {__pa(c)}, lc[1] = {64};
	u16 h2 = vq_add_pa(&vq, pc, lc, 0, 1);
	vq_kick(&vq);
	u32 len1 = 0, len2 = 0;
	CHECK(vq_get(&vq, &len1) == h1 && vq_get(&vq, &len2) == h2, "rngq: buffers not used in order");
	CHECK(len1 == 32 && len2 == 64, "rngq: used lengths %u and %u, want 32 and 64", len1, len2);
	CHECK(irqs == 1, "%u interrupts for one kick, want 1", irqs);
	u32 zeros = 0;
	for (u32 i = 0; i < 64; i++)
		zeros += c[i] == 0;
	CHECK(zeros < 16, "%u of 64 entropy bytes are zero", zeros);
	hex("chain", a, 16);
	hex("chain", b, 16);
	hex("single", c, 32);
	hex("single", c + 32, 32);
#endif
}
