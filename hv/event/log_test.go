package event

import "testing"

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
