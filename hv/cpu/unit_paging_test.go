package cpu

// Paging through the shadow tables (issue 2; spec §7.14; Intel SDM vol. 3
// §4.6 "Access rights" and §4.7 "Page-fault exceptions"), for non-PAE and
// PAE: every combination of PDE x PTE flags (P, RW, US) x access (read,
// write, fetch) x CPL (1 = supervisor, 3 = user), CR0.WP = 1.

import (
	"fmt"
	"testing"
)

const (
	pgCode   = 0x00010000 // code page (identity, user+writable)
	pgStack  = 0x00020000
	pgTarget = 0x00C45678 // the linear address under test (own PDE and PTE)
	pgFrame  = 0x00300000 // physical frame it maps to
)

type access int

const (
	accRead access = iota
	accWrite
	accFetch
)

func (a access) String() string { return [...]string{"read", "write", "fetch"}[a] }

// expectPF is the SDM's verdict for one combination: fault or not, and the
// #PF error code (bit 0 P: protection violation, bit 1 W/R, bit 2 U/S; no
// I/D bit with NX off, spec §7.14).
func expectPF(pde, pte uint32, acc access, user bool) (fault bool, ec uint32) {
	if acc == accWrite {
		ec |= 2
	}
	if user {
		ec |= 4
	}
	if pde&ptP == 0 || pte&ptP == 0 {
		return true, ec
	}
	us := pde&pte&ptUS != 0
	rw := pde&pte&ptRW != 0
	switch {
	case user && !us:
		return true, ec | 1
	case acc == accWrite && !rw: // CR0.WP = 1: supervisor writes honour R/W too
		return true, ec | 1
	}
	return false, 0
}

func TestUnitPagingMatrix(t *testing.T) {
	for _, pae := range []bool{false, true} {
		name := "nonPAE"
		if pae {
			name = "PAE"
		}
		t.Run(name, func(t *testing.T) {
			mc := newMachine(t)
			pt := mc.newPageTables(pae)
			pt.mapPage(pgCode, pgCode, ptP|ptRW|ptUS, ptP|ptRW|ptUS)
			pt.mapPage(pgStack, pgStack, ptP|ptRW|ptUS, ptP|ptRW|ptUS)
			pt.install()
			fails := 0
			for pdeF := uint32(0); pdeF < 8; pdeF++ {
				for pteF := uint32(0); pteF < 8; pteF++ {
					for _, acc := range []access{accRead, accWrite, accFetch} {
						for _, cpl := range []int{1, 3} {
							what := fmt.Sprintf("%s pde=%s pte=%s %v cpl%d", name, ptFlags(pdeF), ptFlags(pteF), acc, cpl)
							if !pagingCase(mc, pt, pdeF, pteF, acc, cpl, what) {
								fails++
							}
							if fails > 40 {
								t.Fatal("too many failures")
							}
						}
					}
				}
			}
		})
	}
}

func ptFlags(f uint32) string {
	s := []byte("---")
	if f&ptP != 0 {
		s[0] = 'P'
	}
	if f&ptRW != 0 {
		s[1] = 'W'
	}
	if f&ptUS != 0 {
		s[2] = 'U'
	}
	return string(s)
}

// pagingCase runs one access; it reports false after logging a failure.
func pagingCase(mc *machine, pt *pageTables, pdeF, pteF uint32, acc access, cpl int, what string) bool {
	t := mc.t.(*testing.T)
	c := mc.c
	// fresh entries: the PDE for pgTarget is used by nothing else
	pt.mapPage(pgTarget, pgFrame, pdeF, pteF)
	c.FlushTLB()
	mc.flat(cpl)
	const marker = 0xC0DE1234
	mc.w32(pgFrame+pgTarget&0xFFF, marker)
	mc.m.Write8(pgFrame+pgTarget&0xFFF+4, 0x90) // a NOP right after, for fetch
	var eipWant uint32
	mc.setRegs(regs{0x11111111, 0, 0, pgTarget, pgStack + 0x800, 0, 0, 0})
	switch acc {
	case accRead: // mov eax, [ebx]
		mc.at(pgCode, 0x8B, 0x03)
		eipWant = pgCode + 2
	case accWrite: // mov [ebx], eax
		mc.at(pgCode, 0x89, 0x03)
		eipWant = pgCode + 2
	case accFetch: // execute the NOP at the target
		c.SetEIP(pgTarget + 4)
		eipWant = pgTarget + 5
	}
	c.SetEFLAGS(0x202)
	before := mc.regs()
	ex := c.Step()
	fault, ec := expectPF(pdeF, pteF, acc, cpl == 3)
	ok := true
	fail := func(format string, a ...any) {
		t.Errorf(what+": "+format, a...)
		ok = false
	}
	if fault {
		faultEIP := uint32(pgCode)
		if acc == accFetch {
			faultEIP = pgTarget + 4
		}
		switch {
		case ex.Reason != ExitTrap || ex.Vector != VecPF:
			fail("got %s, want #PF err %#x", exitString(ex), ec)
		case !ex.HasErr || ex.ErrCode != ec:
			fail("#PF error code %#x (hasErr %v), want %#x", ex.ErrCode, ex.HasErr, ec)
		case ex.CR2 != pgTarget+4*boolU(acc == accFetch):
			fail("CR2 %#x, want %#x", ex.CR2, pgTarget+4*boolU(acc == accFetch))
		}
		if c.EIP() != faultEIP {
			fail("eip %#x after the fault, want %#x (faults restart)", c.EIP(), faultEIP)
		}
		if d := before.diff(mc.regs()); d != "" {
			fail("registers changed by a faulting access:%s", d)
		}
		if acc == accWrite && mc.r32(pgFrame+pgTarget&0xFFF) != marker {
			fail("a faulting write reached memory")
		}
		return ok
	}
	if ex.Reason != ExitStep || c.EIP() != eipWant {
		fail("got %s eip %#x, want Step to %#x", exitString(ex), c.EIP(), eipWant)
		return false
	}
	switch acc {
	case accRead:
		if got := c.Reg(EAX); got != marker {
			fail("read %#x, want %#x", got, marker)
		}
	case accWrite:
		if got := mc.r32(pgFrame + pgTarget&0xFFF); got != 0x11111111 {
			fail("memory after write %#x, want 0x11111111", got)
		}
	}
	// accessed bits in both levels, dirty in the PTE only after a write
	// (SDM §4.8; spec §7.14: in the shadow entries).
	pde, pte := pt.readPDE(pgTarget), pt.readPTE(pgTarget)
	if pde&ptA == 0 {
		fail("PDE accessed bit not set: %#x", pde)
	}
	if pte&ptA == 0 {
		fail("PTE accessed bit not set: %#x", pte)
	}
	if (pte&ptD != 0) != (acc == accWrite) {
		fail("PTE dirty bit = %v after a %v: %#x", pte&ptD != 0, acc, pte)
	}
	return ok
}

func boolU(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// TestPagingStraddlingFetch: an instruction whose bytes cross into a
// not-present page faults with CR2 = the second page's address, EIP at the
// instruction start; once mapped, it runs.
func TestUnitPagingStraddlingFetch(t *testing.T) {
	for _, pae := range []bool{false, true} {
		for _, cpl := range []int{1, 3} {
			t.Run(fmt.Sprintf("pae=%v/cpl%d", pae, cpl), func(t *testing.T) {
				mc := newMachine(t)
				pt := mc.newPageTables(pae)
				pt.mapPage(0x40000, 0x40000, ptP|ptRW|ptUS, ptP|ptRW|ptUS)
				pt.mapPage(0x41000, 0x41000, ptP|ptRW|ptUS, 0) // not present
				pt.install()
				mc.flat(cpl)
				// mov eax, 0x12345678 (B8 imm32) starting 2 bytes before the boundary
				start := uint32(0x41000 - 2)
				mc.at(start, 0xB8, 0x78, 0x56, 0x34, 0x12)
				ex := mc.c.Step()
				ec := uint32(0)
				if cpl == 3 {
					ec = 4
				}
				mc.wantTrap("straddling fetch", ex, VecPF, true, ec, start)
				if ex.CR2 != 0x41000 {
					t.Errorf("CR2 = %#x, want 0x41000 (the second page)", ex.CR2)
				}
				pt.mapPage(0x41000, 0x41000, ptP|ptRW|ptUS, ptP|ptRW|ptUS)
				mc.c.FlushTLBPage(0x41000)
				ex = mc.c.Step()
				if mc.wantStep("after mapping", ex, start+5) && mc.c.Reg(EAX) != 0x12345678 {
					t.Errorf("eax = %#x, want 0x12345678", mc.c.Reg(EAX))
				}
			})
		}
	}
}

// TestPagingStraddlingData: a 4-byte write across a page boundary whose
// second page is read-only faults with CR2 = the first byte on that page
// (SDM: CR2 holds the linear address that caused the fault) and does not
// change the first page either.
func TestUnitPagingStraddlingData(t *testing.T) {
	for _, pae := range []bool{false, true} {
		mc := newMachine(t)
		pt := mc.newPageTables(pae)
		pt.identity(0x100000)
		pt.mapPage(0x51000, 0x51000, ptP|ptRW|ptUS, ptP|ptUS) // read-only
		pt.install()
		mc.w32(0x50FFE, 0xAAAAAAAA)
		mc.w32(0x51000, 0xBBBBBBBB)
		mc.setRegs(regs{0x11223344, 0, 0, 0x50FFE, 0x8000, 0, 0, 0})
		mc.at(0x2000, 0x89, 0x03) // mov [ebx], eax
		ex := mc.c.Step()
		mc.wantTrap(fmt.Sprintf("pae=%v straddling write", pae), ex, VecPF, true, 3, 0x2000)
		if ex.CR2 != 0x51000 {
			t.Errorf("pae=%v: CR2 = %#x, want 0x51000", pae, ex.CR2)
		}
		if got := mc.r32(0x50FFC); got>>16 != 0xAAAA {
			t.Errorf("pae=%v: first page modified by a faulting straddling write: %#x", pae, got)
		}
	}
}

// TestPagingTLBFlush: after the Host changes a PTE and flushes that page,
// the new translation is used.
func TestUnitPagingTLBFlush(t *testing.T) {
	for _, pae := range []bool{false, true} {
		mc := newMachine(t)
		pt := mc.newPageTables(pae)
		pt.identity(0x100000)
		pt.mapPage(0x800000, 0x200000, ptP|ptRW|ptUS, ptP|ptRW|ptUS)
		pt.install()
		mc.w32(0x200000, 1)
		mc.w32(0x201000, 2)
		mc.setRegs(regs{0, 0, 0, 0x800000, 0x8000, 0, 0, 0})
		mc.at(0x2000, 0x8B, 0x03) // mov eax, [ebx]
		mc.c.Step()
		if mc.c.Reg(EAX) != 1 {
			t.Fatalf("pae=%v: first read %#x, want 1", pae, mc.c.Reg(EAX))
		}
		pt.mapPage(0x800000, 0x201000, ptP|ptRW|ptUS, ptP|ptRW|ptUS)
		mc.c.FlushTLBPage(0x800000)
		mc.c.SetEIP(0x2000)
		mc.c.Step()
		if mc.c.Reg(EAX) != 2 {
			t.Errorf("pae=%v: after FlushTLBPage read %#x, want 2 (new frame)", pae, mc.c.Reg(EAX))
		}
		pt.mapPage(0x800000, 0x200000, ptP|ptRW|ptUS, ptP|ptRW|ptUS)
		mc.c.FlushTLB()
		mc.c.SetEIP(0x2000)
		mc.c.Step()
		if mc.c.Reg(EAX) != 1 {
			t.Errorf("pae=%v: after FlushTLB read %#x, want 1", pae, mc.c.Reg(EAX))
		}
		// Translate/ReadVirt: supervisor view through the same tables
		if pa, ok := mc.c.Translate(0x800123, false); !ok || pa != 0x200123 {
			t.Errorf("pae=%v: Translate(0x800123) = %#x,%v want 0x200123,true", pae, pa, ok)
		}
		if _, ok := mc.c.Translate(0x900000, false); ok {
			t.Errorf("pae=%v: Translate of an unmapped address succeeded", pae)
		}
		b := make([]byte, 4)
		if err := mc.c.ReadVirt(0x800000, b); err != nil || b[0] != 1 {
			t.Errorf("pae=%v: ReadVirt = %v, %v", pae, b, err)
		}
		if err := mc.c.ReadVirt(0x900000, b); err == nil {
			t.Errorf("pae=%v: ReadVirt of an unmapped address returned no error", pae)
		}
	}
}

// TestPagingLargePages: a directory entry with PS maps a 4 MiB (non-PAE)
// or 2 MiB (PAE) page directly (issue 2: "large pages if the Host emits
// them").
func TestUnitPagingLargePages(t *testing.T) {
	for _, pae := range []bool{false, true} {
		mc := newMachine(t)
		pt := mc.newPageTables(pae)
		pt.identity(0x100000)
		pt.install()
		lin := uint32(0x40000000)
		de := pt.pdeAddr(lin)
		if pae {
			mc.m.Write64(de, uint64(0x200000|ptP|ptRW|ptUS|ptPS))
		} else {
			mc.m.Write32(de, 0x000000|ptP|ptRW|ptUS|ptPS) // 4 MiB frame 0
		}
		mc.c.FlushTLB()
		off := uint32(0x12344)
		want := uint32(0x5A5A0001)
		frame := uint32(0)
		if pae {
			frame = 0x200000
		}
		mc.w32(frame+off, want)
		mc.setRegs(regs{0, 0, 0, lin + off, 0x8000, 0, 0, 0})
		mc.at(0x2000, 0x8B, 0x03)
		ex := mc.c.Step()
		if mc.wantStep(fmt.Sprintf("pae=%v large page read", pae), ex, 0x2002) && mc.c.Reg(EAX) != want {
			t.Errorf("pae=%v: large page read %#x, want %#x", pae, mc.c.Reg(EAX), want)
		}
	}
}

// TestUnitPagingLargePagePerms: large pages obey U/S and R/W like 4 KiB
// pages, and the CPU sets A and D in the directory entry that maps them.
func TestUnitPagingLargePagePerms(t *testing.T) {
	for _, pae := range []bool{false, true} {
		mc := newMachine(t)
		pt := mc.newPageTables(pae)
		pt.identity(0x100000)
		pt.install()
		lin := uint32(0x40000000)
		de := pt.pdeAddr(lin)
		frame := uint32(0x000000)
		if pae {
			frame = 0x200000
		}
		setPDE := func(flags uint32) {
			if pae {
				mc.m.Write64(de, uint64(frame|flags|ptPS))
			} else {
				mc.m.Write32(de, frame|flags|ptPS)
			}
			mc.c.FlushTLB()
		}
		readPDE := func() uint64 {
			if pae {
				v, _ := mc.m.Read64(de)
				return v
			}
			v, _ := mc.m.Read32(de)
			return uint64(v)
		}
		what := fmt.Sprintf("pae=%v", pae)
		// supervisor-only, read-only large page
		setPDE(ptP)
		mc.setRegs(regs{7, 0, 0, lin + 0x10, 0x8000, 0, 0, 0})
		mc.at(0x2000, 0x89, 0x03) // mov [ebx], eax
		mc.wantTrap(what+" write to a read-only large page", mc.c.Step(), VecPF, true, 3, 0x2000)
		mc.flat(3)
		mc.at(0x2000, 0x8B, 0x03) // mov eax, [ebx]
		mc.wantTrap(what+" user read of a supervisor large page", mc.c.Step(), VecPF, true, 5, 0x2000)
		mc.flat(1)
		setPDE(ptP | ptRW | ptUS)
		mc.at(0x2000, 0x89, 0x03)
		mc.wantStep(what+" write to a writable large page", mc.c.Step(), 0x2002)
		if e := readPDE(); e&ptA == 0 || e&ptD == 0 {
			t.Errorf("%s: large-page PDE %#x after a write: want A and D set", what, e)
		}
	}
}

// TestUnitPAENotPresentPDPTE: a PAE walk that meets a not-present PDPTE
// raises #PF with P=0.
func TestUnitPAENotPresentPDPTE(t *testing.T) {
	mc := newMachine(t)
	pt := mc.newPageTables(true)
	pt.identity(0x100000) // PDPTE 0 only
	pt.install()
	mc.setRegs(regs{0, 0, 0, 0x80001000, 0x8000, 0, 0, 0}) // PDPTE 2: empty
	mc.at(0x2000, 0x8B, 0x03)
	ex := mc.c.Step()
	mc.wantTrap("read through a not-present PDPTE", ex, VecPF, true, 0, 0x2000)
	if ex.CR2 != 0x80001000 {
		t.Errorf("CR2 %#x, want 0x80001000", ex.CR2)
	}
}
