package hcall

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// testdata/decode.txt holds one case per line:
//
//	[pae] NR ARG... | TEXT | WANT
//
// so that a new decoding is one new line, and the expectations are read by
// people next to the spec's table.
func TestDecodeTable(t *testing.T) {
	f, err := os.Open("testdata/decode.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := Context{
		Symbol: func(pa uint32) string {
			switch pa {
			case 0x011913c8:
				return "pa(lguest_data)"
			case 0x01236000:
				return "pa(initial_page_table)"
			}
			return ""
		},
		Notify: func(addr uint32) string {
			if addr == 0x4004000 {
				return "console queue 1 (transmitq) kick"
			}
			return ""
		},
	}
	sc := bufio.NewScanner(f)
	n := 0
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") {
			continue
		}
		parts := strings.SplitN(s, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("line %d: want 3 |-separated parts: %q", line, s)
		}
		words := strings.Fields(parts[0])
		c := ctx
		if len(words) > 0 && words[0] == "pae" {
			c.PAE, words = true, words[1:]
		}
		nr, err := strconv.Atoi(words[0])
		if err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		var args []uint32
		for _, w := range words[1:] {
			v, err := strconv.ParseUint(w, 0, 32)
			if err != nil {
				t.Fatalf("line %d: %v", line, err)
			}
			args = append(args, uint32(v))
		}
		got := Decode(nr, args, strings.TrimSpace(parts[1]), c).String()
		if want := strings.TrimSpace(parts[2]); got != want {
			t.Errorf("line %d: Decode(%d %#x)\n got %s\nwant %s", line, nr, args, got, want)
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d cases read", n)
	}
}

func TestNumberAcceptsWhatPeopleType(t *testing.T) {
	for _, s := range []string{"NEW_PGTABLE", "new_pgtable", "LHCALL_NEW_PGTABLE"} {
		if nr, ok := Number(s); !ok || nr != NewPgtable {
			t.Errorf("Number(%q) = %d, %v", s, nr, ok)
		}
	}
	if _, ok := Number("LOAD_GDT"); ok {
		t.Error("LOAD_GDT (number 3, gone since 2.6.2x) must be unknown")
	}
	for _, name := range Names() {
		nr, ok := Number(name)
		if !ok || Name(nr) != name {
			t.Errorf("%s does not round-trip", name)
		}
	}
}

func TestArgCountMatchesTheSpecTable(t *testing.T) {
	// spec §3.2: SET_PTE takes the PTE's high half in esi only with PAE.
	if ArgCount(SetPTE, false) != 3 || ArgCount(SetPTE, true) != 4 {
		t.Error("SET_PTE argument count")
	}
	for nr, want := range map[int]int{FlushAsync: 0, LguestInit: 1, Shutdown: 2, LoadIDTEntry: 3, SetStack: 3, Notify: 1, 99: 4} {
		if got := ArgCount(nr, false); got != want {
			t.Errorf("ArgCount(%d) = %d, want %d", nr, got, want)
		}
	}
}

func TestDuration(t *testing.T) {
	for ns, want := range map[uint64]string{900: "900 ns", 250_000: "250 us", 1_500_000: "1.5 ms", 50_000_000: "50 ms", 2_000_000_000: "2 s", 1_234_567_891: "1234.568 ms"} {
		if got := Duration(ns); got != want {
			t.Errorf("Duration(%d) = %q, want %q", ns, got, want)
		}
	}
}
