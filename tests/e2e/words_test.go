package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lgdbg/lgdbg/hv/event"
)

// TestUntilWordsAgree: the CLI's usage and the README explain --until with
// hv/event's one table, so neither can drift from what Match accepts.
func TestUntilWordsAgree(t *testing.T) {
	out, _ := exec.Command(lgdbgBin, "--help").CombinedOutput()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range event.WordHelp(56) {
		if !strings.Contains(string(out), l) {
			t.Errorf("usage lacks %q:\n%s", l, out)
		}
		if !strings.Contains(string(readme), l) {
			t.Errorf("README lacks %q", l)
		}
	}
	for _, w := range event.Words {
		if _, err := event.Match(string(w.Kind)); err != nil {
			t.Errorf("Match(%q): %v", w.Kind, err)
		}
	}
}
