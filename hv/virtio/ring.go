package virtio

import (
	"fmt"
	"math/bits"

	"github.com/lgdbg/lgdbg/hv/mem"
)

// Legacy (virtio 0.9.5) ring constants, as in include/uapi/linux/virtio_ring.h.
const (
	DescFNext     = 1 // VRING_DESC_F_NEXT: the chain continues at desc.next
	DescFWrite    = 2 // VRING_DESC_F_WRITE: the buffer is device-writable
	DescFIndirect = 4 // VRING_DESC_F_INDIRECT: not offered on this bus, always rejected

	AvailFNoInterrupt = 1 // VRING_AVAIL_F_NO_INTERRUPT: the Guest does not want the used IRQ
	UsedFNoNotify     = 1 // VRING_USED_F_NO_NOTIFY

	// VringAlign is LGUEST_VRING_ALIGN (spec §0.1): the used ring starts on
	// the next 4096-byte boundary after the available ring.
	VringAlign = 4096

	// QueueNum is VIRTQUEUE_NUM, the ring size the Launcher gives every
	// queue (spec §2.2): 256 entries, 3 pages.
	QueueNum = 256

	descSize = 16 // struct vring_desc { u64 addr; u32 len; u16 flags; u16 next; }
	usedElem = 8  // struct vring_used_elem { u32 id; u32 len; }
)

// VringSize is vring_size(num, 4096): descriptor table, available ring
// (flags, idx, ring[num], used_event), padding to 4096, used ring (flags,
// idx, ring[num], avail_event). VringSize(256) = 10246 (spec §2.2).
func VringSize(num uint32) uint32 {
	return alignUp(descSize*num+2*(3+num), VringAlign) + 2*3 + usedElem*num
}

// VringPages is the number of whole pages a ring of num entries occupies.
func VringPages(num uint32) uint32 {
	return (VringSize(num) + mem.PageSize - 1) / mem.PageSize
}

func alignUp(v, a uint32) uint32 { return (v + a - 1) &^ (a - 1) }

// cHex formats like C's "%#lx": "0" for zero, "0x..." otherwise, so kill
// reasons read exactly as the Launcher prints them.
func cHex(v uint64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%#x", v)
}

// Seg is one validated buffer of a descriptor chain: [Addr, Addr+Len) lies
// inside guest memory (addr+len <= guest_limit, spec §2.8).
type Seg struct {
	Addr uint32
	Len  uint32
}

// Chain is one buffer the Guest made available: the head descriptor index
// and its segments split into device-readable (Out) and device-writable
// (In) parts, in chain order. The slices are owned by the Queue and are
// valid until the next Pop.
type Chain struct {
	Head uint16
	Out  []Seg
	In   []Seg
}

// OutLen is the total length of the readable segments.
func (c Chain) OutLen() uint64 { return segsLen(c.Out) }

// InLen is the total capacity of the writable segments.
func (c Chain) InLen() uint64 { return segsLen(c.In) }

func segsLen(s []Seg) uint64 {
	var n uint64
	for _, g := range s {
		n += uint64(g.Len)
	}
	return n
}

// Queue is the Host side of one legacy virtqueue living in guest memory.
//
// The ring's location and size are the Host's own copy (the Launcher keeps
// vq->config and vq->vring privately and never re-reads the vqconfig the
// Guest can scribble on), so only the ring *contents* are untrusted: every
// index and address read from them is checked, and a bad one comes back as
// an error whose text is the Launcher's fatal message (the kill reason).
type Queue struct {
	m     *mem.Phys
	limit uint32 // the Launcher's guest_limit: buffers must end at or below it
	num   uint32
	base  uint32 // gpa of the descriptor table (= pfn*4096)
	avail uint32 // gpa of struct vring_avail
	used  uint32 // gpa of struct vring_used

	lastAvail   uint16 // last_avail_idx: next avail entry the Host will take
	pendingUsed uint32 // used entries added since the last trigger_irq

	segs []Seg // scratch for Pop, reused
}

// NewQueue places a ring of num entries at gpa base over m. limit is the
// Launcher's guest_limit: the ring and every buffer must end at or below it.
func NewQueue(m *mem.Phys, limit, base, num uint32) (*Queue, error) {
	if m == nil {
		return nil, fmt.Errorf("virtio: queue at %#x: no memory", base)
	}
	if num == 0 || num > 32768 || bits.OnesCount32(num) != 1 {
		// Linux's vring_new_virtqueue refuses a size that is not a power
		// of two; 32768 is the legacy maximum.
		return nil, fmt.Errorf("virtio: queue at %#x: size %d is not a power of two in 1..32768", base, num)
	}
	if base%VringAlign != 0 {
		return nil, fmt.Errorf("virtio: queue at %#x: not %d-aligned", base, VringAlign)
	}
	if uint64(limit) > uint64(m.Size()) {
		return nil, fmt.Errorf("virtio: guest limit %#x beyond physical memory %#x", limit, m.Size())
	}
	if uint64(base)+uint64(VringSize(num)) > uint64(limit) {
		return nil, fmt.Errorf("virtio: queue at %#x: %d-entry ring (%d bytes) ends beyond guest limit %#x",
			base, num, VringSize(num), limit)
	}
	q := &Queue{m: m, limit: limit, num: num, base: base}
	q.avail = base + descSize*num
	q.used = alignUp(q.avail+2*(3+num), VringAlign)
	return q, nil
}

// Num is the ring size.
func (q *Queue) Num() uint32 { return q.num }

// Base is the gpa of the ring (the value the Guest kicks with, pfn<<12).
func (q *Queue) Base() uint32 { return q.base }

// LastAvail is the Host's last_avail_idx.
func (q *Queue) LastAvail() uint16 { return q.lastAvail }

// AvailIdx, AvailFlags and UsedIdx read the ring header words (for the UI).
func (q *Queue) AvailIdx() uint16   { return q.rd16(q.avail + 2) }
func (q *Queue) AvailFlags() uint16 { return q.rd16(q.avail) }
func (q *Queue) UsedIdx() uint16    { return q.rd16(q.used + 2) }

// The ring lies inside guest memory by construction (NewQueue), so these
// reads cannot fail; a zero is returned if that invariant were ever broken.
func (q *Queue) rd16(pa uint32) uint16 { v, _ := q.m.Read16(pa); return v }
func (q *Queue) rd32(pa uint32) uint32 { v, _ := q.m.Read32(pa); return v }
func (q *Queue) rd64(pa uint32) uint64 { v, _ := q.m.Read64(pa); return v }

// checkPointer is the Launcher's check_pointer: the buffer must end at or
// below guest_limit and must not wrap (spec §2.8). The Launcher is a 32-bit
// program and silently truncates a 64-bit descriptor address; we knowingly
// reject any address above 4 GiB instead.
func (q *Queue) checkPointer(addr uint64, n uint32) error {
	if addr+uint64(n) > uint64(q.limit) {
		return fmt.Errorf("Invalid address %s", cHex(addr))
	}
	return nil
}

// Pop takes the next available buffer, exactly as the Launcher's
// wait_for_vq_desc does, minus the waiting: ok is false when the Guest has
// made nothing new available. Any inconsistency is returned as an error
// whose text is the Launcher's fatal message.
func (q *Queue) Pop() (c Chain, ok bool, err error) {
	availIdx := q.AvailIdx()
	if availIdx == q.lastAvail {
		return Chain{}, false, nil
	}
	// 16-bit arithmetic: the indexes wrap at 65536, and the Guest may be at
	// most num entries ahead of us.
	if uint32(availIdx-q.lastAvail) > q.num {
		return Chain{}, false, fmt.Errorf("Guest moved used index from %d to %d", q.lastAvail, availIdx)
	}
	head := uint32(q.rd16(q.avail + 4 + 2*(uint32(q.lastAvail)%q.num)))
	q.lastAvail++
	if head >= q.num {
		return Chain{}, false, fmt.Errorf("Guest says index %d is available", head)
	}

	q.segs = q.segs[:0]
	nOut, nIn := 0, 0
	for i := head; ; {
		d := q.base + descSize*i
		addr, n := q.rd64(d), q.rd32(d+8)
		flags, next := q.rd16(d+12), uint32(q.rd16(d+14))
		if flags&DescFIndirect != 0 {
			// The Launcher handles indirect tables, but only for devices
			// that offer VIRTIO_RING_F_INDIRECT_DESC; none of ours do, so a
			// Guest using one is broken or hostile.
			return Chain{}, false, fmt.Errorf("Indirect descriptor %d but VIRTIO_RING_F_INDIRECT_DESC was not offered", i)
		}
		if err := q.checkPointer(addr, n); err != nil {
			return Chain{}, false, err
		}
		if flags&DescFWrite != 0 {
			nIn++
		} else {
			if nIn != 0 {
				return Chain{}, false, fmt.Errorf("Descriptor has out after in")
			}
			nOut++
		}
		q.segs = append(q.segs, Seg{Addr: uint32(addr), Len: n})
		// More descriptors than the table holds can only be a loop.
		if uint32(nOut+nIn) > q.num {
			return Chain{}, false, fmt.Errorf("Looped descriptor")
		}
		if flags&DescFNext == 0 {
			break
		}
		if next >= q.num {
			return Chain{}, false, fmt.Errorf("Desc next is %d", next)
		}
		i = next
	}
	return Chain{Head: uint16(head), Out: q.segs[:nOut], In: q.segs[nOut:]}, true, nil
}

// Push is the Launcher's add_used: it records that buffer head was consumed
// with n bytes written into its writable part, then bumps used.idx (the
// 16-bit index wraps naturally).
func (q *Queue) Push(head uint16, n uint32) {
	idx := q.UsedIdx()
	e := q.used + 4 + usedElem*(uint32(idx)%q.num)
	q.m.Write32(e, uint32(head))
	q.m.Write32(e+4, n)
	q.m.Write16(q.used+2, idx+1)
	q.pendingUsed++
}

// Serve is the Launcher's device loop over one queue: every chain the
// Guest has made available is handed to handle, which returns the used
// length, and marked used with it, until the ring is empty. A handler's
// error (the Launcher's fatal message) stops the loop with the chain not
// used, as errx() would.
func (q *Queue) Serve(handle func(Chain) (uint32, error)) error {
	for {
		ch, ok, err := q.Pop()
		if err != nil || !ok {
			return err
		}
		n, err := handle(ch)
		if err != nil {
			return err
		}
		q.Push(ch.Head, n)
	}
}

// Trigger is the Launcher's trigger_irq decision: it reports whether the
// queue's interrupt should be raised now. Nothing used since the last call,
// or VRING_AVAIL_F_NO_INTERRUPT set by the Guest, means no interrupt; either
// way the pending count is consumed.
func (q *Queue) Trigger() bool {
	if q.pendingUsed == 0 {
		return false
	}
	q.pendingUsed = 0
	return q.AvailFlags()&AvailFNoInterrupt == 0
}

// Reset is the ring part of the Launcher's reset_device: zero the whole
// ring and forget last_avail_idx.
func (q *Queue) Reset() {
	q.m.WriteBytes(q.base, make([]byte, VringSize(q.num)))
	q.lastAvail = 0
	q.pendingUsed = 0
}

// Bytes returns a read-only view of a validated segment. The view aliases
// guest memory: copy it before the Guest runs again.
func (q *Queue) Bytes(s Seg) []byte {
	return q.m.Bytes()[s.Addr : s.Addr+s.Len]
}

// WriteIn scatters p over the writable segments of c, in order, and returns
// how many bytes were stored (at most c.InLen()). It goes through mem so the
// code-page invalidation hook fires if the Guest pointed a buffer at code.
func (q *Queue) WriteIn(c Chain, p []byte) uint32 {
	var n uint32
	for _, s := range c.In {
		if len(p) == 0 {
			break
		}
		k := min(uint32(len(p)), s.Len)
		q.m.WriteBytes(s.Addr, p[:k])
		p = p[k:]
		n += k
	}
	return n
}

// NewQueueSplit places a virtio 1.0 ring whose three parts the driver put
// where it liked (virtio-PCI's queue_desc/avail/used): the 4.x Launcher's
// check_virtqueue. The sizes checked are the parts' own (desc 16*num,
// avail 4+2*num, used 4+8*num); the alignments are virtio 1.0's (16, 2, 4).
// The errors are the 4.x Launcher's texts without its "bad driver" prefix.
func NewQueueSplit(m *mem.Phys, limit, desc, avail, used, num uint32) (*Queue, error) {
	if m == nil {
		return nil, fmt.Errorf("virtio: split queue: no memory")
	}
	if num == 0 || num > 32768 || bits.OnesCount32(num) != 1 {
		return nil, fmt.Errorf("invalid queue size %d", num)
	}
	if desc%16 != 0 || avail%2 != 0 || used%4 != 0 {
		return nil, fmt.Errorf("invalid alignment in queue addresses")
	}
	if uint64(limit) > uint64(m.Size()) {
		return nil, fmt.Errorf("virtio: guest limit %#x beyond physical memory %#x", limit, m.Size())
	}
	q := &Queue{m: m, limit: limit, num: num, base: desc, avail: avail, used: used}
	for _, p := range []struct{ addr, n uint32 }{{desc, descSize * num}, {avail, 4 + 2*num}, {used, 4 + usedElem*num}} {
		if err := q.checkPointer(uint64(p.addr), p.n); err != nil {
			return nil, err
		}
	}
	return q, nil
}
