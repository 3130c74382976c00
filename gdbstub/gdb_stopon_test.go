package gdbstub

import (
	"fmt"
	"regexp"
	"testing"
)

// TestRealGDBStopOn: `monitor stop-on` arms Host-event stops; `continue`
// stops there as a SIGTRAP stop with an O line naming the event; listing
// and clearing work; a bad word is explained.
func TestRealGDBStopOn(t *testing.T) {
	gdbPath(t)
	m := newDemo(t)
	addr, logs := serveTCP(t, m)
	out := runGDB(t, addr, logs, nil,
		"monitor stop-on hcall:bogus",
		"monitor stop-on hcall:NEW_PGTABLE",
		"monitor stop-on",
		"continue",
		"print $icount",
		"monitor stop-on -d",
		"monitor stop-on linear-off",
		"monitor stop-on trap:14",
		"continue",
		"monitor stop-on -d",
		"continue",
	)
	var newPgtable uint64
	evs, _ := m.Events(0)
	for _, e := range evs {
		if e.Kind == "hcall" && e.Name == "NEW_PGTABLE" {
			newPgtable = e.ICount
			break
		}
	}
	if newPgtable == 0 {
		t.Fatal("the demo guest made no NEW_PGTABLE")
	}
	for _, re := range []string{
		`monitor stop-on "hcall:bogus": unknown hypercall "bogus"`,
		`armed: the next continue stops at hcall:NEW_PGTABLE`,
		`(?m)^1  hcall:NEW_PGTABLE$`,
		`lgdbg: stopped on hcall:NEW_PGTABLE at icount \d+: hcall NEW_PGTABLE`,
		`Program received signal SIGTRAP`,
		`(?m)^\$1 = \d+$`,
		`cleared 1 Host-event stop`,
		`lgdbg: stopped on trap:14 at icount \d+: trap 14 \(#PF\)`,
		`cleared 2 Host-event stop`,
		`lgdbg: the Guest is dead: power-off`,
		`\[Inferior 1 \(Remote target\) exited normally\]`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no match for %q", re)
		}
	}
	if m := regexp.MustCompile(`stopped on hcall:NEW_PGTABLE at icount (\d+)`).FindStringSubmatch(out); m != nil && m[1] != fmt.Sprint(newPgtable) {
		t.Errorf("stopped at icount %s, the NEW_PGTABLE event is at %d", m[1], newPgtable)
	}
}
