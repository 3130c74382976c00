package virtio

import (
	"encoding/binary"
	"testing"

	"github.com/lgdbg/lgdbg/hv/mem"
)

// guestRing plays the Guest driver's side of a legacy ring, writing the
// layout by hand (independently of Queue's own offsets) so tests catch a
// Host that reads the wrong words.
type guestRing struct {
	t     testing.TB
	m     *mem.Phys
	base  uint32
	num   uint32
	avail uint32
	used  uint32
}

func newGuestRing(t testing.TB, m *mem.Phys, base, num uint32) *guestRing {
	t.Helper()
	availEnd := base + 16*num + 4 + 2*num + 2
	used := (availEnd + 4095) &^ 4095
	return &guestRing{t: t, m: m, base: base, num: num, avail: base + 16*num, used: used}
}

func (g *guestRing) w16(pa uint32, v uint16) {
	g.t.Helper()
	if !g.m.Write16(pa, v) {
		g.t.Fatalf("guest write16 %#x outside memory", pa)
	}
}

func (g *guestRing) r16(pa uint32) uint16 {
	g.t.Helper()
	v, ok := g.m.Read16(pa)
	if !ok {
		g.t.Fatalf("guest read16 %#x outside memory", pa)
	}
	return v
}

// desc writes descriptor i.
func (g *guestRing) desc(i uint32, addr uint64, n uint32, flags, next uint16) {
	g.t.Helper()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:], addr)
	binary.LittleEndian.PutUint32(b[8:], n)
	binary.LittleEndian.PutUint16(b[12:], flags)
	binary.LittleEndian.PutUint16(b[14:], next)
	if !g.m.WriteBytes(g.base+16*i, b[:]) {
		g.t.Fatalf("desc %d outside memory", i)
	}
}

func (g *guestRing) availIdx() uint16          { return g.r16(g.avail + 2) }
func (g *guestRing) setAvailIdx(v uint16)      { g.w16(g.avail+2, v) }
func (g *guestRing) setAvailFlags(v uint16)    { g.w16(g.avail, v) }
func (g *guestRing) usedIdx() uint16           { return g.r16(g.used + 2) }
func (g *guestRing) setUsedIdx(v uint16)       { g.w16(g.used+2, v) }
func (g *guestRing) setRing(slot, head uint16) { g.w16(g.avail+4+2*(uint32(slot)%g.num), head) }

// publish makes head available: ring[idx % num] = head; idx++.
func (g *guestRing) publish(head uint16) {
	g.t.Helper()
	idx := g.availIdx()
	g.setRing(idx, head)
	g.setAvailIdx(idx + 1)
}

// usedElem reads used.ring[slot % num].
func (g *guestRing) usedElem(slot uint16) (id, n uint32) {
	g.t.Helper()
	e := g.used + 4 + 8*(uint32(slot)%g.num)
	id, _ = g.m.Read32(e)
	n, _ = g.m.Read32(e + 4)
	return id, n
}

func newMem(t testing.TB, guestBytes uint32) *mem.Phys {
	t.Helper()
	m, err := mem.New(guestBytes, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func writeStr(t testing.TB, m *mem.Phys, pa uint32, s string) {
	t.Helper()
	if !m.WriteBytes(pa, []byte(s)) {
		t.Fatalf("write %q at %#x outside memory", s, pa)
	}
}

func readStr(t testing.TB, m *mem.Phys, pa, n uint32) string {
	t.Helper()
	b := make([]byte, n)
	if !m.ReadBytes(pa, b) {
		t.Fatalf("read %#x+%d outside memory", pa, n)
	}
	return string(b)
}
