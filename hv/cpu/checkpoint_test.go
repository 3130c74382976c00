package cpu

import (
	"reflect"
	"testing"
)

// TestSaveStateCanonicalFlags: two CPUs whose lazy flags differ only where
// no read of EFLAGS looks save the same state (the translator leaves
// such fields as they were); a difference EFLAGS shows is kept.
func TestSaveStateCanonicalFlags(t *testing.T) {
	cases := []struct {
		name      string
		a, b      lazyFlags
		fa, fb    uint32 // c.flags
		same      bool
		sameFlags bool // EFLAGS() agree (always, when same)
	}{
		{"a logic op's operands", lazyFlags{op: lfLogic, res: 5, a: 1, b: 2}, lazyFlags{op: lfLogic, res: 5}, 0, 0, true, true},
		{"committed flags' old record", lazyFlags{op: lfNone, res: 5, a: 1, b: 2, sh: 24}, lazyFlags{op: lfNone}, FlagZF, FlagZF, true, true},
		{"no rotate's fields", lazyFlags{op: lfSub, res: 1, a: 3, b: 2, rres: 9, rsh: 8}, lazyFlags{op: lfSub, res: 1, a: 3, b: 2}, 0, 0, true, true},
		{"c.flags bits a producer owns", lazyFlags{op: lfAdd, res: 3, a: 1, b: 2}, lazyFlags{op: lfAdd, res: 3, a: 1, b: 2}, FlagCF | FlagZF, 0, true, true},
		{"an inc keeps CF in c.flags", lazyFlags{op: lfInc, res: 3, a: 2, b: 1}, lazyFlags{op: lfInc, res: 3, a: 2, b: 1}, FlagCF, 0, false, false},
		{"a subtraction's operands", lazyFlags{op: lfSub, res: 1, a: 3, b: 2}, lazyFlags{op: lfSub, res: 1, a: 4, b: 3}, 0, 0, false, true},
		{"a rotate's result", lazyFlags{op: lfNone, rop: lfRol, rres: 1 << 31}, lazyFlags{op: lfNone, rop: lfRol}, 0, 0, false, false},
	}
	for _, tc := range cases {
		e1, e2 := newEnv(t), newEnv(t)
		e1.c.lazy, e1.c.flags = tc.a, tc.fa|FlagIF
		e2.c.lazy, e2.c.flags = tc.b, tc.fb|FlagIF
		if got := reflect.DeepEqual(e1.c.SaveState(), e2.c.SaveState()); got != tc.same {
			t.Errorf("%s: saved states equal %v, want %v", tc.name, got, tc.same)
		}
		if got := e1.c.EFLAGS() == e2.c.EFLAGS(); got != tc.sameFlags {
			t.Errorf("%s: EFLAGS %#x and %#x", tc.name, e1.c.EFLAGS(), e2.c.EFLAGS())
		}
	}
}
