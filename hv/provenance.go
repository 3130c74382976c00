package hv

import "github.com/lgdbg/lgdbg/hv/event"

// Provenance of shadow entries: every change to a shadow entry is an event
// (the Host's demand_page, a SET_PTE/SET_PMD/SET_PGD hypercall, a flush,
// new_pgdir ...) with the reason in Why, so the history of an entry is a
// filter over the event log, oldest first. It reaches as far back as the
// event ring (Config.EventRing) keeps. Guest entries are plain guest
// memory that no event records: their writers are found by replay
// (guestprov.go, guesthist.go).

// span is how much virtual memory one entry of a level covers.
func (m *Machine) span(level string) uint64 {
	switch level {
	case "pte":
		return 1 << 12
	case "pmd":
		return 1 << 21
	}
	if m.PAE() {
		return 1 << 30
	}
	return 1 << 22
}

func (m *Machine) covers(e Event, va uint32) bool {
	return e.Kind == event.Shadow && uint64(va) >= uint64(e.VAddr) && uint64(va) < uint64(e.VAddr)+m.span(e.Level)
}

// ShadowHistory lists every change still in the event log to a shadow
// entry (any slot, any level) that maps va, oldest first.
func (m *Machine) ShadowHistory(va uint32) []Event {
	evs, _ := m.Events(0)
	var out []Event
	for _, e := range evs {
		if m.covers(e, va) {
			out = append(out, e)
		}
	}
	return out
}

// ShadowWriter is the last event that wrote slot's entry at level for va,
// if the event log still holds it.
func (m *Machine) ShadowWriter(slot int, level string, va uint32) (Event, bool) {
	evs, _ := m.Events(0)
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		if e.Slot == slot && e.Level == level && m.covers(e, va) {
			return e, true
		}
	}
	return Event{}, false
}
