package pgtable

import (
	"fmt"
	"testing"
)

func allocatedSlots(e *env) int {
	n := 0
	for _, s := range e.tb.Slots() {
		if s.Allocated {
			n++
		}
	}
	return n
}

// TestTransition covers the end of linear_pages (spec §7.8): INIT's
// clear_all keeps linear mode, the first NEW_PGTABLE releases everything,
// clears the flag and takes a slot through new_pgdir even though gpa 0 is
// cached (the boot slot shadows gpa 0).
func TestTransition(t *testing.T) {
	for _, pae := range []bool{false, true} {
		t.Run(modeName(pae), func(t *testing.T) {
			// Find seeds for which the first NEW_PGTABLE's eviction picks a
			// slot other than the boot slot, so "fresh slot" is visible.
			checked := 0
			for seed := uint64(0); seed < 16; seed++ {
				e := newEnv(t, pae, seed)
				boot := e.tb.CurrentSlot()
				if !e.tb.LinearPages() || allocatedSlots(e) != 1 || e.slotOf(0) != boot {
					t.Fatalf("after New: linear %v, slots %+v", e.tb.LinearPages(), e.tb.Slots())
				}
				if e.mmu.root != e.tb.CR3() || e.tb.CR3() != e.tb.Slots()[boot].ShadowRoot {
					t.Fatalf("CPU root %#x, CR3 %#x", e.mmu.root, e.tb.CR3())
				}
				for _, va := range []uint32{0x1000, 0x100000, 0x3FF000} {
					if !e.tb.DemandPage(va, 2) {
						t.Fatalf("linear fault at %#x", va)
					}
				}
				// LGUEST_INIT: kernel_address, clear_all; linear stays.
				e.tb.SetKernelAddress(kernelBase)
				e.tb.SetStack(0x3FE000, 1)
				e.tb.ClearAll()
				if !e.tb.LinearPages() {
					t.Fatal("clear_all ended linear_pages")
				}
				if e.spte(boot, 0x1000) != 0 || e.spte(boot, 0x100000) != 0 {
					t.Fatal("clear_all kept linear mappings")
				}
				if e.spte(boot, 0x3FD000) != 0x3FD000|0x063 {
					t.Fatalf("clear_all did not re-pin the stack: %#x", e.spte(boot, 0x3FD000))
				}
				e.tb.DemandPage(0x2000, 0)

				// Gpa 0 holds no page table (all zero): no stack to pin.
				e.tb.SetStack(0, 0)
				inUse := e.m.PoolInUse()
				e.mmu.reset()
				e.changes = nil
				e.tb.NewPagetable(0) // a cached gpa: still a new_pgdir
				e.noKills()
				if e.tb.LinearPages() {
					t.Fatal("NEW_PGTABLE kept linear_pages")
				}
				// Every linear mapping is gone, in every slot.
				for _, s := range e.tb.Slots() {
					if s.Allocated && (e.spgd(s.Index, 0x2000) != 0 || e.spgd(s.Index, 0x3FD000) != 0) {
						t.Fatalf("slot %d kept a linear mapping", s.Index)
					}
				}
				if !e.mmu.has(fmt.Sprintf("root %#x", e.tb.CR3())) {
					t.Fatalf("no SetRoot to the new slot: %q", e.mmu.calls)
				}
				var sawLinearOff bool
				for _, c := range e.changes {
					sawLinearOff = sawLinearOff || c.Why == "linear_pages off"
				}
				if !sawLinearOff {
					t.Fatalf("no Change with Why \"linear_pages off\": %+v", e.changes)
				}
				if e.tb.CurrentSlot() == boot {
					// The eviction picked the boot slot again: legal,
					// but it shows nothing about freshness.
					continue
				}
				checked++
				if allocatedSlots(e) != 2 || e.m.PoolInUse() <= inUse-3 {
					t.Fatalf("no fresh slot: %+v", e.tb.Slots())
				}
				// The boot slot still caches gpa 0, yet it was not reused.
				if e.tb.Slots()[boot].GPgdir != 0 || !e.tb.Slots()[boot].Allocated {
					t.Fatalf("boot slot changed: %+v", e.tb.Slots()[boot])
				}
				// A second NEW_PGTABLE(0) is an ordinary cache hit, and
				// find_pgdir returns the first slot shadowing 0.
				first := min(boot, e.tb.CurrentSlot())
				e.tb.NewPagetable(0)
				if e.tb.CurrentSlot() != first || allocatedSlots(e) != 2 {
					t.Fatalf("second NEW_PGTABLE(0) missed the cache: %+v", e.tb.Slots())
				}
			}
			if checked == 0 {
				t.Fatal("no seed in 0..15 evicted a slot other than the boot slot")
			}
		})
	}
}

// TestFreshSlotPinsStack: a NEW_PGTABLE that allocates a blank slot pins
// the stack through the Guest's tables; one that evicts an allocated slot
// does not (new_pgdir's blank flag, spec §7.7-7.8).
func TestFreshSlotPinsStack(t *testing.T) {
	for _, pae := range []bool{false, true} {
		t.Run(modeName(pae), func(t *testing.T) {
			fresh, reused := 0, 0
			for seed := uint64(0); seed < 16; seed++ {
				e := newEnv(t, pae, seed)
				e.tb.SetKernelAddress(kernelBase)
				e.tb.ClearAll()
				g := e.newGuestPgdir(0)
				const esp1 = kernelBase + 0x3FE000
				st0 := e.mapPage(g, esp1-pageSize, 0x3FD000, 0x103)
				st1 := e.mapPage(g, esp1-2*pageSize, 0x3FC000, 0x163)
				e.tb.SetStack(esp1, 2)
				e.tb.NewPagetable(g)
				e.noKills()
				s := e.tb.CurrentSlot()
				if allocatedSlots(e) == 1 {
					reused++
					if e.spte(s, esp1-1) != 0 || e.gr(st0) != 0x3FD000|0x103 {
						t.Fatal("stack pinned into a reused slot")
					}
					continue
				}
				fresh++
				if e.spte(s, esp1-1) != 0x3FD000|0x063 || e.spte(s, esp1-1-pageSize) != 0x3FC000|0x063 {
					t.Fatalf("stack not pinned: %#x %#x", e.spte(s, esp1-1), e.spte(s, esp1-1-pageSize))
				}
				if e.gr(st0) != 0x3FD000|0x163 || e.gr(st1) != 0x3FC000|0x163 {
					t.Fatalf("stack PTEs not marked A/D: %#x %#x", e.gr(st0), e.gr(st1))
				}
			}
			if fresh == 0 || reused == 0 {
				t.Fatalf("seeds 0..15: %d fresh, %d reused; want both", fresh, reused)
			}
		})
	}
}

// TestPgdirCache switches among 7 guest page tables (spec §7.7): hits reuse
// the slot with its user mappings; misses evict a random slot, dropping its
// user mappings and keeping the shared kernel ones.
func TestPgdirCache(t *testing.T) {
	for _, pae := range []bool{false, true} {
		t.Run(modeName(pae), func(t *testing.T) {
			e := newEnv(t, pae, 42)
			master := e.toPaging()
			const userVA, kernVA = 0x08048000, kernelBase + 0x100000
			var gs []uint32
			for i := range 7 {
				g := e.newGuestPgdir(master)
				e.mapPage(g, userVA, uint32(0x300000+i*pageSize), 0x067)
				gs = append(gs, g)
			}
			evictions, hits := 0, 0
			for round := range 4 {
				for i, g := range gs {
					before := e.tb.Slots()
					var hadKern [NumSlots]bool
					for _, s := range before {
						hadKern[s.Index] = s.Allocated && e.spte(s.Index, kernVA)&flagP != 0
					}
					prevOwner := -1
					for _, s := range before {
						if s.Allocated && s.GPgdir == g {
							prevOwner = s.Index
						}
					}
					e.mmu.reset()
					e.tb.NewPagetable(g)
					cur := e.tb.CurrentSlot()
					if !e.mmu.has(fmt.Sprintf("root %#x", e.tb.CR3())) {
						t.Fatalf("no SetRoot: %q", e.mmu.calls)
					}
					if got := e.tb.Slots()[cur].GPgdir; got != g {
						t.Fatalf("current slot shadows %#x, want %#x", got, g)
					}
					if prevOwner >= 0 {
						hits++
						if cur != prevOwner {
							t.Fatalf("cache hit went to slot %d, cached in %d", cur, prevOwner)
						}
						if e.spte(cur, userVA)&flagP == 0 {
							t.Fatal("cache hit lost the user mapping")
						}
					} else if before[cur].Allocated {
						evictions++
						if e.spgd(cur, userVA) != 0 {
							t.Fatalf("evicted slot %d kept user mappings of %#x", cur, before[cur].GPgdir)
						}
						if hadKern[cur] && e.spte(cur, kernVA)&flagP == 0 {
							t.Fatalf("evicted slot %d lost kernel mappings", cur)
						}
					}
					if !e.tb.DemandPage(userVA, 6) || !e.tb.DemandPage(kernVA, 0) {
						t.Fatalf("round %d table %d: faults not fixed", round, i)
					}
					if e.spte(cur, userVA) != uint64(0x300000+i*pageSize)|0x067 {
						t.Fatalf("user mapping of table %d: %#x", i, e.spte(cur, userVA))
					}
					if allocatedSlots(e) > NumSlots {
						t.Fatal("more than 4 slots")
					}
				}
			}
			e.noKills()
			if evictions == 0 || hits == 0 {
				t.Fatalf("evictions %d, hits %d: the scenario did not exercise both", evictions, hits)
			}
			if allocatedSlots(e) != NumSlots {
				t.Fatalf("%d slots allocated after 28 switches", allocatedSlots(e))
			}
		})
	}
}

// TestEvictionDeterministic: the same Seed gives the same slot sequence.
func TestEvictionDeterministic(t *testing.T) {
	run := func(seed uint64) []int {
		e := newEnv(t, false, seed)
		master := e.toPaging()
		var seq []int
		for range 12 {
			e.tb.NewPagetable(e.newGuestPgdir(master))
			seq = append(seq, e.tb.CurrentSlot())
		}
		return seq
	}
	a, b := run(99), run(99)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, different slots: %v vs %v", a, b)
	}
	differs := false
	for seed := uint64(100); seed < 110 && !differs; seed++ {
		differs = fmt.Sprint(run(seed)) != fmt.Sprint(a)
	}
	if !differs {
		t.Fatal("ten other seeds all gave the same slot sequence")
	}
}

// twoSlots makes two cached guest tables sharing the kernel part, both with
// user va and kernel kva faulted in; it returns them with g2 current.
func twoSlots(t *testing.T, e *env, va, kva uint32) (g1, g2 uint32, s1, s2 int) {
	t.Helper()
	master := e.toPaging()
	e.mapPage(master, kva, 0x200000, 0x063)
	g1 = e.newGuestPgdir(master)
	g2 = e.newGuestPgdir(master)
	e.mapPage(g1, va, 0x301000, 0x067)
	e.mapPage(g2, va, 0x302000, 0x067)
	for range 50 {
		e.tb.NewPagetable(g1)
		e.tb.DemandPage(va, 2)
		e.tb.DemandPage(kva, 2)
		e.tb.NewPagetable(g2)
		e.tb.DemandPage(va, 2)
		e.tb.DemandPage(kva, 2)
		s1, s2 = e.slotOf(g1), e.slotOf(g2)
		if s1 >= 0 && s2 >= 0 && s1 != s2 && e.spte(s1, va) != 0 && e.spte(s1, kva) != 0 {
			e.noKills()
			return g1, g2, s1, s2
		}
	}
	t.Fatal("could not get two cached slots")
	return
}

func TestSetPTE(t *testing.T) {
	const va, kva = 0x08048000, kernelBase + 0x200000
	type tc struct {
		name     string
		gpgdir   func(g1, g2 uint32) uint32
		addr     uint32
		gpte     uint64
		want1    func(old uint64) uint64 // slot of g1 (not current)
		want2    func(old uint64) uint64 // slot of g2 (current)
		kill     string
		wantPage bool // FlushTLBPage(addr) expected
	}
	same := func(old uint64) uint64 { return old }
	val := func(v uint64) func(uint64) uint64 { return func(uint64) uint64 { return v } }
	cases := []tc{
		{"user clear current", func(_, g2 uint32) uint32 { return g2 }, va, 0, same, val(0), "", true},
		{"user clear other", func(g1, _ uint32) uint32 { return g1 }, va, 0, val(0), same, "", false},
		{"user uncached gpgdir", func(uint32, uint32) uint32 { return 0x3F0000 }, va, 0, same, same, "", false},
		{"user present not accessed -> 0", func(_, g2 uint32) uint32 { return g2 }, va, 0x305000 | 0x007, same, val(0), "", true},
		{"user dirty installed", func(_, g2 uint32) uint32 { return g2 }, va, 0x305000 | 0x067, same, val(0x305000 | 0x067), "", true},
		// Quirk 6: accessed, writable, clean -> writable shadow.
		{"quirk 6 accessed clean writable", func(_, g2 uint32) uint32 { return g2 }, va, 0x305000 | 0x027, same, val(0x305000 | 0x027), "", true},
		{"global stripped", func(_, g2 uint32) uint32 { return g2 }, va, 0x305000 | 0x163, same, val(0x305000 | 0x063), "", true},
		{"kernel to every slot", func(uint32, uint32) uint32 { return 0x3F0000 }, kva, 0x306000 | 0x163, val(0x306000 | 0x063), val(0x306000 | 0x063), "", true},
		{"kernel clear every slot", func(uint32, uint32) uint32 { return 0 }, kva, 0, val(0), val(0), "", true},
		{"PAT kills, shadow left", func(_, g2 uint32) uint32 { return g2 }, va, 0x305000 | 0x0A7, same, same, "bad page table entry", false},
		{"frame at pfn_limit kills", func(_, g2 uint32) uint32 { return g2 }, va, guestBytes | 0x027, same, same, "bad page table entry", false},
		{"not accessed beyond pfn_limit is just cleared", func(_, g2 uint32) uint32 { return g2 }, va, guestBytes | 0x007, same, val(0), "", true},
		{"no shadow PTE page: nothing", func(_, g2 uint32) uint32 { return g2 }, 0x40000000 - pageSize, 0x305000 | 0x067, same, same, "", false},
		{"Switcher kills", func(_, g2 uint32) uint32 { return g2 }, DefaultSwitcherAddr + pageSize, 0x305000 | 0x067, same, same, "attempt to set pte into Switcher pages", false},
	}
	for _, pae := range []bool{false, true} {
		for _, c := range cases {
			t.Run(modeName(pae)+"/"+c.name, func(t *testing.T) {
				e := newEnv(t, pae, 5)
				g1, g2, s1, s2 := twoSlots(t, e, va, kva)
				old1, old2 := e.spte(s1, c.addr), e.spte(s2, c.addr)
				inUse := e.m.PoolInUse()
				e.mmu.reset()
				e.tb.SetPTE(c.gpgdir(g1, g2), c.addr, c.gpte)
				if c.kill == "" {
					e.noKills()
				} else {
					e.wantKill(c.kill)
				}
				if got, want := e.spte(s1, c.addr), c.want1(old1); got != want {
					t.Fatalf("slot %d (other): shadow %#x, want %#x", s1, got, want)
				}
				if got, want := e.spte(s2, c.addr), c.want2(old2); got != want {
					t.Fatalf("slot %d (current): shadow %#x, want %#x", s2, got, want)
				}
				if got := e.mmu.has(fmt.Sprintf("page %#x", c.addr)); got != c.wantPage {
					t.Fatalf("FlushTLBPage(%#x) called = %v: %q", c.addr, got, e.mmu.calls)
				}
				if e.m.PoolInUse() != inUse {
					t.Fatal("SET_PTE allocated or freed shadow pages")
				}
			})
		}
	}
}

func TestSetPTENonPAETruncates(t *testing.T) {
	e := newEnv(t, false, 5)
	const va = 0x08048000
	g := e.toPaging()
	e.mapPage(g, va, 0x1000, 0x007)
	e.tb.DemandPage(va, 0)
	// arg4 (the high half) is only used with PAE.
	e.tb.SetPTE(g, va, 0xFFFFFFFF00000000|0x305000|0x067)
	if got := e.spte(e.tb.CurrentSlot(), va); got != 0x305067 {
		t.Fatalf("shadow %#x", got)
	}
	e.noKills()
}

func TestSetPGD(t *testing.T) {
	const va, kva = 0x08048000, kernelBase + 0x200000
	for _, pae := range []bool{false, true} {
		ptrs := uint32(1024)
		if pae {
			ptrs = 4
		}
		idxOf := func(a uint32) uint32 {
			if pae {
				return a >> 30
			}
			return a >> 22
		}
		t.Run(modeName(pae)+"/current", func(t *testing.T) {
			e := newEnv(t, pae, 5)
			_, g2, s1, s2 := twoSlots(t, e, va, kva)
			inUse := e.m.PoolInUse()
			e.mmu.reset()
			e.tb.SetPGD(g2, idxOf(va))
			e.noKills()
			if e.spgd(s2, va) != 0 || e.spte(s1, va) == 0 {
				t.Fatalf("current slot pgd %#x, other slot pte %#x", e.spgd(s2, va), e.spte(s1, va))
			}
			if e.m.PoolInUse() >= inUse {
				t.Fatal("released table not returned to the pool")
			}
			want := "flush"
			if pae {
				want = fmt.Sprintf("root %#x", e.tb.CR3()) // PDPTE changed
			}
			if !e.mmu.has(want) {
				t.Fatalf("want %q, got %q", want, e.mmu.calls)
			}
		})
		t.Run(modeName(pae)+"/other and uncached", func(t *testing.T) {
			e := newEnv(t, pae, 5)
			g1, _, s1, s2 := twoSlots(t, e, va, kva)
			e.mmu.reset()
			e.tb.SetPGD(0x3F0000, idxOf(va)) // not cached: nothing
			if e.spte(s1, va) == 0 || e.spte(s2, va) == 0 || len(e.mmu.calls) != 0 {
				t.Fatalf("uncached SET_PGD changed something: %q", e.mmu.calls)
			}
			e.tb.SetPGD(g1, idxOf(va))
			e.noKills()
			if e.spgd(s1, va) != 0 || e.spte(s2, va) == 0 {
				t.Fatal("SET_PGD hit the wrong slot")
			}
			if len(e.mmu.calls) != 0 {
				t.Fatalf("other slot's release flushed the CPU: %q", e.mmu.calls)
			}
		})
		for _, idx := range []uint32{ptrs, ptrs + 1, 0xFFFFFFFF} {
			t.Run(fmt.Sprintf("%s/idx %d", modeName(pae), idx), func(t *testing.T) {
				e := newEnv(t, pae, 5)
				_, g2, _, s2 := twoSlots(t, e, va, kva)
				e.tb.SetPGD(g2, idx)
				e.wantKill(fmt.Sprintf("Attempt to set pgd %d/%d", idx, ptrs))
				if e.spte(s2, va) == 0 {
					t.Fatal("rejected SET_PGD released something")
				}
			})
		}
		t.Run(modeName(pae)+"/Switcher entry", func(t *testing.T) {
			e := newEnv(t, pae, 5)
			g1, g2, s1, s2 := twoSlots(t, e, va, kva)
			swIdx := idxOf(DefaultSwitcherAddr)
			for _, c := range []struct {
				g uint32
				s int
			}{{g2, s2}, {g1, s1}} {
				e.tb.SetPGD(c.g, swIdx)
				e.noKills()
				for _, s := range []int{s1, s2} {
					if e.spte(s, DefaultSwitcherAddr) != uint64(e.sw[0])|0x061 ||
						e.spte(s, DefaultSwitcherAddr+pageSize) != uint64(e.sw[1])|0x063 {
						t.Fatalf("slot %d lost the Switcher after SET_PGD on slot %d", s, c.s)
					}
				}
				// The kernel mapping under the same entry (PAE) is gone
				// only from the slot named.
				if pae && e.spte(c.s, kva) != 0 {
					t.Fatalf("slot %d kept the kernel mapping", c.s)
				}
			}
		})
	}
}

func TestSetPMD(t *testing.T) {
	const va, kva = 0x08048000, kernelBase + 0x200000
	e := newEnv(t, true, 5)
	_, _, s1, s2 := twoSlots(t, e, va, kva)
	e.tb.SetPMD(0x123456, 99) // arguments ignored
	e.noKills()
	for _, s := range []int{s1, s2} {
		if e.spte(s, va) != 0 || e.spte(s, kva) != 0 {
			t.Fatalf("slot %d kept mappings after SET_PMD", s)
		}
	}
	if e.spte(e.tb.CurrentSlot(), DefaultSwitcherAddr) == 0 {
		t.Fatal("no Switcher after SET_PMD")
	}
	// Non-PAE: the Host kills "Bad hypercall" first; SetPMD does nothing.
	n := newEnv(t, false, 5)
	_, _, n1, _ := twoSlots(t, n, va, kva)
	n.tb.SetPMD(0, 0)
	if n.spte(n1, va) == 0 {
		t.Fatal("non-PAE SetPMD cleared mappings")
	}
}

func TestFlushUserVsClearAll(t *testing.T) {
	const va, kva = 0x08048000, kernelBase + 0x200000
	for _, pae := range []bool{false, true} {
		t.Run(modeName(pae)+"/flush user", func(t *testing.T) {
			e := newEnv(t, pae, 5)
			_, _, s1, s2 := twoSlots(t, e, va, kva)
			e.mmu.reset()
			e.tb.FlushUser()
			e.noKills()
			if e.spgd(s2, va) != 0 {
				t.Fatal("current slot kept user mappings")
			}
			if e.spte(s2, kva) == 0 || e.spte(s1, va) == 0 || e.spte(s1, kva) == 0 {
				t.Fatal("FLUSH_TLB(0) went beyond the current slot's user part")
			}
			if e.spte(s2, DefaultSwitcherAddr) == 0 {
				t.Fatal("Switcher gone")
			}
			if len(e.mmu.calls) == 0 {
				t.Fatal("CPU not flushed")
			}
		})
		t.Run(modeName(pae)+"/clear all", func(t *testing.T) {
			e := newEnv(t, pae, 5)
			_, g2, s1, s2 := twoSlots(t, e, va, kva)
			const esp1 = kernelBase + 0x3FE000
			e.mapPage(g2, esp1-pageSize, 0x3FD000, 0x163)
			e.tb.SetStack(esp1, 1)
			e.mmu.reset()
			e.tb.ClearAll()
			e.noKills()
			for _, s := range []int{s1, s2} {
				if e.spte(s, va) != 0 || e.spte(s, kva) != 0 {
					t.Fatalf("slot %d kept mappings", s)
				}
			}
			if e.spte(s2, esp1-1) != 0x3FD000|0x063 {
				t.Fatal("stack not re-pinned")
			}
			sl := e.tb.Slots()
			if !sl[s2].SwitcherMapped || sl[s1].SwitcherMapped {
				t.Fatalf("switcher_mapped: current %v, other %v", sl[s2].SwitcherMapped, sl[s1].SwitcherMapped)
			}
			if e.spte(s2, DefaultSwitcherAddr) == 0 || e.spte(s1, DefaultSwitcherAddr) != 0 {
				t.Fatal("Switcher mapping wrong after clear_all")
			}
			if len(e.mmu.calls) == 0 {
				t.Fatal("CPU not flushed")
			}
		})
	}
}

func TestSwitcherEverySlot(t *testing.T) {
	for _, pae := range []bool{false, true} {
		t.Run(modeName(pae), func(t *testing.T) {
			e := newEnv(t, pae, 17)
			master := e.toPaging()
			e.tb.ClearAll() // other slots lose the Switcher; switching back restores it
			for i := range 8 {
				e.tb.NewPagetable(e.newGuestPgdir(master))
				s := e.tb.CurrentSlot()
				if !e.tb.Slots()[s].SwitcherMapped {
					t.Fatalf("switch %d: slot %d has no Switcher", i, s)
				}
				for p, want := range []struct {
					flags string
				}{{"P A D"}, {"P RW A D"}, {"P A D"}} {
					va := uint32(DefaultSwitcherAddr + p*pageSize)
					w := e.tb.WalkShadow(s, va)
					pte := w.Levels[len(w.Levels)-1]
					if !w.Mapped || w.PA != e.sw[p] || flagsOf(pte, pae) != want.flags {
						t.Fatalf("slot %d page %d: mapped %v pa %#x flags %q", s, p, w.Mapped, w.PA, flagsOf(pte, pae))
					}
					if e.tb.DemandPage(va, 2) || e.tb.PageWritable(va) {
						t.Fatalf("Switcher page %d demand-paged or writable", p)
					}
				}
				if e.spte(s, DefaultSwitcherAddr+3*pageSize) != 0 {
					t.Fatal("a fourth Switcher page is mapped")
				}
			}
			e.noKills()
			e.tb.SetPTE(0, DefaultSwitcherAddr, 0)
			e.wantKill("attempt to set pte into Switcher pages")
			if e.spte(e.tb.CurrentSlot(), DefaultSwitcherAddr) == 0 {
				t.Fatal("SET_PTE removed the Switcher")
			}
		})
	}
}

func TestCustomSwitcherAddr(t *testing.T) {
	e := newEnv(t, false, 1)
	tb, err := New(Config{Mem: e.m, SwitcherAddr: 0xFF3FF000, SwitcherPages: e.sw,
		Kill: func(r string) { e.kills = append(e.kills, r) }})
	if err != nil {
		t.Fatal(err)
	}
	// The three pages straddle two top-level entries.
	for p := range uint32(3) {
		w := tb.WalkShadow(tb.CurrentSlot(), 0xFF3FF000+p*pageSize)
		if !w.Mapped || w.PA != e.sw[p] {
			t.Fatalf("page %d: %+v", p, w)
		}
	}
	if tb.DemandPage(0xFF3FF000, 0) || !tb.DemandPage(0x3FF000, 0) {
		t.Fatal("Switcher boundary not honoured")
	}
	e.noKills()
}
