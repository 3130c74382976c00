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

// ShadowWritersInHistory is ShadowWriter for several levels of slot's
// entries for va, reaching past the event ring: the events the ring still
// holds answer at once, and for the rest the Machine replays history
// backwards, an interval at a time from the newest, listening to the
// events the replay makes again, until each level has its last write or
// history's start is reached (found false). The machine is left exactly
// at the present. The replay needs history (ErrNoHistory) and a stopped
// Guest (ErrRunning); without it, the ring's answers are all there is.
func (m *Machine) ShadowWritersInHistory(slot int, levels []string, va uint32) ([]Event, []bool, error) {
	evs := make([]Event, len(levels))
	found := make([]bool, len(levels))
	missing := 0
	for i, l := range levels {
		evs[i], found[i] = m.ShadowWriter(slot, l, va)
		if !found[i] {
			missing++
		}
	}
	if missing == 0 {
		return evs, found, nil
	}
	if err := m.claimTravel(); err != nil {
		return evs, found, err
	}
	defer m.endQuery()
	m.mu.Lock()
	defer m.mu.Unlock()
	hs := m.hist
	m.preservingPresent(func(p present) {
		top := p.checkpoint(hs.cps)
		for i := top; i >= 0 && missing > 0 && !m.queryCancel.Load(); i-- {
			m.h.Restore(hs.cps[i])
			// the last write of each missing level in this interval
			var last []int // index into evs, per level: -1 none
			last = make([]int, len(levels))
			var heard []Event
			for k := range last {
				last[k] = -1
			}
			m.h.Events().SetObserver(func(e Event) {
				if e.Seq >= p.seq || e.Slot != slot || !m.covers(e, va) {
					return
				}
				for k, l := range levels {
					if !found[k] && e.Level == l {
						last[k] = len(heard)
					}
				}
				heard = append(heard, e)
			})
			if i == top {
				m.replayWatched(p.icount, &p)
			} else {
				m.replayWatched(hs.cps[i+1].ICount, nil)
			}
			m.h.Events().SetObserver(nil)
			for k, j := range last {
				if j >= 0 {
					evs[k], found[k] = heard[j], true
					missing--
				}
			}
		}
	})
	if m.queryCancel.Load() {
		// the ring's answers stand; the replay's were not all had
		for i, l := range levels {
			evs[i], found[i] = m.ShadowWriter(slot, l, va)
		}
		return evs, found, ErrCancelled
	}
	return evs, found, nil
}
