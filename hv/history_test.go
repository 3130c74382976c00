package hv

import (
	"encoding/json"
	"testing"

	"github.com/lgdbg/lgdbg/hv/event"
	"github.com/lgdbg/lgdbg/tests/guests"
)

// GotoBefore lands on the last instant where the event has not happened:
// the event log ends before it, and one step from there makes it again,
// the same event (a replay is exact). Checked for one event of each kind
// the demo guest makes: a hypercall, a page fault, the shadow change
// demand_page makes for it, the handoff, console text, and the power-off
// (travelling from a dead Guest into its past).
func TestGotoBefore(t *testing.T) {
	m, err := New(Config{Image: guests.BootImage, History: 64 << 20, EventRing: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	end := m.Run(0)
	if !end.Reason.Terminal() {
		t.Fatalf("the demo guest stopped with %v", end)
	}
	all, _ := m.Events(0)
	picks := map[string]Event{}
	for _, e := range all {
		k := string(e.Kind)
		if e.Kind == event.Trap && e.Nr == 14 {
			k = "#PF"
		}
		if _, ok := picks[k]; ok && e.Kind != event.Shadow {
			continue
		}
		if e.Kind == event.Shadow {
			// The first shadow change after a #PF: demand_page's.
			if _, pf := picks["#PF"]; !pf || picks["shadow"].Seq > picks["#PF"].Seq {
				continue
			}
		}
		picks[k] = e
	}
	for _, k := range []string{"shutdown", "hcall", "#PF", "shadow", "linear-off", "console", "pgdir"} {
		e, ok := picks[k]
		if !ok {
			t.Errorf("the demo guest made no %s event", k)
			continue
		}
		t.Run(k, func(t *testing.T) {
			st, err := m.GotoBefore(e)
			if err != nil {
				t.Fatalf("GotoBefore(%v): %v", e, err)
			}
			_, next := m.Events(^uint64(0))
			if next > e.Seq {
				t.Fatalf("at %v the event %d has happened (next %d)", st, e.Seq, next)
			}
			if r := m.Regs(); r.ICount > e.ICount || st.ICount != r.ICount {
				t.Fatalf("stop %v, registers at icount %d: not before the event at %d", st, r.ICount, e.ICount)
			}
			if _, err := m.Step(); err != nil {
				t.Fatal(err)
			}
			again, next := m.Events(e.Seq)
			if next <= e.Seq {
				t.Fatalf("one step from the instant before did not make event %d (next %d)", e.Seq, next)
			}
			want, _ := json.Marshal(e)
			got, _ := json.Marshal(again[0])
			if string(got) != string(want) {
				t.Errorf("the replayed event differs:\n got %s\nwant %s", got, want)
			}
		})
	}
	// The shadow change is made in the same step as its fault: before
	// either is the same instant.
	if pf, sh := picks["#PF"], picks["shadow"]; pf.ICount == sh.ICount {
		a, _ := m.GotoBefore(pf)
		b, _ := m.GotoBefore(sh)
		if a.ICount != b.ICount || a.EIP != b.EIP {
			t.Errorf("before the fault %v, before its shadow change %v", a, b)
		}
	}
	// Snapshot tells a front end that kept the events what was forgotten.
	s := m.Snapshot(View{Events: true, EventsFrom: uint64(len(all))})
	if !s.Rewound || s.RewoundTo > picks["shadow"].Seq {
		t.Errorf("after travelling back: Rewound %v to %d, want at most %d", s.Rewound, s.RewoundTo, picks["shadow"].Seq)
	}
	if len(s.Events) != int(s.NextEvent-s.RewoundTo) || (len(s.Events) > 0 && s.Events[0].Seq != s.RewoundTo) {
		t.Errorf("events after the rewind start at %d, want %d", s.Events[0].Seq, s.RewoundTo)
	}
	if s2 := m.Snapshot(View{Events: true, EventsFrom: s.NextEvent, EventsGen: s.EventsGen}); s2.Rewound || len(s2.Events) != 0 {
		t.Errorf("a second snapshot: Rewound %v, %d events", s2.Rewound, len(s2.Events))
	}
	// Forward again to the end: the Guest is dead there, as it was.
	if st, err := m.Goto(end.ICount); err != nil || st.String() != end.String() {
		t.Errorf("goto the end (%v): %v, want %v", err, st, end)
	}
}
