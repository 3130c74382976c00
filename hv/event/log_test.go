package event

import (
	"fmt"
	"reflect"
	"testing"
)

// CutSince tells each reader the earliest cut since its generation, even
// when later travels cut less far or the log grew past the cut again.
func TestCutSince(t *testing.T) {
	l := NewLog(64)
	add := func(n int) {
		for range n {
			l.Add(Event{Kind: Console})
		}
	}
	add(10)
	if _, cut, g := l.CutSince(0); cut || g != 0 {
		t.Fatalf("no truncation yet: cut %v gen %d", cut, g)
	}
	l.Truncate(10) // the present: nothing forgotten
	if _, cut, _ := l.CutSince(0); cut {
		t.Fatal("Truncate at Next cut something")
	}
	l.Truncate(4)
	add(8) // replayed past where the reader was
	seq, cut, g1 := l.CutSince(0)
	if !cut || seq != 4 || g1 != 1 {
		t.Fatalf("after a cut at 4: seq %d cut %v gen %d", seq, cut, g1)
	}
	l.Truncate(9)
	l.Truncate(6)
	l.Truncate(8) // cuts nothing: Next is 6
	if seq, cut, _ := l.CutSince(0); !cut || seq != 4 {
		t.Errorf("a reader at generation 0: cut %v at %d, want 4", cut, seq)
	}
	seq, cut, g2 := l.CutSince(g1)
	if !cut || seq != 6 {
		t.Errorf("a reader at generation %d: cut %v at %d, want 6", g1, cut, seq)
	}
	if _, cut, _ := l.CutSince(g2); cut {
		t.Errorf("a reader at the newest generation %d saw a cut", g2)
	}
	if len(l.cuts) > 2 {
		t.Errorf("cuts %v: dominated cuts kept", l.cuts)
	}
}

// A preserved replay leaves the log as it was: a replay from further back
// than the ring holds, stopping before the present, regenerates older
// events into slots of newer ones; Preserve's restore puts those back,
// with the position and generation (no cut for readers), and the
// observer hears the regenerated events the trace never sees twice.
func TestPreserve(t *testing.T) {
	for _, c := range []struct {
		name     string
		from, to int // the replay: Truncate(from), regenerate up to to
	}{
		{"inside the ring", 8, 10},
		{"further back than the ring, stopping short", 2, 7},
		{"from the start", 0, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := NewLog(4)
			ev := func(i int) Event { return Event{Kind: Console, ICount: uint64(i), Text: fmt.Sprint("e", i)} }
			for i := range 10 {
				l.Add(ev(i))
			}
			want, _ := l.Since(0)
			_, _, gen := l.CutSince(0)
			var heard []uint64
			restore := l.Preserve()
			l.SetObserver(func(e Event) { heard = append(heard, e.Seq) })
			l.Truncate(uint64(c.from))
			for i := c.from; i < c.to; i++ {
				l.Add(ev(i))
			}
			l.SetObserver(nil)
			restore()
			if got, next := l.Since(0); !reflect.DeepEqual(got, want) || next != 10 {
				t.Errorf("after the replay: %v next %d, want %v next 10", got, next, want)
			}
			if _, cut, g := l.CutSince(gen); cut || g != gen {
				t.Errorf("a reader sees a cut (%v) or a new generation %d (was %d)", cut, g, gen)
			}
			if len(heard) != c.to-c.from {
				t.Errorf("the observer heard %v", heard)
			}
			l.Add(ev(10)) // the present goes on as before
			if got, _ := l.Since(10); len(got) != 1 || got[0].Seq != 10 {
				t.Errorf("the next event: %v", got)
			}
		})
	}
}

// TestRingGrowsAsEventsCome: the ring takes memory as events arrive, not
// its whole capacity up front, and reads the same while growing, once full
// and wrapping, and after a truncation.
func TestRingGrowsAsEventsCome(t *testing.T) {
	const capacity = 1000
	l := NewLog(capacity)
	add := func(from, to int) {
		for i := from; i < to; i++ {
			l.Add(Event{Kind: Console, ICount: uint64(i)})
		}
	}
	check := func(when string, wantFrom, wantTo uint64) {
		t.Helper()
		got, next := l.Since(0)
		if next != wantTo || uint64(len(got)) != wantTo-wantFrom {
			t.Fatalf("%s: %d events, next %d; want %d..%d", when, len(got), next, wantFrom, wantTo)
		}
		for i, e := range got {
			if e.Seq != wantFrom+uint64(i) || e.ICount != e.Seq {
				t.Fatalf("%s: event %d is seq %d icount %d, want seq %d", when, i, e.Seq, e.ICount, wantFrom+uint64(i))
			}
		}
	}
	add(0, 3)
	check("three events", 0, 3)
	if c := cap(l.ring); c >= capacity {
		t.Errorf("after three events the ring holds room for %d", c)
	}
	add(3, 700)
	check("growing", 0, 700)
	l.Truncate(650)
	add(650, 900)
	check("truncated while growing", 0, 900)
	add(900, 2500)
	check("wrapped", 1500, 2500)
	if len(l.ring) != capacity {
		t.Errorf("a full ring has %d slots, want %d", len(l.ring), capacity)
	}
	l.Truncate(2200)
	add(2200, 2300)
	// the slots of 1300..1499 hold the forgotten 2300..2499: lost
	check("truncated once full", 1500, 2300)
	if r := l.Range(1400, 1600); len(r) != 100 || r[0].Seq != 1500 {
		t.Errorf("Range(1400, 1600) gave %d events: %v", len(r), r)
	}
}
