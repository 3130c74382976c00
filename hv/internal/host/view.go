package host

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/mem"
	"github.com/lgdbg/lgdbg/hv/pgtable"
)

// What the Machine shows of the Host: copies of its state, and Guest
// memory by virtual address. Callers hold the Machine's lock.

// Regs is a snapshot of the Guest's registers.
type Regs struct {
	GPR       [8]uint32 // eax ecx edx ebx esp ebp esi edi
	EIP       uint32
	EFLAGS    uint32
	Seg       [6]cpu.Segment // es cs ss ds fs gs
	CPL       int
	CR2       uint32 // the last page fault the Host saw
	CR3       uint32 // the Guest's own top-level table (NEW_PGTABLE), 0 in linear mode
	ShadowCR3 uint32
	ICount    uint64
}

// HostState is what the Host knows about the Guest beyond its registers.
type HostState struct {
	LguestData     uint32
	HaveLguestData bool
	KernelAddress  uint32
	SwitcherAddr   uint32
	IrqsPending    uint32
	Halted         bool
	TimerArmed     bool
	TimerDeadline  uint64
	Now            uint64
	TS             bool
	SS1            uint16
	ESP1           uint32
	Dead           bool
	DeathReason    string

	// SET_STACK's third argument (spec §3.3.7): pages pinned below ESP1.
	StackPages uint32
	// The noirq_start/noirq_end range read from lguest_data at
	// LGUEST_INIT (spec §3.3.2, §5.5): no interrupt is delivered while
	// EIP is inside it.
	NoirqStart, NoirqEnd uint32
	// The Host-physical pages of the Switcher (spec §9.1): text, the
	// regs page, the read-only state page.
	SwitcherPages [3]uint32
	// The last #PF address the Host saw (spec §7.3, lguest's cr2).
	LastPagefault uint32
	// The hypercall the last exit asked for, still to be handled.
	HcallPending bool
}

// Walks is the guest-versus-shadow view of one virtual address.
type Walks struct {
	Guest  pgtable.Walk
	Shadow pgtable.Walk
	Linear bool
	Slot   int
}

// Memory is a window's contents: OK[i] says whether Data[i] could be read
// (unmapped pages and holes are false, not errors).
type Memory struct {
	Base uint32
	Data []byte
	OK   []bool
	// Aliased: Base is a kernel link address the translation does not
	// map, read at its load address LoadAddr (SetLoadAlias).
	Aliased  bool
	LoadAddr uint32
}

// Regs snapshots the registers.
func (h *Host) Regs() Regs {
	c := h.cpu
	var r Regs
	for i := range r.GPR {
		r.GPR[i] = c.Reg(cpu.Reg(i))
	}
	r.EIP, r.EFLAGS, r.CPL = c.EIP(), c.EFLAGS(), c.CPL()
	for i := range r.Seg {
		r.Seg[i] = c.Seg(cpu.SReg(i))
	}
	r.CR2 = h.lastPagefault
	r.CR3 = h.guestCR3()
	r.ShadowCR3 = c.CR3()
	r.ICount = c.ICount()
	return r
}

// State snapshots the Host-side state.
func (h *Host) State() HostState {
	return HostState{
		LguestData: h.lguestData, HaveLguestData: h.haveLguestData, KernelAddress: h.kernelAddress,
		SwitcherAddr: h.switcherAddr, IrqsPending: h.irqsPending, Halted: h.halted,
		TimerArmed: h.timerArmed, TimerDeadline: h.timerDeadline, Now: h.now(), TS: h.ts != 0,
		SS1: h.ss1, ESP1: h.esp1, Dead: h.dead, DeathReason: h.deathReason,
		StackPages: h.stackPages, NoirqStart: h.noirqStart, NoirqEnd: h.noirqEnd,
		SwitcherPages: h.switcherPages, LastPagefault: h.lastPagefault, HcallPending: h.hcallPending,
	}
}

// Walk walks va through the Guest's current table and the current shadow.
func (h *Host) Walk(va uint32) Walks {
	slot := h.pt.CurrentSlot()
	return Walks{
		Guest:  h.pt.WalkGuest(h.guestCR3(), va),
		Shadow: h.pt.WalkShadow(slot, va),
		Linear: h.pt.LinearPages(),
		Slot:   slot,
	}
}

func (h *Host) guestCR3() uint32 {
	if h.pt.LinearPages() {
		return 0
	}
	for _, s := range h.pt.Slots() {
		if s.Current {
			return s.GPgdir
		}
	}
	return 0
}

// VirtToPhys: see hv.Machine.VirtToPhys.
func (h *Host) VirtToPhys(va uint32) (uint32, bool) {
	if va >= h.switcherAddr {
		page := (va - h.switcherAddr) / mem.PageSize
		if page < 3 {
			return h.switcherPages[page] + va&0xFFF, true
		}
		return 0, false
	}
	if h.pt.LinearPages() {
		return va, va < h.mem.GuestLimit()
	}
	w := h.pt.WalkGuest(h.guestCR3(), va)
	return w.PA, w.Mapped
}

// eachPage calls f for the piece of [va, va+n) on each page, with the
// piece's offset into the range, its length and its physical address
// (mapped false when the page has none). f returns false to stop.
func (h *Host) eachPage(va uint32, n int, f func(off, n int, pa uint32, mapped bool) bool) {
	for i := 0; i < n; {
		a := va + uint32(i)
		k := min(n-i, int(mem.PageSize-a&0xFFF))
		pa, mapped := h.VirtToPhys(a)
		if !mapped && h.loadAlias != nil && h.pt.LinearPages() {
			pa, mapped = h.loadAlias(a)
		}
		if !f(i, k, pa, mapped) {
			return
		}
		i += k
	}
}

// SetLoadAlias installs the kernel's link-to-load translation (hv/symbols):
// while linear_pages is on, every virtual access (ReadVirt, WriteVirt,
// windows) to a page the translation does not map asks f for the load
// alias of that kernel link address. The Guest's own execution never sees
// it.
func (h *Host) SetLoadAlias(f func(va uint32) (pa uint32, ok bool)) { h.loadAlias = f }

// AccessVirt is ReadVirt and WriteVirt: the first unmapped page or
// physical hole fails the access.
func (h *Host) AccessVirt(va uint32, buf []byte, rw func(pa uint32, b []byte) bool) error {
	var err error
	h.eachPage(va, len(buf), func(off, n int, pa uint32, mapped bool) bool {
		switch {
		case !mapped:
			err = fmt.Errorf("virtual address %#x is not mapped", va+uint32(off))
		case !rw(pa, buf[off:off+n]):
			err = fmt.Errorf("physical address %#x is outside memory", pa)
		}
		return err == nil
	})
	return err
}

// ReadWindow reads n bytes at base like ReadVirt, but byte ranges
// that are not mapped (or lie outside memory) are marked false in OK
// instead of failing the whole read: a disassembly or memory pane shows a
// window that may straddle an unmapped page. The window ends at 4 GiB.
func (h *Host) ReadWindow(base uint32, n int) Memory {
	if uint64(base)+uint64(n) > 1<<32 {
		n = int(1<<32 - uint64(base))
	}
	w := Memory{Base: base, Data: make([]byte, n), OK: make([]bool, n)}
	if _, mapped := h.VirtToPhys(base); !mapped && h.loadAlias != nil && h.pt.LinearPages() {
		w.LoadAddr, w.Aliased = h.loadAlias(base)
	}
	h.eachPage(base, n, func(off, k int, pa uint32, mapped bool) bool {
		good := mapped && h.mem.ReadBytes(pa, w.Data[off:off+k])
		for j := off; j < off+k; j++ {
			w.OK[j] = good
		}
		return true
	})
	return w
}
