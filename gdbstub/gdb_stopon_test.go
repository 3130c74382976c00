package gdbstub

import (
	"context"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// TestRealGDBStopOn: `monitor stop-on` arms Host-event stops; `continue`
// stops there as a SIGTRAP stop with an O line naming the event; listing
// and clearing work; a bad word is explained.
func TestRealGDBStopOn(t *testing.T) {
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("gdb not installed")
	}
	m := newDemo(t)
	addr, logs := serveTCP(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, gdb, "-batch", "-nx",
		"-ex", "set architecture i386",
		"-ex", "target remote "+addr,
		"-ex", "monitor stop-on hcall:bogus",
		"-ex", "monitor stop-on hcall:NEW_PGTABLE",
		"-ex", "monitor stop-on",
		"-ex", "continue",
		"-ex", "print $icount",
		"-ex", "monitor stop-on -d",
		"-ex", "monitor stop-on linear-off",
		"-ex", "monitor stop-on trap:14",
		"-ex", "continue",
		"-ex", "monitor stop-on -d",
		"-ex", "continue")
	out, err := cmd.CombinedOutput()
	t.Logf("gdb output:\n%s", out)
	if err != nil {
		t.Fatalf("gdb: %v\nstub log:\n%s", err, logs())
	}
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
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("no match for %q", re)
		}
	}
	if m := regexp.MustCompile(`stopped on hcall:NEW_PGTABLE at icount (\d+)`).FindSubmatch(out); m != nil && string(m[1]) != itoa(newPgtable) {
		t.Errorf("stopped at icount %s, the NEW_PGTABLE event is at %d", m[1], newPgtable)
	}
}

func itoa(n uint64) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}
