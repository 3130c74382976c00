package virtio

import (
	"strings"
	"testing"
)

const (
	tLimit = 0x10000 // guest memory of the ring tests
	tBase  = 0x1000  // ring gpa
	tNum   = 4       // small ring so loops and "far ahead" are easy to build
)

func TestVringSize(t *testing.T) {
	for _, tc := range []struct {
		num, size, pages uint32
	}{
		// 16*256 + 2*(3+256) = 4614 -> 8192; + 6 + 8*256 = 10246 (spec §2.2).
		{256, 10246, 3},
		// 16*4 + 2*7 = 78 -> 4096; + 6 + 32.
		{4, 4134, 2},
		// 16*1 + 2*4 = 24 -> 4096; + 6 + 8.
		{1, 4110, 2},
		// 16*128 + 2*131 = 2310 -> 4096; + 6 + 1024.
		{128, 5126, 2},
	} {
		if got := VringSize(tc.num); got != tc.size {
			t.Errorf("VringSize(%d) = %d, want %d", tc.num, got, tc.size)
		}
		if got := VringPages(tc.num); got != tc.pages {
			t.Errorf("VringPages(%d) = %d, want %d", tc.num, got, tc.pages)
		}
	}
}

func TestNewQueueErrors(t *testing.T) {
	m := newMem(t, tLimit)
	for _, tc := range []struct {
		name             string
		limit, base, num uint32
		want             string
	}{
		{"not power of two", tLimit, tBase, 3, "not a power of two"},
		{"zero", tLimit, tBase, 0, "not a power of two"},
		{"too big", tLimit, tBase, 65536, "not a power of two"},
		{"misaligned", tLimit, tBase + 8, 4, "aligned"},
		{"ring past limit", tLimit, tLimit - 0x1000, 4, "beyond guest limit"},
		{"limit past memory", tLimit + 0x1000, tBase, 4, "beyond physical memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewQueue(m, tc.limit, tc.base, tc.num)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := NewQueue(nil, tLimit, tBase, 4); err == nil {
		t.Fatal("nil memory accepted")
	}
}

func newTestQueue(t *testing.T) (*Queue, *guestRing) {
	t.Helper()
	m := newMem(t, tLimit)
	q, err := NewQueue(m, tLimit, tBase, tNum)
	if err != nil {
		t.Fatal(err)
	}
	return q, newGuestRing(t, m, tBase, tNum)
}

func TestPopEmpty(t *testing.T) {
	q, _ := newTestQueue(t)
	c, ok, err := q.Pop()
	if ok || err != nil || len(c.Out)+len(c.In) != 0 {
		t.Fatalf("Pop on empty ring = %+v, %v, %v", c, ok, err)
	}
}

func TestPopSingleAndChained(t *testing.T) {
	q, g := newTestQueue(t)
	// Buffer 1: one readable descriptor (head 2).
	g.desc(2, 0x4000, 5, 0, 0)
	g.publish(2)
	// Buffer 2: head 0 -> 3 -> 1: two readable, then one writable.
	g.desc(0, 0x5000, 16, DescFNext, 3)
	g.desc(3, 0x6000, 1, DescFNext, 1)
	g.desc(1, 0x7000, 100, DescFWrite, 0)
	g.publish(0)

	c, ok, err := q.Pop()
	if !ok || err != nil {
		t.Fatalf("Pop 1: ok=%v err=%v", ok, err)
	}
	if c.Head != 2 || len(c.Out) != 1 || len(c.In) != 0 || c.Out[0] != (Seg{0x4000, 5}) {
		t.Fatalf("Pop 1 = %+v", c)
	}
	q.Push(c.Head, 0)

	c, ok, err = q.Pop()
	if !ok || err != nil {
		t.Fatalf("Pop 2: ok=%v err=%v", ok, err)
	}
	wantOut := []Seg{{0x5000, 16}, {0x6000, 1}}
	if c.Head != 0 || len(c.Out) != 2 || c.Out[0] != wantOut[0] || c.Out[1] != wantOut[1] ||
		len(c.In) != 1 || c.In[0] != (Seg{0x7000, 100}) {
		t.Fatalf("Pop 2 = %+v", c)
	}
	if c.OutLen() != 17 || c.InLen() != 100 {
		t.Fatalf("lengths out %d in %d", c.OutLen(), c.InLen())
	}
	q.Push(c.Head, 42)

	if _, ok, _ := q.Pop(); ok {
		t.Fatal("third Pop found a buffer")
	}
	if q.LastAvail() != 2 {
		t.Fatalf("last_avail = %d, want 2", q.LastAvail())
	}
	if g.usedIdx() != 2 {
		t.Fatalf("used.idx = %d, want 2", g.usedIdx())
	}
	for slot, want := range [][2]uint32{{2, 0}, {0, 42}} {
		if id, n := g.usedElem(uint16(slot)); id != want[0] || n != want[1] {
			t.Errorf("used[%d] = {%d, %d}, want %v", slot, id, n, want)
		}
	}
}

// The 16-bit avail and used indexes wrap past 65535; the ring slot is the
// index modulo num throughout.
func TestIndexWrapAround(t *testing.T) {
	q, g := newTestQueue(t)
	const start = 65534
	g.setAvailIdx(start)
	g.setUsedIdx(start)
	q.lastAvail = start // as if 65534 buffers had gone through already
	for i := range 4 {
		g.desc(uint32(i), uint64(0x4000+0x100*i), uint32(i+1), 0, 0)
	}
	// Publish 4 buffers: avail.idx goes 65534 -> 2, slots 2,3,0,1.
	heads := []uint16{3, 1, 0, 2}
	for _, h := range heads {
		g.publish(h)
	}
	if g.availIdx() != 2 {
		t.Fatalf("avail.idx = %d, want 2 after wrap", g.availIdx())
	}
	for i, h := range heads {
		c, ok, err := q.Pop()
		if !ok || err != nil {
			t.Fatalf("Pop %d: ok=%v err=%v", i, ok, err)
		}
		if c.Head != h || c.Out[0].Addr != 0x4000+0x100*uint32(h) {
			t.Fatalf("Pop %d = %+v, want head %d", i, c, h)
		}
		q.Push(c.Head, uint32(10+i))
	}
	if _, ok, err := q.Pop(); ok || err != nil {
		t.Fatalf("ring should be empty after wrap: ok=%v err=%v", ok, err)
	}
	if q.LastAvail() != 2 || g.usedIdx() != 2 {
		t.Fatalf("last_avail %d used.idx %d, want 2 and 2", q.LastAvail(), g.usedIdx())
	}
	for i, h := range heads {
		slot := uint16(start + i) // 65534, 65535, 0, 1
		if id, n := g.usedElem(slot); id != uint32(h) || n != uint32(10+i) {
			t.Errorf("used slot %d = {%d,%d}, want {%d,%d}", slot%tNum, id, n, h, 10+i)
		}
	}
}

func TestTriggerNoInterrupt(t *testing.T) {
	q, g := newTestQueue(t)
	if q.Trigger() {
		t.Fatal("Trigger with nothing used asked for an IRQ")
	}
	q.Push(0, 0)
	if !q.Trigger() {
		t.Fatal("Trigger after a used buffer did not ask for an IRQ")
	}
	if q.Trigger() {
		t.Fatal("second Trigger asked for an IRQ again")
	}
	g.setAvailFlags(AvailFNoInterrupt)
	q.Push(1, 0)
	if q.Trigger() {
		t.Fatal("Trigger ignored VRING_AVAIL_F_NO_INTERRUPT")
	}
	// The suppressed interrupt is consumed, not deferred (trigger_irq).
	g.setAvailFlags(0)
	if q.Trigger() {
		t.Fatal("suppressed interrupt came back later")
	}
}

// Hostile rings: every case must come back as an error carrying the
// Launcher's message, never a panic and never a buffer.
func TestPopHostile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(g *guestRing)
		want  string
	}{
		{"head index out of range", func(g *guestRing) {
			g.publish(tNum)
		}, "Guest says index 4 is available"},
		{"head index huge", func(g *guestRing) {
			g.publish(0xffff)
		}, "Guest says index 65535 is available"},
		{"avail idx far ahead", func(g *guestRing) {
			g.setAvailIdx(tNum + 1)
		}, "Guest moved used index from 0 to 5"},
		{"avail idx behind (wraps to far ahead)", func(g *guestRing) {
			g.setAvailIdx(0xffff)
		}, "Guest moved used index from 0 to 65535"},
		{"next out of range", func(g *guestRing) {
			g.desc(0, 0x4000, 1, DescFNext, 9)
			g.publish(0)
		}, "Desc next is 9"},
		{"next just out of range", func(g *guestRing) {
			g.desc(1, 0x4000, 1, DescFNext, tNum)
			g.publish(1)
		}, "Desc next is 4"},
		{"next loop", func(g *guestRing) {
			g.desc(0, 0x4000, 1, DescFNext, 1)
			g.desc(1, 0x4000, 1, DescFNext, 0)
			g.publish(0)
		}, "Looped descriptor"},
		{"self loop", func(g *guestRing) {
			g.desc(2, 0x4000, 1, DescFNext, 2)
			g.publish(2)
		}, "Looped descriptor"},
		{"buffer beyond guest memory", func(g *guestRing) {
			g.desc(0, tLimit-4, 5, 0, 0)
			g.publish(0)
		}, "Invalid address 0xfffc"},
		{"buffer starts beyond guest memory", func(g *guestRing) {
			g.desc(0, 0x7fff0000, 1, 0, 0)
			g.publish(0)
		}, "Invalid address 0x7fff0000"},
		{"len overflow wraps", func(g *guestRing) {
			g.desc(0, 0x4000, 0xffffffff, 0, 0)
			g.publish(0)
		}, "Invalid address 0x4000"},
		{"address above 4 GiB", func(g *guestRing) {
			g.desc(0, 0x1_0000_4000, 4, 0, 0)
			g.publish(0)
		}, "Invalid address 0x100004000"},
		{"bad address later in chain", func(g *guestRing) {
			g.desc(0, 0x4000, 4, DescFNext, 1)
			g.desc(1, 0xfff00000, 4, DescFWrite, 0)
			g.publish(0)
		}, "Invalid address 0xfff00000"},
		{"out after in", func(g *guestRing) {
			g.desc(0, 0x4000, 4, DescFNext|DescFWrite, 1)
			g.desc(1, 0x5000, 4, 0, 0)
			g.publish(0)
		}, "Descriptor has out after in"},
		{"indirect", func(g *guestRing) {
			g.desc(0, 0x4000, 32, DescFIndirect, 0)
			g.publish(0)
		}, "Indirect descriptor 0 but VIRTIO_RING_F_INDIRECT_DESC was not offered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, g := newTestQueue(t)
			tc.setup(g)
			c, ok, err := q.Pop()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if ok || len(c.Out)+len(c.In) != 0 {
				t.Fatalf("hostile ring returned a buffer: %+v", c)
			}
		})
	}
}

// The limits themselves are legal: a chain of exactly num descriptors, a
// buffer ending exactly at guest_limit (the Launcher's check is
// addr+len <= guest_limit, spec §2.8), avail.idx exactly num ahead.
func TestPopBoundariesAccepted(t *testing.T) {
	q, g := newTestQueue(t)
	g.desc(0, 0x4000, 1, DescFNext, 1)
	g.desc(1, 0x4001, 1, DescFNext, 2)
	g.desc(2, 0x4002, 1, DescFNext, 3)
	g.desc(3, tLimit-8, 8, DescFWrite, 0)
	for range tNum {
		g.publish(0)
	}
	for i := range tNum {
		c, ok, err := q.Pop()
		if !ok || err != nil {
			t.Fatalf("Pop %d: ok=%v err=%v", i, ok, err)
		}
		if len(c.Out) != 3 || len(c.In) != 1 || c.In[0] != (Seg{tLimit - 8, 8}) {
			t.Fatalf("Pop %d = %+v", i, c)
		}
	}
	// Zero-length buffers are legal too, even at the limit.
	g.desc(0, tLimit, 0, 0, 0)
	g.publish(0)
	if c, ok, err := q.Pop(); !ok || err != nil || c.Out[0] != (Seg{tLimit, 0}) {
		t.Fatalf("zero-length buffer at limit: %+v %v %v", c, ok, err)
	}
}

func TestQueueReset(t *testing.T) {
	q, g := newTestQueue(t)
	g.desc(0, 0x4000, 4, 0, 0)
	g.publish(0)
	if _, ok, err := q.Pop(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	q.Push(0, 4)
	q.Reset()
	if q.LastAvail() != 0 || g.availIdx() != 0 || g.usedIdx() != 0 {
		t.Fatalf("after reset last_avail %d avail.idx %d used.idx %d", q.LastAvail(), g.availIdx(), g.usedIdx())
	}
	b := make([]byte, VringSize(tNum))
	q.m.ReadBytes(tBase, b)
	for i, v := range b {
		if v != 0 {
			t.Fatalf("ring byte %#x = %#x after reset", tBase+i, v)
		}
	}
	if q.Trigger() {
		t.Fatal("pending used survived reset")
	}
}

func TestWriteInScatter(t *testing.T) {
	q, g := newTestQueue(t)
	g.desc(0, 0x4000, 3, DescFWrite|DescFNext, 1)
	g.desc(1, 0x5000, 0, DescFWrite|DescFNext, 2)
	g.desc(2, 0x6000, 10, DescFWrite, 0)
	g.publish(0)
	c, ok, err := q.Pop()
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if n := q.WriteIn(c, []byte("abcdefg")); n != 7 {
		t.Fatalf("WriteIn = %d, want 7", n)
	}
	if got := readStr(t, q.m, 0x4000, 3) + "|" + readStr(t, q.m, 0x6000, 5); got != "abc|defg\x00" {
		t.Fatalf("scattered %q", got)
	}
	// More data than capacity: truncated to 13.
	if n := q.WriteIn(c, []byte(strings.Repeat("x", 20))); n != 13 {
		t.Fatalf("WriteIn overflow = %d, want 13", n)
	}
}
