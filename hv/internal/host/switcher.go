package host

import (
	"encoding/binary"

	"github.com/lgdbg/lgdbg/hv/cpu"
)

// S:100 The Switcher model (spec §9). We never run Switcher code: our CPU
// simply returns to Go when the real one would have jumped through the
// Switcher. But the Switcher's pages are part of what a kernel developer
// can see — they are mapped at switcher_addr in every shadow pgdir — so we
// keep them filled in exactly as the real one would leave them:
//
//	switcher_addr + 0x0000  Switcher text (read-only, a recognisable pattern)
//	switcher_addr + 0x1000  the vCPU's register page; struct lguest_regs at 0xFB8
//	switcher_addr + 0x2000  struct lguest_ro_state (read-only): descriptors,
//	                        guest_tss, the live IDT and GDT
const (
	DefaultSwitcherAddr = 0xFFC00000

	switcherRegsOff  = 0x1000
	switcherStateOff = 0x2000
	regsInPage       = 0xFB8 // struct lguest_regs sits at the end of page 1

	stateHostCR3      = 0
	stateGuestIDTDesc = 20
	stateGuestGDTDesc = 26
	stateGuestTSS     = 32
	stateGuestIDT     = 136
	stateGuestGDT     = 2184

	// lguest_regs field offsets (spec §9.1).
	regTrapnum = 44
	regErrcode = 48
)

// stubAddr is where the Switcher's per-vector stub would be: the live IDT
// points every Host-owned vector into the Switcher text page.
func (h *Host) stubAddr(v int) uint32 { return h.switcherAddr + 0x100 + uint32(v)*8 }

// initSwitcherPages allocates and fills the three Switcher pages.
func (h *Host) initSwitcherPages() bool {
	for i := range h.switcherPages {
		pa, ok := h.mem.AllocPage()
		if !ok {
			return false
		}
		h.switcherPages[i] = pa
	}
	// The text page: what a curious `x/16i 0xffc00000` finds there. The
	// real Switcher is code; ours is a marker and int3 filler.
	text := h.switcherPages[0]
	for i := uint32(0); i < 4096; i++ {
		h.mem.Write8(text+i, 0xCC)
	}
	h.mem.WriteBytes(text, []byte("lgdbg Switcher page: the Host runs in Go, not here\x00"))
	h.cpu.SetTableBases(h.switcherAddr+switcherStateOff+stateGuestGDT, h.switcherAddr+switcherStateOff+stateGuestIDT)
	h.switcherDirty = true
	return true
}

// syncSwitcherRegs writes struct lguest_regs into the register page, as the
// Switcher's pushes do on every exit (spec §9.3).
func (h *Host) syncSwitcherRegs(trapnum int, errcode uint32) {
	c := h.cpu
	base := h.switcherPages[1] + regsInPage
	vals := [18]uint32{
		c.Reg(cpu.EAX), c.Reg(cpu.EBX), c.Reg(cpu.ECX), c.Reg(cpu.EDX), c.Reg(cpu.ESI), c.Reg(cpu.EDI), c.Reg(cpu.EBP),
		uint32(c.Seg(cpu.GS).Sel), uint32(c.Seg(cpu.FS).Sel), uint32(c.Seg(cpu.DS).Sel), uint32(c.Seg(cpu.ES).Sel),
		uint32(trapnum), errcode,
		c.EIP(), uint32(c.Seg(cpu.CS).Sel), c.EFLAGS(), c.Reg(cpu.ESP), uint32(c.Seg(cpu.SS).Sel),
	}
	var buf [72]byte
	for i, v := range vals {
		binary.LittleEndian.PutUint32(buf[i*4:], v)
	}
	h.mem.WriteBytes(base, buf[:])
	if h.switcherDirty {
		h.syncSwitcherState()
	}
}

// syncSwitcherState rewrites struct lguest_ro_state (spec §9.1).
func (h *Host) syncSwitcherState() {
	h.switcherDirty = false
	var st [4096]byte
	le := binary.LittleEndian
	le.PutUint32(st[stateHostCR3:], 0) // there is no Host page table to show
	le.PutUint16(st[stateGuestIDTDesc:], 256*8-1)
	le.PutUint32(st[stateGuestIDTDesc+2:], h.switcherAddr+switcherStateOff+stateGuestIDT)
	le.PutUint16(st[stateGuestGDTDesc:], gdtEntries*8-1)
	le.PutUint32(st[stateGuestGDTDesc+2:], h.switcherAddr+switcherStateOff+stateGuestGDT)
	tss := st[stateGuestTSS:]
	le.PutUint32(tss[4:], h.switcherAddr+switcherRegsOff+0x1000) // sp0: top of the regs page
	le.PutUint32(tss[8:], lguestCS+8)                            // ss0 = LGUEST_DS
	le.PutUint32(tss[12:], h.esp1)
	le.PutUint32(tss[16:], uint32(h.ss1))
	le.PutUint16(tss[102:], 104) // io_bitmap_base: no bitmap, every in/out faults
	for v := 0; v < 256; v++ {
		g := h.liveGate(v)
		sel := uint32(g.Sel)
		lo := sel<<16 | g.Offset&0xFFFF
		hi := g.Offset&0xFFFF0000 | 0x8000 | uint32(g.DPL)<<13 | uint32(g.Type)<<8
		le.PutUint32(st[stateGuestIDT+v*8:], lo)
		le.PutUint32(st[stateGuestIDT+v*8+4:], hi)
	}
	for i := 0; i < gdtEntries; i++ {
		le.PutUint64(st[stateGuestGDT+i*8:], h.liveGDTEntry(i))
	}
	h.mem.WriteBytes(h.switcherPages[2], st[:])
}
