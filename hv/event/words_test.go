package event

import (
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv/hcall"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		spec    string
		ev      Event
		want    bool
		wantErr string
	}{
		{spec: "linear-off", ev: Event{Kind: LinearOff}, want: true},
		{spec: "linear-off", ev: Event{Kind: PgdirSwitch}},
		{spec: "hcall:NEW_PGTABLE", ev: Event{Kind: Hypercall, Nr: hcall.NewPgtable, Name: "NEW_PGTABLE"}, want: true},
		{spec: "hcall:new_pgtable", ev: Event{Kind: Hypercall, Nr: hcall.NewPgtable}, want: true}, // as people type it
		{spec: "hcall:FLUSH_ASYNC", ev: Event{Kind: Hypercall, Nr: hcall.FlushAsync}, want: true}, // number 0
		{spec: "hcall:NEW_PGTABLE", ev: Event{Kind: Hypercall, Nr: hcall.SetPTE}},
		{spec: "trap:14", ev: Event{Kind: Trap, Nr: 14}, want: true},
		{spec: "trap:0", ev: Event{Kind: Trap, Nr: 0}, want: true},
		{spec: "trap:#PF", ev: Event{Kind: Trap, Nr: 14, Name: "#PF"}, want: true},
		{spec: "trap:#PF", ev: Event{Kind: Interrupt, Nr: 14, Name: "#PF"}},
		{spec: "console:login", ev: Event{Kind: Console, Text: "foo login: "}, want: true},
		{spec: "console:login", ev: Event{Kind: Console, Text: "Linux"}},
		{spec: "unimplemented", ev: Event{Kind: Unimplemented}, want: true},
		{spec: "nothing", wantErr: `unknown event kind "nothing" (want hcall, trap, irq,`},
		{spec: "hcall:FROB", wantErr: `unknown hypercall "FROB"`},
	}
	for _, tc := range tests {
		match, err := Match(tc.spec)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Match(%q) error %v, want %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Match(%q): %v", tc.spec, err)
			continue
		}
		if got := match(tc.ev); got != tc.want {
			t.Errorf("Match(%q)(%v) = %v, want %v", tc.spec, tc.ev, got, tc.want)
		}
	}
}

// Every kind the Host logs can be stopped at, and the table names each once.
func TestWordsCoverEveryKind(t *testing.T) {
	seen := map[Kind]int{}
	for _, w := range Words {
		seen[w.Kind]++
	}
	for _, k := range []Kind{Hypercall, Trap, Interrupt, Shadow, LinearOff, PgdirSwitch, Console, Kill, Shutdown, Restart, Halt, Unimplemented} {
		if seen[k] != 1 {
			t.Errorf("kind %q is in Words %d times, want once", k, seen[k])
		}
	}
}
