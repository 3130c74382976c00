package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// Debian's gdb drives lgdbg backwards: reverse-stepi, reverse-continue to a
// breakpoint and to the start of history, monitor goto, and reverse-stepi
// then stepi returning to the same registers.
func TestGDBReverseExecution(t *testing.T) {
	r := startGDBRun(t)
	o := r.gdb(t,
		"stepi", "stepi", "set $a = $pc",
		"stepi", "set $b = $pc", "info registers",
		"stepi",
		"reverse-stepi",
		`printf "back at b: %d\n", $pc == $b`,
		"info registers",
		"reverse-stepi",
		`printf "back at a: %d\n", $pc == $a`,
		"monitor goto 0",
		"maint flush register-cache",
		`printf "goto 0: %#x\n", $pc`,
		"break *$a",
		"stepi 6", // stops at the breakpoint
		"stepi 4",
		"reverse-continue",
		`printf "reverse-continue at a: %d\n", $pc == $a`,
		"delete",
		"reverse-continue",
		`printf "start of history: %#x\n", $pc`,
		"monitor history",
		"continue")
	for _, want := range []string{"back at b: 1", "back at a: 1", "goto 0: 0x100000",
		"reverse-continue at a: 1", "No more reverse-execution history", "start of history: 0x100000",
		"history: icount 0 to 0", "exited normally"} {
		if !strings.Contains(o, want) {
			t.Errorf("gdb output lacks %q:\n%s", want, o)
		}
	}
	// The registers at b, before stepping forward and after coming back.
	regs := regexp.MustCompile(`(?s)eax +0x.*?gs +0x[0-9a-f]+`).FindAllString(o, -1)
	if len(regs) < 2 || regs[0] != regs[1] {
		t.Errorf("registers differ after stepi, reverse-stepi:\n%q", regs)
	}
}
