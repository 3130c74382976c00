package guests

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

var sampleSyms = map[string]uint32{"lguest_data": 0xC0105000, "stub": 0xC0101234, "pgdir": 0xC0200000}

func sampleExpectation(t *testing.T) *Expectation {
	t.Helper()
	text, err := os.ReadFile("testdata/sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseExpectation(string(text))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Resolve(func(name string) (uint32, error) {
		v, ok := sampleSyms[name]
		if !ok {
			return 0, fmt.Errorf("no symbol %s", name)
		}
		return v, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseSample(t *testing.T) {
	e := sampleExpectation(t)
	if e.ELF != "sample.elf" || e.BzImage != "sample.bzImage" || !e.PAE || e.MemMiB != 16 || e.MaxInstructions != 1000 {
		t.Errorf("guest section parsed as %+v", e)
	}
	if want := []string{"sample: one", "# not a comment inside [console]"}; strings.Join(e.Console, "|") != strings.Join(want, "|") {
		t.Errorf("console %q, want %q", e.Console, want)
	}
	if e.Exit.Kind != ExitKill || e.Exit.Message != "Bad hypercall 99\n" || e.Exit.Reason() != "Bad hypercall 99\n" {
		t.Errorf("exit %+v", e.Exit)
	}
	var got []string
	for _, h := range e.Hypercalls {
		got = append(got, h.String())
	}
	want := []string{
		"LGUEST_INIT 0x105000",
		"async TS 0x0",
		"async TS 0x0",
		"LOAD_IDT_ENTRY 0x3 0x601234 0xc010ee00",
		"SET_PTE 0x201000 0xc01ffff0 * 0x0",
		"99",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hypercalls\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseErrors(t *testing.T) {
	const guest = "[guest]\nelf a.elf\nbzimage a.bzImage\nmem-mib 8\n"
	tests := []struct {
		name, text, want string
	}{
		{"no exit", guest + "[hypercalls]\n", "missing section [exit]"},
		{"empty exit", guest + "[exit]\n[hypercalls]\n", "[exit] is empty"},
		{"two exits", guest + "[exit]\ninstruction-limit\ninstruction-limit\n[hypercalls]\n", "more than one exit"},
		{"bad exit kind", guest + "[exit]\nexplode\n[hypercalls]\n", "unknown exit kind"},
		{"unquoted", guest + "[exit]\nkill oops\n[hypercalls]\n", "Go-quoted"},
		{"unknown section", "[nope]\n", "unknown section"},
		{"section twice", guest + "[guest]\n", "twice"},
		{"no guest keys", "[guest]\n[exit]\ninstruction-limit\n[hypercalls]\n", "needs elf"},
		{"bad key", "[guest]\ncolour blue\n", "unknown key"},
		{"bad pae", "[guest]\npae maybe\n", "yes or no"},
		{"outside", "stray\n", "outside a section"},
		{"unknown hcall", guest + "[exit]\ninstruction-limit\n[hypercalls]\nFROB 1\n", "unknown hypercall"},
		{"notify listed", guest + "[exit]\ninstruction-limit\n[hypercalls]\nNOTIFY 0x1000\n", "NOTIFY is not listed"},
		{"five args", guest + "[exit]\ninstruction-limit\n[hypercalls]\nTS 1 2 3 4 5\n", "more than 4"},
		{"bad repeat", guest + "[exit]\ninstruction-limit\n[hypercalls]\nTS 0 x0\n", "bad repeat"},
		{"bad arg", guest + "[exit]\ninstruction-limit\n[hypercalls]\nTS zero\n", "bad argument"},
		{"bad kind", guest + "[exit]\ninstruction-limit\n[hypercalls]\nTS {va:x}\n", "unknown kind"},
		{"bad term", guest + "[exit]\ninstruction-limit\n[hypercalls]\nTS {pa:x+zz}\n", "bad term"},
		{"no symbol", guest + "[exit]\ninstruction-limit\n[hypercalls]\nTS {pa:+4}\n", "no symbol"},
		{"limit message", guest + "[exit]\ninstruction-limit now\n[hypercalls]\n", "takes no message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseExpectation(tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestResolveUnknownSymbol(t *testing.T) {
	e, err := ParseExpectation("[guest]\nelf a\nbzimage b\nmem-mib 1\n[exit]\ninstruction-limit\n[hypercalls]\nTS {sym:nowhere}\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Resolve(func(string) (uint32, error) { return 0, fmt.Errorf("gone") }); err == nil {
		t.Fatal("resolved a missing symbol")
	}
}

func TestCheck(t *testing.T) {
	e := sampleExpectation(t)
	good := Observed{
		Console: "sample: one\n# not a comment inside [console]\n",
		Calls: []Call{
			{Num: 1, Args: [4]uint32{0x105000}},
			{Num: 17, Args: [4]uint32{0x1234}}, // NOTIFY: skipped
			{Num: 8, Async: true},
			{Num: 8, Async: true},
			{Num: 6, Args: [4]uint32{3, 0x601234, 0xc010ee00}},
			{Num: 14, Args: [4]uint32{0x201000, 0xc01ffff0, 0xdeadbeef, 0}},
			{Num: 99},
		},
		Reason: "Bad hypercall 99\n",
	}
	mutate := func(f func(o *Observed)) Observed {
		o := good
		o.Calls = append([]Call(nil), good.Calls...)
		f(&o)
		return o
	}
	tests := []struct {
		name string
		obs  Observed
		want string // substring of the first diff; "" = no diffs
	}{
		{"as expected", good, ""},
		{"console line differs", mutate(func(o *Observed) { o.Console = "sample: two\n# not a comment inside [console]\n" }), "console line 1"},
		{"console short", mutate(func(o *Observed) { o.Console = "sample: one\n" }), "console line 2 missing"},
		{"console long", mutate(func(o *Observed) { o.Console += "extra\n" }), "console line 3 unexpected"},
		{"other reason", mutate(func(o *Observed) { o.Reason = "CRASH: Power down" }), "run ended with"},
		{"limit instead", mutate(func(o *Observed) { o.Reason, o.InstructionLimit = "", true }), "instruction limit"},
		{"arg differs", mutate(func(o *Observed) { o.Calls[0].Args[0] = 0x106000 }), "hypercall 1: got LGUEST_INIT 0x106000"},
		{"sync instead of async", mutate(func(o *Observed) { o.Calls[2].Async = false }), "hypercall 2"},
		{"call missing", mutate(func(o *Observed) { o.Calls = o.Calls[:len(o.Calls)-1] }), "hypercall 6 missing"},
		{"call extra", mutate(func(o *Observed) { o.Calls = append(o.Calls, Call{Num: 10}) }), "hypercall 7 unexpected: HALT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			diffs := e.Check(tc.obs)
			if tc.want == "" {
				if len(diffs) != 0 {
					t.Fatalf("unexpected diffs: %q", diffs)
				}
				return
			}
			if len(diffs) == 0 || !strings.Contains(diffs[0], tc.want) {
				t.Fatalf("diffs %q, want the first to contain %q", diffs, tc.want)
			}
		})
	}
}

func TestExitMatchReason(t *testing.T) {
	tests := []struct {
		exit   Exit
		reason string
		want   bool
	}{
		{Exit{ExitPoweroff, "Power down"}, "CRASH: Power down", true},
		{Exit{ExitPoweroff, "Power down"}, "Power down", false},
		{Exit{ExitKill, "bad IDT type 5"}, "bad IDT type 5", true},
		{Exit{ExitKill, "bad IDT type 5"}, "bad IDT type 6", false},
		{Exit{ExitKillPrefix, "bad guest page "}, "bad guest page 0xf0000000", true},
		{Exit{ExitKillPrefix, "bad guest page "}, "bad guest pag", false},
		{Exit{ExitInstructionLimit, ""}, "", false},
	}
	for _, tc := range tests {
		if got := tc.exit.MatchReason(tc.reason); got != tc.want {
			t.Errorf("%+v.MatchReason(%q) = %v, want %v", tc.exit, tc.reason, got, tc.want)
		}
	}
}
