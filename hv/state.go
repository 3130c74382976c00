package hv

import (
	"github.com/lgdbg/lgdbg/hv/cpu"
	"github.com/lgdbg/lgdbg/hv/pgtable"
)

// What a front end draws, taken under one lock: Snapshot is the one way
// to see the Guest at a single instant; the single getters (Regs, Host,
// Walk, ...) are for front ends that need one item.

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

// View says what a Snapshot should copy beyond the registers, the Host
// state and the slots, which it always copies.
type View struct {
	Walk    *Place   // walk this address guest-versus-shadow; nil = no walk
	Windows []Window // memory windows, in order
	// Events: copy the events with sequence number >= EventsFrom.
	Events     bool
	EventsFrom uint64
	// EventsGen is the Snapshot.EventsGen of the last snapshot (0 at
	// first): events forgotten since by time travel are reported in
	// Rewound, and Events restarts where they were forgotten.
	EventsGen uint64
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
	// EventsGen is what to pass as View.EventsGen next time.
	EventsGen uint64
	// Rewound: since View.EventsGen the machine travelled back and the
	// events from sequence number RewoundTo on are no longer history
	// (they may have happened again since, possibly differently); a
	// front end that keeps events drops its own from RewoundTo on.
	// Events then starts at RewoundTo.
	Rewound   bool
	RewoundTo uint64
}

// M:110 Snapshot copies what v asks for under the Host lock, so every field is
// from the same instruction boundary (a running Guest reaches one within a
// run slice).
func (m *Machine) Snapshot(v View) Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s Snapshot
	m.ctl.Lock()
	s.Running, s.Stop = m.running, m.last
	m.ctl.Unlock()
	s.Regs = m.h.Regs()
	s.Host = m.h.State()
	s.PAE = m.h.PAE()
	s.Linear = m.h.Tables().LinearPages()
	s.Slots = m.h.Tables().Slots()
	s.CurrentSlot = m.h.Tables().CurrentSlot()
	if v.Walk != nil {
		s.Walk = m.h.Walk(v.Walk.resolve(&s.Regs))
	}
	for _, w := range v.Windows {
		a := w.At.resolve(&s.Regs)
		back := min(a, w.Before)
		s.Windows = append(s.Windows, m.h.ReadWindow(a-back, int(back)+w.Len))
	}
	var cutFrom uint64
	cutFrom, s.Rewound, s.EventsGen = m.h.Events().CutSince(v.EventsGen)
	if s.Rewound && cutFrom < v.EventsFrom {
		s.RewoundTo = cutFrom
	} else if s.Rewound {
		// Cut only past what the front end had read: nothing it
		// holds is gone.
		s.Rewound = false
	}
	if v.Events {
		// Events are appended only by the Guest goroutine under mu, so
		// they too stop at this instant; a log cut back (Truncate, on a
		// restore) is too.
		from := v.EventsFrom
		if s.Rewound {
			from = s.RewoundTo
		}
		s.Events, s.NextEvent = m.h.Events().Since(from)
	} else {
		_, s.NextEvent = m.h.Events().Since(^uint64(0))
	}
	return s
}

// Regs snapshots the registers.
func (m *Machine) Regs() Regs {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.Regs()
}

// Host snapshots the Host-side state.
func (m *Machine) Host() HostState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.State()
}

// LinearPages reports the Host's linear_pages flag.
func (m *Machine) LinearPages() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.Tables().LinearPages()
}

// Walk walks va through the Guest's current table and the current shadow.
func (m *Machine) Walk(va uint32) Walks {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.Walk(va)
}

// ShadowSlots lists the pgdir cache.
func (m *Machine) ShadowSlots() []pgtable.SlotInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.h.Tables().Slots()
}
