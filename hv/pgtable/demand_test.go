package pgtable

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestLinearFaults(t *testing.T) {
	type step struct {
		va, errcode uint32
		ok          bool
		kill        string
		spte        uint64 // full shadow PTE afterwards (0 = absent)
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"read maps 1:1 read-only", []step{{0x1000, 0, true, "", 0x1000 | flagP | flagA}}},
		{"read then write upgrades to RW", []step{
			{0x5000, 0, true, "", 0x5000 | flagP | flagA},
			{0x5000, 3, true, "", 0x5000 | flagP | flagRW | flagA | flagD},
		}},
		{"write maps RW at once", []step{{0x7123, 2, true, "", 0x7000 | flagP | flagRW | flagA | flagD}}},
		{"user read refused", []step{{0x1000, 4, false, "", 0}}},
		{"user write refused", []step{{0x1000, 6, false, "", 0}}},
		{"last guest page", []step{{guestBytes - 1, 2, true, "", (guestBytes - pageSize) | flagP | flagRW | flagA | flagD}}},
		{"pfn_limit kills", []step{{guestBytes, 0, false, "bad page table entry", 0}}},
		{"far beyond pfn_limit kills", []step{{kernelBase, 2, false, "bad page table entry", 0}}},
		{"Switcher text refused", []step{{DefaultSwitcherAddr, 0, false, "", flagP | flagA | flagD}}},
		{"top of memory refused", []step{{0xFFFFF000, 2, false, "", 0}}},
	}
	for _, pae := range []bool{false, true} {
		for _, c := range cases {
			t.Run(modeName(pae)+"/"+c.name, func(t *testing.T) {
				e := newEnv(t, pae, 1)
				for _, s := range c.steps {
					e.mmu.reset()
					if got := e.tb.DemandPage(s.va, s.errcode); got != s.ok {
						t.Fatalf("DemandPage(%#x, %d) = %v, want %v", s.va, s.errcode, got, s.ok)
					}
					if s.kill == "" {
						e.noKills()
					} else {
						e.wantKill(s.kill)
					}
					got := e.spte(e.tb.CurrentSlot(), s.va)
					if s.va >= DefaultSwitcherAddr {
						got &^= pageMask // Switcher frames are Host pages; compare flags
					}
					if got != s.spte {
						t.Fatalf("shadow PTE of %#x = %#x, want %#x", s.va, got, s.spte)
					}
					if s.ok && !e.mmu.has(fmt.Sprintf("page %#x", s.va&pageMask)) {
						t.Fatalf("no FlushTLBPage(%#x): %q", s.va&pageMask, e.mmu.calls)
					}
				}
				// Linear mode never writes back: the guest-side PTE
				// addresses demand_page computes (frame 0) stay zero.
				b := make([]byte, pageSize)
				e.m.ReadBytes(0, b)
				for i, v := range b {
					if v != 0 {
						t.Fatalf("guest page 0 byte %#x written (%#x) in linear mode", i, v)
					}
				}
				// The shadow upper levels carry the fake flags.
				if c.steps[0].ok {
					w := e.tb.WalkShadow(e.tb.CurrentSlot(), c.steps[0].va)
					if pae {
						if f := w.Levels[0].Raw &^ pageMask; f != flagP {
							t.Fatalf("shadow PDPTE flags %#x, want P", f)
						}
						if f := w.Levels[1].Raw &^ pageMask; f != pageTable {
							t.Fatalf("shadow PMD flags %#x, want %#x", f, pageTable)
						}
					} else if f := w.Levels[0].Raw &^ pageMask; f != pageTable {
						t.Fatalf("shadow PDE flags %#x, want %#x", f, pageTable)
					}
				}
			})
		}
	}
}

func TestGuestPALinear(t *testing.T) {
	e := newEnv(t, false, 1)
	for _, va := range []uint32{0, 0x1234, kernelBase + 5, 0xFFFFFFFF} {
		if got := e.tb.GuestPA(va); got != va {
			t.Errorf("GuestPA(%#x) = %#x in linear mode", va, got)
		}
	}
	e.noKills()
}

type demandCase struct {
	line         int
	mode         string
	gpte         uint64
	errcode      uint32
	result       string
	spte, gafter uint64
}

func loadDemandCases(t *testing.T) []demandCase {
	f, err := os.Open("testdata/demand_page.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []demandCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// "kill:reason words" contains spaces: split it off first.
		var kill string
		if i := strings.Index(line, "kill:"); i >= 0 {
			rest := line[i+5:]
			j := strings.Index(rest, " 0")
			if j < 0 {
				t.Fatalf("line %d: cannot find the end of the kill reason", n)
			}
			kill, line = rest[:j], line[:i]+"KILL"+rest[j:]
		}
		fs := strings.Fields(line)
		if len(fs) != 6 {
			t.Fatalf("line %d: %d fields, want 6", n, len(fs))
		}
		num := func(s string) uint64 {
			v, err := strconv.ParseUint(s, 0, 64)
			if err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			return v
		}
		c := demandCase{line: n, mode: fs[0], gpte: num(fs[1]), errcode: uint32(num(fs[2])),
			result: fs[3], spte: num(fs[4]), gafter: num(fs[5])}
		if c.result == "KILL" {
			c.result = "kill:" + kill
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 40 {
		t.Fatalf("only %d cases parsed", len(out))
	}
	return out
}

func TestDemandPageGuestTables(t *testing.T) {
	cases := loadDemandCases(t)
	for _, pae := range []bool{false, true} {
		for _, c := range cases {
			if c.mode != "any" && c.mode != modeName(pae) {
				continue
			}
			t.Run(fmt.Sprintf("%s/line%d", modeName(pae), c.line), func(t *testing.T) {
				e := newEnv(t, pae, 7)
				g := e.toPaging()
				const va, frame = 0x08048abc, 0x00345000
				pteA := e.mapPage(g, va, frame, c.gpte)
				e.mmu.reset()
				ok := e.tb.DemandPage(va, c.errcode)
				switch {
				case c.result == "ok" && !ok, c.result != "ok" && ok:
					t.Fatalf("DemandPage = %v, want %s", ok, c.result)
				case strings.HasPrefix(c.result, "kill:"):
					e.wantKill(strings.TrimPrefix(c.result, "kill:"))
				default:
					e.noKills()
				}
				spte := e.spte(e.tb.CurrentSlot(), va)
				if c.spte == 0 {
					if spte != 0 {
						t.Fatalf("shadow PTE %#x, want none", spte)
					}
				} else if spte != frame|c.spte {
					t.Fatalf("shadow PTE %#x, want %#x", spte, frame|c.spte)
				}
				if got := e.gr(pteA); got != frame|c.gafter {
					t.Fatalf("guest PTE after = %#x, want %#x", got, frame|c.gafter)
				}
				if ok && !e.mmu.has("page 0x8048000") {
					t.Fatalf("no FlushTLBPage: %q", e.mmu.calls)
				}
			})
		}
	}
}

// TestDirtyTracking follows one writable page through read, write and the
// Guest cleaning it (SET_PTE without A/D) as Linux's writeback would.
func TestDirtyTracking(t *testing.T) {
	for _, pae := range []bool{false, true} {
		t.Run(modeName(pae), func(t *testing.T) {
			e := newEnv(t, pae, 3)
			g := e.toPaging()
			const va, frame = 0x0804c000, 0x00300000
			pteA := e.mapPage(g, va, frame, flagP|flagRW|flagUS)
			s := e.tb.CurrentSlot()

			if !e.tb.DemandPage(va, 4) { // user read
				t.Fatal("read fault not fixed")
			}
			if e.tb.PageWritable(va) {
				t.Fatal("clean page mapped writable")
			}
			if got := e.gr(pteA); got != frame|0x027 {
				t.Fatalf("after read: guest PTE %#x", got)
			}
			if !e.tb.DemandPage(va, 7) { // user write, protection fault
				t.Fatal("write fault not fixed")
			}
			if !e.tb.PageWritable(va) || e.spte(s, va) != frame|0x067 {
				t.Fatalf("after write: shadow %#x", e.spte(s, va))
			}
			if got := e.gr(pteA); got != frame|0x067 {
				t.Fatalf("after write: guest PTE %#x", got)
			}
			// The Guest cleans the page: PTE without A/D, told via SET_PTE.
			e.gw(pteA, frame|0x007)
			e.tb.SetPTE(g, va, frame|0x007)
			if e.spte(s, va) != 0 {
				t.Fatalf("after clean SET_PTE: shadow %#x, want 0", e.spte(s, va))
			}
			if !e.tb.DemandPage(va, 6) || e.gr(pteA) != frame|0x067 {
				t.Fatalf("re-dirty: guest PTE %#x", e.gr(pteA))
			}
			e.noKills()
		})
	}
}

func TestShadowCopiesUpperFlags(t *testing.T) {
	for _, pae := range []bool{false, true} {
		t.Run(modeName(pae), func(t *testing.T) {
			e := newEnv(t, pae, 3)
			g := e.toPaging()
			const va = 0x00400000
			e.mapPage(g, va, 0x1000, 0x007)
			// A supervisor-only upper level: the shadow keeps its flags,
			// so the effective permission is supervisor (spec §7.5).
			if pae {
				pmdA := uint32(e.gr(e.pgdAddr(g, va))&pageMask) + (va>>21&511)*8
				e.gw(pmdA, e.gr(pmdA)&^flagUS)
			} else {
				e.gw(e.pgdAddr(g, va), e.gr(e.pgdAddr(g, va))&^flagUS)
			}
			if !e.tb.DemandPage(va, 4) {
				t.Fatal("not fixed: the PTE allows user access")
			}
			w := e.tb.WalkShadow(e.tb.CurrentSlot(), va)
			upper := w.Levels[len(w.Levels)-2]
			if upper.Raw&^pageMask != 0x063 {
				t.Fatalf("shadow %s flags %#x, want 0x063", upper.Kind, upper.Raw&^pageMask)
			}
			e.noKills()
		})
	}
}

func TestBadGuestEntries(t *testing.T) {
	const va = 0x08048000
	type tc struct {
		name string
		pae  bool
		// corrupt edits the guest tables of g (va already mapped).
		corrupt func(e *env, g uint32)
		want    string // kill reason, "" = reflected without kill
	}
	pgd := func(e *env, g uint32, f func(uint64) uint64) {
		a := e.pgdAddr(g, va)
		e.gw(a, f(e.gr(a)))
	}
	pmd := func(e *env, g uint32, f func(uint64) uint64) {
		a := uint32(e.gr(e.pgdAddr(g, va))&pageMask) + (va>>21&511)*8
		e.gw(a, f(e.gr(a)))
	}
	pte := func(e *env, g uint32, f func(uint64) uint64) {
		a := e.pteAddr(g, va)
		e.gw(a, f(e.gr(a)))
	}
	beyond := func(v uint64) uint64 { return v&^pageMask | guestBytes }
	cases := []tc{
		{"pde PWT", false, func(e *env, g uint32) { pgd(e, g, func(v uint64) uint64 { return v | flagPWT }) }, "bad page directory entry"},
		{"pde PCD", false, func(e *env, g uint32) { pgd(e, g, func(v uint64) uint64 { return v | flagPCD }) }, "bad page directory entry"},
		{"pde PSE", false, func(e *env, g uint32) { pgd(e, g, func(v uint64) uint64 { return v | flagPSE }) }, "bad page directory entry"},
		{"pde G", false, func(e *env, g uint32) { pgd(e, g, func(v uint64) uint64 { return v | flagG }) }, "bad page directory entry"},
		{"pde AVL", false, func(e *env, g uint32) { pgd(e, g, func(v uint64) uint64 { return v | 0x200 }) }, "bad page directory entry"},
		{"pde frame at pfn_limit", false, func(e *env, g uint32) { pgd(e, g, beyond) }, "bad page directory entry"},
		{"pde not present", false, func(e *env, g uint32) { pgd(e, g, func(v uint64) uint64 { return v &^ flagP }) }, ""},
		{"pte PAT", false, func(e *env, g uint32) { pte(e, g, func(v uint64) uint64 { return v | flagPSE }) }, "bad page table entry"},
		{"pte frame at pfn_limit", false, func(e *env, g uint32) { pte(e, g, beyond) }, "bad page table entry"},
		{"pgdir outside guest memory", false, nil, "bad read address 0x3ffffc len 4"},

		{"pdpte RW", true, func(e *env, g uint32) { pgd(e, g, func(v uint64) uint64 { return v | flagRW }) }, "bad page directory entry"},
		{"pdpte US", true, func(e *env, g uint32) { pgd(e, g, func(v uint64) uint64 { return v | flagUS }) }, "bad page directory entry"},
		{"pdpte NX", true, func(e *env, g uint32) { pgd(e, g, func(v uint64) uint64 { return v | flagNX }) }, "bad page directory entry"},
		{"pdpte frame at pfn_limit", true, func(e *env, g uint32) { pgd(e, g, beyond) }, "bad page directory entry"},
		{"pdpte not present", true, func(e *env, g uint32) { pgd(e, g, func(v uint64) uint64 { return v &^ flagP }) }, ""},
		{"pmd PSE", true, func(e *env, g uint32) { pmd(e, g, func(v uint64) uint64 { return v | flagPSE }) }, "bad page middle directory entry"},
		{"pmd PWT", true, func(e *env, g uint32) { pmd(e, g, func(v uint64) uint64 { return v | flagPWT }) }, "bad page middle directory entry"},
		{"pmd frame at pfn_limit", true, func(e *env, g uint32) { pmd(e, g, beyond) }, "bad page middle directory entry"},
		{"pmd frame bit 40", true, func(e *env, g uint32) { pmd(e, g, func(v uint64) uint64 { return v | 1<<40 }) }, "bad page middle directory entry"},
		{"pmd not present", true, func(e *env, g uint32) { pmd(e, g, func(v uint64) uint64 { return v &^ flagP }) }, ""},
		{"pae pte PAT", true, func(e *env, g uint32) { pte(e, g, func(v uint64) uint64 { return v | flagPSE }) }, "bad page table entry"},
		{"pae pte frame at pfn_limit", true, func(e *env, g uint32) { pte(e, g, beyond) }, "bad page table entry"},
		{"pae pgdir outside guest memory", true, nil, "bad read address 0x3ffff8 len 8"},
	}
	for _, c := range cases {
		t.Run(modeName(c.pae)+"/"+c.name, func(t *testing.T) {
			e := newEnv(t, c.pae, 5)
			g := e.toPaging()
			pteA := e.mapPage(g, va, 0x1000, 0x007)
			if c.corrupt != nil {
				c.corrupt(e, g)
			} else {
				// Switch to a top level that lies partly outside guest
				// memory. The entry for va ends exactly at pfn_limit*4096,
				// which lguest_address_ok rejects (spec §12 quirk 3).
				top := uint32(guestBytes - 4 - 0x20*4) // PDE index 0x20
				if c.pae {
					top = guestBytes - 8 // PDPTE index 0
				}
				e.tb.NewPagetable(top)
				e.kills = nil
			}
			before := e.gr(pteA)
			if e.tb.DemandPage(va, 6) {
				t.Fatal("fault fixed through a bad entry")
			}
			if c.want == "" {
				e.noKills()
			} else {
				e.wantKill(c.want)
			}
			if c.corrupt != nil && e.gr(pteA) != before {
				t.Fatalf("guest PTE written back after a refused fault: %#x", e.gr(pteA))
			}
		})
	}
}
