package host

import (
	"bytes"
	"fmt"
)

// LGUEST_TRAP_ENTRY: the hypercall vector.
const trapEntry = 0x1F

const (
	shutdownPoweroff = 1
	shutdownRestart  = 2
	hcallRingSize    = 64
)

// hcallArgs is struct hcall_args: arg0 (the call number) to arg4, which the
// Guest passes in eax, ebx, ecx, edx, esi (spec §3.1).
type hcallArgs [5]uint32

// H:300 The Guest asked for something: a hypercall trapped out through
// int $0x1f, and the run loop calls us at the top of its next iteration
// (spec §5.1 step 1), before any interrupt is injected.
func (h *Host) doHypercalls() {
	args := h.hcall
	// Until the Guest has told us where its lguest_data lives, the only
	// call we accept is LGUEST_INIT (spec §3.3.2).
	if !h.haveLguestData {
		h.logHcall(args, false, "")
		if args[0] != HcallLguestInit {
			h.kill(fmt.Sprintf("hypercall %d before INIT", int32(args[0])))
		} else {
			h.lguestInit(args[1])
		}
		h.hcallPending = false
		return
	}
	// Asynchronous calls queued in the ring run first, in ring order
	// (spec §3.4). A NOTIFY among them stops the drain and defers the
	// synchronous call until the notification has been serviced (§3.3.15).
	h.doAsyncHcalls()
	if h.pendingNotify == 0 {
		h.logHcall(args, false, "")
		h.doHcall(args)
		h.hcallPending = false
	}
}

// doAsyncHcalls drains the ring in lguest_data (spec §3.4).
func (h *Host) doAsyncHcalls() {
	var st [hcallRingSize]byte
	if !h.mem.AddressOK(h.lguestData+ldHcallStatus, hcallRingSize) {
		return // the original silently skips the ring when it cannot read it
	}
	h.mem.ReadBytes(h.lguestData+ldHcallStatus, st[:])
	for i := 0; i < hcallRingSize; i++ {
		n := h.nextHcall
		if st[n] == 0xFF {
			break
		}
		h.nextHcall = (h.nextHcall + 1) % hcallRingSize
		var raw [20]byte
		slot := h.lguestData + ldHcalls + uint32(n)*20
		if !h.mem.AddressOK(slot, 20) {
			h.kill("Fetching async hypercalls")
			break
		}
		h.mem.ReadBytes(slot, raw[:])
		var args hcallArgs
		for j := range args {
			args[j] = le32(raw[j*4:])
		}
		h.logHcall(args, true, "")
		h.doHcall(args)
		if !h.mem.AddressOK(h.lguestData+ldHcallStatus+uint32(n), 1) {
			h.kill("Writing result for async hypercall")
			break
		}
		h.mem.Write8(h.lguestData+ldHcallStatus+uint32(n), 0xFF)
		if h.pendingNotify != 0 {
			break
		}
	}
}

// doHcall executes one hypercall, synchronous or from the ring (spec §3.3).
// No hypercall returns a value: eax still holds the call number when the
// Guest resumes (spec §12 quirk 11).
func (h *Host) doHcall(a hcallArgs) {
	switch a[0] {
	case HcallFlushAsync, HcallSendInterrupts:
		// Their only purpose was to get us here (spec §3.3.1).
	case HcallLguestInit:
		h.kill("already have lguest_data")
	case HcallShutdown:
		h.shutdown(a[1], a[2])
	case HcallNewPgtable:
		h.newPgtable(a[1])
	case HcallFlushTLB:
		if a[1] != 0 {
			h.pt.ClearAll()
		} else {
			h.pt.FlushUser()
		}
	case HcallLoadIDTEntry:
		h.loadIDTEntry(a[1], a[2], a[3])
	case HcallSetStack:
		h.setStack(a[1], a[2], a[3])
	case HcallTS:
		h.ts = a[1]
		h.cpu.SetTS(a[1] != 0)
	case HcallSetClockevent:
		h.setClockevent(a[1])
	case HcallHalt:
		h.halted = true
	case HcallSetPMD:
		if !h.pae {
			// A non-PAE Host does not know this number (spec §3.2).
			h.kill(fmt.Sprintf("Bad hypercall %d\n", int32(a[0])))
			return
		}
		h.pt.SetPMD(a[1], a[2])
	case HcallSetPTE:
		pte := uint64(a[3])
		if h.pae {
			pte |= uint64(a[4]) << 32
		}
		h.pt.SetPTE(a[1], a[2], pte)
	case HcallSetPGD:
		h.pt.SetPGD(a[1], a[2])
	case HcallLoadTLS:
		h.loadTLS(a[1])
	case HcallNotify:
		if h.abi4x.Load() {
			// Gone in 4.x: devices are notified through PCI (4.x spec §2).
			h.kill(fmt.Sprintf("Bad hypercall %d\n", int32(a[0])))
			return
		}
		h.pendingNotify = a[1]
	case HcallLoadGDTEntry:
		h.loadGDTEntry(a[1], a[2], a[3])
	default:
		// Note the newline: it is part of lguest's message (spec §3.2).
		h.kill(fmt.Sprintf("Bad hypercall %d\n", int32(a[0])))
	}
}

// H:310 LHCALL_LGUEST_INIT: the Guest tells us where its lguest_data is,
// and we fill in the fields it needs from us (spec §3.3.2, in its order).
func (h *Host) lguestInit(gpa uint32) {
	lay := h.pickABI(gpa) // 3.x or 4.x (abi4x.go)
	if !h.mem.AddressOK(gpa, lay.size) {
		h.kill(fmt.Sprintf("bad guest page %#x", gpa))
		return
	}
	h.lguestData = gpa
	h.haveLguestData = true
	h.ldWrite(ldTscKHz, TSCkHz)
	if v := h.ldRead(lay.syscallVec); v != syscallVector {
		h.kill("bad syscall vector")
	}
	if h.abi4x.Load() {
		h.init4x()
	} else {
		h.noirqStart = h.ldRead(ldNoirqStart)
		h.noirqEnd = h.ldRead(ldNoirqEnd)
	}
	h.writeTimestamp()
	h.kernelAddress = h.ldRead(lay.kernelAddress)
	h.ldWrite(ldReserveMem, -h.pt.SwitcherAddr())
	if h.kernelAddress >= h.pt.SwitcherAddr() {
		h.kill(fmt.Sprintf("bad kernel address %#x", h.kernelAddress))
	}
	h.pt.SetKernelAddress(h.kernelAddress)
	// Linear mode stays on: only the first NEW_PGTABLE ends it (§7.8).
	h.pt.ClearAll()
}

// H:320 LHCALL_SHUTDOWN: the Guest is powering off, panicking or asking
// for a reboot. Whatever it says becomes its death reason (spec §3.3.3).
func (h *Host) shutdown(msgGPA, reason uint32) {
	var buf [128]byte
	h.readGuestBytes(msgGPA, buf[:])
	buf[127] = 0
	msg := string(buf[:bytes.IndexByte(buf[:], 0)])
	if h.dead {
		return // the bad read address already killed it, and that reason wins
	}
	// The death reason is lguest's; the event says what kind of death.
	h.dead = true
	h.deathReason = "CRASH: " + msg
	switch {
	case reason == shutdownRestart:
		// The death reason becomes -ERESTART (§12 quirk 9); the Launcher
		// would re-exec itself. We report it and stop.
		h.restart = true
		h.emit(Event{Kind: EvRestart, Text: msg})
	default:
		h.powerOff = true
		h.shutdownMsg = msg
		h.emit(Event{Kind: EvShutdown, Text: msg})
	}
}

// H:330 NEW_PGTABLE: the Guest loaded cr3. The very first one also ends
// the fake 1:1 world of linear_pages (spec §7.8); we say so in the log,
// because that moment is what lgdbg exists to show.
func (h *Host) newPgtable(gpgdir uint32) {
	wasLinear := h.pt.LinearPages()
	if wasLinear && !h.choosePaging(gpgdir) {
		return
	}
	before := h.pt.CurrentSlot()
	h.pt.NewPagetable(gpgdir)
	if wasLinear && !h.pt.LinearPages() {
		h.emit(Event{Kind: EvLinearOff, GPgdir: gpgdir, Slot: h.pt.CurrentSlot(), Root: h.pt.CR3()})
	}
	if after := h.pt.CurrentSlot(); after != before || wasLinear {
		h.emit(Event{Kind: EvPgdirSwitch, Slot: after, GPgdir: gpgdir, Root: h.pt.CR3()})
	}
}

// H:340 SET_STACK: where the Guest's kernel stack is, for traps that arrive
// while it runs user code (spec §3.3.7). The checks kill but, as in the
// original, the values are stored anyway (§12 quirk 8).
func (h *Host) setStack(seg, esp, pages uint32) {
	if seg&3 != guestPL {
		h.kill(fmt.Sprintf("bad stack segment %d", int32(seg)))
	}
	if pages > 2 {
		h.kill(fmt.Sprintf("bad stack pages %d", pages))
	}
	h.ss1 = uint16(seg)
	h.esp1 = esp
	h.stackPages = pages
	h.cpu.SetRing1Stack(h.ss1, h.esp1)
	h.pt.SetStack(esp, pages)
	h.pt.PinStackPages()
	h.switcherDirty = true
}

// H:350 SET_CLOCKEVENT: a one-shot timer, in nanoseconds from now, on our
// virtual clock (spec §3.3.9, §8.2); 0 cancels it.
func (h *Host) setClockevent(ns uint32) {
	if ns == 0 {
		h.timerArmed = false
		return
	}
	h.timerArmed = true
	h.timerDeadline = h.now() + uint64(ns)
}

// logHcall appends the hypercall to the event stream, decoding arguments
// by call (the UI shows the names, the trace keeps the raw words).
func (h *Host) logHcall(a hcallArgs, async bool, detail string) {
	nr := int(int32(a[0]))
	all := [4]uint32{a[1], a[2], a[3], a[4]}
	args := all[:]
	switch nr {
	case HcallFlushAsync, HcallHalt, HcallSendInterrupts:
		args = nil
	case HcallLguestInit, HcallNewPgtable, HcallFlushTLB, HcallTS, HcallSetClockevent, HcallNotify:
		args = args[:1]
	case HcallShutdown, HcallSetPGD, HcallLoadTLS, HcallSetPMD:
		args = args[:2]
	case HcallLoadIDTEntry, HcallSetStack, HcallLoadGDTEntry:
		args = args[:3]
	case HcallSetPTE:
		if !h.pae {
			args = args[:3]
		}
	}
	if nr == HcallShutdown {
		var buf [128]byte
		if h.mem.AddressOK(a[1], 128) {
			h.mem.ReadBytes(a[1], buf[:])
			buf[127] = 0
			detail = fmt.Sprintf("%q", string(buf[:bytes.IndexByte(buf[:], 0)]))
		}
	}
	h.emit(Event{Kind: EvHypercall, Nr: nr, Name: HcallName(nr), Args: h.eventArgs(args), Async: async, EIP: h.cpu.EIP(), Text: detail})
}

// eventArgs copies a hypercall's argument words for its event into the
// Host's arena, so that logging a hypercall allocates once per thousand or
// so of them rather than once each (a booting kernel makes thousands, and
// the exit path should not feed the garbage collector). Each event's slice
// has its own capacity, so nobody appending to one can reach another's.
func (h *Host) eventArgs(a []uint32) []uint32 {
	if len(a) == 0 {
		return nil
	}
	if len(h.argArena) < len(a) {
		h.argArena = make([]uint32, 4096)
	}
	s := h.argArena[:len(a):len(a)]
	copy(s, a)
	h.argArena = h.argArena[len(a):]
	return s
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
