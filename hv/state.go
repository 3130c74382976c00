package hv

import (
	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/pgtable"
)

// What a front end draws, taken under one lock: Snapshot is the one way
// to see the Guest at a single instant; the single getters (Regs, Host,
// Walk, ...) are for front ends that need one item.

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

// AddrFrom says what a View address is relative to, so a front end that
// follows EIP or ESP gets the window at the same instant as the registers.
type AddrFrom int

const (
	AtAddr AddrFrom = iota // the address given
	AtEIP                  // the Guest's EIP
	AtESP                  // the Guest's ESP
)

// Place is an address in a View: Addr itself, or the register From names.
type Place struct {
	From AddrFrom
	Addr uint32 // for AtAddr
	// Align rounds the address down to a multiple of it (0 or 1: none);
	// a stack dump from ESP wants 16-byte rows.
	Align uint32
}

func (p Place) resolve(r *Regs) uint32 {
	a := p.Addr
	switch p.From {
	case AtEIP:
		a = r.EIP
	case AtESP:
		a = r.GPR[cpu.ESP]
	}
	if p.Align > 1 {
		a -= a % p.Align
	}
	return a
}

// Window asks for Len bytes of Guest virtual memory at Place, starting up
// to Before bytes earlier (fewer near address 0: a disassembly wants some
// code above EIP).
type Window struct {
	At     Place
	Before uint32
	Len    int
}

// Memory is a window's contents: OK[i] says whether Data[i] could be read
// (unmapped pages and holes are false, not errors).
type Memory struct {
	Base uint32
	Data []byte
	OK   []bool
}

// View says what a Snapshot should copy beyond the registers, the Host
// state and the slots, which it always copies.
type View struct {
	Walk    *Place   // walk this address guest-versus-shadow; nil = no walk
	Windows []Window // memory windows, in order
	// Events: copy the events with sequence number >= EventsFrom.
	Events     bool
	EventsFrom uint64
}

// Snapshot is everything a front end draws, taken at one instant.
type Snapshot struct {
	Running bool
	Stop    Stop // the last stop (while running, the one before the run)
	Regs    Regs
	Host    HostState
	PAE     bool
	Linear  bool // linear_pages
	Slots   []pgtable.SlotInfo
	// CurrentSlot is the slot in use (Slots[i].Current).
	CurrentSlot int
	Walk        Walks    // when View.Walk is set
	Windows     []Memory // one per View.Windows
	Events      []Event  // when View.Events is set, oldest first
	// NextEvent is the sequence number to pass as EventsFrom next time;
	// Events[0].Seq > EventsFrom means older events left the ring.
	NextEvent uint64
}

// Snapshot copies what v asks for under the Host lock, so every field is
// from the same instruction boundary (a running Guest reaches one within a
// run slice).
func (m *Machine) Snapshot(v View) Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s Snapshot
	m.ctl.Lock()
	s.Running, s.Stop = m.running, m.last
	m.ctl.Unlock()
	s.Regs = m.regsLocked()
	s.Host = m.hostLocked()
	s.PAE = m.h.pae
	s.Linear = m.h.pt.LinearPages()
	s.Slots = m.h.pt.Slots()
	s.CurrentSlot = m.h.pt.CurrentSlot()
	if v.Walk != nil {
		s.Walk = m.walkLocked(v.Walk.resolve(&s.Regs))
	}
	for _, w := range v.Windows {
		a := w.At.resolve(&s.Regs)
		back := min(a, w.Before)
		s.Windows = append(s.Windows, m.readWindowLocked(a-back, int(back)+w.Len))
	}
	if v.Events {
		// Events are appended only by the Guest goroutine under mu, so
		// they too stop at this instant.
		s.Events, s.NextEvent = m.h.events.since(v.EventsFrom)
	} else {
		_, s.NextEvent = m.h.events.since(^uint64(0))
	}
	return s
}

// Regs snapshots the registers.
func (m *Machine) Regs() Regs {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.regsLocked()
}

func (m *Machine) regsLocked() Regs {
	c := m.h.cpu
	var r Regs
	for i := range r.GPR {
		r.GPR[i] = c.Reg(cpu.Reg(i))
	}
	r.EIP, r.EFLAGS, r.CPL = c.EIP(), c.EFLAGS(), c.CPL()
	for i := range r.Seg {
		r.Seg[i] = c.Seg(cpu.SReg(i))
	}
	r.CR2 = m.h.lastPagefault
	r.CR3 = m.h.guestCR3()
	r.ShadowCR3 = c.CR3()
	r.ICount = c.ICount()
	return r
}

// Host snapshots the Host-side state.
func (m *Machine) Host() HostState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hostLocked()
}

func (m *Machine) hostLocked() HostState {
	h := m.h
	return HostState{
		LguestData: h.lguestData, HaveLguestData: h.haveLguestData, KernelAddress: h.kernelAddress,
		SwitcherAddr: h.switcherAddr, IrqsPending: h.irqsPending, Halted: h.halted,
		TimerArmed: h.timerArmed, TimerDeadline: h.timerDeadline, Now: h.now(), TS: h.ts != 0,
		SS1: h.ss1, ESP1: h.esp1, Dead: h.dead, DeathReason: h.deathReason,
		StackPages: h.stackPages, NoirqStart: h.noirqStart, NoirqEnd: h.noirqEnd,
		SwitcherPages: h.switcherPages, LastPagefault: h.lastPagefault, HcallPending: h.hcallPending,
	}
}

// LinearPages reports the Host's linear_pages flag.
func (m *Machine) LinearPages() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.pt.LinearPages()
}

// Walk walks va through the Guest's current table and the current shadow.
func (m *Machine) Walk(va uint32) Walks {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.walkLocked(va)
}

func (m *Machine) walkLocked(va uint32) Walks {
	slot := m.h.pt.CurrentSlot()
	return Walks{
		Guest:  m.h.pt.WalkGuest(m.h.guestCR3(), va),
		Shadow: m.h.pt.WalkShadow(slot, va),
		Linear: m.h.pt.LinearPages(),
		Slot:   slot,
	}
}

// ShadowSlots lists the pgdir cache.
func (m *Machine) ShadowSlots() []pgtable.SlotInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.pt.Slots()
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
