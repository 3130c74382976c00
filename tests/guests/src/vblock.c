/*
 * vblock - a virtio block driver on the lguest bus, shaped like 3.x Linux's
 * virtio_blk.c over lguest_device.c (spec §2.2, §2.7, §3.3.15), run with
 * `--block DISK` where DISK is 64 KiB of a known pattern: byte i of the disk
 * is (i / 512 * 31 + i % 512) & 0xff (tests/guests MakeDisk).
 *
 *  1. Find the block device (type 2, the first device: the Launcher puts
 *     command-line devices before the console), check what the 3.x
 *     Launcher offers: SEG_MAX and FLUSH, config capacity and seg_max.
 *  2. Accept FLUSH, start the device, set up its one queue (IRQ 1).
 *  3. Read sectors 0..3 into two 1 KiB buffers (one chain), check the
 *     pattern; write sectors 10 and 11 with a new pattern, FLUSH, read them
 *     back; read the last sector; read past the end (nothing, status OK).
 *     Every request is header (readable, 16 bytes), data, status (1 byte,
 *     writable), as virtio_blk builds it; each kick raises IRQ 1 once.
 *  4. PASS. The test then checks the disk file: sectors 10 and 11 hold the
 *     new pattern, every other byte is as it was.
 *
 * Variants (-DVBLOCK_MODE=N):
 *   1 ro        run with --block DISK,ro: RO is offered, a write comes back
 *               VIRTIO_BLK_S_IOERR and the file is unchanged
 *   2 hostile-hdr       an 8-byte request header:
 *               "Bad iovec size 8 for struct virtio_blk_outhdr"
 *   3 hostile-past-end  a 2-sector write at the last sector:
 *               "Write past end 65024+1024"
 */
#include "kern.h"
#include "vring.h"

#ifndef VBLOCK_MODE
#define VBLOCK_MODE 0
#endif
#define MODE_RW 0
#define MODE_RO 1
#define MODE_HOSTILE_HDR 2
#define MODE_HOSTILE_PAST_END 3

/* include/uapi/linux/virtio_blk.h */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1

#define SECTOR 512
#define DISK_SECTORS 128

struct virtio_blk_outhdr {
	u32 type;
	u32 ioprio;
	u64 sector;
};

static struct vq vq;
static volatile u32 irqs;

static struct virtio_blk_outhdr hdr __attribute__((aligned(16)));
static volatile u8 status;
static u8 data[4 * SECTOR] __attribute__((aligned(16)));

int guest_trap(struct trapframe *f)
{
	if (f->vector == IRQ_VECTOR(1)) {
		irqs++;
		return 1;
	}
	return 0;
}

static u8 disk_byte(u32 off) { return (u8)(off / SECTOR * 31 + off % SECTOR); }

/* One request: header, then data (split in two buffers when len > 1 KiB,
 * so the Host must scatter), then the status byte. Returns the used length;
 * *st gets the status. */
static __attribute__((unused)) u32 request(u32 type, u32 sector, u32 len, u8 *st)
{
	hdr.type = type;
	hdr.ioprio = 0;
	hdr.sector = sector;
	status = 0xee;
	int to_host = type == VIRTIO_BLK_T_OUT;
	u32 pas[4], lens[4], n = 0;
	pas[n] = __pa(&hdr);
	lens[n++] = sizeof(hdr);
	if (len > 1024) {
		pas[n] = __pa(data);
		lens[n++] = 1024;
		pas[n] = __pa(data) + 1024;
		lens[n++] = len - 1024;
	} else if (len) {
		pas[n] = __pa(data);
		lens[n++] = len;
	}
	u32 data_bufs = n - 1;
	pas[n] = __pa(&status);
	lens[n++] = 1;
	u32 before = irqs;
	u32 used = vq_roundtrip(&vq, pas, lens, to_host ? 1 + data_bufs : 1, to_host ? 1 : 1 + data_bufs);
	CHECK(irqs == before + 1, "request type %u: %u interrupts, want 1", type, irqs - before);
	*st = status;
	return used;
}

static __attribute__((unused)) void check_pattern(u32 sector, u32 len)
{
	for (u32 i = 0; i < len; i++)
		CHECK(data[i] == disk_byte(sector * SECTOR + i), "sector %u byte %u is 0x%x, want 0x%x",
		      sector + i / SECTOR, i % SECTOR, data[i], disk_byte(sector * SECTOR + i));
}

void guest_main(void)
{
	setup_default_idt();
	struct lgdev d = find_device(VIRTIO_ID_BLOCK);
	CHECK(d.index == 0, "block device at bus position %u, want 0 (before the console)", d.index);
	CHECK(d.num_vq == 1 && d.config_len == 16, "block: %u queues, %u config bytes", d.num_vq, d.config_len);
	volatile u8 *cfg = dev_config(&d);
	u32 capacity = rd32(cfg), capacity_hi = rd32(cfg + 4), seg_max = rd32(cfg + 12);
	kprintf("%s: capacity %u sectors, seg_max %u, SEG_MAX %u FLUSH %u RO %u\n", guest_name, capacity, seg_max,
		dev_has_feature(&d, VIRTIO_BLK_F_SEG_MAX), dev_has_feature(&d, VIRTIO_BLK_F_FLUSH),
		dev_has_feature(&d, VIRTIO_BLK_F_RO));
	CHECK(capacity == DISK_SECTORS && capacity_hi == 0, "capacity %u, want %u", capacity, DISK_SECTORS);
	CHECK(dev_has_feature(&d, VIRTIO_BLK_F_RO) == (VBLOCK_MODE == MODE_RO), "RO offered %u in mode %u",
	      dev_has_feature(&d, VIRTIO_BLK_F_RO), VBLOCK_MODE);

	u32 accept[] = {VIRTIO_BLK_F_FLUSH};
	dev_start(&d, accept, 1);
	vq_setup(&d, 0, &vq, "requestq", 1);
	CHECK(vq.irq == 1, "requestq irq %u, want 1", vq.irq);
	set_gate(IRQ_VECTOR(vq.irq), trap_stub_33, GATE_INTR_DPL0);
	lguest_data.blocked_interrupts[0] &= ~(1u << vq.irq);
	d.desc[4] |= VIRTIO_CONFIG_S_DRIVER_OK;
	irq_enable();
	kprintf("%s: started: status 0x%x, requestq pfn 0x%x irq %u\n", guest_name, d.desc[4], vq.pfn, vq.irq);

	u8 st __attribute__((unused));
#if VBLOCK_MODE == MODE_HOSTILE_HDR
	kprintf("%s: sending an 8-byte request header, the Host must kill me\n", guest_name);
	{
		u32 pas[2] = {__pa(&hdr), __pa(&status)}, lens[2] = {8, 1};
		vq_roundtrip(&vq, pas, lens, 1, 1);
	}
	fail("the Host accepted an 8-byte header");
#elif VBLOCK_MODE == MODE_HOSTILE_PAST_END
	kprintf("%s: writing 2 sectors at sector %u, the Host must kill me\n", guest_name, DISK_SECTORS - 1);
	memset(data, 0x77, 2 * SECTOR);
	request(VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 2 * SECTOR, &st);
	fail("the Host accepted a write past the end");
#else
	/* Read sectors 0..3 through two data buffers. */
	memset(data, 0, sizeof(data));
	u32 used = request(VIRTIO_BLK_T_IN, 0, 4 * SECTOR, &st);
	CHECK(st == VIRTIO_BLK_S_OK && used == 1 + 4 * SECTOR, "read 0..3: status %u used %u", st, used);
	check_pattern(0, 4 * SECTOR);
	kprintf("%s: read sectors 0-3: pattern ok (used %u)\n", guest_name, used);

	/* Write sectors 10-11. */
	for (u32 i = 0; i < 2 * SECTOR; i++)
		data[i] = (u8)(0xa5 ^ i);
	used = request(VIRTIO_BLK_T_OUT, 10, 2 * SECTOR, &st);
#if VBLOCK_MODE == MODE_RO
	CHECK(st == VIRTIO_BLK_S_IOERR && used == 1, "write to a read-only disk: status %u used %u", st, used);
	kprintf("%s: write to the read-only disk refused: status IOERR\n", guest_name);
	memset(data, 0, sizeof(data));
	used = request(VIRTIO_BLK_T_IN, 10, 2 * SECTOR, &st);
	CHECK(st == VIRTIO_BLK_S_OK, "read back: status %u", st);
	check_pattern(10, 2 * SECTOR);
	kprintf("%s: sectors 10-11 unchanged\n", guest_name);
#else
	CHECK(st == VIRTIO_BLK_S_OK && used == 1, "write 10-11: status %u used %u", st, used);
	used = request(VIRTIO_BLK_T_FLUSH, 0, 0, &st);
	CHECK(st == VIRTIO_BLK_S_OK && used == 1, "flush: status %u used %u", st, used);
	memset(data, 0, sizeof(data));
	used = request(VIRTIO_BLK_T_IN, 10, 2 * SECTOR, &st);
	CHECK(st == VIRTIO_BLK_S_OK && used == 1 + 2 * SECTOR, "read back 10-11: status %u used %u", st, used);
	for (u32 i = 0; i < 2 * SECTOR; i++)
		CHECK(data[i] == (u8)(0xa5 ^ i), "read back byte %u is 0x%x", i, data[i]);
	kprintf("%s: wrote sectors 10-11, flushed, read them back: ok\n", guest_name);
#endif

	/* The last sector, then past the end. */
	used = request(VIRTIO_BLK_T_IN, DISK_SECTORS - 1, SECTOR, &st);
	CHECK(st == VIRTIO_BLK_S_OK && used == 1 + SECTOR, "read last: status %u used %u", st, used);
	check_pattern(DISK_SECTORS - 1, SECTOR);
	used = request(VIRTIO_BLK_T_IN, DISK_SECTORS, SECTOR, &st);
	CHECK(st == VIRTIO_BLK_S_OK && used == 1, "read past the end: status %u used %u", st, used);
	kprintf("%s: last sector ok; past the end: status OK, nothing read; %u interrupts\n", guest_name, irqs);
#endif
}
