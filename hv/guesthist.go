package hv

import (
	"fmt"
	"slices"
	"sort"

	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/hv/pgtable"
)

// The history of the guest entries that map an address: one replay of all
// of history with a write watch on them. Which entries map va changes as
// the Guest runs — a CR3 load (LHCALL_NEW_PGTABLE, spec §3.3.4) switches to
// other tables, and a store to a pgd or pmd entry points the walk at
// another table — so the watch follows: after every such store and every
// CR3 load the set is the Guest's walk of va at that instant. The entries
// that map va at the present are watched from the start as well, so the
// stores that built them before they were in use (head.S filling
// initial_page_table under linear_pages) are part of their history.

// EntryChange is one change to a guest entry mapping va, or a CR3 load
// that switched the Guest's tables (Level "cr3": Old and New are the
// tables, 0 = linear_pages).
type EntryChange struct {
	ICount uint64 // as EntryWriter: Goto(ICount) lands just before it
	EIP    uint32
	Symbol string
	Guest  bool   // a Guest instruction stored; else the Host
	Cause  string // the Host's: what it was handling
	Level  string // "pgd", "pmd", "pte" or "cr3"
	Index  uint32
	PAddr  uint32 // the entry's guest-physical address
	// InUse: the entry mapped va when it changed (else it came to map va
	// later: a table being built, or one no longer in use).
	InUse    bool
	Old, New uint64
	Seq      uint64 // the event log's next sequence number then: orders it among the events
}

func (c EntryChange) String() string {
	if c.Level == "cr3" {
		return fmt.Sprintf("cr3 %#x -> %#x (%s)", c.Old, c.New, c.Cause)
	}
	by := storer(c.EIP, c.Symbol, c.Guest, c.Cause)
	use := ""
	if !c.InUse {
		use = " (not mapping it then)"
	}
	return fmt.Sprintf("%s[%d] @%#x %#x -> %#x by %s%s", c.Level, c.Index, c.PAddr, c.Old, c.New, by, use)
}

// GuestEntryHistory lists every change to the guest entries that map va,
// and the CR3 loads that switched the tables, oldest first, from the
// oldest instant in history to the present. The machine is left exactly
// at the present. It needs history (ErrNoHistory) and a stopped Guest
// (ErrRunning).
func (m *Machine) GuestEntryHistory(va uint32) ([]EntryChange, error) {
	out, _, err := m.guestEntryHistory(va)
	return out, err
}

// guestEntryHistory is GuestEntryHistory and, heard on the same replay,
// every shadow change mapping va from the oldest instant in history to the
// present, which the event ring may no longer hold.
func (m *Machine) guestEntryHistory(va uint32) ([]EntryChange, []Event, error) {
	if err := m.claimTravel(); err != nil {
		return nil, nil, err
	}
	defer m.endQuery()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []EntryChange
	var shadow, causes []Event
	m.preservingPresent(func(p present) {
		out, shadow, causes = m.entryHistory(p, va)
	})
	if m.queryCancel.Load() {
		return nil, nil, ErrCancelled
	}
	for i := range out {
		m.describeChange(&out[i], causes)
	}
	return out, shadow, nil
}

// watched is one entry of the set, with where it sits in the walk.
type watched struct {
	level pgtable.LevelKind
	index uint32
	addr  uint32
	inUse bool // part of the walk now (else only of the present's)
}

// Besides the changes it returns the shadow changes mapping va and the
// traps and hypercalls at the changes' instants (what describeChange names
// as the Host's cause), all heard on the replay, so that neither depends
// on what the event ring still holds.
func (m *Machine) entryHistory(p present, va uint32) (changes []EntryChange, shadow, causes []Event) {
	size := m.entrySize()
	// the present's entries, kept whatever the walk does
	var keep []watched
	if w := m.h.Walk(va).Guest; !w.Linear {
		for _, l := range w.Levels {
			keep = append(keep, watched{l.Kind, l.Index, l.EntryAddr, false})
		}
	}
	hs := m.hist
	m.h.Restore(hs.cps[0])
	var (
		out   []EntryChange
		set   []watched
		cr3   uint32
		w     = newWatcher(m, p)
		stale bool
	)
	derive := func() {
		cr3 = m.h.GuestCR3()
		set = set[:0]
		if !m.h.Tables().LinearPages() {
			for _, l := range m.h.Tables().WalkGuest(cr3, va).Levels {
				set = append(set, watched{l.Kind, l.Index, l.EntryAddr, true})
			}
		}
		for _, k := range keep {
			dup := false
			for _, s := range set {
				dup = dup || s.addr == k.addr
			}
			if !dup {
				set = append(set, k)
			}
		}
		ranges := make([]PhysRange, len(set))
		for i, s := range set {
			ranges[i] = PhysRange{s.addr, size}
		}
		w.arm(ranges)
	}
	// lastCause is the newest trap or hypercall heard: the cause of a
	// change at its icount made after it.
	var lastCause Event
	noteCause := func() {
		if ic := out[len(out)-1].ICount; lastCause.ICount == ic && (lastCause.Kind == event.Trap || lastCause.Kind == event.Hypercall) &&
			(len(causes) == 0 || causes[len(causes)-1].Seq != lastCause.Seq) {
			causes = append(causes, lastCause)
		}
	}
	w.change = func(k int, x EntryWriter) {
		if x.Old == x.New {
			return
		}
		s := set[k]
		out = append(out, EntryChange{ICount: x.ICount, EIP: x.EIP, Guest: x.Guest, Level: s.level.String(), Index: s.index,
			PAddr: s.addr, InUse: s.inUse, Old: x.Old, New: x.New, Seq: x.seq})
		noteCause()
		if s.inUse && s.level != pgtable.LevelPTE {
			stale = true
		}
	}
	w.after = func() {
		if stale {
			stale = false
			derive()
		}
	}
	m.h.Events().SetObserver(func(e event.Event) {
		// the replay makes the present's events again, seq for seq
		past := e.Seq < p.seq
		if past && m.covers(e, va) {
			shadow = append(shadow, e)
		}
		if past && (e.Kind == event.Trap || e.Kind == event.Hypercall) {
			lastCause = e
			if len(out) > 0 && out[len(out)-1].ICount == e.ICount {
				// the trap a change at this icount was made handling
				causes = append(causes, e)
			}
		}
		if e.Kind != event.PgdirSwitch && e.Kind != event.LinearOff {
			return
		}
		if now := m.h.GuestCR3(); now != cr3 {
			ic, eip, guest := m.h.CPU().Writer()
			if ic < p.icount || ic == p.icount && e.Seq < p.seq {
				out = append(out, EntryChange{ICount: ic, EIP: eip, Guest: guest, Level: "cr3", Old: uint64(cr3), New: uint64(now), Seq: e.Seq})
				noteCause()
			}
			derive()
		}
	})
	derive()
	m.replayWatched(p.icount, &p)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ICount != out[j].ICount {
			return out[i].ICount < out[j].ICount
		}
		return out[i].Seq < out[j].Seq
	})
	sort.SliceStable(causes, func(i, j int) bool { return causes[i].Seq < causes[j].Seq })
	causes = slices.CompactFunc(causes, func(a, b Event) bool { return a.Seq == b.Seq })
	return out, shadow, causes
}

// describeChange names a change's EIP and the Host's cause, as describe
// does for a writer, from causes: the traps and hypercalls at the changes'
// instants that the replay heard. A CR3 load's cause is the hypercall
// logged before its pgdir event.
func (m *Machine) describeChange(c *EntryChange, causes []Event) {
	if c.Level == "cr3" {
		c.Cause = "pgdir switch"
		for i := len(causes) - 1; i >= 0; i-- {
			if e := causes[i]; e.Seq < c.Seq && e.ICount == c.ICount && e.Kind == event.Hypercall {
				c.Cause = "hcall " + e.Name
				break
			}
		}
		if n, ok := m.syms.Code(c.EIP); ok {
			c.Symbol = n.Base()
		}
		return
	}
	w := EntryWriter{Found: true, ICount: c.ICount, EIP: c.EIP, Guest: c.Guest, seq: c.Seq}
	m.describeWith(&w, causes)
	c.Symbol, c.Cause = w.Symbol, w.Cause
}

// MappingChange is one change to an entry that maps an address: a guest
// entry's (or a CR3 load, Guest set) or a shadow entry's (Shadow set).
type MappingChange struct {
	Guest  *EntryChange
	Shadow *Event
}

// ICount is when the change happened.
func (c MappingChange) ICount() uint64 {
	if c.Guest != nil {
		return c.Guest.ICount
	}
	return c.Shadow.ICount
}

// MappingHistory merges the guest entries' history and the shadow
// entries', oldest first. With history, both are heard on one replay from
// the oldest instant kept, so the shadow changes reach back that far even
// when the event ring has dropped them. When the guest history cannot be
// had (history off, the Guest running: guestErr says why), the shadow
// changes are what the event ring still holds (ShadowHistory).
func (m *Machine) MappingHistory(va uint32) (out []MappingChange, guestErr error) {
	guest, shadow, guestErr := m.guestEntryHistory(va)
	if guestErr != nil {
		shadow = m.ShadowHistory(va)
	}
	for i := range guest {
		out = append(out, MappingChange{Guest: &guest[i]})
	}
	for i := range shadow {
		out = append(out, MappingChange{Shadow: &shadow[i]})
	}
	// A store with Seq s came before event s was made; a CR3 load is
	// its pgdir event.
	key := func(c MappingChange) (uint64, uint64, int) {
		if c.Guest != nil && c.Guest.Level != "cr3" {
			return c.Guest.ICount, c.Guest.Seq, 0
		}
		if c.Guest != nil {
			return c.Guest.ICount, c.Guest.Seq, 1
		}
		return c.Shadow.ICount, c.Shadow.Seq, 1
	}
	sort.SliceStable(out, func(i, j int) bool {
		a1, a2, a3 := key(out[i])
		b1, b2, b3 := key(out[j])
		if a1 != b1 {
			return a1 < b1
		}
		if a2 != b2 {
			return a2 < b2
		}
		return a3 < b3
	})
	return out, guestErr
}

// CountGuest is how many of changes are guest changes (CR3 loads
// included); the rest are shadow changes.
func CountGuest(changes []MappingChange) int {
	n := 0
	for _, c := range changes {
		if c.Guest != nil {
			n++
		}
	}
	return n
}

// String is the change in one line, as `monitor history` and the TUI's
// :history list it.
func (c MappingChange) String() string {
	if g := c.Guest; g != nil {
		return fmt.Sprintf("icount %-10d guest  %s", g.ICount, g)
	}
	e := c.Shadow
	return fmt.Sprintf("icount %-10d shadow slot %d %s[%d] %#x -> %#x  %s", e.ICount, e.Slot, e.Level, e.Index, e.Old, e.New, e.Why)
}
