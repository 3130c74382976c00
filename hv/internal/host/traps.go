package host

import (
	"fmt"

	"github.com/lgdbg/lgdbg/hv/cpu"
)

// EFLAGS bits the reflection path clears (spec §5.4 step 4).
const reflectClearFlags = cpu.FlagTF | cpu.FlagVM | cpu.FlagRF | cpu.FlagNT

var trapNames = [...]string{
	0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM",
	8: "#DF", 9: "coproc", 10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF",
	15: "reserved", 16: "#MF", 17: "#AC", 18: "#MC", 19: "#XM",
}

// TrapName names an exception vector ("#PF"), the hypercall vector, or an
// interrupt vector.
func TrapName(v int) string {
	switch {
	case v < len(trapNames) && trapNames[v] != "":
		return trapNames[v]
	case v == trapEntry:
		return "hypercall"
	case v == syscallVector:
		return "syscall"
	case v >= 32:
		return fmt.Sprintf("int %#x", v)
	}
	return fmt.Sprintf("vector %d", v)
}

// hasErr: vectors for which the CPU pushes an error code (spec §5.2).
func hasErr(v int) bool {
	switch v {
	case 8, 10, 11, 12, 13, 14, 17:
		return true
	}
	return false
}

// H:200 The Guest trapped out to us (spec §5.2, lguest_arch_handle_trap).
// Each exit is handled completely — reflected, emulated or fixed up —
// before the next loop iteration considers interrupts. retry says the
// trapping instruction has not run and will run again: demand_page fixed
// the fault, or the Host silently resumed.
func (h *Host) handleTrap(x cpu.Exit) (retry bool) {
	ev := Event{Kind: EvTrap, Nr: x.Vector, Name: TrapName(x.Vector), EIP: h.cpu.EIP(), ErrCode: x.ErrCode}
	switch {
	case x.Vector == cpu.VecGP:
		// A #GP with error code 0 may be an instruction we emulate (§5.3).
		if x.ErrCode == 0 && h.abi4x.Load() {
			// 4.x: the Launcher emulates it, or says to reflect it.
			if ev.Outcome = h.emulate4x(); ev.Outcome != "" {
				break
			}
		} else if x.ErrCode == 0 && h.emulateInsn() {
			ev.Outcome = "emulated"
			break
		}
		ev.Outcome = h.reflect(x.Vector, x.ErrCode)
	case x.Vector == cpu.VecPF:
		// A page fault: most are just the shadow tables not being
		// filled in yet. demand_page looks in the Guest's own tables
		// (or fakes 1:1 under linear_pages) and fixes us up (§7.3).
		h.lastPagefault = x.CR2
		ev.CR2 = x.CR2
		if h.pt.DemandPage(x.CR2, x.ErrCode) {
			ev.Outcome = "demand_page"
			retry = true
			break
		}
		// 4.x: a device BAR; the Launcher emulates the access.
		if gpa, io := h.pt.TakeIOMem(); io {
			if ev.Outcome = h.mmio4x(gpa); ev.Outcome != "" {
				break
			}
		}
		// The Guest's tables don't map it either: its problem. It
		// reads the address from lguest_data.cr2 (its read_cr2).
		if h.haveLguestData && !h.ldWrite(ldCR2, x.CR2) {
			h.kill("Writing cr2")
		}
		ev.Outcome = h.reflect(x.Vector, x.ErrCode)
	case x.Vector == cpu.VecNM:
		// With TS clear the Host "restores the FPU" and resumes; with TS
		// set the Guest wanted to know (spec §5.9).
		if h.ts == 0 {
			ev.Outcome = "resumed"
			retry = true
			break
		}
		ev.Outcome = h.reflect(x.Vector, x.ErrCode)
	case x.Vector == trapEntry:
		h.hcall = hcallArgs{h.cpu.Reg(cpu.EAX), h.cpu.Reg(cpu.EBX), h.cpu.Reg(cpu.ECX), h.cpu.Reg(cpu.EDX), h.cpu.Reg(cpu.ESI)}
		h.hcallPending = true
		// Hypercalls have their own, decoded event; a trap line each
		// would only double the log.
		return false
	case x.Vector >= 32:
		// On real hardware a vector >= 32 arriving at a Host stub is a
		// Host interrupt; the Guest is not told (spec §5.2). The only
		// way a Guest reaches this is int $0x80 through a syscall gate
		// that is not a trap gate, which the original loses too.
		ev.Outcome = "host interrupt (ignored)"
	default:
		ev.Outcome = h.reflect(x.Vector, x.ErrCode)
	}
	h.emit(ev)
	return retry
}

// reflect is deliver_trap (spec §5.2): push the trap onto the Guest's stack
// and jump to its handler, or kill it if it has none.
func (h *Host) reflect(vector int, errcode uint32) string {
	if vector >= 256 || !gatePresent(h.idt[vector]) {
		info := errcode
		if vector == cpu.VecPF {
			info = h.lastPagefault
		}
		h.kill(fmt.Sprintf("unhandled trap %d at %#x (%#x)", vector, h.cpu.EIP(), info))
		return "fatal"
	}
	h.setGuestInterrupt(h.idt[vector], hasErr(vector), errcode)
	return "reflected"
}

// H:210 set_guest_interrupt (spec §5.4): build the frame a real CPU would
// push, on the Guest's kernel stack, and point the Guest at its handler.
func (h *Host) setGuestInterrupt(gate uint64, withErr bool, errcode uint32) {
	lo, hi := uint32(gate), uint32(gate>>32)
	c := h.cpu
	ss := uint32(c.Seg(cpu.SS).Sel)
	var virtstack, newss uint32
	var gstack uint32
	var frame [6]uint32 // at most ss, esp, eflags, cs, eip, errcode
	pushes := frame[:0] // (on the stack: no allocation on the trap path)
	if ss&3 != guestPL {
		// The Guest was running user code: switch to the kernel stack
		// it gave us with SET_STACK and save the user ss:esp first.
		virtstack, newss = h.esp1, uint32(h.ss1)
		pushes = append(pushes, ss, c.Reg(cpu.ESP))
	} else {
		virtstack, newss = c.Reg(cpu.ESP), ss
	}
	gstack = h.pt.GuestPA(virtstack)
	origstack := gstack

	// The Guest's virtual interrupt flag lives in lguest_data; the real
	// IF is always on, so the pushed copy tells the truth only after we
	// fold irq_enabled in.
	eflags := c.EFLAGS()
	if v, ok := h.ldTryRead(ldIrqEnabled); ok && h.haveLguestData && v&cpu.FlagIF == 0 {
		eflags &^= cpu.FlagIF
	}
	pushes = append(pushes, eflags, uint32(c.Seg(cpu.CS).Sel), c.EIP())
	if withErr {
		pushes = append(pushes, errcode)
	}
	// Quirk kept (spec §12 quirk 7): the frame is written at decreasing
	// guest-physical addresses from one translation of the stack top.
	for _, v := range pushes {
		gstack -= 4
		h.writeGuest32(gstack, v)
	}
	c.SetReg(cpu.ESP, virtstack-(origstack-gstack))
	// CS first: the stack segment is checked against the new CPL, as
	// the iret into the Guest's handler would.
	h.loadSegOrKill(cpu.CS, kernelCS|guestPL)
	h.loadSegOrKill(cpu.SS, uint16(newss))
	c.SetEIP(lo&0xFFFF | hi&0xFFFF0000)
	c.SetEFLAGS(c.EFLAGS() &^ reflectClearFlags)

	// An interrupt gate means "interrupts off" — virtually (§5.4 step 5).
	if (hi>>8)&0xF == 0xE && !h.ldWrite(ldIrqEnabled, 0) {
		h.kill("Disabling interrupts")
	}
}

// loadSegOrKill loads a selector the way the Switcher's iret/pop would on
// the next entry; a selector that does not load faults inside the
// Switcher, which the original reports as trap 256.
func (h *Host) loadSegOrKill(s cpu.SReg, sel uint16) bool {
	if _, errcode, ok := h.cpu.LoadSeg(s, sel); !ok {
		h.kill(fmt.Sprintf("unhandled trap 256 at %#x (%#x)", h.cpu.EIP(), errcode))
		return false
	}
	return true
}

// H:220 emulate_insn (spec §5.3): the only instructions the Host emulates
// for a ring-1 #GP(0) are in/out (reads return all ones, writes vanish) and
// a bare cli, which is skipped without touching irq_enabled (quirk 10).
func (h *Host) emulateInsn() bool {
	c := h.cpu
	pa := h.pt.GuestPA(c.EIP())
	if uint32(c.Seg(cpu.CS).Sel)&3 != guestPL {
		return false
	}
	insn, ok := h.mem.Read8(pa)
	if !ok || !h.mem.AddressOK(pa, 1) {
		h.kill(fmt.Sprintf("bad read address %#x len 1", pa))
		return false
	}
	if insn == 0xFA {
		c.SetEIP(c.EIP() + 1)
		return true
	}
	length := uint32(0)
	small := false
	if insn == 0x66 {
		small = true
		length = 1
		if !h.mem.AddressOK(pa+1, 1) {
			h.kill(fmt.Sprintf("bad read address %#x len 1", pa+1))
			return false
		}
		insn, _ = h.mem.Read8(pa + 1)
	}
	in := false
	switch insn & 0xFE {
	case 0xE4:
		in, length = true, length+2
	case 0xEC:
		in, length = true, length+1
	case 0xE6:
		length += 2
	case 0xEE:
		length++
	default:
		return false
	}
	if in {
		eax := c.Reg(cpu.EAX)
		switch {
		case insn&1 != 0 && small:
			eax |= 0xFFFF
		case insn&1 != 0:
			eax = 0xFFFFFFFF
		default:
			eax |= 0xFF
		}
		c.SetReg(cpu.EAX, eax)
	}
	c.SetEIP(c.EIP() + length)
	return true
}

// H:230 Virtual interrupts (spec §5.5). interruptPending finds the lowest
// pending interrupt the Guest has not blocked; 32 means none.
func (h *Host) interruptPending() int {
	if !h.haveLguestData {
		return 32
	}
	blocked, ok := h.ldTryRead(ldBlocked)
	if !ok {
		return 32
	}
	cand := h.irqsPending &^ blocked
	for i := 0; i < 32; i++ {
		if cand&(1<<i) != 0 {
			return i
		}
	}
	return 32
}

// tryDeliverInterrupt (spec §5.5, 3.x) pushes an interrupt frame if the
// Guest can take the interrupt now. "more" is always true in the original
// (quirk 1), so irq_pending is never cleared by the Host; we keep that,
// because guests are written against it and the extra SEND_INTERRUPTS
// calls it causes are part of a faithful hypercall log.
func (h *Host) tryDeliverInterrupt(irq int) {
	c := h.cpu
	// Never between lguest_iret's "irq_enabled = saved IF" and its iret.
	if eip := c.EIP(); !h.abi4x.Load() && h.noirqStart <= eip && eip < h.noirqEnd {
		return
	}
	if h.halted {
		if !h.ldWrite(ldIrqEnabled, cpu.FlagIF) {
			h.kill("Re-enabling interrupts")
		}
		h.halted = false
	} else {
		v, _ := h.ldTryRead(ldIrqEnabled)
		if v == 0 {
			// Interrupts are virtually off: ask the Guest to tell us
			// (SEND_INTERRUPTS) when it turns them back on.
			h.writeGuestQuiet(h.lguestData+ldIrqPending, cpu.FlagIF)
			return
		}
	}
	gate := h.idt[32+irq]
	if gatePresent(gate) {
		h.irqsPending &^= 1 << irq
		eip := c.EIP()
		if h.abi4x.Load() && eip == h.noirqIret {
			h.deliverAtNoirqIret(gate) // 4.x spec §3
		} else {
			h.setGuestInterrupt(gate, false, 0)
		}
		h.emit(Event{Kind: EvInterrupt, Nr: irq, EIP: eip})
	}
	h.writeTimestamp()
}

// setInterrupt raises a virtual IRQ line (set_interrupt).
func (h *Host) setInterrupt(irq int) {
	if irq >= 0 && irq < 32 {
		h.irqsPending |= 1 << irq
	}
}

// writeGuestQuiet is put_user with its error ignored (irq_pending, §5.5).
func (h *Host) writeGuestQuiet(gpa, v uint32) {
	if h.mem.AddressOK(gpa, 4) {
		h.mem.Write32(gpa, v)
	}
}

// writeTimestamp refreshes lguest_data.time from the virtual clock.
func (h *Host) writeTimestamp() {
	ns := h.wallclockNS()
	if !h.ldWrite(ldTime, uint32(ns/1e9)) || !h.ldWrite(ldTime+4, uint32(ns%1e9)) {
		h.kill("Writing timestamp")
	}
}
