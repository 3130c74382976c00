package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryEndSaysWhy: whatever ends a headless run, the last line on
// stderr says why in plain words, and the line before it says what became
// of linear_pages (a fact about the boot, not the reason).
func TestEveryEndSaysWhy(t *testing.T) {
	if setupSkip != "" {
		t.Skip(setupSkip)
	}
	g := func(name string) string { return filepath.Join(guestDir, name+".bzImage") }
	cases := []struct {
		name    string
		stdin   string
		args    []string
		code    int
		last    string // the reason, on the last line
		handoff string // the line before
	}{
		{"power-off", "", nil, 0, "lgdbg: guest powered off after ", "linear_pages went off at instruction"},
		{"instruction limit before the handoff", "", []string{"--max-instructions", "1000"}, 0,
			"lgdbg: stopped at the --max-instructions limit after 1000 instructions",
			"linear_pages never went off: the guest loaded no page table of its own (no NEW_PGTABLE) before the end"},
		{"until", "", []string{"--until", "linear-off"}, 0, "lgdbg: stopped at the --until event: linear_pages off (first NEW_PGTABLE", "linear_pages went off"},
		{"killed", "", []string{"-m", "32M", g("hostile-hcall")}, 1, "lgdbg: guest killed: Bad hypercall", "linear_pages"},
		{"halted for good", "hello\n", []string{"-m", "32M", g("vconsole")}, 1,
			"lgdbg: guest halted with nothing left to wake it (no clock event armed, no console input left)", "linear_pages"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runLgdbg(t, strings.NewReader(c.stdin), c.args...)
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if r.code != c.code || len(lines) < 2 {
				t.Fatalf("exit %d (want %d), stderr %q", r.code, c.code, r.stderr)
			}
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, c.last) {
				t.Errorf("last line %q, want it to start %q", last, c.last)
			}
			if prev := lines[len(lines)-2]; !strings.Contains(prev, c.handoff) {
				t.Errorf("line before the reason %q, want %q", prev, c.handoff)
			}
		})
	}
}
