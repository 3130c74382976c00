package pgtable

import (
	"fmt"
	"github.com/lgdbg/lgdbg/hv/hcall"
	"slices"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv/mem"
)

// Test machine: 4 MiB of guest memory (pfn_limit 1024) and a 512-page Host
// pool. Guest page tables are built from guest page 0x200000 upwards.
const (
	guestBytes  = 4 << 20
	poolPages   = 512
	kernelBase  = 0xC0000000
	guestTables = 0x200000
)

// fakeMMU records the calls and models a TLB: the test "CPU" caches shadow
// translations (cache), and the recorded flushes must evict every one that
// changed (see checkCoherent).
type fakeMMU struct {
	calls []string
	root  uint32
	tlb   map[uint32]uint64 // virtual page -> shadow PTE the CPU cached
	// readPDPT, if set, loads the PAE PDPTEs at SetRoot, as hardware does.
	readPDPT func(cr3 uint32) [4]uint64
	pdpt     [4]uint64
}

func (f *fakeMMU) SetRoot(cr3 uint32) {
	f.calls = append(f.calls, fmt.Sprintf("root %#x", cr3))
	f.root = cr3
	clear(f.tlb)
	if f.readPDPT != nil {
		f.pdpt = f.readPDPT(cr3)
	}
}

func (f *fakeMMU) FlushTLB() {
	f.calls = append(f.calls, "flush")
	clear(f.tlb)
}

func (f *fakeMMU) FlushTLBPage(va uint32) {
	f.calls = append(f.calls, fmt.Sprintf("page %#x", va))
	delete(f.tlb, va&pageMask)
}

func (f *fakeMMU) has(call string) bool { return slices.Contains(f.calls, call) }
func (f *fakeMMU) reset()               { f.calls = nil }

type env struct {
	t       testing.TB
	m       *mem.Phys
	tb      *Tables
	mmu     *fakeMMU
	kills   []string
	changes []Change
	pae     bool
	sw      [3]uint32
	next    uint32 // next free guest page for test page tables
}

func modeName(pae bool) string {
	if pae {
		return "pae"
	}
	return "nonpae"
}

func newEnv(t testing.TB, pae bool, seed uint64) *env {
	t.Helper()
	m, err := mem.New(guestBytes, poolPages)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, m: m, pae: pae, mmu: &fakeMMU{tlb: map[uint32]uint64{}}, next: guestTables}
	for i := range e.sw {
		pa, ok := m.AllocPage()
		if !ok {
			t.Fatal("no pool page for the Switcher")
		}
		e.sw[i] = pa
	}
	e.tb, err = New(Config{
		Mem:           m,
		PAE:           pae,
		SwitcherPages: e.sw,
		MMU:           e.mmu,
		Kill:          func(r string) { e.kills = append(e.kills, r) },
		OnChange:      func(c Change) { e.changes = append(e.changes, c) },
		Seed:          seed,
	})
	if err != nil {
		t.Fatal(err)
	}
	if pae {
		e.mmu.readPDPT = func(cr3 uint32) (p [4]uint64) {
			for i := range p {
				p[i], _ = m.Read64(cr3 + uint32(i)*8)
			}
			return p
		}
		e.mmu.SetRoot(e.tb.CR3())
		e.mmu.reset()
	}
	return e
}

func (e *env) esz() uint32 {
	if e.pae {
		return 8
	}
	return 4
}

func (e *env) gpage() uint32 {
	p := e.next
	e.next += pageSize
	if e.next > guestBytes {
		e.t.Fatal("test ran out of guest pages")
	}
	e.m.WriteBytes(p, make([]byte, pageSize))
	return p
}

func (e *env) gr(addr uint32) uint64 {
	if e.pae {
		v, _ := e.m.Read64(addr)
		return v
	}
	v, _ := e.m.Read32(addr)
	return uint64(v)
}

func (e *env) gw(addr uint32, v uint64) {
	if e.pae {
		e.m.Write64(addr, v)
	} else {
		e.m.Write32(addr, uint32(v))
	}
}

func (e *env) pgdShift() uint32 {
	if e.pae {
		return 30
	}
	return 22
}

// pgdAddr is the guest top-level entry address for va.
func (e *env) pgdAddr(gpgdir, va uint32) uint32 { return gpgdir + (va>>e.pgdShift())*e.esz() }

// pteAddr creates missing upper levels (P|RW|US|A|D, PAE PDPT: P) and
// returns the guest PTE address for va.
func (e *env) pteAddr(gpgdir, va uint32) uint32 {
	pgdA := e.pgdAddr(gpgdir, va)
	upper := e.gr(pgdA)
	if upper&flagP == 0 {
		if e.pae {
			upper = uint64(e.gpage()) | flagP
		} else {
			upper = uint64(e.gpage()) | pageTable
		}
		e.gw(pgdA, upper)
	}
	if e.pae {
		pmdA := uint32(upper&pageMask) + (va>>21&511)*8
		pmd := e.gr(pmdA)
		if pmd&flagP == 0 {
			pmd = uint64(e.gpage()) | pageTable
			e.gw(pmdA, pmd)
		}
		return uint32(pmd&pageMask) + (va>>12&511)*8
	}
	return uint32(upper&pageMask) + (va>>12&1023)*4
}

// mapPage writes a guest PTE and returns its address.
func (e *env) mapPage(gpgdir, va, pa uint32, flags uint64) uint32 {
	a := e.pteAddr(gpgdir, va)
	e.gw(a, uint64(pa)|flags)
	return a
}

// newGuestPgdir makes a guest top-level table whose kernel part (>= 3 GiB)
// is shared with from, as Linux shares it (0 = none).
func (e *env) newGuestPgdir(from uint32) uint32 {
	p := e.gpage()
	if from != 0 {
		for idx := uint32(kernelBase >> e.pgdShift()); idx < 4096/e.esz() && idx < (1<<(32-e.pgdShift())); idx++ {
			e.gw(p+idx*e.esz(), e.gr(from+idx*e.esz()))
		}
	}
	return p
}

// toPaging does LGUEST_INIT (kernel_address 3 GiB, clear_all) and the first
// NEW_PGTABLE to a fresh guest table that maps kernel page 0xC0100000 -> 0x100000.
func (e *env) toPaging() uint32 {
	e.tb.SetKernelAddress(kernelBase)
	e.tb.ClearAll()
	g := e.newGuestPgdir(0)
	e.mapPage(g, kernelBase+0x100000, 0x100000, 0x163)
	e.tb.NewPagetable(g)
	e.noKills()
	return g
}

func (e *env) noKills() {
	e.t.Helper()
	if len(e.kills) != 0 {
		e.t.Fatalf("unexpected kills: %q", e.kills)
	}
}

func (e *env) wantKill(reason string) {
	e.t.Helper()
	if len(e.kills) == 0 || e.kills[0] != reason {
		e.t.Fatalf("kills = %q, want first %q", e.kills, reason)
	}
}

// spte is the shadow PTE of va in slot s (0 if no PTE page).
func (e *env) spte(s int, va uint32) uint64 {
	w := e.tb.WalkShadow(s, va)
	if n := len(w.Levels); n > 0 && w.Levels[n-1].Kind == LevelPTE {
		return w.Levels[n-1].Raw
	}
	return 0
}

// spgd is the shadow top-level entry of va in slot s.
func (e *env) spgd(s int, va uint32) uint64 {
	w := e.tb.WalkShadow(s, va)
	if len(w.Levels) == 0 {
		return 0
	}
	return w.Levels[0].Raw
}

// slotOf is the slot shadowing gpgdir, or -1.
func (e *env) slotOf(gpgdir uint32) int {
	for _, s := range e.tb.Slots() {
		if s.Allocated && s.GPgdir == gpgdir {
			return s.Index
		}
	}
	return -1
}

// cache has the test CPU cache the current translation of va, as a TLB.
func (e *env) cache(va uint32) {
	if pte := e.spte(e.tb.CurrentSlot(), va); pte&flagP != 0 {
		e.mmu.tlb[va&pageMask] = pte
	}
}

// checkCoherent fails if the CPU's root or any cached translation differs
// from the current shadow tables.
func (e *env) checkCoherent(op string) {
	e.t.Helper()
	if e.mmu.root != e.tb.CR3() {
		e.t.Fatalf("after %s: CPU root %#x, shadow CR3 %#x", op, e.mmu.root, e.tb.CR3())
	}
	if e.pae {
		for i, c := range e.mmu.pdpt {
			if now, _ := e.m.Read64(e.tb.CR3() + uint32(i)*8); now != c {
				e.t.Fatalf("after %s: stale PDPTE %d: CPU %#x, shadow %#x", op, i, c, now)
			}
		}
	}
	for va, pte := range e.mmu.tlb {
		if now := e.spte(e.tb.CurrentSlot(), va); now != pte {
			e.t.Fatalf("after %s: stale TLB for %#x: cached %#x, shadow %#x", op, va, pte, now)
		}
	}
}

func TestCx(t *testing.T) {
	for _, c := range []struct {
		v    uint32
		want string
	}{{0, "0"}, {1, "0x1"}, {0xc0401fff, "0xc0401fff"}} {
		if got := cx(c.v); got != c.want {
			t.Errorf("cx(%#x) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	m, err := mem.New(guestBytes, 8)
	if err != nil {
		t.Fatal(err)
	}
	var sw [3]uint32
	for i := range sw {
		sw[i], _ = m.AllocPage()
	}
	kill := func(string) {}
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no mem", Config{Kill: kill, SwitcherPages: sw}, "Mem is nil"},
		{"no kill", Config{Mem: m, SwitcherPages: sw}, "Kill is nil"},
		{"unaligned switcher", Config{Mem: m, Kill: kill, SwitcherPages: sw, SwitcherAddr: 0xFFC00800}, "not page-aligned"},
		{"switcher too high", Config{Mem: m, Kill: kill, SwitcherPages: sw, SwitcherAddr: 0xFFFFE000}, "no room"},
		{"switcher over guest memory", Config{Mem: m, Kill: kill, SwitcherPages: sw, SwitcherAddr: 0x1000}, "below the end of guest memory"},
		{"switcher page in guest memory", Config{Mem: m, Kill: kill, SwitcherPages: [3]uint32{0x1000, sw[1], sw[2]}}, "Switcher page 0"},
		{"switcher page unaligned", Config{Mem: m, Kill: kill, SwitcherPages: [3]uint32{sw[0], sw[1] + 4, sw[2]}}, "Switcher page 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New: err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestNewOutOfPool(t *testing.T) {
	for _, pae := range []bool{false, true} {
		t.Run(modeName(pae), func(t *testing.T) {
			// 3 Switcher pages + 1 free: the top level fits, the
			// Switcher's PTE page does not.
			m, _ := mem.New(guestBytes, 4)
			var sw [3]uint32
			for i := range sw {
				sw[i], _ = m.AllocPage()
			}
			_, err := New(Config{Mem: m, PAE: pae, SwitcherPages: sw, Kill: func(string) {}})
			if err == nil || !strings.Contains(err.Error(), "Switcher mapping") {
				t.Fatalf("err = %v", err)
			}
			if m.PoolInUse() != 3 {
				t.Fatalf("pool in use after failed New = %d, want 3 (leak)", m.PoolInUse())
			}
			m2, _ := mem.New(guestBytes, 3)
			for i := range sw {
				sw[i], _ = m2.AllocPage()
			}
			_, err = New(Config{Mem: m2, PAE: pae, SwitcherPages: sw, Kill: func(string) {}})
			if err == nil || !strings.Contains(err.Error(), "first shadow page directory") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// flagsOf decodes a walked entry's flags as the front ends show them.
func flagsOf(l Level, pae bool) string { return hcall.EntryFlags(l.Raw, l.Kind == LevelPTE, pae) }
