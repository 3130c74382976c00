package pgtable

import (
	"fmt"
	"strings"
	"testing"
)

// SwitchMode rebuilds the linear shadow in the other geometry: the Switcher
// is mapped again (in the new format), the fakes are gone, the CPU root is
// reloaded, no page leaks, and the Guest's first NEW_PGTABLE then works in
// the new mode. After linear_pages it is refused.
func TestSwitchMode(t *testing.T) {
	for _, to := range []bool{true, false} {
		t.Run("to-"+modeName(to), func(t *testing.T) {
			e := newEnv(t, !to, 1)
			boot := e.tb.CurrentSlot()
			for _, va := range []uint32{0x1000, 0x100000, 0x3FF000} {
				if !e.tb.DemandPage(va, 2) {
					t.Fatalf("linear fault at %#x", va)
				}
			}
			inUse := e.m.PoolInUse()
			e.mmu.reset()
			if err := e.tb.SwitchMode(to); err != nil {
				t.Fatal(err)
			}
			e.pae = to
			if e.tb.PAE() != to || !e.tb.LinearPages() || e.tb.CurrentSlot() != boot {
				t.Fatalf("after switch: PAE %v linear %v slot %d", e.tb.PAE(), e.tb.LinearPages(), e.tb.CurrentSlot())
			}
			if !e.mmu.has(fmt.Sprintf("root %#x", e.tb.CR3())) {
				t.Fatalf("CPU root not reloaded: %v", e.mmu.calls)
			}
			if e.spte(boot, 0x1000) != 0 || e.spte(boot, 0x100000) != 0 {
				t.Fatal("linear fakes survived the switch")
			}
			for i, pa := range e.sw {
				w := e.tb.WalkShadow(boot, e.tb.SwitcherAddr()+uint32(i)*pageSize)
				if !w.Mapped || w.PA != pa {
					t.Fatalf("Switcher page %d: %+v", i, w)
				}
				if got := len(w.Levels); (to && got != 3) || (!to && got != 2) {
					t.Fatalf("Switcher walk has %d levels in mode %s", got, modeName(to))
				}
			}
			// Non-PAE -> PAE needs a PMD page more for the Switcher; the
			// other way one fewer. Three linear PTE pages went back.
			if d := e.m.PoolInUse() - inUse; d > 1 || d < -4 {
				t.Fatalf("pool in use changed by %d", d)
			}
			// The Guest's own table, in the new format, works.
			e.tb.SetKernelAddress(kernelBase)
			gpgd := e.newGuestPgdir(0)
			e.mapPage(gpgd, kernelBase+0x5000, 0x5000, flagP|flagRW|flagA|flagD)
			e.tb.NewPagetable(gpgd)
			if e.tb.LinearPages() || !e.tb.DemandPage(kernelBase+0x5000, 2) || len(e.kills) != 0 {
				t.Fatalf("after NEW_PGTABLE: linear %v kills %v", e.tb.LinearPages(), e.kills)
			}
			if w := e.tb.WalkShadow(e.tb.CurrentSlot(), kernelBase+0x5000); !w.Mapped || w.PA != 0x5000 {
				t.Fatalf("shadow walk %+v", w)
			}
			if err := e.tb.SwitchMode(!to); err == nil || !strings.Contains(err.Error(), "linear_pages") {
				t.Fatalf("SwitchMode after linear_pages: %v", err)
			}
			if err := e.tb.SwitchMode(to); err == nil {
				t.Fatal("SwitchMode to the same mode after linear_pages accepted")
			}
		})
	}
}

// 4.x: a Guest PTE naming a frame in [pfn_limit, device_limit) is I/O
// memory: DemandPage fails without a kill and TakeIOMem says where.
func TestIOMem(t *testing.T) {
	for _, pae := range []bool{false, true} {
		t.Run(modeName(pae), func(t *testing.T) {
			e := newEnv(t, pae, 1)
			e.tb.SetKernelAddress(kernelBase)
			gpgd := e.newGuestPgdir(0)
			const bar = guestBytes + 0x100000
			e.mapPage(gpgd, 0xE0000000, bar, flagP|flagRW|flagA|flagD)
			e.mapPage(gpgd, 0xE0001000, bar+0x200000, flagP|flagRW|flagA|flagD)
			e.tb.NewPagetable(gpgd)
			e.tb.SetIOMem(guestBytes, bar+0x1000)
			if e.tb.DemandPage(0xE0000038, 2) {
				t.Fatal("an I/O page was mapped")
			}
			if gpa, ok := e.tb.TakeIOMem(); !ok || gpa != bar+0x38 || len(e.kills) != 0 {
				t.Fatalf("TakeIOMem %#x %v, kills %v", gpa, ok, e.kills)
			}
			if _, ok := e.tb.TakeIOMem(); ok {
				t.Fatal("TakeIOMem reported twice")
			}
			// Beyond device_limit: still the 3.x kill.
			e.tb.DemandPage(0xE0001000, 0)
			if _, ok := e.tb.TakeIOMem(); ok || len(e.kills) != 1 {
				t.Fatalf("beyond device_limit: kills %v", e.kills)
			}
		})
	}
}
