package pgtable

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestPinStackPages(t *testing.T) {
	const esp1 = kernelBase + 0x3FE000
	cases := []struct {
		name  string
		pages uint32
		// map0/map1: guest PTE flags of the pages below esp1 (0 = unmapped)
		map0, map1 uint64
		kill       string
		want0      uint64 // shadow flags of esp1-1 afterwards
	}{
		{"two writable pages", 2, 0x103, 0x103, "", 0x063},
		{"zero pages pins nothing", 0, 0x103, 0x103, "", 0},
		{"unmapped first page", 1, 0, 0x103, "bad stack page 0xc03fdfff", 0},
		{"read-only second page", 2, 0x103, 0x101, "bad stack page 0xc03fcfff", 0x063},
		{"user-only page is fine", 1, 0x107, 0, "", 0x067},
	}
	for _, pae := range []bool{false, true} {
		for _, c := range cases {
			t.Run(modeName(pae)+"/"+c.name, func(t *testing.T) {
				e := newEnv(t, pae, 3)
				g := e.toPaging()
				if c.map0 != 0 {
					e.mapPage(g, esp1-pageSize, 0x3FD000, c.map0)
				}
				if c.map1 != 0 {
					e.mapPage(g, esp1-2*pageSize, 0x3FC000, c.map1)
				}
				e.tb.SetStack(esp1, c.pages)
				e.tb.PinStackPages()
				if c.kill == "" {
					e.noKills()
				} else {
					e.wantKill(c.kill)
				}
				if got := e.spte(e.tb.CurrentSlot(), esp1-1) &^ pageMask; got != c.want0 {
					t.Fatalf("stack page shadow flags %#x, want %#x", got, c.want0)
				}
			})
		}
	}
	t.Run("already writable: no demand_page", func(t *testing.T) {
		e := newEnv(t, false, 3)
		g := e.toPaging()
		pte := e.mapPage(g, esp1-pageSize, 0x3FD000, 0x103)
		e.tb.SetStack(esp1, 1)
		e.tb.PinStackPages()
		e.gw(pte, 0x3FD000|0x103) // the Guest clears A/D without telling
		e.changes = nil
		e.tb.PinStackPages()
		if e.gr(pte) != 0x3FD000|0x103 || len(e.changes) != 0 {
			t.Fatalf("pin re-faulted a writable page: gpte %#x, changes %v", e.gr(pte), e.changes)
		}
	})
	t.Run("linear mode pins 1:1", func(t *testing.T) {
		e := newEnv(t, true, 3)
		e.tb.SetStack(0x3000, 2)
		e.tb.PinStackPages()
		e.noKills()
		if !e.tb.PageWritable(0x2FFF) || !e.tb.PageWritable(0x1FFF) || e.tb.PageWritable(0x3000) {
			t.Fatal("linear stack not pinned")
		}
	})
	t.Run("huge page count after bad stack pages", func(t *testing.T) {
		// SET_STACK kills "bad stack pages" but stores the count; pinning
		// stops after the 2 pages SET_STACK could have accepted.
		e := newEnv(t, false, 3)
		e.tb.SetStack(0x3000, 0xFFFFFFFF)
		e.tb.PinStackPages()
		e.noKills()
		if !e.tb.PageWritable(0x2FFF) || !e.tb.PageWritable(0x1FFF) || e.tb.PageWritable(0xFFF) {
			t.Fatal("want exactly 2 pages pinned")
		}
	})
}

func TestGuestPA(t *testing.T) {
	const va = 0x08048123
	for _, pae := range []bool{false, true} {
		cases := []struct {
			name  string
			setup func(e *env, g uint32)
			want  uint32
			kill  string
		}{
			{"mapped", func(e *env, g uint32) { e.mapPage(g, va, 0x345000, 0x005) }, 0x345123, ""},
			{"no permission or pfn checks", func(e *env, g uint32) { e.mapPage(g, va, 0x7FF000, 0x081) }, 0x7FF123, ""},
			{"pte not present still computed", func(e *env, g uint32) { e.mapPage(g, va, 0x345000, 0x006) }, 0x345123, "Bad address 0x8048123"},
			{"top level not present", func(*env, uint32) {}, 0xFFFFFFFF, "Bad address 0x8048123"},
		}
		if pae {
			cases = append(cases, struct {
				name  string
				setup func(e *env, g uint32)
				want  uint32
				kill  string
			}{"pmd not present", func(e *env, g uint32) {
				e.gw(e.pgdAddr(g, va), uint64(e.gpage())|flagP)
			}, 0xFFFFFFFF, "Bad address 0x8048123"})
		}
		for _, c := range cases {
			t.Run(modeName(pae)+"/"+c.name, func(t *testing.T) {
				e := newEnv(t, pae, 3)
				g := e.toPaging()
				c.setup(e, g)
				// 4.x's __guest_pa: the same address where GuestPA
				// succeeds, a failure (and no kill) where it kills.
				pa, ok := e.tb.TryGuestPA(va)
				if ok != (c.kill == "") || ok && pa != c.want {
					t.Fatalf("TryGuestPA = %#x, %v; want %#x, %v", pa, ok, c.want, c.kill == "")
				}
				e.noKills()
				if got := e.tb.GuestPA(va); got != c.want {
					t.Fatalf("GuestPA = %#x, want %#x", got, c.want)
				}
				if c.kill == "" {
					e.noKills()
				} else {
					e.wantKill(c.kill)
				}
			})
		}
	}
}

func TestWalks(t *testing.T) {
	for _, pae := range []bool{false, true} {
		t.Run(modeName(pae)+"/linear", func(t *testing.T) {
			e := newEnv(t, pae, 3)
			w := e.tb.WalkGuest(0x12345, 0x00203456)
			n := 2
			if pae {
				n = 3
			}
			if !w.Linear || !w.Mapped || w.PA != 0x00203456 || len(w.Levels) != n {
				t.Fatalf("linear walk %+v", w)
			}
			if top := w.Levels[0]; (pae && top.Raw != flagP) || (!pae && top.Raw != pageTable) {
				t.Fatalf("fake top %#x", top.Raw)
			}
			if pte := w.Levels[n-1]; pte.Raw != 0x00203003 || flagsOf(pte, pae) != "P RW" || pte.Kind != LevelPTE {
				t.Fatalf("fake pte %+v", pte)
			}
			if w := e.tb.WalkGuest(0, guestBytes); w.Mapped || w.End != EndBeyondPfnLimit || w.Note() == "" {
				t.Fatalf("walk beyond pfn_limit %+v", w)
			}
			if w := e.tb.WalkGuest(0, DefaultSwitcherAddr); w.Mapped || len(w.Levels) != 0 || w.End != EndNotWalked || !w.Switcher {
				t.Fatalf("linear walk of the Switcher %+v", w)
			}
			// Nothing was faulted in by walking.
			if e.spte(e.tb.CurrentSlot(), 0x00203456) != 0 {
				t.Fatal("walk changed the shadow")
			}
		})
		t.Run(modeName(pae)+"/guest and shadow", func(t *testing.T) {
			e := newEnv(t, pae, 3)
			g := e.toPaging()
			const va = 0x08048abc
			pteA := e.mapPage(g, va, 0x345000, 0x007)
			w := e.tb.WalkGuest(g, va)
			last := w.Levels[len(w.Levels)-1]
			if w.Linear || !w.Mapped || w.PA != 0x345abc || last.EntryAddr != pteA || flagsOf(last, pae) != "P RW US" {
				t.Fatalf("guest walk %+v", w)
			}
			if w.Levels[0].EntryAddr != e.pgdAddr(g, va) {
				t.Fatalf("pgd entry address %#x", w.Levels[0].EntryAddr)
			}
			if e.gr(pteA) != 0x345007 {
				t.Fatal("walk wrote A/D")
			}
			if s := e.tb.WalkShadow(e.tb.CurrentSlot(), va); s.Mapped || s.End != EndNotPresent || s.Note() != s.EndLevel.String()+" not present" {
				t.Fatalf("shadow walk before the fault %+v", s)
			}
			e.tb.DemandPage(va, 6)
			s := e.tb.WalkShadow(e.tb.CurrentSlot(), va)
			sl := s.Levels[len(s.Levels)-1]
			if !s.Mapped || s.PA != 0x345abc || flagsOf(sl, pae) != "P RW US A D" || sl.EntryAddr < guestBytes {
				t.Fatalf("shadow walk %+v", s)
			}
			if s.Levels[0].EntryAddr != e.tb.CR3()+(va>>e.pgdShift())*e.esz() {
				t.Fatalf("shadow pgd entry address %#x", s.Levels[0].EntryAddr)
			}
		})
		t.Run(modeName(pae)+"/bad entries are notes, not kills", func(t *testing.T) {
			e := newEnv(t, pae, 3)
			g := e.toPaging()
			e.mapPage(g, 0x1000, 0x2000, 0x087)
			e.mapPage(g, 0x2000, guestBytes, 0x003)
			for _, c := range []struct {
				gpgdir, va uint32
				end        WalkEnd // -1: any end but EndMapped
				note       string
			}{
				{g, 0x1000, EndBadEntry, "a fault here kills the Guest: bad page table entry"}, // PSE in a PTE
				{g, 0x2000, EndBadEntry, "a fault here kills the Guest: bad page table entry"}, // beyond pfn_limit
				{g, 0x40000000, -1, ""},
				{guestBytes - 4, 0x1000, -1, ""},
				{g, DefaultSwitcherAddr, -1, ""},
			} {
				w := e.tb.WalkGuest(c.gpgdir, c.va)
				if w.Mapped || w.Note() == "" || c.end >= 0 && w.End != c.end || c.end < 0 && w.End == EndMapped && !w.Switcher {
					t.Fatalf("walk(%#x, %#x) = %+v (%s)", c.gpgdir, c.va, w, w.Note())
				}
				if c.note != "" && w.Note() != c.note {
					t.Errorf("walk(%#x, %#x) note %q, want %q", c.gpgdir, c.va, w.Note(), c.note)
				}
			}
			for _, s := range []int{-1, NumSlots} {
				if w := e.tb.WalkShadow(s, 0); w.End != EndNoSlot || w.Note() != fmt.Sprintf("no slot %d (there are %d)", s, NumSlots) || len(w.Levels) != 0 {
					t.Fatalf("WalkShadow(%d) = %+v", s, w)
				}
			}
			e.noKills()
		})
	}
}

func TestChangeEvents(t *testing.T) {
	e := newEnv(t, false, 3)
	g := e.toPaging()
	for i := range uint32(600) {
		e.mapPage(g, 0x10000000+i*pageSize, 0x100000, 0x003)
	}
	e.changes = nil
	for i := range uint32(600) {
		e.tb.DemandPage(0x10000000+i*pageSize, 0)
	}
	faults := len(e.changes)
	if faults != 601 { // one pte each plus one new PTE page
		t.Fatalf("%d changes for 600 faults", faults)
	}
	if c := e.changes[0]; c.Level != LevelPGD || c.Index != 0x40 || c.VAddr != 0x10000000 || c.Why != "demand_page" || c.Old != 0 {
		t.Fatalf("first change %+v", c)
	}
	e.changes = nil
	e.tb.FlushUser()
	// One event for the whole released PTE page, not 600.
	if len(e.changes) != 1 || e.changes[0].Level != LevelPGD || e.changes[0].New != 0 || e.changes[0].Why != "flush_tlb(0)" {
		t.Fatalf("flush changes %+v", e.changes)
	}
}

func TestFreeReturnsEveryPage(t *testing.T) {
	for _, pae := range []bool{false, true} {
		e := newEnv(t, pae, 3)
		master := e.toPaging()
		for i := range 6 {
			g := e.newGuestPgdir(master)
			e.mapPage(g, uint32(i)<<22, 0x1000, 0x003)
			e.tb.NewPagetable(g)
			e.tb.DemandPage(uint32(i)<<22, 2)
			e.tb.DemandPage(kernelBase+0x100000, 0)
		}
		e.tb.Free()
		if e.m.PoolInUse() != 3 {
			t.Fatalf("%s: %d pool pages in use after Free, want the 3 Switcher pages", modeName(pae), e.m.PoolInUse())
		}
	}
}

// TestTLBCoherence runs random operations while the test CPU caches
// translations, and checks after each one that no cached translation is
// stale and the CPU's root is the current slot.
func TestTLBCoherence(t *testing.T) {
	for _, pae := range []bool{false, true} {
		t.Run(modeName(pae), func(t *testing.T) {
			e := newEnv(t, pae, 8)
			master := e.toPaging()
			vas := []uint32{0x1000, 0x2000, 0x00401000, 0x40000000, 0x08048000, kernelBase + 0x100000, kernelBase + 0x101000, kernelBase + 0x3FD000}
			var gs []uint32
			for i := range 6 {
				g := e.newGuestPgdir(master)
				for j, va := range vas[:5] {
					e.mapPage(g, va, uint32(0x300000+(i*8+j)*pageSize), 0x007)
				}
				gs = append(gs, g)
			}
			e.mapPage(master, kernelBase+0x101000, 0x101000, 0x163)
			e.mapPage(master, kernelBase+0x3FD000, 0x3FD000, 0x163)
			e.tb.SetStack(kernelBase+0x3FE000, 1)
			r := rand.New(rand.NewPCG(1, 2))
			for step := range 3000 {
				va := vas[r.IntN(len(vas))]
				var op string
				switch k := r.IntN(10); k {
				case 0, 1, 2, 3:
					ec := uint32(r.IntN(8))
					op = fmt.Sprintf("DemandPage(%#x,%d)", va, ec)
					e.tb.DemandPage(va, ec)
				case 4:
					g := gs[r.IntN(len(gs))]
					op = fmt.Sprintf("NewPagetable(%#x)", g)
					e.tb.NewPagetable(g)
				case 5:
					g := gs[r.IntN(len(gs))]
					v := uint64(0x300000+r.IntN(64)*pageSize) | []uint64{0, 0x007, 0x027, 0x067}[r.IntN(4)]
					op = fmt.Sprintf("SetPTE(%#x,%#x,%#x)", g, va, v)
					e.tb.SetPTE(g, va, v)
				case 6:
					g := gs[r.IntN(len(gs))]
					idx := va >> e.pgdShift()
					op = fmt.Sprintf("SetPGD(%#x,%d)", g, idx)
					e.tb.SetPGD(g, idx)
				case 7:
					op = "FlushUser"
					e.tb.FlushUser()
				case 8:
					op = "ClearAll"
					e.tb.ClearAll()
				case 9:
					op = "PinStackPages"
					e.tb.PinStackPages()
				}
				e.checkCoherent(fmt.Sprintf("step %d %s", step, op))
				for _, v := range vas {
					e.cache(v)
				}
			}
			e.noKills()
		})
	}
}

// countMMU is a cheap MMU for the benchmark: the recording fakeMMU would
// dominate the cost it measures.
type countMMU struct{ roots, flushes, pages int }

func (c *countMMU) SetRoot(uint32)      { c.roots++ }
func (c *countMMU) FlushTLB()           { c.flushes++ }
func (c *countMMU) FlushTLBPage(uint32) { c.pages++ }

// benchEnv is newEnv with the counting MMU and no Change subscriber.
func benchEnv(b *testing.B, pae bool) (*env, *countMMU) {
	e := newEnv(b, pae, 1)
	mmu := &countMMU{}
	var err error
	e.tb.Free()
	e.tb, err = New(Config{Mem: e.m, PAE: pae, SwitcherPages: e.sw, MMU: mmu,
		Kill: func(r string) { b.Fatalf("killed: %s", r) }, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	return e, mmu
}

func BenchmarkDemandPage(b *testing.B) {
	for _, pae := range []bool{false, true} {
		b.Run(modeName(pae)+"/guest tables", func(b *testing.B) {
			e, mmu := benchEnv(b, pae)
			g := e.toPaging()
			const n = 1024
			for i := range uint32(n) {
				e.mapPage(g, 0x08000000+i*pageSize, 0x100000+i%256*pageSize, 0x007)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Alternate read and write faults over 4 MiB: every call
				// walks the Guest, writes A/D back and replaces the spte.
				if !e.tb.DemandPage(0x08000000+uint32(i%n)*pageSize, uint32(i&2)) {
					b.Fatal("fault not fixed")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/fault")
			if mmu.pages < b.N {
				b.Fatalf("%d page flushes for %d faults", mmu.pages, b.N)
			}
		})
		b.Run(modeName(pae)+"/linear", func(b *testing.B) {
			e, _ := benchEnv(b, pae)
			const n = 1000
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !e.tb.DemandPage(uint32(i%n)*pageSize, uint32(i&2)) {
					b.Fatal("fault not fixed")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/fault")
		})
	}
}
