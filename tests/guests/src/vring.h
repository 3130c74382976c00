/*
 * vring.h - the lguest bus and legacy virtio rings for the device test
 * guests (vblock.c, vrng.c), shaped like 3.x Linux's lguest_device.c and
 * virtio_ring.c (spec §2.2, §2.7, §3.3.15). vconsole.c keeps its own copy
 * of the same code so that its instruction counts, and with them its
 * golden trace, stay as they were.
 *
 * Include once, from the guest's main file: everything here is static.
 */
#ifndef LGDBG_GUEST_VRING_H
#define LGDBG_GUEST_VRING_H

#include "kern.h"

/* include/uapi/linux/virtio_ids.h, virtio_config.h, virtio_ring.h. */
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_CONFIG_S_ACKNOWLEDGE 1
#define VIRTIO_CONFIG_S_DRIVER 2
#define VIRTIO_CONFIG_S_DRIVER_OK 4
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1
#define LGUEST_VRING_ALIGN 4096 /* spec §0.1 */
#define EXPECTED_QUEUE_NUM 256

/* Where device pages are mapped: a kernel VA with no PDE in
 * initial_page_table (it maps at most 128 MiB at PAGE_OFFSET). */
#define IOREMAP_VA 0xE0000000u

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

struct vq {
	const char *name;
	u32 num, irq, pfn;
	volatile struct vring_desc *desc;
	volatile u16 *avail;
	volatile u16 *used;
	u16 avail_idx, last_used, free_head;
	u32 num_free;
	u8 in_use[EXPECTED_QUEUE_NUM];
};

/* One device entry of the descriptor page, as found by scan_bus. */
struct lgdev {
	volatile u8 *desc; /* the entry */
	u32 gpa;           /* its guest-physical address: the status NOTIFY */
	u32 index;         /* position on the bus */
	u8 type, num_vq, feature_len, config_len;
};

static __attribute__((unused)) void barrier(void) { asm volatile("" ::: "memory"); }

static __attribute__((unused)) u16 rd16(volatile const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static __attribute__((unused)) u32 rd32(volatile const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }

static __attribute__((unused)) u32 vring_size(u32 num)
{
	u32 avail_end = 16 * num + 2 * (3 + num);
	return ((avail_end + LGUEST_VRING_ALIGN - 1) & ~(LGUEST_VRING_ALIGN - 1)) + 2 * 3 + 8 * num;
}

static u32 ioremap_next = IOREMAP_VA;

static __attribute__((unused)) void *ioremap(u32 gpa, u32 pages)
{
	u32 va = ioremap_next;
	for (u32 i = 0; i < pages; i++)
		map_page(initial_page_table, va + i * PAGE_SIZE, gpa + i * PAGE_SIZE, _PAGE_PRESENT | _PAGE_RW, 1);
	ioremap_next += pages * PAGE_SIZE;
	return (void *)va;
}

static __attribute__((unused)) u32 e820_ram_size(void)
{
	CHECK(boot_params[BP_E820_ENTRIES] >= 1, "boot_params has no e820 entries");
	const u8 *e = &boot_params[BP_E820_MAP];
	u32 size = rd32(e + 8);
	CHECK(rd32(e) == 0 && rd32(e + 4) == 0 && rd32(e + 12) == 0 && rd32(e + 16) == 1,
	      "e820_map[0] is not {0, size, RAM}");
	CHECK(size != 0 && size % PAGE_SIZE == 0, "e820 RAM size %x is not page aligned", size);
	return size;
}

/* Walk the descriptor page; print every entry; return the first of type
 * want (its index in *idx), failing if there is none. */
static __attribute__((unused)) struct lgdev find_device(u8 want)
{
	u32 ram = e820_ram_size();
	volatile u8 *page = ioremap(ram, 1);
	struct lgdev found = {0};
	u32 off = 0, n = 0;
	while (off < PAGE_SIZE && page[off] != 0) {
		volatile u8 *d = page + off;
		u32 size = 5 + 8 * d[1] + 2 * d[2] + d[3];
		CHECK(off + size <= PAGE_SIZE, "device %u overruns the descriptor page", n);
		kprintf("%s: device %u: type %u, %u queues, %u feature bytes, %u config bytes\n", guest_name, n, d[0],
			d[1], d[2], d[3]);
		if (d[0] == want && !found.desc) {
			found.desc = d;
			found.gpa = ram + off;
			found.index = n;
			found.type = d[0];
			found.num_vq = d[1];
			found.feature_len = d[2];
			found.config_len = d[3];
		}
		off += size;
		n++;
	}
	CHECK(found.desc, "no device of type %u on the lguest bus", want);
	CHECK(found.desc[4] == 0, "status 0x%x before we touched it", found.desc[4]);
	return found;
}

static __attribute__((unused)) volatile u8 *dev_vqconfig(struct lgdev *d, u32 i) { return d->desc + 5 + 8 * i; }
static __attribute__((unused)) volatile u8 *dev_features(struct lgdev *d) { return d->desc + 5 + 8 * d->num_vq; }
static __attribute__((unused)) volatile u8 *dev_accepted(struct lgdev *d) { return dev_features(d) + d->feature_len; }
static __attribute__((unused)) volatile u8 *dev_config(struct lgdev *d) { return dev_features(d) + 2 * d->feature_len; }

static __attribute__((unused)) int dev_has_feature(struct lgdev *d, u32 bit)
{
	return bit / 8 < d->feature_len && (dev_features(d)[bit / 8] >> (bit % 8)) & 1;
}

/* virtio_dev_probe under lguest: ACKNOWLEDGE, DRIVER, accept features,
 * finalize = NOTIFY(entry gpa). DRIVER_OK later is a plain byte write. */
static __attribute__((unused)) void dev_start(struct lgdev *d, const u32 *accept, u32 naccept)
{
	d->desc[4] = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	d->desc[4] |= VIRTIO_CONFIG_S_DRIVER;
	for (u32 i = 0; i < naccept; i++) {
		CHECK(dev_has_feature(d, accept[i]), "feature %u not offered", accept[i]);
		dev_accepted(d)[accept[i] / 8] |= (u8)(1u << (accept[i] % 8));
	}
	barrier();
	hcall(LHCALL_NOTIFY, d->gpa, 0, 0, 0);
}

static __attribute__((unused)) void vq_setup(struct lgdev *d, u32 i, struct vq *vq, const char *name, int want_interrupts)
{
	volatile u8 *c = dev_vqconfig(d, i);
	vq->name = name;
	vq->num = rd16(c);
	vq->irq = rd16(c + 2);
	vq->pfn = rd32(c + 4);
	CHECK(vq->num == EXPECTED_QUEUE_NUM, "%s has %u entries", name, vq->num);
	u32 pages = (vring_size(vq->num) + PAGE_SIZE - 1) / PAGE_SIZE;
	u8 *base = ioremap(vq->pfn * PAGE_SIZE, pages);
	vq->desc = (volatile struct vring_desc *)base;
	vq->avail = (volatile u16 *)(base + 16 * vq->num);
	u32 used = (16 * vq->num + 2 * (3 + vq->num) + LGUEST_VRING_ALIGN - 1) & ~(LGUEST_VRING_ALIGN - 1);
	vq->used = (volatile u16 *)(base + used);
	CHECK(vq->avail[1] == 0 && vq->used[1] == 0, "%s: ring indexes not zero", name);
	for (u32 k = 0; k < vq->num; k++)
		vq->desc[k].next = (u16)(k + 1);
	vq->free_head = 0;
	vq->num_free = vq->num;
	vq->avail_idx = vq->last_used = 0;
	vq->avail[0] = want_interrupts ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
}

/* virtqueue_add_buf: physical addresses of out readable then in writable
 * buffers, chained. */
static __attribute__((unused)) u16 vq_add_pa(struct vq *vq, const u32 *pas, const u32 *lens, u32 out, u32 in)
{
	u32 n = out + in;
	CHECK(n >= 1 && n <= vq->num_free, "%s: %u descriptors wanted, %u free", vq->name, n, vq->num_free);
	u16 head = vq->free_head, i = head, last = head;
	for (u32 k = 0; k < n; k++) {
		vq->desc[i].addr = pas[k];
		vq->desc[i].len = lens[k];
		vq->desc[i].flags = (k >= out ? VRING_DESC_F_WRITE : 0) | (k + 1 < n ? VRING_DESC_F_NEXT : 0);
		last = i;
		i = vq->desc[i].next;
	}
	vq->free_head = vq->desc[last].next;
	vq->num_free -= n;
	vq->in_use[head] = 1;
	vq->avail[2 + vq->avail_idx % vq->num] = head;
	barrier();
	vq->avail[1] = ++vq->avail_idx;
	return head;
}

static __attribute__((unused)) void vq_kick(struct vq *vq)
{
	barrier();
	if (!(vq->used[0] & VRING_USED_F_NO_NOTIFY))
		hcall(LHCALL_NOTIFY, vq->pfn << PAGE_SHIFT, 0, 0, 0);
}

static __attribute__((unused)) int vq_get(struct vq *vq, u32 *len)
{
	u16 idx = vq->used[1];
	if (idx == vq->last_used)
		return -1;
	CHECK((u16)(idx - vq->last_used) <= vq->num, "%s: Host moved used idx from %u to %u", vq->name,
	      vq->last_used, idx);
	barrier();
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

/* Post a chain, kick and take it back: the Host services a kick before
 * NOTIFY returns (the eventfd path), so the used entry is there at once. */
static __attribute__((unused)) u32 vq_roundtrip(struct vq *vq, const u32 *pas, const u32 *lens, u32 out, u32 in)
{
	u16 head = vq_add_pa(vq, pas, lens, out, in);
	vq_kick(vq);
	u32 len = 0;
	int got = vq_get(vq, &len);
	CHECK(got == head, "%s: buffer %u not used after the kick (got %d)", vq->name, head, got);
	return len;
}

#endif
